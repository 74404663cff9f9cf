#!/bin/sh
# Fixed-n CERTIFY (n = 100,000) against adaptive CERTIFY on the same trained models and test images:
# Fashion-MNIST LeNets trained with consistency regularization (m = 2, eta = 0.5, the paper's MNIST
# lambda) at sigma = 0.25, 0.5, 1.0, every 20th test image below MAX (default 2000: 100 images).
# Three adaptive questions per model: decision mode at the single radius r = sigma, decision mode over
# the table radii (the default list), and radius mode at tolerance 0.02. A model missing from MODELS is
# trained first (EPOCHS, LR_STEPS; defaults: the study's protocol R, so MODELS may be the study's folder).
# Every step resumes; rerun to fill in.
#   sh scripts/adaptive-comparison.sh
#   node scripts/adaptive-report.mjs "$MODELS" "$OUT"      # the table
set -e
cd "$(dirname "$0")/.."
SC="node bin/smoothcert.js"
MODELS=${MODELS:-docs/results/fashion-mnist}
OUT=${OUT:-docs/results/adaptive}
MAX=${MAX:-2000}
EPOCHS=${EPOCHS:-30}
LR_STEPS=${LR_STEPS:-10,20}
COMMON="--dataset fashion-mnist --skip 20 --max $MAX --n0 100 --alpha 0.001"
mkdir -p "$OUT"
for s in 0.25 0.5 1.0; do
  model=$MODELS/consistency-s$s
  lbd=5; [ "$s" = 0.25 ] && lbd=10
  if [ -f "$model/checkpoint.ckpt" ]; then
    $SC train --out "$model" --resume
  elif [ ! -f "$model/model.json" ]; then
    $SC train --out "$model" --dataset fashion-mnist --arch lenet --method consistency --sigma "$s" --lbd "$lbd" --num-noise 2 \
      --eta 0.5 --epochs "$EPOCHS" --lr 0.01 --lr-steps "$LR_STEPS" --batch 256 --seed 0
  fi
  # The fixed-n baseline is the study's own file (the same settings; certified there once).
  $SC certify --model "$model" $COMMON --n 100000 --out "$model/certify.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --radii "$s" --out "$OUT/s$s-decision-sigma.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --out "$OUT/s$s-decision-table.tsv"
  $SC certify --model "$model" $COMMON --adaptive --max-n 100000 --tolerance 0.02 --out "$OUT/s$s-radius-t0.02.tsv"
done
