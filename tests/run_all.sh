#!/usr/bin/env bash
# Runs every test binary in $MODEX_BUILD/tests and every tests/*.sh; one line per test,
# then "tests: N passed, N failed". Shell tests get MODEX (the binary) and FIXTURES.
set -u
cd "$(dirname "$0")/.."
B=${MODEX_BUILD:-build}
export MODEX="$PWD/$B/modex" FIXTURES="$PWD/../shared/fixtures" MODEX_BUILD="$B"
pass=0; fail=0; failed=""
mkdir -p "$B/test-logs"
run() {
  local name=$1; shift
  local log="$B/test-logs/$name.log" t0=$SECONDS
  if "$@" >"$log" 2>&1; then pass=$((pass+1)); echo "PASS $name ($((SECONDS-t0)) s)";
  else fail=$((fail+1)); failed="$failed $name"; echo "FAIL $name ($((SECONDS-t0)) s)"; tail -n 40 "$log" | sed 's/^/    /'; fi
}
for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  run "$(basename "$t")" "$t"
done
for s in tests/*.sh; do
  case "$(basename "$s")" in run_all.sh|_*) continue;; esac
  run "$(basename "$s" .sh)" bash "$s"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
