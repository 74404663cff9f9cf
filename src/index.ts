export type { BaseClassifier, ImageShape } from './smoothing/classifier.js';
export { fillGaussian, SUBSTREAM, type NoiseKey } from './noise/gaussian.js';
export type { ImageDataset, InMemoryDataset, Split } from './data/types.js';
export type { ModelMeta, Normalization } from './models/meta.js';
