import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../../src/files/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'smoothcert-ckpt-'));

test('a checkpoint round-trips state, weights and optimizer buffers', () => {
  const path = join(dir, 'a.ckpt');
  const ckpt = {
    state: { epoch: 3, rng: 12345, note: 'x' },
    weights: [
      { shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { shape: [1], values: Float32Array.from([-0.5]) },
    ],
    optimizer: [null, { shape: [1], values: Float32Array.from([0.25]) }],
  };
  writeCheckpoint(path, ckpt);
  const back = readCheckpoint<typeof ckpt.state>(path);
  assert.deepEqual(back.state, ckpt.state);
  assert.deepEqual(
    back.weights.map((t) => [t.shape, Array.from(t.values)]),
    [
      [
        [2, 3],
        [1, 2, 3, 4, 5, 6],
      ],
      [[1], [-0.5]],
    ],
  );
  assert.equal(back.optimizer[0], null);
  assert.deepEqual(Array.from(back.optimizer[1]!.values), [0.25]);
});

test('a corrupt or truncated checkpoint is refused with a clear error', () => {
  const path = join(dir, 'b.ckpt');
  writeCheckpoint(path, { state: {}, weights: [{ shape: [4], values: new Float32Array(4) }], optimizer: [] });
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 4));
  assert.throws(() => readCheckpoint(path), /checkpoint .* is corrupt \(expected \d+ bytes/);
  writeFileSync(path, Buffer.from('garbage that is not a checkpoint'));
  assert.throws(() => readCheckpoint(path), /corrupt \(not a smoothcert checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'missing.ckpt')), /does not exist/);
});

test('a checkpoint whose weights were changed (a NaN written into it, one flipped bit) is refused by name, not resumed', () => {
  const path = join(dir, 'c.ckpt');
  writeCheckpoint(path, { state: { epoch: 1 }, weights: [{ shape: [3], values: Float32Array.from([0.5, -1, 2]) }], optimizer: [] });
  const good = readFileSync(path);
  for (const damage of [
    (b: Buffer) => b.writeFloatLE(Number.NaN, b.length - 8),
    (b: Buffer) => {
      b[b.length - 1]! ^= 1;
    },
  ]) {
    const bytes = Buffer.from(good);
    damage(bytes);
    writeFileSync(path, bytes);
    assert.throws(
      () => readCheckpoint(path),
      (e: Error) => e.message.includes(path) && /checksum does not match/.test(e.message) && !e.message.includes('\n'),
    );
  }
  writeFileSync(path, good);
  assert.deepEqual(Array.from(readCheckpoint(path).weights[0]!.values), [0.5, -1, 2]);
});
