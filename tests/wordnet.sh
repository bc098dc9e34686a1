#!/usr/bin/env bash
# `modex probes wordnet`: rebuilds assets/probes/wordnet.csv byte for byte from the installed
# WordNet 3.0 (Debian's wordnet-base, which `make deps` installs), --help, and its errors
# (one line "modex: ...", exit 2, no output file left behind).
set -u
cd "$(dirname "$0")/.."
MODEX=${MODEX:-build/modex}
WN=${WNSEARCHDIR:-/usr/share/wordnet}
fails=0
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails+1)); fi
}
not() { ! "$@"; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# --help and usage errors need no database.
out=$("$MODEX" probes wordnet --help); rc=$?
check "--help exits 0" test "$rc" = 0
check "--help shows the usage" grep -q "usage: modex probes wordnet -o FILE.csv" <<<"$out"
check "--help lists --wordnet-dir" grep -q -- "--wordnet-dir" <<<"$out"
"$MODEX" probes >/dev/null 2>&1; check "probes without a source exits 2" test $? = 2
err=$("$MODEX" probes wordnet 2>&1); rc=$?
check "no -o: exit 2" test "$rc" = 2
check "no -o: one line" test "$(wc -l <<<"$err")" = 1
check "no -o: says so" grep -q "^modex: .*no output file" <<<"$err"
err=$("$MODEX" probes wordnet -o "$T/x.csv" --bogus 2>&1); rc=$?
check "unknown option: exit 2" test "$rc" = 2
check "unknown option: named" grep -q "^modex: --bogus: unknown option" <<<"$err"
err=$("$MODEX" probes wordnet -o "$T/x.csv" --pos adverb 2>&1); rc=$?
check "--pos adverb: exit 2" test "$rc" = 2
err=$("$MODEX" probes wordnet -o "$T/x.csv" --seed -3 2>&1); rc=$?
check "--seed -3: exit 2" test "$rc" = 2
err=$("$MODEX" probes wordnet -o "$T/x.csv" --wordnet-dir "$T/none" 2>&1); rc=$?
check "missing database folder: exit 2" test "$rc" = 2
check "missing database folder: named" grep -q "^modex: $T/none: no such folder" <<<"$err"
check "no output left behind" test ! -e "$T/x.csv"

if [ ! -f "$WN/data.noun" ]; then
  echo "SKIP: the WordNet database is not installed ($WN/data.noun absent; apt-get install wordnet-base or make deps)"
  exit $(( fails > 0 ))
fi

# The committed probe set, rebuilt with the default options.
"$MODEX" probes wordnet --wordnet-dir "$WN" -o "$T/wordnet.csv" 2>"$T/summary"; rc=$?
check "default build exits 0" test "$rc" = 0
check "rebuilds assets/probes/wordnet.csv byte for byte" cmp "$T/wordnet.csv" assets/probes/wordnet.csv
check "summary on stderr" grep -q "^wordnet: knowledge *8 sub-functions" "$T/summary"
check "header row" test "$(head -1 "$T/wordnet.csv" | tr -d '\r')" = "text,function,subfunction,label,span,answer,id"

# Refuses to overwrite; --force overwrites.
cp "$T/wordnet.csv" "$T/keep.csv"
err=$("$MODEX" probes wordnet -o "$T/wordnet.csv" --pairs 1 2>&1); rc=$?
check "existing output: exit 2" test "$rc" = 2
check "existing output: says --force" grep -q "already exists.*--force" <<<"$err"
check "existing output untouched" cmp -s "$T/wordnet.csv" "$T/keep.csv"
"$MODEX" probes wordnet -o "$T/wordnet.csv" --force --max-subfunctions 5 --pairs 3 2>/dev/null
check "--force overwrites" test "$(grep -c ',knowledge,' "$T/wordnet.csv")" = 48

# Options: --words, --pos, seeds.
"$MODEX" probes wordnet -o "$T/bank.csv" --words bank --pos noun --pairs 0 --max-subfunctions 100 --min-examples 1 2>/dev/null
check "--words bank: only bank's noun senses" test -z "$(cut -d, -f3 <"$T/bank.csv" | tail -n +2 | grep -v '^bank\.n\.')"
check "--words bank: several sense pairs" test "$(cut -d, -f3 <"$T/bank.csv" | tail -n +2 | sort -u | wc -l)" -ge 3
# (The same seed giving the same bytes is the byte-for-byte rebuild above.)
"$MODEX" probes wordnet -o "$T/s7.csv" --seed 7 2>/dev/null
check "another seed, another sample" not cmp -s "$T/s7.csv" "$T/keep.csv"

# A malformed database file: one line with its place, exit 2, no output.
mkdir "$T/wn"
for f in "$WN"/*; do ln -s "$f" "$T/wn/"; done
rm "$T/wn/verb.exc"
{ head -n 2 "$WN/verb.exc"; echo "abhorred"; tail -n +4 "$WN/verb.exc"; } >"$T/wn/verb.exc"
err=$("$MODEX" probes wordnet --wordnet-dir "$T/wn" -o "$T/bad.csv" 2>&1); rc=$?
check "malformed verb.exc: exit 2" test "$rc" = 2
check "malformed verb.exc: FILE:LINE" grep -q "^modex: $T/wn/verb.exc:3: " <<<"$err"
check "malformed verb.exc: one line" test "$(wc -l <<<"$err")" = 1
check "malformed: no output" test ! -e "$T/bad.csv"
rm "$T/wn/data.adv"
err=$("$MODEX" probes wordnet --wordnet-dir "$T/wn" -o "$T/bad.csv" 2>&1); rc=$?
check "missing data.adv: exit 2" test "$rc" = 2
check "missing data.adv: named" grep -q "^modex: $T/wn/data.adv: cannot open" <<<"$err"

echo "wordnet.sh: $fails failed"
[ "$fails" = 0 ]
