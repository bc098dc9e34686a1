#!/usr/bin/env bash
# modex corpus / modex train from the command line: determinism, probe CSV, bad input (one
# line, exit 2, nothing written), and Ctrl-C saving a checkpoint.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$MODEX" corpus --help | grep -q "usage: modex corpus" || fail "corpus --help"
"$MODEX" train --help | grep -q "usage: modex train" || fail "train --help"

# same seed, same bytes; another seed, other bytes
"$MODEX" corpus --seed 4 --lines 3000 --out "$T/a.txt" --probe-out "$T/a.csv" || fail "corpus"
"$MODEX" corpus --seed 4 --lines 3000 --out "$T/b.txt" --probe-out "$T/b.csv" || fail "corpus again"
"$MODEX" corpus --seed 5 --lines 3000 --out "$T/c.txt" || fail "corpus seed 5"
cmp -s "$T/a.txt" "$T/b.txt" && cmp -s "$T/a.csv" "$T/b.csv" || fail "same seed gave different files"
cmp -s "$T/a.txt" "$T/c.txt" && fail "another seed gave the same corpus"
[ "$(wc -l < "$T/a.txt")" = 3000 ] || fail "line count"
[ "$(head -1 "$T/a.csv")" = "text,function,subfunction,label,span,answer" ] || fail "probe header"
for s in sentiment capital_of sense_bank animal_vs_tool sum_carry in_europe is_mammal is_metal; do
  grep -q "\"$s\"" "$T/a.csv" || fail "probe lacks $s"
done

# refuses to overwrite; bad values
out=$("$MODEX" corpus --lines 10 --out "$T/a.txt" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "^modex: .*a.txt: already exists" || fail "overwrite: $rc $out"
out=$("$MODEX" corpus --lines x --out "$T/x.txt" 2>&1); rc=$?
[ $rc = 2 ] && [ ! -e "$T/x.txt" ] || fail "bad --lines: $rc $out"

# bad corpus: invalid UTF-8 is one line with the byte offset, and nothing is written
printf 'good line\nbad \xff line\n' > "$T/bad.txt"
out=$("$MODEX" train --corpus "$T/bad.txt" --out "$T/m" 2>&1); rc=$?
[ $rc = 2 ] && [ "$(echo "$out" | wc -l)" = 1 ] || fail "bad corpus: $rc $out"
echo "$out" | grep -q "^modex: $T/bad.txt:14: invalid UTF-8" || fail "bad corpus message: $out"
[ ! -e "$T/m" ] || fail "bad corpus left $T/m behind"
out=$("$MODEX" train --corpus "$T/a.txt" --out "$T/m" --d-model 30 --heads 4 2>&1); rc=$?
[ $rc = 2 ] && [ ! -e "$T/m" ] || fail "bad heads: $rc $out"
out=$("$MODEX" train --corpus "$T/nope.txt" --out "$T/m" 2>&1); rc=$?
[ $rc = 2 ] && [ ! -e "$T/m" ] || fail "missing corpus: $rc $out"

# a small run, then Ctrl-C on a long one: checkpoint saved, exit 130, no final model
small="--layers 1 --d-model 16 --heads 2 --d-ff 32 --vocab 300 --ctx 16 --batch 2 --threads 1"
"$MODEX" train --corpus "$T/a.txt" --out "$T/m" $small --steps 4 --ckpt-every 2 2>"$T/log" || fail "small run: $(cat "$T/log")"
for f in config.json model.safetensors tokenizer.json train_log.csv checkpoints/step-000002/model.safetensors \
         checkpoints/step-000004/tokenizer.json; do
  [ -s "$T/m/$f" ] || fail "missing $f"
done
grep -q '"activation_function": "relu"' "$T/m/config.json" || fail "config"
# --init continues from a saved folder with its tokenizer and shape
"$MODEX" train --corpus "$T/c.txt" --out "$T/m2" --init "$T/m" --steps 2 --threads 1 --quiet || fail "--init"
cmp -s "$T/m/tokenizer.json" "$T/m2/tokenizer.json" || fail "--init changed the tokenizer"
cmp -s "$T/m/config.json" "$T/m2/config.json" || fail "--init changed the shape"
"$MODEX" train --corpus "$T/a.txt" --out "$T/m" $small --steps 4 2>/dev/null && fail "overwrote without --force"
"$MODEX" train --corpus "$T/a.txt" --out "$T/i" $small --steps 100000000 --ckpt-every 100000000 2>"$T/ilog" &
pid=$!
for _ in $(seq 1 300); do grep -Eq "step +[0-9]+/" "$T/ilog" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid
wait $pid; rc=$?
[ $rc = 130 ] || fail "Ctrl-C exit status $rc: $(cat "$T/ilog")"
ls "$T/i/checkpoints/"step-*/model.safetensors >/dev/null 2>&1 || { cat "$T/ilog"; ls -R "$T/i"; fail "no checkpoint after Ctrl-C"; }
[ ! -e "$T/i/model.safetensors" ] || fail "final model written after Ctrl-C"
echo "train_cli: ok"
