import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { mulberry } from '../helpers/rng.js';

/** A fresh temporary folder for one test file. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'smoothcert-onnx-'));
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Replaces every weight with seeded values of a scale that keeps activations O(1): kernels
 * U(±√(3/fanIn)), biases and BN shifts/means U(±0.2), BN scales and variances U(0.5, 1.5),
 * so batch normalization's four vectors all matter in the comparison.
 */
export function randomizeWeights(model: LayersModel, seed: number): void {
  const u = mulberry(seed);
  for (const layer of model.layers) {
    const weights = layer.weights;
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((w) => {
        const shape = w.shape as number[];
        const size = shape.reduce((a, b) => a * b, 1);
        const kind = w.originalName.split('/').pop()!;
        const fanIn = size / shape[shape.length - 1]!;
        const draw =
          kind === 'kernel'
            ? () => (2 * u() - 1) * Math.sqrt(3 / fanIn)
            : kind === 'gamma' || kind === 'moving_variance'
              ? () => 0.5 + u()
              : () => (2 * u() - 1) * 0.2;
        return tf.tensor(Float32Array.from({ length: size }, draw), shape);
      }),
    );
  }
}

/** Seeded uniform images in [0, 1], NHWC. */
export function randomImages(count: number, shape: readonly number[], seed: number): Float32Array {
  const u = mulberry(seed);
  return Float32Array.from({ length: count * shape.reduce((a, b) => a * b, 1) }, () => u());
}

/** The tfjs model's logits on NHWC images, in inference mode. */
export function tfjsLogits(model: LayersModel, images: Float32Array, count: number): Float32Array {
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return tf.tidy(() => (model.predict(tf.tensor4d(images, [count, h!, w!, c!])) as tf.Tensor).dataSync() as Float32Array);
}

/**
 * |a − b| ≤ tol · (1 + max|b|) elementwise: float32 tolerance scaled by the logits'
 * magnitude, since two engines may sum a dot product in a different order.
 */
export function assertClose(actual: Float32Array, expected: Float32Array | number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= worst)) {
      worst = diff;
      at = i;
    }
  }
  assert.ok(
    worst <= tol * (1 + scale),
    `${what}: max |diff| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) exceeds ${tol} · (1 + ${scale})`,
  );
}

/** Row-wise argmax (first maximum) and the gap between the two largest logits of each row. */
export function argmaxWithGap(logits: Float32Array, classes: number): { labels: number[]; gaps: number[] } {
  const labels: number[] = [];
  const gaps: number[] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
    const best = row.indexOf(Math.max(...row));
    labels.push(best);
    gaps.push(row[best]! - Math.max(...row.filter((_, k) => k !== best)));
  }
  return { labels, gaps };
}
