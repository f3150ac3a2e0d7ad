#!/usr/bin/env bash
# Run every suite in its own pytest process: nameko's suites (eventlet) apart from the
# gateway's (asyncio). A suite that collects no test fails the run (pytest exit 5).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# --durations: the slowest tests of each suite, so a CI log shows where its time went.
PYTEST="$ROOT/.venv/bin/python -m pytest -q -p no:cacheprovider --durations=8 --durations-min=5"
failed=()
total_passed=0
total_failed=0
total_errors=0

run_suite() { # run_suite NAME DIR ARGS...
  local name=$1 dir=$2; shift 2
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local out rc
  out=$(mktemp)
  (cd "$dir" && $PYTEST "$@") 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  if [ "$rc" = 5 ]; then echo "FAILED: $name ran no test"; failed+=("$name (no tests)"); rm -f "$out"; return; fi
  [ "$rc" = 0 ] || failed+=("$name")
  local line; line=$(grep -E '^[0-9]+ (passed|failed|errors?)|^=+ .*(passed|failed|errors?)' "$out" | tail -n1)
  total_passed=$((total_passed + $(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)))
  total_failed=$((total_failed + $(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)))
  total_errors=$((total_errors + $(echo "$line" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)))
  rm -f "$out"
}

printf '\033[1m==> lint (ruff)\033[0m\n'
if ! .venv/bin/ruff check . ; then failed+=("ruff"); fi
# The gateway's calls against the typed service clients (parentnet_kit.contract; [tool.mypy]).
if ! .venv/bin/mypy gateway/gateway kit/parentnet_kit/contract ; then failed+=("mypy (contract)"); fi
# Every image's lock covers what its pyproject files ask for (scripts/lock.py rewrites them).
if ! .venv/bin/python scripts/lock.py --check ; then failed+=("locks"); fi

run_suite "kit" kit tests
run_suite "contract (RPC clients and event catalogue against the services and the snapshot)" tests contract
run_suite "members" services/members tests
run_suite "events" services/events tests
run_suite "listings" services/listings tests
run_suite "search" services/search tests
run_suite "moderation" services/moderation tests
run_suite "conversations" services/conversations tests
run_suite "gateway" gateway tests
run_suite "end to end (all seven processes, HTTP)" tests e2e
run_suite "privacy (attackers against every location oracle, limits as deployed)" tests privacy
run_suite "deploy (the previous release beside this one; rolling restarts under load)" tests deploy
# Last: it restarts RabbitMQ and freezes Elasticsearch, so nothing else runs beside it.
run_suite "reliability (real faults against the real servers)" tests reliability

echo
echo "${total_passed} passed, ${total_failed} failed, ${total_errors} errors"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  exit 1
fi
