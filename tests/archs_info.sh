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
# `modex forward` on the MoE writes router_logits.L.f32 [T, experts] and expert-major ffn_act [T, E*d_ff]
ids=270,117,127,49,49,227,156,42,235,92,117,62,187
"$MODEX" forward "$H/mixtral" --ids $ids --out "$d/fw" || { echo "forward mixtral failed"; fail=1; }
size() { stat -c %s "$1" 2>/dev/null || echo missing; }
for f in router_logits.0.f32:208 router_logits.1.f32:208 ffn_act.0.f32:19968 logits.f32:16640 hidden.2.f32:3328; do
  [ "$(size "$d/fw/${f%%:*}")" = "${f##*:}" ] || { echo "forward mixtral: ${f%%:*} has $(size "$d/fw/${f%%:*}") bytes (${f##*:})"; fail=1; }
done
"$MODEX" forward "$H/t5" --ids 243,195,122 --out "$d/t5" && [ "$(size "$d/t5/last_hidden_state.f32")" = 768 ] \
  || { echo "forward t5: last_hidden_state.f32 missing or mis-sized"; fail=1; }
[ "$fail" = 0 ] && echo "archs_info: ok"
exit $fail
