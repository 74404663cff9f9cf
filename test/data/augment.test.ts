import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageShape } from '../../src/base/shapes.js';
import { cropPadFlip, randomCropFlip } from '../../src/data/augment.js';
import { Mulberry32 } from '../../src/data/rng.js';

const shape: ImageShape = [6, 5, 2];
const size = 6 * 5 * 2;
/** Distinct, non-zero value per (image, y, x, c), so any shift is identifiable. */
const value = (n: number, y: number, x: number, c: number): number => 1 + n * 1000 + y * 100 + x * 10 + c;

function batch(n: number): Float32Array {
  const out = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 5; x++)
        for (let c = 0; c < 2; c++) {
          out[i * size + (y * 5 + x) * 2 + c] = value(i, y, x, c);
        }
  }
  return out;
}

/** The expected crop from the definition: shifted content, zeros in the padding, optional mirror. */
function expected(n: number, pad: number, top: number, left: number, flip: boolean): number[] {
  const out: number[] = [];
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 5; x++)
      for (let c = 0; c < 2; c++) {
        const sy = y + top - pad;
        const sx = (flip ? 4 - x : x) + left - pad;
        out.push(sy >= 0 && sy < 6 && sx >= 0 && sx < 5 ? value(n, sy, sx, c) : 0);
      }
  return out;
}

test('crop shifts the content by exactly the offset with zeros in the padding', () => {
  const src = batch(1);
  const dst = new Float32Array(size).fill(-1);
  cropPadFlip(src, dst, shape, 2, 0, 3, false); // content moves down 2 rows, left 1 column
  assert.deepEqual([...dst], expected(0, 2, 0, 3, false));
  assert.equal(dst[0], 0); // row 0 lies in the top padding
  assert.equal(dst[(2 * 5 + 0) * 2], value(0, 0, 1, 0));
  cropPadFlip(src, dst, shape, 2, 2, 2, false);
  assert.deepEqual(dst, src, 'the centred crop is the identity');
});

test('flip reverses the columns', () => {
  const src = batch(1);
  const dst = new Float32Array(size);
  cropPadFlip(src, dst, shape, 0, 0, 0, true);
  for (let y = 0; y < 6; y++)
    for (let x = 0; x < 5; x++)
      for (let c = 0; c < 2; c++) {
        assert.equal(dst[(y * 5 + x) * 2 + c], src[(y * 5 + (4 - x)) * 2 + c]);
      }
});

test('each random output is one valid crop/flip of its own image; offsets and flips vary', () => {
  const n = 40;
  const pad = 2;
  const out = randomCropFlip(batch(n), n, shape, new Mulberry32(9), pad);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const got = [...out.subarray(i * size, (i + 1) * size)];
    const matches: string[] = [];
    for (let top = 0; top <= 2 * pad; top++)
      for (let left = 0; left <= 2 * pad; left++)
        for (const flip of [false, true]) {
          if (JSON.stringify(got) === JSON.stringify(expected(i, pad, top, left, flip))) matches.push(`${top},${left},${flip}`);
        }
    assert.equal(matches.length, 1, `image ${i} is not exactly one crop/flip`);
    seen.add(matches[0]);
  }
  assert.ok(seen.size > 10, `only ${seen.size} distinct crops among ${n}`);
  assert.ok([...seen].some((s) => s.endsWith('true')) && [...seen].some((s) => s.endsWith('false')));
});

test('the same seed gives the same augmentation, another seed a different one', () => {
  const b = batch(8);
  const a1 = randomCropFlip(b, 8, shape, new Mulberry32(1));
  const a2 = randomCropFlip(b, 8, shape, new Mulberry32(1));
  const a3 = randomCropFlip(b, 8, shape, new Mulberry32(2));
  assert.deepEqual(a1, a2);
  assert.notDeepEqual(a1, a3);
  assert.deepEqual(b, batch(8), 'input is left unchanged');
});
