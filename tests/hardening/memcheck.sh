#!/usr/bin/env bash
# memcheck.sh — valgrind memcheck on the CLI paths with the fixtures: info, forward, tokenize
# (each tokenizer kind) and analyze. MODEX: a build without -march=native (make memcheck
# builds build/vg/modex); FIXTURES: the fixtures folder. Fails on any error or leak
# ("definitely" / "indirectly" lost; still-reachable blocks of libraries are not leaks).
set -u
MODEX=${MODEX:-build/vg/modex}
FX=${FIXTURES:-../shared/fixtures}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0 n=0
vg() { # vg NAME ARGS...
  local name=$1; shift
  n=$((n+1))
  OPENBLAS_NUM_THREADS=1 valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --log-file="$T/vg.log" "$MODEX" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  local lost; lost=$(grep -E "definitely lost|indirectly lost|ERROR SUMMARY" "$T/vg.log" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')
  if [ $rc = 99 ]; then fails=$((fails+1)); echo "FAIL $name: $lost"; grep -vE '^==[0-9]+== *$' "$T/vg.log" | sed -n '/Invalid\|uninitialised\|definitely lost\|indirectly lost/,+14p' | head -60
  elif [ $rc != "${WANT:-0}" ]; then fails=$((fails+1)); echo "FAIL $name: exit $rc"; tail -5 "$T/err"
  else echo "ok   $name: ${lost:-no leaks}"; fi
}
vg "info gpt2" info "$FX/models/gpt2"
vg "info llama gguf" info "$FX/models/llama/model.gguf"
vg "info mixtral" info "$FX/hf-models/mixtral"
vg "forward gpt2" forward "$FX/models/gpt2" --ids 1,2,3,4 --out "$T/f1"
vg "forward llama gguf" forward "$FX/models/llama/model.gguf" --ids 1,2,3 --out "$T/f2"
vg "forward t5" forward "$FX/hf-models/t5" --ids 1,2,3 --out "$T/f3"
vg "tokenize bytebpe" tokenize "$FX/tokenizers/bytebpe/tokenizer.json" "Hello world, it's 2024!"
vg "tokenize gpt2 vocab+merges" tokenize "$FX/tokenizers/gpt2-bpe" "Hello world"
vg "tokenize spm" tokenize "$FX/tokenizers/llama-spm/tokenizer.model" "Hello world"
vg "tokenize gguf vocab" tokenize "$FX/tokenizers/llama-spm/vocab.gguf" "Hello world"
vg "tokenize wordpiece" tokenize "$FX/tokenizers/wordpiece/tokenizer.json" "Hello World"
vg "tokenize unigram" tokenize "$FX/tokenizers/unigram/tokenizer.json" "Hello world"
vg "analyze e2e" analyze "$FX/probe-e2e/model" "$FX/probe-e2e/probe.csv" --shuffles 20 -o "$T/a1"
vg "analyze e2e coact" analyze "$FX/probe-e2e/model" "$FX/probe-e2e/probe.csv" --shuffles 20 --split coact --random-init 1 -o "$T/a2"
WANT=2 vg "bad input" info "$FX/probe-e2e/probe.csv"
echo "memcheck: $((n-fails)) clean, $fails failed"
[ $fails = 0 ]
