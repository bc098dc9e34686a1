#!/usr/bin/env bash
# interv.sh — the intervention commands end to end on the probe-e2e fixture (routing also on the
# Mixtral fixture, a native MoE): outputs, determinism (same seed → byte-identical CSVs), bad
# input (one line, exit 2, nothing written).
set -eu
E2E="$FIXTURES/probe-e2e"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
bad() { # expected exit 2 and a one-line "modex: ..." message
  local out rc=0
  out=$("$MODEX" "$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 2 ] || fail "exit $rc (want 2): $*"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "not one line: $out"
  case "$out" in modex:*) ;; *) fail "message: $out";; esac
}

# --- perturb ---------------------------------------------------------------------------------
for mode in zero mean shuffle; do
  for d in a b; do
    "$MODEX" perturb "$E2E/model" "$E2E/probe.csv" -o "$T/p$mode$d" --select experts:task --expert-size 16 \
      --layers 1-2 --repeats 4 --mode $mode --seed 3 2>/dev/null
  done
  cmp "$T/p${mode}a/perturbation.csv" "$T/p${mode}b/perturbation.csv" || fail "perturb $mode not deterministic"
done
# the thread count changes no selection and no number beyond float rounding: the same experts are
# masked (identical text fields) and every number agrees to 1e-5 relative. (Not byte for byte:
# OpenBLAS's Haswell sgemm kernel, used on AVX2 and AMD CPUs, rounds a row differently
# depending on how its threads split the matrix.)
same_numbers() { # CSV A, CSV B
  awk -F, '{ sub(/\r$/, "") } NR == FNR { a[FNR] = $0; next }
    { n = split(a[FNR], x, ","); if (n != NF) { print "line " FNR ": field count"; bad = 1; next }
      for (i = 1; i <= NF; i++) {
        if (x[i] == $i) continue
        if (x[i] ~ /^-?[0-9.]+(e-?[0-9]+)?$/ && $i ~ /^-?[0-9.]+(e-?[0-9]+)?$/) {
          d = x[i] - $i; if (d < 0) d = -d; m = x[i] < 0 ? -x[i] : x[i]
          if (d <= 1e-5 * m + 1e-6) continue
        }
        print "line " FNR " field " i ": " x[i] " vs " $i; bad = 1 } }
    END { if (FNR != length(a)) { print "line counts differ"; bad = 1 } exit bad }' "$1" "$2"
}
"$MODEX" perturb "$E2E/model" "$E2E/probe.csv" -o "$T/pth1" --select experts:task --expert-size 16 \
  --layers 1-2 --repeats 4 --mode shuffle --seed 3 --threads 1 2>/dev/null
same_numbers "$T/pshufflea/perturbation.csv" "$T/pth1/perturbation.csv" || fail "perturb depends on the thread count"
# CSVs end rows with CRLF (RFC 4180): compare on a copy without CR
lf() { tr -d '\r' < "$1" > "$1.lf"; echo "$1.lf"; }
f=$(lf "$T/pzeroa/perturbation.csv")
head -1 "$f" | grep -qx 'layer_set,selection,mode,fraction,function,subfunction,metric,before,after,delta,baseline_mean,baseline_sd' || fail "header"
[ "$(wc -l < "$f")" = 4 ] || fail "rows: $(wc -l < "$f")"
# 2 of 16 experts in each of layers 1 and 2 (fraction 0.12 of 16 experts rounds to 2)
grep -q '^1-2,experts:task,zero,0.125,task,sentiment,loss,' "$f" || fail "row: $(sed -n 2p "$f")"
# masking must change the loss; delta = after - before
awk -F, 'NR>1 { if ($8 == $9) exit 1; d = $9 - $8 - $10; if (d > 1e-6 || d < -1e-6) exit 1 }' "$f" || fail "before/after/delta"
# explicit mask (3 experts of 16 neurons over 2 layers of 256: 0.09375) and ap selection
"$MODEX" perturb "$E2E/model" "$E2E/probe.csv" -o "$T/pm" --mask 0:1,0:2,2:0 --expert-size 16 --repeats 2 2>/dev/null
f=$(lf "$T/pm/perturbation.csv")
grep -q '^"0,2","mask:0:1,0:2,2:0",zero,0.09375,' "$f" || fail "mask row: $(sed -n 2p "$f")"
"$MODEX" perturb "$E2E/model" "$E2E/probe.csv" -o "$T/pa" --select ap:sentiment --count 10 --repeats 2 2>/dev/null
f=$(lf "$T/pa/perturbation.csv")
grep -q '^0-2,ap:sentiment,zero,0.0390625,' "$f" || fail "ap row: $(sed -n 2p "$f")"
# bad input
bad perturb "$E2E/model" "$E2E/probe.csv" -o "$T/x1" --select ap:nosuch
bad perturb "$E2E/model" "$E2E/probe.csv" -o "$T/x2" --mode scramble
bad perturb "$E2E/model" "$E2E/probe.csv" -o "$T/x3" --mask 9:1
bad perturb "$E2E/model" "$E2E/probe.csv" -o "$T/x4" --mask 0:99 --expert-size 16
bad perturb "$E2E/model" "$E2E/probe.csv" -o "$T/pzeroa" --select random
[ ! -e "$T/x4/perturbation.csv" ] || fail "partial output"
# --- routing -------------------------------------------------------------------------------
for d in a b; do
  "$MODEX" routing "$E2E/model" "$E2E/probe.csv" -o "$T/r$d" --expert-size 16 --layers 1-2 --k 1,4,16 --tau 0,0.5,1 2>/dev/null
