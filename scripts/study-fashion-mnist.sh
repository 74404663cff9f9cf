#!/bin/sh
# The paper's MNIST study (Supplementary Tables 2, 4, 5, 6; Figure 1) on Fashion-MNIST under
# protocol "R" (docs/results/fashion-mnist/README.md): LeNet, batch 256, SGD-Nesterov 0.9, weight
# decay 1e-4, lr 0.01, 30 epochs with x0.1 at epochs 10 and 20, seed 0; CERTIFY on every 20th test
# image (500 images) with n0 = 100, alpha = 0.001 at the training sigma.
#
#   sh scripts/study-fashion-mnist.sh [stage ...]
#     stages: main baselines ablations seeds runtime gaps bf16 report (default: all, in that order)
#
# Every step resumes: training continues from its last checkpoint (or is skipped when finished) and
# certification appends to its TSV, so rerunning the script only fills in what is missing. MAX=2000
# certifies the first 100 of the 500 images (every 20th below index 2000); a later run without MAX
# extends the same files to all 500. Outputs: docs/results/fashion-mnist/<model>/ (model folder,
# log.tsv, certify.tsv, certify-n10000.tsv); the checkpoints stay out of git. runtime.tsv, gaps.csv/png and the
# report's tables, plots and wallclock.md sit beside them. The runtime stage measures time and memory: run it on a
# quiet machine.
set -e
cd "$(dirname "$0")/.."
SC="node bin/smoothcert.js"
OUT=${OUT:-docs/results/fashion-mnist}
MAX=${MAX:-10000}
# SHORT: protocol R in 10 epochs (the SmoothAdv baselines; see baselines()); later flags override PROTOCOL's.
SHORT="--epochs 10 --lr-steps 3,7"
PROTOCOL="--dataset fashion-mnist --arch lenet --epochs 30 --lr 0.01 --lr-steps 10,20 --batch 256 --momentum 0.9 --weight-decay 1e-4 --seed 0"

# finished DIR: whether DIR holds a model whose training ran all its epochs (its smoothcert.json says so).
# The checkpoint is not committed, so a finished model checked out on another machine has none.
finished() {
  [ -f "$1/smoothcert.json" ] && node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).training;
    process.exit(t && t.epochsDone === t.epochs ? 0 : 1);' "$1/smoothcert.json"
}

# train NAME SIGMA METHOD-FLAGS...: trains (or resumes, or skips) the model NAME at SIGMA.
train() {
  name=$1; sigma=$2; shift 2
  dir=$OUT/$name
  if finished "$dir"; then
    echo "$name: trained"
  elif [ -f "$dir/checkpoint.ckpt" ] || [ -f "$dir/log.tsv" ]; then
    # The settings again: a run stopped before its first checkpoint (only log.tsv) starts over from them; with a
    # checkpoint they must match the run's own.
    $SC train --out "$dir" --resume --sigma "$sigma" $PROTOCOL "$@"
  else
    $SC train --out "$dir" --sigma "$sigma" $PROTOCOL "$@"
  fi
}

# tsv NAME N: the certify TSV of model NAME with N samples: NAME/certify.tsv at protocol R's n, else certify-nN.tsv.
tsv() {
  if [ "$2" = 100000 ]; then echo "$OUT/$1/certify.tsv"; else echo "$OUT/$1/certify-n$2.tsv"; fi
}

# certify NAME N: CERTIFY of model NAME with N samples into its TSV (tsv NAME N).
certify() {
  $SC certify --model "$OUT/$1" --dataset fashion-mnist --skip 20 --max "$MAX" --n0 100 --n "$2" --alpha 0.001 \
    --out "$(tsv "$1" "$2")"
}

# main_lbd SIGMA: the paper's MNIST lambda of the main table at SIGMA.
main_lbd() {
  if [ "$1" = 0.25 ]; then echo 10; else echo 5; fi
}

