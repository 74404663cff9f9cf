import type { ImageShape } from '../smoothing/classifier.js';
import { UserError } from '../errors.js';

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
 * `value` (the parsed smoothcert.json found at `where`) as ModelMeta; a UserError when it is not
 * smoothcert model metadata. Shared by the Node folder reader and the browser loaders.
 */
export function checkMeta(value: unknown, where: string): ModelMeta {
  const meta = value as Partial<ModelMeta> | null;
  if (meta === null || typeof meta !== 'object' || meta.format !== 'smoothcert-model' || !Array.isArray(meta.inputShape)
    || typeof meta.numClasses !== 'number') {
    throw new UserError(`${where} is not smoothcert model metadata (format, inputShape or numClasses missing)`);
  }
  return meta as ModelMeta;
}
