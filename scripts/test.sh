#!/usr/bin/env bash
# The whole check, as CI runs it (`make test`, `.ci/run`):
#   0. make lint                                           (fail fast)
#   1. pytest -n 2 with THVC_TEST_DATABASE=sqlite
#   2. pytest -n 2 with THVC_TEST_DATABASE=postgresql against a throw-away cluster started
#      here (tests/common/postgres.py) and passed on as THVC_TEST_POSTGRES_URL, without
#      tests/browser: the browser drives the web pages, which are the same on both
#      engines; what differs per engine is below them, and the rest of the suite covers it
# Both passes run even if the first fails; the exit status is non-zero if either failed.
# Extra arguments go to both pytest runs: scripts/test.sh -k dav -x
# THVC_TEST_SKIP_LINT=1 skips step 0 (local use only; CI always lints).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PY="$ROOT/.venv/bin/python"

header() {
    printf '\n==================== %s ====================\n' "$*"
}

pgdir=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$pgdir" ]]; then
        "$PY" -m tests.common.postgres stop "$pgdir" || true
        rm -rf -- "$pgdir"
        pgdir=""
    fi
    exit "$rc"
}
trap cleanup EXIT
# bash runs these once the foreground command (pytest) has returned: no second pass
# after a Ctrl-C, and the EXIT trap still stops the cluster.
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

if [[ "${THVC_TEST_SKIP_LINT:-}" == 1 ]]; then
    header "lint: skipped (THVC_TEST_SKIP_LINT=1)"
else
    header "lint"
    make --no-print-directory lint
fi

# `python -m pytest` puts the repository root on sys.path, so `import tests.common...` works.
header "pass 1/2: SQLite (THVC_TEST_DATABASE=sqlite)"
sqlite_rc=0
env -u THVC_TEST_POSTGRES_URL THVC_TEST_DATABASE=sqlite \
    "$PY" -m pytest -n 2 "$@" || sqlite_rc=$?

header "pass 2/2: PostgreSQL (THVC_TEST_DATABASE=postgresql)"
postgres_rc=0
pgdir=$(mktemp -d /tmp/thvc-test-pg.XXXXXX)
if pg_url=$("$PY" -m tests.common.postgres start "$pgdir"); then
    echo "PostgreSQL test cluster: $pg_url"
    THVC_TEST_DATABASE=postgresql THVC_TEST_POSTGRES_URL="$pg_url" \
        "$PY" -m pytest -n 2 --ignore=tests/browser "$@" || postgres_rc=$?
else
    echo "test.sh: could not start the PostgreSQL test cluster" >&2
    postgres_rc=1
fi
"$PY" -m tests.common.postgres stop "$pgdir" || true
rm -rf -- "$pgdir"
pgdir=""

verdict() { if [[ $1 -eq 0 ]]; then echo "passed"; else echo "FAILED (pytest exit $1)"; fi; }
header "summary"
echo "SQLite:     $(verdict "$sqlite_rc")"
echo "PostgreSQL: $(verdict "$postgres_rc")"
if [[ $sqlite_rc -ne 0 || $postgres_rc -ne 0 ]]; then
    exit 1
fi