main() {
  # Table 2's Gaussian vs + Consistency (m = 2, eta = 0.5; the paper's MNIST lambda per sigma).
  for s in 0.25 0.5 1.0; do
    train "consistency-s$s" "$s" --method consistency --lbd "$(main_lbd "$s")" --num-noise 2 --eta 0.5
    train "gaussian-s$s" "$s" --method gaussian
  done
  # All 500 images with n = 10,000 first (minutes per model), then protocol R's n = 100,000, one sigma's pair at a time.
  for n in 10000 100000; do
    for s in 0.25 0.5 1.0; do certify "gaussian-s$s" "$n"; certify "consistency-s$s" "$n"; done
  done
}

baselines() {
  # Gaussian and + Consistency at sigma = 0.5 again with n = 10,000, so that the baselines' table compares like with like;
  # each baseline certified as soon as it is trained, cheapest first.
  certify gaussian-s0.5 10000
  certify consistency-s0.5 10000
  train stability-s0.5 0.5 --method stability --lbd 2
  certify stability-s0.5 10000
  # SmoothAdv (10-step PGD, m = 4) costs ~225 s per epoch here, 18 times consistency (runtime.tsv): it runs protocol R
  # shortened to 10 epochs (x0.1 at epochs 3 and 7, epsilon warmed up over the first 3 as the paper's 10 of 30), and
  # Gaussian and + Consistency are trained again on that schedule, so that the three compare like with like.
  train gaussian-s0.5-e10 0.5 --method gaussian $SHORT
  certify gaussian-s0.5-e10 10000
  train consistency-s0.5-e10 0.5 --method consistency --lbd 5 --num-noise 2 --eta 0.5 $SHORT
  certify consistency-s0.5-e10 10000
  train smoothadv-s0.5-e10 0.5 --method smoothadv --epsilon 1 --num-steps 10 --num-noise 4 $SHORT --warmup 3
  certify smoothadv-s0.5-e10 10000
  train smoothadv-consistency-s0.5-e10 0.5 --method smoothadv --epsilon 1 --num-steps 10 --num-noise 4 --lbd 1 $SHORT --warmup 3
  certify smoothadv-consistency-s0.5-e10 10000
  # MACER deferred as the reference's MNIST runs: lambda = 0 until the first learning-rate drop (the default).
  train macer-s0.5 0.5 --method macer --num-noise 16 --lbd 16 --gamma 8 --beta 16
  certify macer-s0.5 10000
}

ablations() {
  # Table 6 (lambda; 0 is the Gaussian model, 5 the main one), Table 4 (loss forms), Table 5 (m), at sigma = 1.0;
  # each model certified as soon as it is trained, so finished rows appear while the rest trains.
  certify gaussian-s1.0 10000
  certify consistency-s1.0 10000
  for lbd in 1 10 20; do
    train "consistency-s1.0-lbd$lbd" 1.0 --method consistency --lbd "$lbd"
    certify "consistency-s1.0-lbd$lbd" 10000
  done
  for form in xent kl mse; do
    train "consistency-s1.0-$form" 1.0 --method consistency --lbd 5 --consistency-loss "$form"
    certify "consistency-s1.0-$form" 10000
  done
  for m in 4 8; do
    train "consistency-s1.0-m$m" 1.0 --method consistency --lbd 5 --num-noise "$m"
    certify "consistency-s1.0-m$m" 10000
  done
  # Table 4 also compares the forms at a larger lambda, where the paper sees kl and mse fall behind: lambda = 20
  # (the default form's is consistency-s1.0-lbd20).
  for form in kl mse; do
    train "consistency-s1.0-$form-lbd20" 1.0 --method consistency --lbd 20 --consistency-loss "$form"
    certify "consistency-s1.0-$form-lbd20" 10000
  done
}

# seeds: the default model at sigma = 1.0 trained again with seeds 1 and 2 (certified with n = 10,000), so that the
# page can tell the ACR differences of the ablations from what a change of training seed alone makes.
seeds() {
  for seed in 1 2; do
    train "consistency-s1.0-seed$seed" 1.0 --method consistency --lbd 5 --seed "$seed"
    certify "consistency-s1.0-seed$seed" 10000
  done
}

