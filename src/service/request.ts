import { SettingError } from '../base/errors.js';
import { checkSpec, type Declarations, kinds, type SpecOf, withDefaults } from '../base/settings.js';
import type { ImageShape } from '../base/shapes.js';

/**
 * The questions a request may ask, with their bounds: every number is limited, so no request can
 * make the service sample or wait without end (the deadline caps time, n and maxN the samples).
 */
export const REQUEST_SETTINGS = {
  n: {
    kind: kinds.integer(1, 1_000_000, '<count>'),
    help: 'predict: Monte Carlo votes; certify: fixed-n CERTIFY with n estimation samples instead of adaptive',
    default: 1000,
    decides: true,
  },
  n0: { kind: kinds.integer(1, 100_000, '<count>'), help: 'certify: samples that select the class', default: 100, decides: true },
  maxN: {
    kind: kinds.integer(1, 1_000_000, '<count>'),
    help: 'certify: at most this many estimation samples',
    default: 100_000,
    decides: true,
  },
  alpha: { kind: kinds.probability('<α>'), help: 'failure probability of the guarantee', default: 0.001, decides: true },
  seed: { kind: kinds.integer(0), help: 'noise seed: the same image, seed and settings give the same answer', default: 0, decides: true },
  radius: {
    kind: kinds.between(0, 1e6, 'a number ≥ 0 and ≤ 1e6', '<r>'),
    help: 'certify: decide robustness at this L2 radius',
    decides: true,
  },
  tolerance: {
    kind: kinds.between(1e-6, 10, 'a number ≥ 1e-6 and ≤ 10', '<t>'),
    help: 'certify without a radius: stop when more samples cannot raise the radius by more than t·σ',
    default: 0.1,
    decides: true,
  },
  deadlineMs: {
    kind: kinds.integer(1, 600_000, '<ms>'),
    help: 'answer with what is known after this many milliseconds',
    default: 30_000,
    decides: false,
  },
} as const satisfies Declarations;

/** The image: H·W·C numbers in [0, 1], row-major HWC as the datasets load, or the bytes of a PNG of the model's size. */
export type ImageInput = { image: ArrayLike<number>; png?: undefined } | { png: Uint8Array; image?: undefined };

export type PredictRequest = ImageInput & { n?: number; alpha?: number; seed?: number; deadlineMs?: number };
export type CertifyRequest = ImageInput & {
  radius?: number;
  tolerance?: number;
  /** Fixed-n CERTIFY (Cohen et al.) with n estimation samples, instead of adaptive sampling. */
  n?: number;
  n0?: number;
  maxN?: number;
  alpha?: number;
  seed?: number;
  deadlineMs?: number;
};

/** A request checked and completed with the defaults. */
export interface CheckedRequest {
  x: Float32Array;
  n: number;
  n0: number;
  maxN: number;
  alpha: number;
  seed: number;
  radius?: number;
  tolerance: number;
  /** Certify: fixed-n CERTIFY, when the request gave n. */
  fixedN?: number;
  deadlineMs: number;
}

const PREDICT_KEYS = ['n', 'alpha', 'seed', 'deadlineMs'];
const CERTIFY_KEYS = ['radius', 'tolerance', 'n', 'n0', 'maxN', 'alpha', 'seed', 'deadlineMs'];

/** Checks a request against the settings and the model's input (SettingErrors name the field). */
export function checkRequest(request: PredictRequest | CertifyRequest, shape: ImageShape, kind: 'predict' | 'certify'): CheckedRequest {
  const { image, png: _, ...settings } = request as { image?: ArrayLike<number>; png?: Uint8Array } & Record<string, unknown>;
  const allowed = kind === 'predict' ? PREDICT_KEYS : CERTIFY_KEYS;
  const foreign = Object.keys(settings).find((k) => !allowed.includes(k) && settings[k] !== undefined);
  if (foreign !== undefined) {
    throw new SettingError(
      foreign,
      (name) => `${name(foreign)} is not a field of a ${kind} request (its fields: image or png, ${allowed.join(', ')})`,
    );
  }
  checkSpec(REQUEST_SETTINGS, settings);
  if (settings.radius !== undefined && request !== null && (request as CertifyRequest).tolerance !== undefined) {
    throw new SettingError(
      'radius',
      () => 'radius (decide robustness at it) and tolerance (find the radius) ask different questions; give one',
    );
  }
  if (kind === 'certify' && settings.n !== undefined) {
    const other = ['tolerance', 'maxN'].find((k) => settings[k] !== undefined);
    if (other !== undefined) {
      throw new SettingError(other, (name) => `n asks for fixed-n CERTIFY, ${name(other)} for adaptive sampling; give one of them`);
    }
  }
  const [h, w, c] = shape;
  const d = h * w * c;
  if (image === undefined || image === null || typeof image !== 'object' || typeof (image as ArrayLike<number>).length !== 'number') {
    throw new SettingError('image', () => `image must be an array of ${d} numbers in [0, 1] (${h}×${w}×${c}, row-major HWC)`);
  }
  if (image.length !== d) {
    throw new SettingError('image', () => `image has ${image.length} values but the model takes ${h}×${w}×${c} = ${d} (row-major HWC)`);
  }
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) {
    const v = image[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new SettingError(
        'image',
        () => `image value ${i} is ${JSON.stringify(v) ?? String(v)}; every value must be a number in [0, 1]`,
      );
    }
    x[i] = v;
  }
  const o = withDefaults(REQUEST_SETTINGS, settings as SpecOf<typeof REQUEST_SETTINGS>);
  return {
    x,
    n: o.n,
    n0: o.n0,
    maxN: o.maxN,
    alpha: o.alpha,
    seed: o.seed,
    ...(o.radius === undefined ? {} : { radius: o.radius }),
    tolerance: o.tolerance,
    ...(kind === 'certify' && settings.n !== undefined ? { fixedN: o.n } : {}),
    deadlineMs: o.deadlineMs,
  };
}
