import type { ImageShape } from '../smoothing/classifier.js';

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