# bf16: the sigma = 0.5 pair of the main table (Gaussian and + Consistency, lambda = 5) retrained with --precision bf16
# (convolutions and inner products in bfloat16, float32 master weights; needs AVX512-BF16 or AMX) beside their fp32
# twins, certified as those are at n = 10,000 (the saved weights are float32; certification in fp32); then
# runtime-precision.tsv: one epoch of every method in fp32 and in bf16, alternated.
bf16() {
  train gaussian-s0.5-bf16 0.5 --method gaussian --precision bf16
  certify gaussian-s0.5-bf16 10000
  train consistency-s0.5-bf16 0.5 --method consistency --lbd 5 --num-noise 2 --eta 0.5 --precision bf16
  certify consistency-s0.5-bf16 10000
  runtime_precision
}

# epoch_seconds LOG: the seconds of epoch 0 in a log.tsv (after its settings line and header).
epoch_seconds() {
  awk -F'\t' '$1 == "0" { print $2 }' "$1"
}

# runtime_precision: runtime-precision.tsv, one epoch of protocol R from scratch per method and precision as the
# runtime stage times them (500 test images evaluated, first-epoch setup included), fp32 and bf16 one after the other
# for each method so that both see the same machine; a row already present is skipped.
runtime_precision() {
  file=$OUT/runtime-precision.tsv
  [ -f "$file" ] || printf 'method\tprecision\tseconds_per_epoch\tpeak_rss_mb\n' > "$file"
  methods | while read -r method hps flags; do
    for precision in fp32 bf16; do
      if awk -F'\t' -v m="$method" -v p="$precision" '$1 == m && $2 == p { found = 1 } END { exit !found }' "$file"; then
        echo "$method $precision: timed"; continue
      fi
      dir=$(mktemp -d)
      /usr/bin/time -f %M -o "$dir/rss" $SC train --out "$dir/run" --sigma 0.5 $PROTOCOL --epochs 1 --eval-size 500 \
        --precision "$precision" $flags < /dev/null
      printf '%s\t%s\t%s\t%s\n' "$method" "$precision" "$(epoch_seconds "$dir/run/log.tsv")" "$(($(cat "$dir/rss") / 1024))" >> "$file"
      rm -rf "$dir"
    done
  done
}

# runtime: the paper's Table 3 on this machine. Each method at sigma = 0.5 trains one epoch of protocol R from
# scratch (evaluating 500 test images) in a scratch folder; runtime.tsv gets its seconds for that epoch (log.tsv,
# first-epoch primitive creation included) and the process's peak resident memory. A method already in
# runtime.tsv is skipped. MACER is timed with its robustness term on (no deferral), the cost of most of its epochs.
# methods: each method of the runtime table as "name hyperparameter-count flags...".
methods() {
  cat <<EOF_METHODS
gaussian 0 --method gaussian
consistency 2 --method consistency --lbd 5 --num-noise 2 --eta 0.5
stability 1 --method stability --lbd 2
smoothadv 4 --method smoothadv --epsilon 1 --num-steps 10 --num-noise 4
smoothadv-consistency 5 --method smoothadv --epsilon 1 --num-steps 10 --num-noise 4 --lbd 1
macer 4 --method macer --num-noise 16 --lbd 16 --gamma 8 --beta 16 --defer-epochs 0
EOF_METHODS
}

runtime() {
  file=$OUT/runtime.tsv
  [ -f "$file" ] || printf 'method\thyperparameters\tseconds_per_epoch\tpeak_rss_mb\n' > "$file"
  methods | while read -r method hps flags; do
    if cut -f1 "$file" | grep -qx "$method"; then echo "$method: timed"; continue; fi
    dir=$(mktemp -d)
    /usr/bin/time -f %M -o "$dir/rss" $SC train --out "$dir/run" --sigma 0.5 $PROTOCOL --epochs 1 --eval-size 500 $flags < /dev/null
    printf '%s\t%s\t%s\t%s\n' "$method" "$hps" "$(epoch_seconds "$dir/run/log.tsv")" "$(($(cat "$dir/rss") / 1024))" >> "$file"
    rm -rf "$dir"
  done
}

