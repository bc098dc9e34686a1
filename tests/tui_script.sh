#!/usr/bin/env bash
# tui_script.sh — the explorer's flows through --script / --batch (no terminal): the layers
# view fills in, Enter opens the heatmap, Space changes the perturbation numbers, export
# writes the rows of the view, a small screen says so, bad commands give one line and exit 2.
set -eu
E2E="$FIXTURES/probe-e2e"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
row() { grep -E "^$1 +[a-z]+ +(loss|accuracy) " "$2"; }

cat > "$T/s1" <<EOF2
# comments and blank lines are skipped

wait
dump $T/layers.txt
key Enter
dump $T/experts.txt
view perturb
wait
dump $T/p0.txt
back
key Space
view perturb
wait
dump $T/p1.txt
export $T/p1.csv
masks
key Tab Tab Tab
sort best desc
find sentiment
export $T/neurons.csv
dump $T/neurons.txt
EOF2
"$MODEX" "$E2E/model" "$E2E/probe.csv" --draws 4 --script "$T/s1" > "$T/out" 2> "$T/err" || fail "exit $?: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "stderr: $(cat "$T/err")"
grep -q "3 of 3 layers analysed" "$T/layers.txt" || fail "layers"
[ "$(grep -Ec '^ +[0-2] done +256 +8 ' "$T/layers.txt")" = 3 ] || fail "layer rows"
grep -q "layer 0: 8 experts x 3 sub-functions" "$T/experts.txt" || fail "experts view"
[ "$(grep -Ec '^ +[0-7] .*[@%#*+=:.-]{4}' "$T/experts.txt")" -ge 8 ] || fail "heatmap rows"
grep -q "^z-score" "$T/experts.txt" || fail "legend"
b=$(row sentiment "$T/p0.txt"); a=$(row sentiment "$T/p1.txt")
echo "$b" | awk '{ if ($4 != $5) exit 1 }' || fail "unmasked: $b"
echo "$a" | awk '{ if ($4 == $5) exit 1 }' || fail "masked: $a"
grep -q "masked: 32 neurons" "$T/p1.txt" || fail "mask count"
grep -q "^masks (zero): L0: e0$" "$T/out" || fail "masks line: $(cat "$T/out")"
# export = the rows of the view as shown
tr -d '\r' < "$T/p1.csv" | tail -n +2 | tr ',' ' ' > "$T/csv.rows"
grep -E '^(sentiment|animal_vs_tool|capital_of) +[a-z]+ +(loss|accuracy) ' "$T/p1.txt" | tr -s ' ' | sed 's/ $//' > "$T/screen.rows"
diff "$T/csv.rows" "$T/screen.rows" || fail "perturbation export differs from the screen"
# neurons: sorted by best (descending) and filtered; the CSV has the same neurons in the same order
grep -q "| neurons " "$T/neurons.txt" || fail "Tab x3 from perturb is not neurons: $(head -1 "$T/neurons.txt")"
tr -d '\r' < "$T/neurons.csv" | tail -n +2 | cut -d, -f1 > "$T/n.csv"
tr -d '\r' < "$T/neurons.csv" | tail -n +2 | cut -d, -f4 > "$T/best.csv"
sort -g -r -s "$T/best.csv" | cmp -s - "$T/best.csv" || fail "not sorted by best"
tr -d '\r' < "$T/neurons.csv" | tail -n +2 | cut -d, -f5 | sort -u | grep -qx sentiment || fail "filter"
[ "$(tr -d '\r' < "$T/neurons.csv" | tail -n +2 | cut -d, -f5 | sort -u | wc -l)" = 1 ] || fail "filter kept other rows"
shown=$(awk '/^-----/{exit} /^ neuron +expert/{f=1;next} f && NF {print $1}' "$T/neurons.txt")
[ "$shown" = "$(head -n "$(echo "$shown" | wc -l)" "$T/n.csv")" ] || fail "neurons on screen != first CSV rows"

# --- export never overwrites; export! does ---------------------------------------------------
printf 'wait\nexport %s\n' "$T/p1.csv" > "$T/s2"
rc=0; "$MODEX" "$E2E/model" "$E2E/probe.csv" --script "$T/s2" > /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 2 ] || fail "export over a file: exit $rc"
grep -q "s2:2: .*already exists" "$T/err" || fail "message: $(cat "$T/err")"
printf 'wait\nexport! %s\n' "$T/p1.csv" > "$T/s2"
"$MODEX" "$E2E/model" "$E2E/probe.csv" --script "$T/s2" > /dev/null || fail "export!"
[ "$(tr -d '\r' < "$T/p1.csv" | head -1)" = "layer,state,d_ff,experts,best:task,best:semantic,best:knowledge,functional:task,functional:semantic,functional:knowledge,masked,predictivity" ] || fail "export! content"

# --- e exports the view to a fresh name in the current folder ------------------------------------
mkdir "$T/cwd"
(cd "$T/cwd" && printf 'wait\nkey e e\n' | "$MODEX" "$E2E/model" "$E2E/probe.csv" --batch > "$T/out") || fail "key e"
[ -s "$T/cwd/modex-layers.csv" ] && [ -s "$T/cwd/modex-layers-1.csv" ] || fail "key e files: $(ls "$T/cwd")"
cmp -s "$T/cwd/modex-layers.csv" "$T/cwd/modex-layers-1.csv" || fail "two exports of one view differ"
grep -q "exported 3 rows of the layers view to modex-layers-1.csv" "$T/out" || fail "key e message: $(cat "$T/out")"

# --- --batch, --dump-screen, a small screen -------------------------------------------------------
printf 'wait\nlayer 1\n' | "$MODEX" "$E2E/model" "$E2E/probe.csv" --batch --dump-screen "$T/b.txt" > /dev/null || fail "batch"
grep -q "layer 1: 8 experts" "$T/b.txt" || fail "batch screen"
printf 'wait\n' | "$MODEX" "$E2E/model" "$E2E/probe.csv" --batch --size 60x20 --dump-screen "$T/small.txt" > /dev/null || fail "small"
grep -q "terminal too small" "$T/small.txt" || fail "too small"

# --- bad input: one line, exit 2 ---------------------------------------------------------------------
bad() {
  local out rc=0
  out=$(printf '%s\n' "$1" | "$MODEX" "$E2E/model" "$E2E/probe.csv" --batch 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 2 ] || fail "exit $rc for: $1"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "not one line: $out"
  case "$out" in "modex: stdin:1: "*) ;; *) fail "message for '$1': $out";; esac
}
bad "nosuchcommand"
bad "layer 99"
bad "mode sideways"
bad "key NoSuchKey"
bad "view nowhere"
bad "mask 9:1"
rc=0; "$MODEX" "$E2E/model" /nonexistent.csv --batch < /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] || fail "missing probe: $rc $(cat "$T/err")"
rc=0; "$MODEX" "$E2E/model" "$E2E/probe.csv" < /dev/null > /dev/null 2> "$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "needs a terminal" "$T/err" || fail "no terminal: $rc $(cat "$T/err")"
echo ok
