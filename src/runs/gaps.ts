import { SettingError, UserError } from '../base/errors.js';
import { loadDataset } from '../loaders/registry.js';
import { noisyCopies, SUBSTREAM } from '../noise/gaussian.js';
import { logProbGaps } from '../smoothing/log-prob-gap.js';
import { loadClassifier, type OnnxInputOptions } from '../loaders/classifier.js';

export interface GapsOptions extends OnnxInputOptions {
  dataset: string;
  split: 'train' | 'test';
  dataDir?: string;
  /** The test image. */
  index: number;
  /** Noise draws (the paper's Figure 1 uses 10,000). */
  n: number;
  /** Default: each model's recorded σ. */
  sigma?: number;
  seed: number;
  batch: number;
}

export interface ModelGaps {
  model: string;
  sigma: number;
  label: number;
  /** log F_y(x + δ_j) − max_{c≠y} log F_c(x + δ_j) for each draw j. */
  gaps: Float64Array;
}

/**
 * The paper's Figure 1 for one image: the log-probability gap of each model over n Gaussian noise
 * draws. Every model sees the same draws (the Philox stream (seed, stream = index, substream
 * `gaps`), scaled by its σ), so the histograms compare the models and not the noise.
 */
export async function logProbGapsOf(models: readonly string[], o: GapsOptions): Promise<ModelGaps[]> {
  const data = await loadDataset(o.dataset, o.split, o.dataDir === undefined ? {} : { dataDir: o.dataDir });
  if (!(Number.isInteger(o.index) && o.index >= 0 && o.index < data.size)) {
    throw new SettingError(
      'index',
      (name) => `${name('index')} ${o.index} is out of range: the ${o.dataset} ${o.split} split has images 0 to ${data.size - 1}`,
    );
  }
  const x = await data.image(o.index);
  const label = data.label(o.index);
  const out: ModelGaps[] = [];
  for (const model of models) {
    const loaded = await loadClassifier(model, data.shape, o.dataset, o);
    const sigma = o.sigma ?? loaded.trainedSigma;
    if (sigma === undefined)
      throw new SettingError(
        'sigma',
        (name) => `${name('sigma')} is required: the model ${model} does not record the noise level it was trained with`,
      );
    const { base } = loaded;
    if (!base.logits) throw new UserError(`the model ${model} cannot report its logits`);
    const d = x.length;
    const gaps = new Float64Array(o.n);
    const batch = new Float32Array(Math.min(o.batch, o.n) * d);
    for (let done = 0; done < o.n; done += o.batch) {
      const rows = Math.min(o.batch, o.n - done);
      const noisy = batch.subarray(0, rows * d);
      noisyCopies(noisy, x, { seed: o.seed, stream: o.index, substream: SUBSTREAM.gaps }, done, sigma);
      gaps.set(logProbGaps(await base.logits(noisy, rows), rows, base.numClasses, label), done);
    }
    base.dispose?.();
    out.push({ model, sigma, label, gaps });
  }
  return out;
}
