import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SettingError, UserError } from '../../src/base/errors.js';
import { CIFAR10_FILES, decodeCifarBatch, readCifar10, resolveCifarDir } from '../../src/loaders/cifar10.js';
import { loadDataset } from '../../src/loaders/registry.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smoothcert-cifar-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Byte stored on disk for record r, channel c, row y, column x: distinct per (c, y, x) and r. */
const pixel = (r: number, c: number, y: number, x: number): number => (r * 7 + c * 85 + y * 3 + x * 5) % 256;

/** A batch file written from the format description: label byte, then R, G, B planes row-major. */
function makeBatch(labels: number[]): Uint8Array {
  const bytes = new Uint8Array(labels.length * 3073);
  labels.forEach((y, r) => {
    bytes[r * 3073] = y;
    for (let c = 0; c < 3; c++) {
      for (let yy = 0; yy < 32; yy++) {
        for (let x = 0; x < 32; x++) bytes[r * 3073 + 1 + c * 1024 + yy * 32 + x] = pixel(r, c, yy, x);
      }
    }
  });
  return bytes;
}

test('records decode CHW → HWC exactly, scaled to [0, 1]', () => {
  const labels = [3, 9, 0];
  const images = new Float32Array(3 * 3072);
  const out = new Int32Array(3);
  assert.equal(decodeCifarBatch(makeBatch(labels), 'mem', images, out, 0), 3);
  assert.deepEqual([...out], labels);
  for (let r = 0; r < 3; r++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(images[r * 3072 + (y * 32 + x) * 3 + c], Math.fround(pixel(r, c, y, x) / 255));
        }
      }
    }
  }
});

test('corrupt batches are UserErrors naming the file', () => {
  const images = new Float32Array(2 * 3072);
  const labels = new Int32Array(2);
  const truncated = makeBatch([1, 2]).subarray(0, 3073 + 100);
  assert.throws(
    () => decodeCifarBatch(truncated, '/x/data_batch_1.bin', images, labels, 0),
    (e: unknown) => e instanceof UserError && /\/x\/data_batch_1\.bin.*not a whole number/.test(e.message),
  );
  assert.throws(
    () => decodeCifarBatch(makeBatch([1, 57]), '/x/test_batch.bin', images, labels, 0),
    (e: unknown) => e instanceof UserError && /\/x\/test_batch\.bin: label 57 of record 1/.test(e.message),
  );
});

test('files are found directly or in cifar-10-batches-bin/, train concatenates 5 batches', async () => {
  const sub = join(dir, 'cifar-10-batches-bin');
  await mkdir(sub);
  for (const [k, f] of CIFAR10_FILES.train.entries()) await writeFile(join(sub, f), makeBatch([k, k + 1]));
  await writeFile(join(sub, 'test_batch.bin'), makeBatch([8]));
  assert.equal(await resolveCifarDir(dir, 'train'), sub);
  assert.equal(await resolveCifarDir(sub, 'test'), sub);
  const train = await readCifar10(sub, 'train');
  assert.deepEqual([...train.labels], [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
  const ds = await loadDataset('cifar10', 'test', { dataDir: dir });
  assert.equal(ds.size, 1);
  assert.deepEqual(ds.shape, [32, 32, 3]);
  assert.equal(ds.label(0), 8);
  const img = await ds.image(0);
  assert.equal(img[(5 * 32 + 6) * 3 + 2], Math.fround(pixel(0, 2, 5, 6) / 255));
  assert.match(ds.source, /test_batch\.bin/);
});

test('missing folder or data dir is a UserError that says what to pass', async () => {
  await assert.rejects(
    resolveCifarDir(join(dir, 'nowhere'), 'test'),
    (e: unknown) => e instanceof UserError && /test_batch\.bin not found/.test(e.message),
  );
  await assert.rejects(
    loadDataset('cifar10', 'test'),
    (e: unknown) => e instanceof SettingError && e.setting === 'dataDir' && /give dataDir pointing at/.test(e.message),
  );
});
