#!/usr/bin/env bash
# faults.sh — output faults and signals on the CLI (MODEX = the binary, FIXTURES = fixtures):
# export to /dev/full, to a path under a regular file, under a missing folder, to a read-only
# mount (tmpfs mounted read-only when this user may mount; tests run as root in CI, where a
# chmod'ed folder would not stop the writes), a full disk (RLIMIT_FSIZE with SIGXFSZ ignored:
# writes fail with EFBIG as on a full device), SIGINT/SIGTERM during analyze, and a model file
# truncated before open. Each: exit 2 (or 130/143), one "modex: " line, no partial file, the
# existing files untouched, no temp file left.
set -u
E2E=$FIXTURES/probe-e2e
T=$(mktemp -d)
ro=""
cleanup() { [ -n "$ro" ] && umount "$ro" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok: $*"; }
analyze() { "$MODEX" analyze "$E2E/model" "$E2E/probe.csv" --shuffles 20 "$@"; }

# expect_err NAME ARGS...: exit 2 and a one-line "modex: " error
expect_err() {
  local name=$1; shift
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc != 2 ]; then fail "$name: exit $rc (expected 2)"; cat "$T/err"; return; fi
  if ! grep -q '^modex: ' "$T/err"; then fail "$name: no 'modex: ' line"; cat "$T/err"; return; fi
  ok "$name: $(grep '^modex: ' "$T/err" | tail -n 1)"
}
no_temps() { # no *.XXXXXX temp files under a folder
  local left; left=$(find "$1" -name '*.??????' 2>/dev/null | grep -E '\.[A-Za-z0-9]{6}$')
  [ -z "$left" ] || fail "$2: temp files left: $left"
}

# --- where the output cannot go ----------------------------------------------------------
expect_err "analyze -o /dev/full" analyze -o /dev/full
expect_err "forward --out /dev/full" "$MODEX" forward "$E2E/model" --ids 1,2,3 --out /dev/full
touch "$T/plainfile"
expect_err "analyze -o under a regular file" analyze -o "$T/plainfile/out"
[ -e "$T/plainfile/out" ] && fail "created something under a file"
expect_err "analyze -o under a missing folder" analyze -o "$T/missing/out"
[ -e "$T/missing" ] && fail "analyze created the missing parent folder"

# read-only folder: a read-only tmpfs when mounting is allowed
mkdir -p "$T/ro"
if mount -t tmpfs -o ro,size=1m tmpfs "$T/ro" 2>/dev/null; then
  ro="$T/ro"
  expect_err "analyze -o read-only mount" analyze -o "$T/ro"
  expect_err "analyze -o new folder in read-only mount" analyze -o "$T/ro/new"
  umount "$T/ro"; ro=""
else
  echo "skip: read-only folder (cannot mount a read-only tmpfs as $(id -un))"
fi

# --- full disk: the existing files are untouched, nothing new appears --------------------
mkdir -p "$T/full"
echo "old predictivity" >"$T/full/predictivity.csv"
echo "old summary" >"$T/full/summary.csv"
( trap '' XFSZ; ulimit -f 32; analyze -o "$T/full" --force >"$T/out" 2>"$T/err" ); rc=$?
if [ $rc = 2 ] && grep -q '^modex: .*write failed' "$T/err"; then ok "full disk: $(grep '^modex: ' "$T/err" | tail -n 1)"
else fail "full disk: exit $rc"; cat "$T/err"; fi
[ "$(cat "$T/full/predictivity.csv")" = "old predictivity" ] || fail "full disk: predictivity.csv changed"
[ "$(cat "$T/full/summary.csv")" = "old summary" ] || fail "full disk: summary.csv changed"
[ "$(ls "$T/full" | wc -l)" = 2 ] || fail "full disk: files appeared: $(ls "$T/full")"
no_temps "$T/full" "full disk"
( trap '' XFSZ; ulimit -f 32; analyze -o "$T/fullnew" >"$T/out" 2>"$T/err" ); rc=$?
[ $rc = 2 ] || fail "full disk, new folder: exit $rc"
[ -e "$T/fullnew" ] && fail "full disk, new folder: left $(ls -A "$T/fullnew")"
ok "full disk, new folder: exit 2, nothing left"

# --- signals during analyze: complete (seven files) or absent (130/143, nothing) ------------
set -m # background jobs keep SIGINT (without job control bash ignores it in them)
for sig in INT TERM; do
  want=$([ $sig = INT ] && echo 130 || echo 143)
  for delay in 0.05 0.25 0.45 0.65; do
    out="$T/sig-$sig-$delay"
    "$MODEX" analyze "$E2E/model" "$E2E/probe.csv" --shuffles 2000 -o "$out" >/dev/null 2>"$T/err" &
    pid=$!
    sleep $delay
    kill -$sig $pid 2>/dev/null
    wait $pid; rc=$?
    n=$(ls "$out" 2>/dev/null | wc -l)
    if [ $rc = 0 ] && [ "$n" = 7 ]; then ok "SIG$sig after $delay s: finished first, 7 files ($(grep -c . "$T/err") lines: $(tail -n 1 "$T/err"))"
    elif [ $rc = $want ] && [ ! -e "$out" ]; then ok "SIG$sig after $delay s: exit $rc, nothing written"
    elif [ $rc = $want ] && [ "$n" = 7 ]; then
      # the signal landed during the seven renames (it waits for them: modex_signals_hold) or
      # after them: the outputs are complete
      ok "SIG$sig after $delay s: exit $rc after all 7 files were in place"
    else fail "SIG$sig after $delay s: exit $rc with $n files"; cat "$T/err"; fi
    no_temps "$T" "SIG$sig"
  done
done
set +m

# --- a model file shorter than its header says ------------------------------------------
mkdir -p "$T/trunc"
cp "$E2E/model/config.json" "$E2E/model/tokenizer.json" "$T/trunc/"
head -c 400000 "$E2E/model/model.safetensors" >"$T/trunc/model.safetensors"
expect_err "truncated model" "$MODEX" analyze "$T/trunc" "$E2E/probe.csv" -o "$T/trunc-out"
[ -e "$T/trunc-out" ] && fail "truncated model: output folder created"

echo "faults: $fails failed"
[ $fails = 0 ]
