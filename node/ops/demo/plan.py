"""The demo's cast and story: one campaign, three chapters with their organisers and members, the
call they act on, the reports they file and the correction one of them makes; then the campaign
moves its call (the adopted calls follow) and a chapter cancels its own (its people are told).

Only data and the arithmetic on it live here, so the steps (``day``) read as what happens and
the checks compare with numbers derived from the same plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from node.interfaces.cli.words import N_
from protocol.units import convert

CAMPAIGN = "climate-day"
CAMPAIGN_ORGANISER = "maya"
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class ChapterPlan:
    """One chapter of the story: who runs it, who is in it and what it reports."""

    name: str
    title: str
    organiser: str
    members: tuple[str, ...]
    report: tuple[str, ...]  # ``--metric`` values of its impact report
    text: str


CHAPTERS = (
    ChapterPlan(
        "greenpark",
        "Green Park Clean-up Crew",
        "olga",
        ("ada", "ben"),
        ("participants=42:people", "kg_litter=120500:g"),  # grams: the campaign counts in kg
        "42 of us cleared 120.5 kg of litter from the Green Park brook.",
    ),
    ChapterPlan(
        "riverside",
        "Riverside Friends",
        "rui",
        ("cleo", "dev"),
        ("participants=35:people", "kg_litter=88:kg"),
        "35 neighbours pulled 88 kg of rubbish out of the river.",
    ),
    ChapterPlan(
        "oldtown",
        "Old Town Volunteers",
        "otto",
        ("eli", "fay"),
        ("participants=27:people", "kg_litter=64.25:kg"),
        "27 volunteers collected 64.25 kg along the old canal.",
    ),
)
#: The chapter that corrects its report, and the corrected numbers (a correction replaces them all).
CORRECTION = (
    "oldtown",
    ("participants=29:people", "kg_litter=70.25:kg"),
    "Recounted: 29 volunteers collected 70.25 kg along the old canal.",
)
#: The report the campaign leaves out of its totals for now, and why (the rollup says so).
EXCLUSION = ("riverside", "photos of the haul still to come")
#: The unit each metric is counted in: the campaign call's targets.
CAMPAIGN_UNITS = {"participants": "people", "kg_litter": "kg"}
#: A member of the first chapter who also follows, and joins the action of, the second chapter.
VISITOR = ("greenpark", "ada", "riverside")
#: How much later the campaign moves its call once the reports are in (it stays under way).
MOVE_BY_MINUTES = 30
#: The chapter whose organiser checks people in at the door, and how many walk-ins came: its
#: members and the walk-ins make the head count its report takes (``--from-attendance``).
CHECK_IN = ("greenpark", 40)
#: The node and member that vote on the evening call's RSVP poll (the reminding chapter's).
POLL = ("riverside", "dev")
#: The chapter that reminds its people shortly before its calls and posts one for this evening,
#: the member who RSVPs to it and is reminded, and how many minutes before the start.
REMINDER = ("oldtown", "eli", 1)
#: The chapter that cancels its adopted call at the end of the day, and the reason it gives.
CANCELLATION = ("riverside", "High water: the river bank is closed for the afternoon")


def call_options(now: datetime) -> tuple[str, ...]:
    """The campaign's call, under way as the demo plays (it began an hour ago and runs two
    more): impact is reported once a call has started."""
    start = now.astimezone(LONDON).replace(second=0, microsecond=0) - timedelta(hours=1)
    return (
        "--title",
        "Climate Day river clean-up",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=3)).isoformat(),
        "--timezone",
        "Europe/London",
        "--place",
        "Your nearest river bank",
        "--goal",
        "Clear the litter from every river bank in town",
        "--target",
        "participants=100:people",
        "--target",
        "kg_litter=300:kg",
    )


#: The script's steps, as the progress line titles them (marked here, said with ``_`` where
#: printed, in the run's language).
STEPS = (
    N_("set up four nodes through the command line"),
    N_("start the nodes (one `chapterhouse serve` each)"),
    N_("chapters join the campaign"),
    N_("members follow their chapters"),
    N_("the campaign publishes a call"),
    N_("chapters adopt the call"),
    N_("members RSVP"),
    N_("a chapter posts an evening call with an RSVP poll; a member elsewhere votes Going"),
    N_("an organiser checks people in at the door"),
    N_("chapters report their impact (one takes its head count from the check-ins)"),
    N_("a chapter corrects its report"),
    N_("the campaign leaves out a report it cannot confirm yet"),
    N_("the campaign publishes its rollup"),
    N_("anyone can verify the rollup"),
    N_("the campaign moves its call; the adopted calls follow"),
    N_("a chapter cancels its call; everyone who RSVPed is told"),
    N_("a member is reminded before a call starts"),
)


def progress_bar(done: int, total: int) -> str:
    """``[###--------] 3/11``: how far the script is."""
    return "[" + "#" * done + "-" * (total - done) + f"] {done}/{total}"


def metric_values(metrics: Iterable[str]) -> dict[tuple[str, str], Decimal]:
    """``participants=42:people`` → {("participants", "people"): 42}."""
    values: dict[tuple[str, str], Decimal] = {}
    for item in metrics:
        name, _, rest = item.partition("=")
        amount, _, unit = rest.partition(":")
        values[(name, unit)] = Decimal(amount)
    return values


def totals_of(items: object) -> dict[tuple[str, str], Decimal]:
    """The totals of ``totals --json`` or of a rollup document, keyed like ``metric_values``."""
    out: dict[tuple[str, str], Decimal] = {}
    if isinstance(items, list):
        for t in items:
            if isinstance(t, dict) and t.get("value") is not None:
                out[(str(t.get("metric")), str(t.get("unit")))] = Decimal(str(t["value"]))
    return {k: v for k, v in out.items() if v != 0}


def describe_totals(values: Mapping[tuple[str, str], Decimal]) -> str:
    """``120.5 kg kg_litter, 42 people participants``: totals as the script prints them."""
    return ", ".join(f"{v} {unit} {metric}" for (metric, unit), v in sorted(values.items()))


def expected_totals(*, corrected: bool, excluded: bool = False) -> dict[tuple[str, str], Decimal]:
    """The campaign's totals, in its units, once every chapter's report counts (with the
    correction or not; without the excluded report or with it)."""
    totals: dict[tuple[str, str], Decimal] = {}
    for plan in CHAPTERS:
        if excluded and plan.name == EXCLUSION[0]:
            continue
        metrics = CORRECTION[1] if corrected and plan.name == CORRECTION[0] else plan.report
        for (metric, unit), value in metric_values(metrics).items():
            wanted = CAMPAIGN_UNITS[metric]
            key = (metric, wanted)
            totals[key] = totals.get(key, Decimal(0)) + convert(value, unit, wanted)
    return {k: v for k, v in totals.items() if v != 0}


def counted_chapters(*, excluded: bool) -> int:
    return len(CHAPTERS) - (1 if excluded else 0)
