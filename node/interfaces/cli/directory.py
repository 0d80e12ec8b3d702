"""``directory``: the seeds an admin gives, a refresh now, and the search."""

from __future__ import annotations

import argparse
import json

from node.features.directory.query import QueryError, read_query, result_json
from node.features.directory.refresh import add_seed, refresh_now
from node.features.directory.search import search_directory
from node.interfaces.cli.base import CommandError, err, out, told, with_services
from node.interfaces.cli.words import _, written
from node.runtime.services import Services


@with_services
async def cmd_directory_seed_add(args: argparse.Namespace, services: Services) -> int:
    origin = await add_seed(services, args.url)
    out(origin)
    err(_("read at the next refresh: `chapterhouse directory refresh`"))
    return 0


@with_services
async def cmd_directory_refresh(args: argparse.Namespace, services: Services) -> int:
    report = await refresh_now(services, progress=told)
    for line in report.errors:
        err(_("failed: {error}").format(error=line))
    err(
        _("{fetched} read, {unchanged} unchanged, {failed} failed; {entries} entries").format(
            fetched=report.fetched,
            unchanged=report.unchanged,
            failed=report.failed,
            entries=report.entries,
        )
    )
    return 0


@with_services
async def cmd_directory_search(args: argparse.Namespace, services: Services) -> int:
    try:
        query = await read_query(
            text=args.text,
            near=args.near,
            radius=args.radius,
            topic=args.topic,
            language=args.language,
            limit=args.limit,
        )
    except QueryError as exc:
        option = f"--{'text' if exc.field == 'q' else exc.field}"
        raise CommandError(
            _("{option}: {message}").format(option=option, message=exc.message_in(_, written))
        ) from exc
    results = await search_directory(services, query)
    if args.json:
        out(json.dumps({"results": [result_json(r) for r in results]}, ensure_ascii=False))
        return 0
    for result in results:
        distance = "" if result.distance_km is None else f"{result.distance_km:.1f} km\t"
        place = result.place.name if result.place and result.place.name else ""
        out(f"{distance}{result.kind}\t{result.title or result.name}\t{place}\t{result.id}")
    err(_("{count} found").format(count=len(results)))
    return 0
