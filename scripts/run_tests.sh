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

tally() { # tally NAME OUTPUT_FILE RC: count a finished suite's results
  local name=$1 out=$2 rc=$3
  if [ "$rc" = 5 ]; then echo "FAILED: $name ran no test"; failed+=("$name (no tests)"); return; fi
  [ "$rc" = 0 ] || failed+=("$name")
  local line; line=$(grep -E '^[0-9]+ (passed|failed|errors?)|^=+ .*(passed|failed|errors?)' "$out" | tail -n1)
  total_passed=$((total_passed + $(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)))
  total_failed=$((total_failed + $(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)))
  total_errors=$((total_errors + $(echo "$line" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+' || echo 0)))
}

run_suite() { # run_suite NAME DIR ARGS...: run now, its output shown as it comes
  local name=$1 dir=$2; shift 2
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local out rc
  out=$(mktemp)
  (cd "$dir" && $PYTEST "$@") 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  tally "$name" "$out" "$rc"
  rm -f "$out"
}

# The services' and the gateway's own suites in two lanes at once: each talks to the servers
# on names of its own (databases, virtual hosts, index prefixes) and mostly waits on them, so
# two lanes fill the 2 cores' idle time (about 7 minutes one after another). Their outputs are
# shown whole, in order, once both lanes are done.
LANES=$(mktemp -d)
lane() { # lane KEY DIR ARGS... [; KEY DIR ARGS...]: suites one after another, each to $LANES/KEY
  local key=$1 dir=$2; shift 2
  (cd "$dir" && $PYTEST "$@") > "$LANES/$key.out" 2>&1
  echo $? > "$LANES/$key.rc"
}
show_lane_suite() { # show_lane_suite NAME KEY
  printf '\n\033[1m==> %s\033[0m\n' "$1"
  cat "$LANES/$2.out"
  tally "$1" "$LANES/$2.out" "$(cat "$LANES/$2.rc" 2>/dev/null || echo 1)"
}

printf '\033[1m==> lint (ruff)\033[0m\n'
if ! .venv/bin/ruff check . ; then failed+=("ruff"); fi
# The gateway's calls against the typed service clients (parentnet_kit.contract; [tool.mypy]).
if ! .venv/bin/mypy gateway/gateway kit/parentnet_kit/contract ; then failed+=("mypy (contract)"); fi
# Every image's lock covers what its pyproject files ask for (scripts/lock.py rewrites them).
if ! .venv/bin/python scripts/lock.py --check ; then failed+=("locks"); fi

printf '\n\033[1m==> the services and the gateway (two lanes at once; outputs follow)\033[0m\n'
started=$SECONDS
# Balanced by their times alone on 2 cores (stop 27: 115 + 57 + 33 + 16 s against 58 + 3 + 71 + 58 + 25 s).
(lane members services/members tests; lane search services/search tests
 lane conversations services/conversations tests; lane moderation services/moderation tests) &
(lane kit kit tests; lane contract tests contract; lane events services/events tests
 lane listings services/listings tests; lane gateway gateway tests) &
wait
show_lane_suite "kit" kit
show_lane_suite "contract (RPC clients and event catalogue against the services and the snapshot)" contract
show_lane_suite "members" members
show_lane_suite "events" events
show_lane_suite "listings" listings
show_lane_suite "search" search
show_lane_suite "moderation" moderation
show_lane_suite "conversations" conversations
show_lane_suite "gateway" gateway
echo "(the two lanes took $((SECONDS - started)) s)"
rm -rf "$LANES"
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