done
cmp "$T/ra/routing.csv" "$T/rb/routing.csv" || fail "routing not deterministic"
f=$(lf "$T/ra/routing.csv")
head -1 "$f" | grep -qx 'method,layer_set,k_or_tau,mean_experts,function,subfunction,loss,accuracy' || fail "routing header"
[ "$(wc -l < "$f")" = $((1 + 3 * (1 + 3 + 3 + 3))) ] || fail "routing rows: $(wc -l < "$f")"
# k = E (16) and tau = 1 give the dense losses, with all 16 experts run
for sub in sentiment animal_vs_tool capital_of; do
  dense=$(awk -F, -v s=$sub '$1=="dense" && $6==s {print $7}' "$f")
  for key in "avg_k,1-2,16" "ground_truth,1-2,16" "dynamic_k,1-2,1"; do
    got=$(awk -F, -v s=$sub -v k="$key" '$1","$2","$3==k && $6==s {print $4" "$7}' "$f")
    [ "$got" = "16 $dense" ] || fail "routing $key $sub: '$got' (want '16 $dense')"
  done
done
bad routing "$E2E/model" "$E2E/probe.csv" -o "$T/x5" --expert-size 15
bad routing "$E2E/model" "$E2E/probe.csv" -o "$T/x6" --methods avg_k,top
bad routing "$E2E/model" "$E2E/probe.csv" -o "$T/x7" --k 0,2 --expert-size 16
bad routing "$E2E/model" "$E2E/probe.csv" -o "$T/x8" --tau 1.5
[ ! -e "$T/x8/routing.csv" ] || fail "partial routing output"
# native MoE (the Mixtral fixture, 2 layers x 4 experts, top-2): the router's own top-k, and
# routing_experts.csv, the share of each expert among the choices made on a sub-function's texts
mkdir -p "$T/moe"
cp "$FIXTURES/hf-models/mixtral/config.json" "$FIXTURES/tokenizers/bytebpe/tokenizer.json" "$T/moe/"
ln -s "$(cd "$FIXTURES/hf-models/mixtral" && pwd)/model.safetensors" "$T/moe/model.safetensors"
printf 'text,subfunction,label\nq z x j k,a,1\nk v w y,a,1\nz z q,a,0\nj x v,b,1\nw q y k,b,0\nv v v j,b,1\n' > "$T/moe.csv"
for d in a b; do "$MODEX" routing "$T/moe" "$T/moe.csv" -o "$T/rn$d" --k 1,2,4 2>/dev/null; done
for n in routing.csv routing_experts.csv; do cmp "$T/rna/$n" "$T/rnb/$n" || fail "native routing $n not deterministic"; done
f=$(lf "$T/rna/routing.csv")
[ "$(wc -l < "$f")" = $((1 + 2 * (1 + 3))) ] || fail "native routing rows: $(wc -l < "$f")"
for sub in a b; do # the dense rows are the model's own top_k (2); router k = 2 is the same forward
  dense=$(awk -F, -v s=$sub '$1=="dense" && $6==s {print $3" "$4" "$7}' "$f")
  [ "${dense% *}" = "2 2" ] || fail "native dense row $sub: $dense"
  got=$(awk -F, -v s=$sub '$1=="router" && $3==2 && $6==s {print $7}' "$f")
  [ "$got" = "${dense##* }" ] || fail "router k=2 $sub: '$got' (dense '${dense##* }')"
  k1=$(awk -F, -v s=$sub '$1=="router" && $3==1 && $6==s {print $7}' "$f")
  [ -n "$k1" ] && [ "$k1" != "$got" ] || fail "router k=1 $sub: '$k1' equals k=2"
