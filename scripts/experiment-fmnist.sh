#!/bin/sh
# Gaussian augmentation vs consistency regularization on Fashion-MNIST at sigma = 0.5 (a short
# version of the paper's MNIST comparison, Table 2): train LeNet with each method, CERTIFY every
# 20th test image, tabulate and plot. Every step resumes if interrupted: rerun the script.
# Results: docs/results/fmnist-sigma0.5/.
set -e
cd "$(dirname "$0")/.."
SC="node bin/smoothcert.js"
OUT=docs/results/fmnist-sigma0.5
EPOCHS=${EPOCHS:-10}
mkdir -p "$OUT"
for method in gaussian consistency; do
  run=runs/fmnist-$method-0.5
  extra=""; [ "$method" = consistency ] && extra="--lbd 5"
  if [ -f "$run/checkpoint.ckpt" ]; then resume=--resume; else resume=""; fi
  $SC train --dataset fashion-mnist --arch lenet --method $method --sigma 0.5 $extra \
    --epochs "$EPOCHS" --lr-steps 5,8 --out "$run" $resume
  cp "$run/log.tsv" "$OUT/train-$method.tsv"
  $SC certify --model "$run" --dataset fashion-mnist --skip 20 --n 10000 --out "$OUT/certify-$method.tsv"
done
$SC analyze "$OUT/certify-gaussian.tsv" "$OUT/certify-consistency.tsv" --labels "Gaussian,Consistency (λ=5)" \
  --radii-step 0.25 --radii-max 2 --out "$OUT/table.md" --plot "$OUT/certified-accuracy.png"
cat "$OUT/table.md"
