import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CIFAR10_FILES } from '../../src/loaders/cifar10.js';
import { Mulberry32 } from '../../src/data/rng.js';
import { train, type EpochRecord } from '../../src/runs/train.js';
import { setBackend } from '../../src/backend/select.js';
import { ENGINE, ENGINE_TFJS } from '../backend/parity.js';

/**
 * One image per file in the CIFAR-10 binary format (a record is 1 label byte + 3×32×32 pixel
 * bytes, channel planes): smooth waves of a random frequency and phase per image and channel.
 * Natural-looking inputs keep the network well conditioned; on pixel noise, batch norm over
 * the 4 noisy samples of a step amplifies float rounding into visible loss differences.
 */
function cifarFixture(dir: string): void {
  const rng = new Mulberry32(11);
  CIFAR10_FILES.train.concat(CIFAR10_FILES.test).forEach((file, label) => {
    const bytes = new Uint8Array(3073);
    bytes[0] = label % 10;
    for (let c = 0; c < 3; c++) {
      const [fx, fy, phase] = [rng.next() / 3, rng.next() / 3, 6 * rng.next()];
      for (let p = 0; p < 1024; p++)
        bytes[1 + c * 1024 + p] = Math.round(127.5 + 100 * Math.sin(fx * (p % 32) + fy * Math.floor(p / 32) + phase));
    }
    writeFileSync(join(dir, file), bytes);
  });
}

/** One epoch of consistency training (m = 2, CIFAR's augmentation and schedule) of a ResNet-20 on `backend`. */
async function oneEpoch(backend: string, dataDir: string, out: string): Promise<EpochRecord> {
  if (backend === 'wasm') await setBackend('wasm');
  else await tf.setBackend(backend);
  let record: EpochRecord | undefined;
  await train(
    {
      dataset: 'cifar10',
      arch: 'cifar_resnet20',
      method: 'consistency',
      sigma: 0.25,
      numNoise: 2,
      epochs: 1,
      batchSize: 4,
      lr: 0.01,
      seed: 5,
    },
    {
      out,
      dataDir,
      notify: () => {},
      onEpoch: (e) => {
        record = e;
      },
    },
  );
  return record!;
}

// The CPU backend needs ~30 s for this epoch (its convolution gradients are plain JS loops):
// run for the native kernels, whose parity it checks end to end; tfjs-wasm's are tfjs's own.
test(`a ResNet-20 trained one epoch on a CIFAR-format fixture: the same losses on ${ENGINE} and the CPU backend`, {
  skip: ENGINE !== 'native' && 'checks the native kernels; ~30 s of CPU backend',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-cifar-'));
  try {
    // 5 training images: one loader batch of 4 (m = 2: two steps of 2 images, 4 noisy samples each), 1 test image.
    cifarFixture(dir);
    const expected = await oneEpoch('cpu', dir, join(dir, 'cpu'));
    // A second correct float32 engine (XNNPACK, in tfjs-wasm) sums in other orders: how far it
    // lands from the CPU backend is what float32 rounding does to this epoch, carried through
    // two SGD steps, batch norm over 4 samples and an evaluation whose running statistics are
    // barely trained (its logits are large, so rounding moves the test loss most).
    const other = await oneEpoch('wasm', dir, join(dir, 'wasm'));
    let got: EpochRecord;
    try {
      got = await oneEpoch(ENGINE_TFJS, dir, join(dir, ENGINE));
    } finally {
      await tf.setBackend(ENGINE_TFJS);
    }
    for (const key of ['trainLoss', 'testLoss'] as const) {
      assert.ok(Number.isFinite(expected[key]) && expected[key] > 0, `${key} on cpu: ${expected[key]}`);
      // Native kernels sum in yet other orders: allow 64 times the rounding spread of the two tfjs
      // engines, and never less than 64 · 16 ulp of the value (in case those two happen to agree).
      // A kernel that computes something else misses by far more (a wrong choice once gave 3.58
      // for 9.00 here).
      const spread = Math.max(Math.abs(other[key] - expected[key]), 2 ** -20 * Math.abs(expected[key]));
      assert.ok(
        Math.abs(got[key] - expected[key]) <= 64 * spread,
        `${key}: ${got[key]} on ${ENGINE}, ${expected[key]} on cpu (wasm ${other[key]}; allowed ±${64 * spread})`,
      );
    }
    assert.equal(got.trainAcc, expected.trainAcc);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
