import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/base/errors.js';
import { encodeIdx, readIdx, readIdxImageSet } from '../../src/loaders/idx.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smoothcert-idx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** IDX bytes built by hand from the format description, independent of encodeIdx. */
function handIdx(typeAndDims: number[], dims: number[], data: number[]): Uint8Array {
  const header = [0, 0, ...typeAndDims];
  for (const d of dims) header.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  return Uint8Array.from([...header, ...data]);
}

async function write(name: string, bytes: Uint8Array): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

/** Asserts that `promise` rejects with a UserError whose message names `file` and matches `re`. */
async function rejectsUser(promise: Promise<unknown>, file: string, re: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.ok(err.message.includes(file), `message does not name ${file}: ${err.message}`);
    assert.match(err.message, re);
    return true;
  });
}

const pixels = Array.from({ length: 2 * 3 * 2 }, (_, i) => (i * 23) % 256);

test('encodeIdx writes the documented header (magic 0x00000803, big-endian dims)', () => {
  const bytes = encodeIdx([2, 3, 2], Uint8Array.from(pixels));
  assert.deepEqual([...bytes], [...handIdx([0x08, 3], [2, 3, 2], pixels)]);
});

test('round trip through raw and gzip files', async () => {
  for (const gz of [false, true]) {
    const raw = encodeIdx([2, 3, 2], Uint8Array.from(pixels));
    const file = await write(`rt-${gz}`, gz ? gzipSync(raw) : raw);
    const arr = await readIdx(file);
    assert.deepEqual(arr.dims, [2, 3, 2]);
    assert.deepEqual([...arr.data], pixels);
  }
});

test('image/label pair decodes to [0, 1] floats and int labels', async () => {
  const images = await write('img.gz', gzipSync(handIdx([0x08, 3], [2, 3, 2], pixels)));
  const labels = await write('lab', handIdx([0x08, 1], [2], [9, 0]));
  const set = await readIdxImageSet(images, labels, 10);
  assert.equal(set.height, 3);
  assert.equal(set.width, 2);
  assert.deepEqual([...set.labels], [9, 0]);
  assert.equal(set.images.length, 12);
  set.images.forEach((v, i) => assert.equal(v, Math.fround(pixels[i] / 255)));
});

test('wrong magic is a UserError naming the file', async () => {
  const file = await write('bad-magic', Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
  await rejectsUser(readIdx(file), file, /magic number 0x504b0304/);
  const float = await write('float-type', handIdx([0x0d, 1], [1], [0, 0, 0, 0]));
  await rejectsUser(readIdx(float), float, /element type/);
});

test('truncated file (raw, gzip data, gzip stream) is a UserError naming the file', async () => {
  const full = handIdx([0x08, 3], [2, 3, 2], pixels);
  const short = await write('short', full.subarray(0, full.length - 1));
  await rejectsUser(readIdx(short), short, /truncated.*need 12 data bytes, found 11/);
  const header = await write('short-header', full.subarray(0, 9));
  await rejectsUser(readIdx(header), header, /truncated IDX header/);
  const shortGz = await write('short.gz', gzipSync(full.subarray(0, full.length - 3)));
  await rejectsUser(readIdx(shortGz), shortGz, /truncated/);
  const gz = gzipSync(full);
  const cutGz = await write('cut.gz', gz.subarray(0, gz.length - 10));
  await rejectsUser(readIdx(cutGz), cutGz, /corrupt gzip/);
});

test('dimensions not matching the data size (trailing bytes) is a UserError', async () => {
  const file = await write('long', handIdx([0x08, 1], [3], [1, 2, 3, 4]));
  await rejectsUser(readIdx(file), file, /1 bytes beyond/);
});

test('pair errors: count mismatch, swapped files, label out of range', async () => {
  const images = await write('pair-img', handIdx([0x08, 3], [2, 3, 2], pixels));
  const threeLabels = await write('pair-lab3', handIdx([0x08, 1], [3], [1, 2, 3]));
  await rejectsUser(readIdxImageSet(images, threeLabels, 10), threeLabels, /3 labels but .* 2 images/);
  await rejectsUser(readIdxImageSet(threeLabels, images, 10), threeLabels, /3 dimensions/);
  const badLabel = await write('pair-lab-bad', handIdx([0x08, 1], [2], [4, 10]));
  await rejectsUser(readIdxImageSet(images, badLabel, 10), badLabel, /label 10 at index 1 is out of range/);
});

test('missing file is a UserError naming it', async () => {
  const file = join(dir, 'does-not-exist');
  await rejectsUser(readIdx(file), file, /cannot read/);
});
