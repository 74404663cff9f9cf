import { kinds, type Kind } from '../base/settings.js';
import { philox4x32 } from './philox.js';

/**
 * Where a Gaussian noise stream comes from. Element e of the stream is a pure function of
 * (seed, stream, substream, e): CERTIFY uses stream = example index and a substream per
 * phase (selection, estimation), so resuming or re-batching a run reproduces its noise.
 */
export interface NoiseKey {
  /** Non-negative integer < 2^53, the run's seed. */
  seed: number;
  /** uint32, e.g. the example index. */
  stream: number;
  /** uint32, e.g. the phase of CERTIFY. */
  substream: number;
}

/**
 * Every Philox substream smoothcert draws from, numbered here only, so that no two uses can
 * share noise and every engine (JS, native, ONNX) draws the same: CERTIFY's selection and
 * estimation phases, PREDICT, training noise (stream = optimizer step), and the draws of the
 * log-probability-gap histogram (the paper's Figure 1).
 */
export const SUBSTREAM = { select: 0, estimate: 1, predict: 2, train: 3, gaps: 4 } as const;

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;

/**
 * The largest noise level σ: x + σz must stay finite in float32 for every draw. Box–Muller here
 * reads uniforms (w + 0.5)·2⁻³², so |z| ≤ √(−2 ln 2⁻³³) ≈ 6.77, and 2¹²⁵·6.77 + 1 < 2¹²⁸ (the float32
 * range). Beyond it the inputs would be infinite and the "certified" radii computed on them
 * meaningless; any useful σ for inputs in [0, 1] is many orders of magnitude below.
 */
export const MAX_SIGMA = 2 ** 125;

/** Whether σ is a noise level smoothcert can draw with: finite, > 0, at most MAX_SIGMA. */
export function isNoiseLevel(sigma: unknown): sigma is number {
  return typeof sigma === 'number' && sigma > 0 && sigma <= MAX_SIGMA;
}

/**
 * Fills out[j] = sigma * z_{offset + j}, where z is the standard normal stream of `key`.
 * Box–Muller on Philox blocks: block b = floor(e / 4) gives 4 normals
 * (r1 cos t1, r1 sin t1, r2 cos t2, r2 sin t2) with u = (word + 0.5) / 2^32 in (0, 1).
 */
export function fillGaussian(out: Float32Array, key: NoiseKey, offset: number, sigma: number): void {
  const k0 = key.seed % 4294967296;
  const k1 = Math.floor(key.seed / 4294967296);
  const words = new Uint32Array(4);
  const block = new Float64Array(4);
  let e = offset;
  const end = offset + out.length;
  let j = 0;
  while (e < end) {
    const b = Math.floor(e / 4);
    philox4x32(b % 4294967296, Math.floor(b / 4294967296), key.stream, key.substream, k0, k1, words);
    const r1 = Math.sqrt(-2 * Math.log((words[0]! + 0.5) * INV_2_32));
    const t1 = TWO_PI * ((words[1]! + 0.5) * INV_2_32);
    const r2 = Math.sqrt(-2 * Math.log((words[2]! + 0.5) * INV_2_32));
    const t2 = TWO_PI * ((words[3]! + 0.5) * INV_2_32);
    block[0] = r1 * Math.cos(t1);
    block[1] = r1 * Math.sin(t1);
    block[2] = r2 * Math.cos(t2);
    block[3] = r2 * Math.sin(t2);
    for (let lane = e - 4 * b; lane < 4 && e < end; lane++, e++, j++) out[j] = sigma * block[lane]!;
  }
}

/**
 * The noisy copies x + σ z of one input: out holds rows of x.length values, row r being sample
 * first + r of the stream `key` (the JavaScript twin of the addon's noisyCopies, bit for bit the
 * same noise). Every JavaScript noise loop of smoothing, Figure 1's gaps and the benches uses it.
 */
export function noisyCopies(out: Float32Array, x: Float32Array, key: NoiseKey, first: number, sigma: number): void {
  const d = x.length;
  fillGaussian(out, key, first * d, sigma);
  for (let i = 0; i < out.length; i++) out[i]! += x[i % d]!;
}

/** σ as a setting: the kind of value every noise-level option takes (base/settings.ts). */
export const NOISE_LEVEL: Kind<number> = kinds.between(
  Number.MIN_VALUE,
  MAX_SIGMA,
  'a noise level > 0 and ≤ 2^125 (beyond it x + σz overflows float32)',
  '<σ>',
);
