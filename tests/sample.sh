#!/usr/bin/env bash
# sample.sh — the committed sample model (sample_models/, made by `make sample`) is complete,
# within its size budget, and shows what sample_models/README.md says it shows, measured by
# modex's own analysis: functional experts for most sub-functions in most layers, every
# function's predictivity above a random-init copy, judged statements answered (the knowledge
# that needs a comparison), and masking the task function's experts hurting the task
# sub-functions several times more than masking as many random experts.
set -u
cd "$(dirname "$0")/.."
S=sample_models/gpt2-relu-4l
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for f in config.json model.safetensors tokenizer.json train_log.csv; do [ -s "$S/$f" ] || fail "$S/$f missing"; done
n=0
for c in "$S"/checkpoints/step-*; do
  for f in config.json model.safetensors tokenizer.json; do [ -s "$c/$f" ] || fail "$c/$f missing"; done
  n=$((n+1))
done
[ "$n" = 10 ] || fail "$n checkpoints (want 10)"
bytes=$(find sample_models -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$bytes" -le 25000000 ] || fail "sample_models holds $bytes bytes (budget 25 MB)"

# the probe set is the generator's held-out stream for seed 1 (make sample's command)
"$MODEX" corpus --seed 1 --lines 200000 --probe-per-sub 120 --out "$T/corpus.txt" --probe-out "$T/probe.csv" 2>/dev/null || fail "corpus"
cmp -s "$T/probe.csv" sample_models/probe.csv || fail "sample_models/probe.csv is not what modex corpus --seed 1 writes"
cmp -s "$S/tokenizer.json" "$c/tokenizer.json" || fail "the last checkpoint's tokenizer differs" # $c: the loop's last

"$MODEX" analyze "$S" sample_models/probe.csv -o "$T/a" --random-init 1 2>/dev/null || fail "analyze"
# sub-functions with at least one functional expert (alpha = 0.001), per layer: most of the 18
# (at least 10) in most layers (at least 3 of the 4), and never fewer than 8 (the issue's
# "most sub-functions in most layers"; the count moves by 2-5 between probe draws: README)
awk -F, '{ sub(/\r$/, "") } NR > 1 && $3 != "*" { subs[$1 "," $3] = 1; if ($8 == 1) fe[$1 "," $3] = 1 }
  END { for (k in subs) { split(k, p, ","); n[p[1]]++; if (k in fe) f[p[1]]++ }
        for (l in n) { printf "layer %s: %d of %d sub-functions with functional experts\n", l, f[l], n[l]
                       if (n[l] != 18 || f[l] < 8) bad = 1; if (f[l] >= 10) most++ }
        if (length(n) != 4 || most < 3) bad = 1; exit bad }' "$T/a/functional_experts.csv" || fail "functional experts"
# every function: best AP above the random-init copy in every layer
awk -F, '{ sub(/\r$/, "") } NR > 1 { n++; printf "layer %s %s: best AP %.3f, random init %.3f\n", $1, $2, $3, $6
    if (!($3 > $6)) bad = 1 } END { exit bad || n != 12 }' "$T/a/summary.csv" || fail "best AP vs random init"

# subfunctions.csv agrees with the other files: best AP = the max over predictivity.csv, the
# function means (trained and random init) = summary.csv's, functional experts = the count in
# functional_experts.csv
awk -F, 'FNR == 1 { f++ } { sub(/\r$/, "") } FNR == 1 { next }
  f == 1 { k = $1 "," $4; if (!(k in mx) || $5 > mx[k]) mx[k] = $5; next }
  f == 2 { if ($3 != "*" && $8 == 1) fe[$1 "," $3]++; next }
  f == 3 { sm[$1 "," $2] = $3; sr[$1 "," $2] = $6; next }
  { n++; k = $1 "," $3; g = $1 "," $2
    if ($4 - mx[k] > 1e-6 || mx[k] - $4 > 1e-6 || $6 != fe[k] + 0) { print "subfunctions.csv row " k ": " $4 " " $6 " vs " mx[k] " " fe[k]; bad = 1 }
    a[g] += $4; r[g] += $5; c[g]++ }
  END { for (g in c) { d = a[g] / c[g] - sm[g]; e = r[g] / c[g] - sr[g]
          if (d > 1e-6 || d < -1e-6 || e > 1e-6 || e < -1e-6) { print "mean of " g " differs from summary.csv"; bad = 1 } }
        exit bad || n != 72 }' "$T/a/predictivity.csv" "$T/a/functional_experts.csv" "$T/a/summary.csv" \
    "$T/a/subfunctions.csv" || fail "subfunctions.csv"
awk -F, '{ sub(/\r$/, "") } $2 == "knowledge" { printf "layer %s %s: best AP %.3f, random init %.3f, %d functional experts\n", $1, $3, $4, $5, $6 }' \
    "$T/a/subfunctions.csv"

"$MODEX" perturb "$S" sample_models/probe.csv -o "$T/p" --select experts:task --fraction 0.12 2>/dev/null || fail "perturb"
# task sub-functions: the loss rises at least 3 times as much as with as many random experts
awk -F, '{ sub(/\r$/, "") } $5 == "task" && $7 == "loss" { n++; d = $9 - $8; r = $11 - $8
    printf "%s: loss +%.3f with the task experts masked, +%.3f with random experts\n", $6, d, r
    if (!(d > 0 && d >= 3 * r)) bad = 1 } END { exit bad || n != 4 }' "$T/p/perturbation.csv" || fail "masking"
# judged statements (true or false, "Verdict:"): the model's verdict is right at least 4 times in 5
awk -F, '{ sub(/\r$/, "") } $7 == "accuracy" && $6 ~ /^(capital_of|animal_sound|element_symbol|colour_of)$/ { n++
    printf "%s: verdict accuracy %.3f\n", $6, $8; if (!($8 >= 0.8)) bad = 1 } END { exit bad || n != 4 }' \
    "$T/p/perturbation.csv" || fail "verdicts"
echo "sample: ok"
