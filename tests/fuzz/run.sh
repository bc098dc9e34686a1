#!/usr/bin/env bash
# run.sh BIN SECONDS [CORPUS] — runs one libFuzzer target for SECONDS on its seed corpus: the
# fixtures of its format, the small files of seeds.sh and the committed tests/fuzz/seeds/NAME.
# New inputs go to CORPUS (kept; default a temp folder, removed). Uses tests/fuzz/NAME.dict.
# Extra libFuzzer flags: $FUZZ_FLAGS. A crash leaves crash-* (the input) in the cwd; exit 1.
set -u
bin=$1 secs=$2 keep=${3:-}
name=$(basename "$bin"); tgt=${name#fuzz_}
here=$(cd "$(dirname "$0")" && pwd)
fx=${FIXTURES:-../shared/fixtures}
seeds=$(mktemp -d); corpus=${keep:-$(mktemp -d)}; log=$seeds.log
mkdir -p "$corpus"
mkdir -p "$seeds.all"; "$here/seeds.sh" "$seeds.all"
i=0
pick() { for f in "$@"; do [ -f "$f" ] || continue; i=$((i+1)); cp "$f" "$seeds/fx$i.${f##*.}"; done; }
case $tgt in
  safetensors) pick $(find "$fx" -name '*.safetensors') "$seeds.all"/*.safetensors ;;
  gguf)        pick $(find "$fx" -name '*.gguf') "$seeds.all"/*.gguf ;;
  tokgguf)     pick "$fx/tokenizers/llama-spm/vocab.gguf" "$seeds.all"/*.gguf ;;
  tokjson)     pick "$fx"/tokenizers/*/tokenizer.json ;;
  spm)         : ;; # the fixture's 32000 pieces make each run slow: the committed small model only
  probe)       pick "$fx/probe-e2e/probe.csv" ;;
  config)      # selector byte (fuzz_config.c's list) + the config.json of that model
               k=0; for m in hf-models/gpt2 hf-models/llama hf-models/qwen2 hf-models/gpt_neox hf-models/bert \
                             hf-models/t5 hf-models/mixtral models/gpt2 models/llama probe-e2e/model; do
                 [ -f "$fx/$m/config.json" ] && { printf "\\x$(printf %02x $k)"; cat "$fx/$m/config.json"; } >"$seeds/cfg$k.json"
                 k=$((k+1)); done ;;
esac
[ -d "$here/seeds/$tgt" ] && cp "$here/seeds/$tgt"/* "$seeds/" 2>/dev/null
rm -rf "$seeds.all"
dict=(); [ -f "$here/$tgt.dict" ] && dict=(-dict="$here/$tgt.dict")
echo "fuzz: $name for $secs s on $(ls "$seeds" | wc -l) seeds"
status=0
maxlen=${FUZZ_MAX_LEN:-65536}; [ $tgt = spm ] && maxlen=${FUZZ_MAX_LEN:-16384}
"$bin" -max_total_time="$secs" -max_len="$maxlen" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
  "${dict[@]}" ${FUZZ_FLAGS:-} "$corpus" "$seeds" >"$log" 2>&1 || status=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|DONE' "$log" || true
if [ $status != 0 ]; then tail -n 50 "$log"; echo "fuzz: $name FAILED (crash-* input saved in the cwd)"; fi
rm -rf "$seeds" "$log"; [ -z "$keep" ] && rm -rf "$corpus"
exit $((status != 0))
