import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Mulberry32 } from '../../src/data/rng.js';
import { CIFAR10_FILES } from '../../src/loaders/cifar10.js';
import { train } from '../../src/runs/train.js';
import { BF16_SKIP } from '../backend/bf16-rounding.js';
import { ENGINE } from '../backend/parity.js';

const PER_FILE = 40;

/**
 * PER_FILE images per file in the CIFAR-10 binary format (1 label byte + 3×32×32 pixel bytes in
 * channel planes): per class one smooth wave pattern per channel, drawn again per image with a
 * small jitter of frequency and phase, so the classes are learnable and the loss falls within
 * one epoch.
 */
function cifarFixture(dir: string): void {
  const rng = new Mulberry32(23);
  const classes = Array.from({ length: 10 }, () => Array.from({ length: 3 }, () => [rng.next() / 3, rng.next() / 3, 6 * rng.next()]));
  for (const file of CIFAR10_FILES.train.concat(CIFAR10_FILES.test)) {
    const bytes = new Uint8Array(PER_FILE * 3073);
    for (let r = 0; r < PER_FILE; r++) {
      const label = Math.floor(rng.next() * 10);
      bytes[r * 3073] = label;
      for (let c = 0; c < 3; c++) {
        const [fx, fy, phase] = classes[label]![c]!;
        const [jx, jy, jp] = [0.02 * (rng.next() - 0.5), 0.02 * (rng.next() - 0.5), 0.5 * (rng.next() - 0.5)];
        for (let p = 0; p < 1024; p++) {
          const v = 127.5 + 100 * Math.sin((fx! + jx) * (p % 32) + (fy! + jy) * Math.floor(p / 32) + phase! + jp);
          bytes[r * 3073 + 1 + c * 1024 + p] = Math.round(v);
        }
      }
    }
    writeFileSync(join(dir, file), bytes);
  }
}

/** The loss of every step of one epoch of consistency training (m = 2) of a ResNet-20 at `precision`. */
async function stepLosses(precision: 'fp32' | 'bf16', dataDir: string, out: string): Promise<number[]> {
  const losses: number[] = [];
  await train(
    {
      dataset: 'cifar10',
      arch: 'cifar_resnet20',
      method: 'consistency',
      sigma: 0.25,
      numNoise: 2,
      lbd: 5,
      epochs: 1,
      batchSize: 40,
      lr: 0.02,
      evalSize: PER_FILE,
      seed: 3,
      precision,
    },
    { out, dataDir, notify: () => {}, onProgress: (_epoch, p) => losses.push(p.loss) },
  );
  const log = readFileSync(join(out, 'log.tsv'), 'utf8');
  assert.match(log.split('\n')[0]!, new RegExp(`"precision":"${precision}"`), 'log.tsv records the precision');
  return losses;
}

// bf16 rounds every operand of a convolution or product to 8 significant bits (relative error
// u = 2⁻⁹); float32 keeps the master weights, batch norm and the loss. From the same weights,
// images and noise the two runs start apart by the rounding of the forward pass and drift as
// the weights take bf16 gradients. The bound: per step, 5 % of the fp32 loss. Each of ResNet-20's
// 20 layers adds at most 2u ≈ 0.4 % relative error to what it computes (both operands rounded),
// so to first order its output moves by at most 20 · 2u ≈ 8 % of its size, and a cross-entropy
// by less than that fraction of itself once batch norm renormalizes each layer (measured: 0.01 %
// at step 0). The later steps add the drift of the weights, whose gradients carry the same
// relative error, over 10 steps at lr 0.02 (measured: under 1 %). A bf16 path with a wrong
// gradient (a transposed product, a misplaced operand) stops the loss from falling or departs by
// far more; the rounding itself is checked kernel by kernel (backend/bf16-gradients.test.ts).
test('one epoch of ResNet-20 on a CIFAR-format fixture: the bf16 and fp32 loss curves agree', {
  skip: BF16_SKIP,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-bf16-'));
  try {
    cifarFixture(dir);
    const fp32 = await stepLosses('fp32', dir, join(dir, 'fp32'));
    const bf16 = await stepLosses('bf16', dir, join(dir, 'bf16'));
    // 200 images in five loader batches of 40, each split into two steps of 20 images × 2 noisy copies.
    assert.equal(fp32.length, 10);
    assert.equal(bf16.length, fp32.length);
    assert.notDeepEqual(bf16, fp32, 'bf16 arithmetic ran (the curves are not identical)');
    fp32.forEach((want, i) => {
      const got = bf16[i]!;
      assert.ok(Math.abs(got - want) <= 0.05 * want, `step ${i}: bf16 loss ${got}, fp32 ${want} (allowed ±${0.05 * want})`);
    });
    const mean = (a: number[], from: number, to: number) => a.slice(from, to).reduce((s, v) => s + v, 0) / (to - from);
    for (const [name, curve] of [
      ['fp32', fp32],
      ['bf16', bf16],
    ] as const) {
      assert.ok(mean(curve, 6, 10) < mean(curve, 0, 4), `${name} loss falls over the epoch: ${curve.map((v) => v.toFixed(3))}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('off the native backend a bf16 run is refused before its folder is made', {
  skip: ENGINE === 'native' && 'tested where the native backend is not active',
}, async () => {
  const out = join(tmpdir(), `smoothcert-bf16-refused-${process.pid}`);
  await assert.rejects(
    train({ sigma: 0.5, epochs: 1, trainSize: 64, precision: 'bf16' }, { out, notify: () => {} }),
    /precision bf16 runs on the native backend \(oneDNN\) only/,
  );
  assert.equal(existsSync(out), false);
});
