import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient functions
import assert from 'node:assert/strict';
import { Mulberry32 } from '../../src/data/rng.js';
import { initBackend, setBackend, type BackendName } from '../../src/backend/select.js';

/** The engine under test: native, or whatever $SMOOTHCERT_BACKEND names (the wasm run). */
export const ENGINE: BackendName = await initBackend();
/** tfjs's name of that engine's backend. */
export const ENGINE_TFJS = tf.getBackend();

/** A tensor of uniform values in [lo, hi) from a seeded generator (the same on every backend). */
export function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const rng = new Mulberry32(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = lo + (hi - lo) * rng.next();
  return tf.tensor(values, shape);
}

export interface Tolerance {
  atol: number;
  rtol: number;
}
/** float32 accumulations of up to a few hundred terms. */
export const TOL: Tolerance = { atol: 2e-5, rtol: 2e-4 };

type Result = tf.Tensor | tf.Tensor[];

async function run(backend: string, fn: () => Result): Promise<{ shape: number[]; values: Float32Array | Int32Array | Uint8Array }[]> {
  // tfjs-wasm is registered on first use, by smoothcert's setBackend.
  if (backend === 'wasm') await setBackend('wasm');
  else await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const read = list.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array | Int32Array | Uint8Array }));
  tf.dispose(list);
  return read;
}

/** Runs fn on the tfjs CPU backend and on `backend` (default: the engine), and compares every output. */
export async function assertMatchesCpu(fn: () => Result, tol: Tolerance = TOL, backend = ENGINE_TFJS): Promise<void> {
  const expected = await run('cpu', fn);
  let actual;
  try {
    actual = await run(backend, fn);
  } finally {
    await tf.setBackend(ENGINE_TFJS);
  }
  assert.equal(actual.length, expected.length, 'number of outputs');
  expected.forEach((e, k) => {
    const a = actual[k]!;
    assert.deepEqual(a.shape, e.shape, `output ${k}: shape`);
    assert.equal(a.values.constructor, e.values.constructor, `output ${k}: dtype`);
    for (let i = 0; i < e.values.length; i++) {
      const x = a.values[i]!,
        y = e.values[i]!;
      if (Number.isNaN(y)) {
        assert.ok(Number.isNaN(x), `output ${k}[${i}]: expected NaN, got ${x}`);
        continue;
      }
      const err = Math.abs(x - y);
      assert.ok(
        err <= tol.atol + tol.rtol * Math.abs(y),
        `output ${k}[${i}] of ${e.values.length}: expected ${y}, got ${x} (|error| ${err})`,
      );
    }
  });
}
