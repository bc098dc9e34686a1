#!/usr/bin/env bash
# `modex info` names each family and its particulars; unsupported configs fail with one line, exit 2.
set -u
H="$FIXTURES/hf-models"
fail=0
expect() { # PATH PATTERN...
  local p=$1; shift
  local out; out=$("$MODEX" info "$p" 2>&1) || { echo "info $p failed: $out"; fail=1; return; }
  for pat in "$@"; do
    grep -qF -- "$pat" <<<"$out" || { echo "info $p: missing '$pat'"; echo "$out"; fail=1; }
  done
}
expect "$H/gpt_neox" "GPT-NeoX (gpt_neox)" "rotary dims 4 of 16 (fraction 0.25)" "residual       parallel"
expect "$H/bert" "BERT (bert)" "(post-norm), eps 1e-12" "token type 0" "encoder (last_hidden_state)"
expect "$H/t5" "T5 encoder (t5)" "relative buckets 32" "max distance 128" "no 1/sqrt(head_dim) scaling" "ffn            relu"
expect "$H/mixtral" "Mixtral (mixtral)" "experts        4, top-2" "width 384" "key/value heads 2"
expect "$H/qwen2" "Qwen2 (llama)"
# a refusal: one line on stderr naming the field, exit status 2, nothing on stdout
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
sed 's/"is_decoder": false/"is_decoder": true/' "$H/t5/config.json" > "$d/config.json"
ln -s "$H/t5/model.safetensors" "$d/model.safetensors"
"$MODEX" info "$d" >"$d/out" 2>"$d/err"; rc=$?
[ "$rc" = 2 ] || { echo "refusal exit $rc (2)"; fail=1; }
[ ! -s "$d/out" ] || { echo "refusal wrote to stdout"; fail=1; }
[ "$(wc -l <"$d/err")" = 1 ] && grep -q '^modex: .*config.json: is_decoder true is not supported' "$d/err" \
  || { echo "refusal message:"; cat "$d/err"; fail=1; }
[ "$fail" = 0 ] && echo "archs_info: ok"
exit $fail