# gaps: Figure 1 for test image 0 at sigma = 0.5, every model trained at that sigma, 10,000 shared noise draws
# (gaps.csv, gaps.png, gaps.txt).
gaps() {
  models=""; labels=""
  for entry in "Gaussian|gaussian-s0.5" "+ Consistency|consistency-s0.5" "Stability training|stability-s0.5" \
    "MACER|macer-s0.5" "SmoothAdv (10 epochs)|smoothadv-s0.5-e10" \
    "SmoothAdv + Consistency (10 epochs)|smoothadv-consistency-s0.5-e10"; do
    name=${entry##*|}
    # Only finished models: a folder still training holds the weights of its last checkpoint.
    finished "$OUT/$name" && models="$models --model $OUT/$name" && labels="$labels,${entry%|*}"
  done
  # The per-model summary (mean gap, share of misclassified draws) goes to gaps.txt; on failure it is shown instead.
  $SC gaps $models --labels "${labels#,}" --index 0 --n 10000 --out "$OUT/gaps.csv" --plot "$OUT/gaps.png" \
    2> "$OUT/gaps.txt" || { cat "$OUT/gaps.txt" >&2; exit 1; }
}

# table NAME LABEL|TSV... : analyze the TSVs present into table-NAME.md and certified-accuracy-NAME.png, one row and
# one curve per TSV under its LABEL (no commas; "|" ends it).
table() {
  name=$1; shift
  files=""; labels=""
  for arg in "$@"; do
    f=${arg##*|}
    [ -f "$f" ] && files="$files $f" && labels="$labels,${arg%|*}"
  done
  [ -z "$files" ] || $SC analyze $files --labels "${labels#,}" --radii-step 0.25 --radii-max 2.5 \
    --out "$OUT/table-$name.md" --plot "$OUT/certified-accuracy-$name.png"
}

# paired NAME A B: one row of paired.md, the ACR of B minus that of A over the images both TSVs certified, with its
# standard error over images (the per-image certified radius, 0 when wrong or abstaining, differenced image by image),
# so the page can say whether an ACR difference is larger than the choice of test images explains.
paired() {
  [ -f "$2" ] && [ -f "$3" ] || return 0
  awk -F'\t' -v name="$1" '/^#/ || $1 == "idx" { next }
    FNR == NR { a[$1] = $5 == 1 ? $4 : 0; next }
    $1 in a { d = ($5 == 1 ? $4 : 0) - a[$1]; k++; sum += d; sq += d * d }
    END { if (k < 2) exit; mean = sum / k; v = (sq - k * mean * mean) / (k - 1); if (v < 0) v = 0; se = sqrt(v / k)
          printf "| %s | %d | %+.3f | %.3f |\n", name, k, mean, se }' "$2" "$3"
}

# stage_of FILE: the stage a model's log.tsv or certify TSV is charged to. The n = 10,000 certifications of the main
# models at sigma 0.5 and 1.0 count for the baselines and ablations that compare with them (main also lists them; the
# stage that runs first writes them, the other finds them done).
stage_of() {
  case ${1#"$OUT"/} in
    consistency-s1.0-seed*/*) echo seeds ;;
    consistency-s1.0-*/* | gaussian-s1.0/certify-n10000.tsv | consistency-s1.0/certify-n10000.tsv) echo ablations ;;
    *-bf16/*) echo bf16 ;;
    stability-*/* | macer-*/* | *-e10/* | *-s0.5/certify-n10000.tsv) echo baselines ;;
    *) echo main ;;
  esac
}

# cost FILE: one row of wallclock.md for a log.tsv (seconds per epoch, column 2) or a certify TSV (h:mm:ss.ffffff per
# image, the last column): stage, count, recorded seconds, and the median per unit. Pauses during the study (SIGSTOP
# while benchmarks or CI ran) inflate the recorded sum, not the median, so the median times the count is the cost on
# a quiet machine.
cost() {
  case $1 in *log.tsv) unit=epochs ;; *) unit=images ;; esac
  awk -F'\t' -v unit="$unit" '/^#/ || $1 == "idx" || $1 == "epoch" { next }
    unit == "epochs" { print $2; next } { split($NF, p, ":"); print p[1] * 3600 + p[2] * 60 + p[3] }' "$1" |
    sort -n | awk -v file="${1#"$OUT"/}" -v unit="$unit" -v stage="$(stage_of "$1")" '
      { v[NR] = $1; sum += $1 }
      END { if (NR == 0) exit; med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "| %s | `%s` | %d %s | %.0f | %.3f | %.0f |\n", stage, file, NR, unit, sum, med, med * NR }'
}

# wallclock: wallclock.md, the cost of every training run and certification in this folder, and each stage's total.
wallclock() {
  rows=$(for f in "$OUT"/*/log.tsv "$OUT"/*/certify*.tsv; do [ ! -f "$f" ] || cost "$f"; done)
  {
    printf '| stage | file | done | recorded s | median s per unit | median x count s |\n'
    printf '| :-- | :-- | --: | --: | --: | --: |\n%s\n\n' "$rows"
    printf '| stage | recorded h | median x count h |\n| :-- | --: | --: |\n'
    printf '%s\n' "$rows" | awk -F'|' '{ gsub(/ /, "", $2); r[$2] += $5; m[$2] += $7 }
      END { for (s in r) printf "| %s | %.2f | %.2f |\n", s, r[s] / 3600, m[s] / 3600 }' | sort
    [ ! -f "$OUT/runtime.tsv" ] ||
      awk -F'\t' 'NR > 1 { t += $3 } END { printf "| runtime | %.2f | %.2f |\n", t / 3600, t / 3600 }' "$OUT/runtime.tsv"
  } > "$OUT/wallclock.md"
}

# paired10k LABEL A B: paired for models A and B certified with n = 10,000 (the baselines' and ablations' n).
paired10k() {
  paired "$1" "$(tsv "$2" 10000)" "$(tsv "$3" 10000)"
}

# differences: paired.md, the ACR differences the page's claims rest on (B minus A, same images).
differences() {
  printf '| B vs A | images | ΔACR | standard error |\n| :-- | --: | --: | --: |\n'
  for s in 0.25 0.5 1.0; do
    for n in 100000 10000; do
      paired "σ = $s, n = $n: + Consistency vs Gaussian" "$(tsv "gaussian-s$s" "$n")" "$(tsv "consistency-s$s" "$n")"
    done
  done
  a=consistency-s1.0
  for v in 1 10 20; do paired10k "σ = 1.0: λ = $v vs λ = 5" "$a" "$a-lbd$v"; done
  paired10k "σ = 1.0: λ = 1 vs Gaussian" gaussian-s1.0 "$a-lbd1"
  for v in xent kl mse; do paired10k "σ = 1.0, λ = 5: $v vs default form" "$a" "$a-$v"; done
  for v in kl mse; do paired10k "σ = 1.0, λ = 20: $v vs default form" "$a-lbd20" "$a-$v-lbd20"; done
  for v in 4 8; do paired10k "σ = 1.0: m = $v vs m = 2" "$a" "$a-m$v"; done
  for v in 1 2; do paired10k "σ = 1.0: seed $v vs seed 0" "$a" "$a-seed$v"; done
  for v in "Gaussian|gaussian-s0.5" "stability training|stability-s0.5" "MACER|macer-s0.5"; do
    paired10k "σ = 0.5: + Consistency vs ${v%%|*}" "${v#*|}" consistency-s0.5
  done
  for v in "Gaussian|gaussian" "SmoothAdv|smoothadv" "SmoothAdv + Consistency|smoothadv-consistency"; do
    paired10k "σ = 0.5, 10 epochs: + Consistency vs ${v%%|*}" "${v#*|}-s0.5-e10" consistency-s0.5-e10
  done
  paired10k "σ = 0.5, 10 epochs: SmoothAdv + Consistency vs SmoothAdv" smoothadv-s0.5-e10 smoothadv-consistency-s0.5-e10
  for v in "Gaussian|gaussian-s0.5" "+ Consistency|consistency-s0.5"; do
    paired10k "σ = 0.5: ${v%%|*} trained in bf16 vs fp32" "${v#*|}" "${v#*|}-bf16"
  done
  paired10k "σ = 0.5, bf16: + Consistency vs Gaussian" gaussian-s0.5-bf16 consistency-s0.5-bf16
}

report() {
  wallclock
  differences > "$OUT/paired.md"
  # Figure 2 / Table 2: per sigma, n = 100,000 (protocol R) and n = 10,000.
  for s in 0.25 0.5 1.0; do
    table "s$s" "Gaussian|$(tsv "gaussian-s$s" 100000)" "+ Consistency (λ = $(main_lbd "$s"))|$(tsv "consistency-s$s" 100000)"
    table "s$s-n10000" "Gaussian|$(tsv "gaussian-s$s" 10000)" "+ Consistency (λ = $(main_lbd "$s"))|$(tsv "consistency-s$s" 10000)"
  done
  # Table 3's ACR and the baselines at sigma = 0.5, n = 10,000: protocol R, and the 10-epoch schedule of SmoothAdv.
  table baselines "Gaussian|$(tsv gaussian-s0.5 10000)" "+ Consistency (λ = 5)|$(tsv consistency-s0.5 10000)" \
    "Stability training (λ = 2)|$(tsv stability-s0.5 10000)" "MACER|$(tsv macer-s0.5 10000)"
  table baselines-e10 "Gaussian|$(tsv gaussian-s0.5-e10 10000)" "+ Consistency (λ = 5)|$(tsv consistency-s0.5-e10 10000)" \
    "SmoothAdv|$(tsv smoothadv-s0.5-e10 10000)" "SmoothAdv + Consistency (λ = 1)|$(tsv smoothadv-consistency-s0.5-e10 10000)"
  # Figure 3 / Tables 4-6 at sigma = 1.0, n = 10,000: lambda (0 = Gaussian), loss forms (lambda 5 and 20), m (lambda 5).
  a=consistency-s1.0
  table lambda "Gaussian (λ = 0)|$(tsv gaussian-s1.0 10000)" "λ = 1|$(tsv "$a-lbd1" 10000)" \
    "λ = 5|$(tsv "$a" 10000)" "λ = 10|$(tsv "$a-lbd10" 10000)" "λ = 20|$(tsv "$a-lbd20" 10000)"
  table forms "default (KL + η·H) λ = 5|$(tsv "$a" 10000)" "xent λ = 5|$(tsv "$a-xent" 10000)" \
    "kl λ = 5|$(tsv "$a-kl" 10000)" "mse λ = 5|$(tsv "$a-mse" 10000)" \
    "default (KL + η·H) λ = 20|$(tsv "$a-lbd20" 10000)" "kl λ = 20|$(tsv "$a-kl-lbd20" 10000)" \
    "mse λ = 20|$(tsv "$a-mse-lbd20" 10000)"
  table m "m = 2|$(tsv "$a" 10000)" "m = 4|$(tsv "$a-m4" 10000)" "m = 8|$(tsv "$a-m8" 10000)"
  table seeds "seed 0|$(tsv "$a" 10000)" "seed 1|$(tsv "$a-seed1" 10000)" "seed 2|$(tsv "$a-seed2" 10000)"
  # bf16 training: the sigma = 0.5 pair trained in fp32 and in bf16, n = 10,000.
  table bf16 "Gaussian fp32|$(tsv gaussian-s0.5 10000)" "Gaussian bf16|$(tsv gaussian-s0.5-bf16 10000)" \
    "+ Consistency (λ = 5) fp32|$(tsv consistency-s0.5 10000)" "+ Consistency (λ = 5) bf16|$(tsv consistency-s0.5-bf16 10000)"
}

stages=${*:-main baselines ablations seeds runtime gaps bf16 report}
for stage in $stages; do "$stage"; done
