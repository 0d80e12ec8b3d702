#!/bin/sh
# Container entrypoint for a Chapterhouse node.
#
# With no arguments, or with `chapterhouse serve ...`, it initialises the data directory on the
# first start (from CHAPTERHOUSE_BASE_URL) and then serves. Any other command (`chapterhouse
# worker`, `chapterhouse restore`, ...) is run as given, without initialising anything.
set -eu

DATA="${CHAPTERHOUSE_DATA:-/data}"

if [ "$#" -eq 0 ]; then
    set -- chapterhouse serve --data "$DATA" --host 0.0.0.0
fi

if [ "$1" = "chapterhouse" ] && [ "${2:-}" = "serve" ] && [ ! -f "$DATA/chapterhouse.toml" ]; then
    if [ -z "${CHAPTERHOUSE_BASE_URL:-}" ]; then
        echo "error: $DATA holds no node yet; set CHAPTERHOUSE_BASE_URL (e.g. https://chapter.example.org) for the first start" >&2
        exit 1
    fi
    private=""
    case "${CHAPTERHOUSE_ALLOW_PRIVATE_NETWORK:-}" in
        1 | true | yes | on) private="--allow-private-network" ;;
    esac
    echo "first start: initialising $CHAPTERHOUSE_BASE_URL in $DATA" >&2
    # init prints the admin token; keep it out of the container log (it is in $DATA/admin-token).
    chapterhouse init --data "$DATA" --base-url "$CHAPTERHOUSE_BASE_URL" $private >/dev/null
    echo "initialised; the admin token is in $DATA/admin-token" >&2
fi

exec "$@"