done
f=$(lf "$T/rna/routing_experts.csv")
head -1 "$f" | grep -qx 'layer,function,subfunction,expert,frequency' || fail "routing_experts header"
[ "$(wc -l < "$f")" = $((1 + 2 * 2 * 4)) ] || fail "routing_experts rows: $(wc -l < "$f")"
# per layer and sub-function: experts 0-3 in order, shares in [0, 1] summing to 1, and with
# top-2 routing over 2+ texts no expert holds more than half of the choices
awk -F, 'NR > 1 { k = $1 "," $3; if ($4 != n[k]++) { print "expert order " $0; bad = 1 }
    if ($5 < 0 || $5 > 0.5 + 1e-12) { print "share " $0; bad = 1 } s[k] += $5 }
  END { for (k in s) if (s[k] < 1 - 1e-9 || s[k] > 1 + 1e-9) { print "sum " k " " s[k]; bad = 1 }
        if (length(s) != 4) { print "groups " length(s); bad = 1 } exit bad }' "$f" || fail "routing_experts shares"
bad routing "$T/moe" "$T/moe.csv" -o "$T/x9" --layers 0
bad routing "$T/moe" "$T/moe.csv" -o "$T/x9" --methods avg_k
bad routing "$T/moe" "$T/moe.csv" -o "$T/x9" --k 5
[ ! -e "$T/x9/routing_experts.csv" ] || fail "partial native routing output"
# --- emergence -------------------------------------------------------------------------------
for d in a b; do
  "$MODEX" emergence "$E2E/model" "$E2E/ckpt-b" "$E2E/model" --probe "$E2E/probe.csv" -o "$T/e$d" --expert-size 16 --seed 4 2>/dev/null
done
for n in emergence.csv emergence_summary.csv stabilisation.csv; do
  cmp "$T/ea/$n" "$T/eb/$n" || fail "emergence $n not deterministic"
done
f=$(lf "$T/ea/emergence.csv")
head -1 "$f" | grep -qx 'step,layer,function,subfunction,rho_neurons,rho_experts,rho_experts_random' || fail "emergence header"
[ "$(wc -l < "$f")" = $((1 + 2 * 3 * 3)) ] || fail "emergence rows: $(wc -l < "$f")"
# model -> ckpt-b -> model: both pairs give the same rho (Spearman is symmetric)
[ "$(awk -F, '$1==1 {print $2,$4,$5,$6}' "$f")" = "$(awk -F, '$1==2 {print $2,$4,$5,$6}' "$f")" ] || fail "emergence symmetry"
grep -q '^1,0,knowledge,capital_of,0.29301' "$f" || fail "emergence capital_of: $(grep capital_of "$f" | head -1)"
f=$(lf "$T/ea/stabilisation.csv")
grep -qx 'all,rho_neurons,0.9,' "$f" || fail "stabilisation: $(cat "$f")"
bad emergence "$E2E/model" --probe "$E2E/probe.csv" -o "$T/x9"
bad emergence "$E2E/model" "$E2E/nosuch" --probe "$E2E/probe.csv" -o "$T/x10"
[ ! -e "$T/x10/emergence.csv" ] || fail "partial emergence output"
# --- task neurons ------------------------------------------------------------------------------
for d in a b; do
  "$MODEX" taskneurons "$E2E/model" "$E2E/probe.csv" -o "$T/t$d" --expert-size 16 --fraction 0.05 2>/dev/null
done
for n in task_neurons.csv overlap.csv task_experts.csv; do
  cmp "$T/ta/$n" "$T/tb/$n" || fail "taskneurons $n not deterministic"
done
f=$(lf "$T/ta/task_neurons.csv")
head -1 "$f" | grep -qx 'layer,function,subfunction,rank,neuron,importance,expert' || fail "task_neurons header"
[ "$(wc -l < "$f")" = $((1 + 3 * 3 * 13)) ] || fail "task_neurons rows: $(wc -l < "$f")"
f=$(lf "$T/ta/overlap.csv")
[ "$(awk -F, 'NR>1 && $3==$5 && $6!=1' "$f" | wc -l)" = 0 ] || fail "overlap diagonal"
f=$(lf "$T/ta/task_experts.csv")
# every layer and sub-function: the counts add up to the 13 top neurons
[ "$(awk -F, 'NR>1 {c[$1" "$3]+=$5} END {for (k in c) if (c[k]!=13) print k}' "$f")" = "" ] || fail "task_experts counts"
bad taskneurons "$E2E/model" "$E2E/probe.csv" -o "$T/x11" --fraction 0
bad taskneurons "$E2E/model" "$E2E/probe.csv" -o "$T/x12" --layers 7
echo "interv: ok"
