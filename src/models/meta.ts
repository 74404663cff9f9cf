import type { ImageShape } from '../base/shapes.js';
import { UserError } from '../base/errors.js';
import { isNoiseLevel } from '../noise/gaussian.js';

/** Per-channel normalization applied by the model's first layer: (x - mean) / std. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** Contents of smoothcert.json, stored beside a tfjs model.json in a model folder. */
export interface ModelMeta {
  format: 'smoothcert-model';
  version: 1;
  arch: string;
  dataset: string;
  inputShape: ImageShape;
  numClasses: number;
  normalization: Normalization;
  /** Training configuration (method, sigma, lbd, eta, numNoise, seed, ...). */
  training?: Record<string, unknown>;
}

/**
 * `value` (the parsed smoothcert.json found at `where`) as ModelMeta, checked as strictly as the
 * flags that would set the same things: a UserError naming the file and the field otherwise. A
 * σ ≤ 0 recorded here would otherwise reach certify, predict and gaps as if it were given.
 * Shared by the Node folder reader and the browser loaders.
 */
export function checkMeta(value: unknown, where: string): ModelMeta {
  const meta = value as Partial<ModelMeta> | null;
  if (
    meta === null ||
    typeof meta !== 'object' ||
    meta.format !== 'smoothcert-model' ||
    !Array.isArray(meta.inputShape) ||
    typeof meta.numClasses !== 'number'
  ) {
    throw new UserError(`${where} is not smoothcert model metadata (format, inputShape or numClasses missing)`);
  }
  const field = (name: string, got: unknown, must: string): never => {
    throw new UserError(
      `${where}: ${name} is ${JSON.stringify(got)}; it must be ${must} (re-train or re-export the model, or correct the file)`,
    );
  };
  const shape = meta.inputShape as unknown[];
  if (shape.length !== 3 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 1))
    field('inputShape', shape, '[height, width, channels] of positive integers');
  if (!Number.isSafeInteger(meta.numClasses) || meta.numClasses < 2) field('numClasses', meta.numClasses, 'an integer ≥ 2');
  if (typeof meta.arch !== 'string' || meta.arch === '') field('arch', meta.arch, "the architecture's name");
  if (typeof meta.dataset !== 'string' || meta.dataset === '') field('dataset', meta.dataset, "the dataset's name");
  const channels = shape[2] as number;
  const n = meta.normalization as Partial<Normalization> | undefined;
  const list = (v: unknown, positive: boolean) =>
    Array.isArray(v) &&
    (v.length === 1 || v.length === channels) &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (typeof n !== 'object' || n === null) field('normalization', n, 'an object with mean and std');
  if (!list(n!.mean, false)) field('normalization.mean', n!.mean, `1 or ${channels} finite numbers`);
  if (!list(n!.std, true)) field('normalization.std', n!.std, `1 or ${channels} numbers > 0`);
  if (meta.training !== undefined) {
    if (typeof meta.training !== 'object' || meta.training === null || Array.isArray(meta.training))
      field('training', meta.training, 'an object');
    const sigma = meta.training.sigma;
    if (sigma !== undefined && !isNoiseLevel(sigma)) {
      field('training.sigma', sigma, 'a number > 0 and ≤ 2^125 (the noise level the model was trained with)');
    }
  }
  return meta as ModelMeta;
}

/**
 * The recorded facts against the network they describe: its input must be inputShape, its
 * output numClasses logits, and a model built by smoothcert's registry carries the
 * architecture's name, which must be `arch`.
 */
export function checkMetaFitsNetwork(
  meta: ModelMeta,
  network: { name: string; inputShape: (number | null)[]; outputShape: (number | null)[] },
  where: string,
  knownArchs: readonly string[],
): void {
  const [, h, w, c] = network.inputShape;
  if (network.inputShape.length !== 4 || h !== meta.inputShape[0] || w !== meta.inputShape[1] || c !== meta.inputShape[2]) {
    throw new UserError(
      `${where}: inputShape is ${JSON.stringify(meta.inputShape)} but the network takes ${JSON.stringify(network.inputShape.slice(1))}; correct the file or re-export the model`,
    );
  }
  const classes = network.outputShape[network.outputShape.length - 1];
  if (network.outputShape.length !== 2 || classes !== meta.numClasses) {
    throw new UserError(
      `${where}: numClasses is ${meta.numClasses} but the network outputs ${JSON.stringify(network.outputShape.slice(1))}; correct the file or re-export the model`,
    );
  }
  if (knownArchs.includes(network.name) && network.name !== meta.arch) {
    throw new UserError(
      `${where}: arch is ${JSON.stringify(meta.arch)} but the network is a ${network.name}; correct the file or re-export the model`,
    );
  }
}
