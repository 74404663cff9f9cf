import { loadModel, checkModelFitsData } from '../models/io.js';
import type { BaseClassifier, ImageShape } from '../smoothing/classifier.js';
import { tfjsClassifier } from '../smoothing/tfjs-classifier.js';

/** A base classifier loaded from disk, with what its files say about how it was trained. */
export interface LoadedClassifier {
  base: BaseClassifier;
  /** The sigma the model was trained with, when its metadata records one. */
  trainedSigma?: number;
  describe: string;
}

/** Loads the base classifier at `path` (a smoothcert model folder) for images of `dataShape`. */
export async function loadClassifier(path: string, dataShape: ImageShape, dataset: string): Promise<LoadedClassifier> {
  const { model, meta } = await loadModel(path);
  checkModelFitsData(meta.inputShape, dataShape, { model: path, dataset });
  const sigma = meta.training?.['sigma'];
  return {
    base: tfjsClassifier(model),
    ...(typeof sigma === 'number' ? { trainedSigma: sigma } : {}),
    describe: `${meta.arch} (${meta.dataset})`,
  };
}
