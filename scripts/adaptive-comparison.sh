#!/bin/sh
# Fixed-n CERTIFY (n = 100,000) against adaptive CERTIFY on the same trained models and test images:
# the Fashion-MNIST consistency LeNets of the study (scripts/study-fashion-mnist.sh, stage main) at
# sigma = 0.25, 0.5, 1.0, every 20th test image below MAX (default 2000: 100 images). Three adaptive
# questions per model: decision mode at the single radius r = sigma, decision mode over the table radii
# (the default list), and radius mode at tolerance 0.02. Every run resumes; rerun to fill in.
#   sh scripts/adaptive-comparison.sh        then: node scripts/adaptive-report.mjs > docs/results/adaptive/README.md
set -e
cd "$(dirname "$0")/.."
SC="node bin/smoothcert.js"
MODELS=${MODELS:-docs/results/fashion-mnist}
OUT=${OUT:-docs/results/adaptive}
MAX=${MAX:-2000}
COMMON="--dataset fashion-mnist --skip 20 --max $MAX --n0 100 --alpha 0.001"
mkdir -p "$OUT"
for s in 0.25 0.5 1.0; do
  model=$MODELS/consistency-s$s
  # The fixed-n baseline is the study's own file (the same settings; certified there once).
  $SC certify --model "$model" $COMMON --n 100000 --out "$model/certify.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --radii "$s" --out "$OUT/s$s-decision-sigma.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --out "$OUT/s$s-decision-table.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --tolerance 0.02 --out "$OUT/s$s-radius-t0.02.tsv"
done
