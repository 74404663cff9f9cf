import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveModel } from '../../src/files/model-folder.js';
import { FIXTURE } from '../report/fixture.js';

/** The runs folder the web tests serve: one good run and one with corrupt files. */
export interface RunsFixture {
  root: string;
  /** The good run: a tiny 28×28 model on fashion-mnist (saveLeaningModel), a 3-epoch log.tsv and a certify TSV (certify-small.tsv). */
  good: string;
  certify: string;
}

export const LOG = [
  'epoch\ttime\tlr\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc',
  '0\t12.1\t0.01\t1.9\t41.0\t1.6\t52.0',
  '1\t11.8\t0.01\t1.2\t63.0\t1.1\t66.0',
  '2\t11.9\t0.01\t0.9\t71.0\t0.95\t70.0',
  '',
].join('\n');

/** A committed run of the Fashion-MNIST study: its log.tsv as the trainer wrote it (accuracies in percent). */
export const STUDY_LOG = fileURLToPath(new URL('../../../docs/results/fashion-mnist/consistency-s0.5/log.tsv', import.meta.url));
/** The same model trained with --precision bf16: its log.tsv starts with the run's settings line. */
export const STUDY_BF16 = fileURLToPath(new URL('../../../docs/results/fashion-mnist/consistency-s0.5-bf16/', import.meta.url));

/**
 * A dense 28×28 → 10 model with seeded random weights and a bias of 2 on class 1 (Trouser): random
 * weights alone abstain on most images, and the playground's perturbation needs a certified one
 * (fashion-mnist test image 2, a trouser, is certified at σ = 0.25 with a few hundred samples).
 * Its dataset is fashion-mnist, so the playground offers the bundled sample's test images.
 */
async function saveLeaningModel(dir: string): Promise<void> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28, 1] }),
      tfl.layers.dense({ units: 10, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  const bias = new Float32Array(10);
  bias[1] = 2;
  model.setWeights([model.getWeights()[0]!, tf.tensor1d(bias)]);
  await saveModel(dir, model, {
    format: 'smoothcert-model',
    version: 1,
    arch: 'tiny-dense',
    dataset: 'fashion-mnist',
    inputShape: [28, 28, 1],
    numClasses: 10,
    normalization: { mean: [0], std: [1] },
    training: { sigma: 0.25 },
  });
  model.dispose();
}

export async function makeRunsFolder(root: string): Promise<RunsFixture> {
  const good = join(root, 'tiny');
  await saveLeaningModel(good);
  writeFileSync(join(good, 'log.tsv'), LOG);
  const certify = join(good, 'certify-0.25.tsv');
  copyFileSync(FIXTURE, certify);
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'certify.tsv'), 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\tlots\t1\t0.1\n');
  writeFileSync(join(broken, 'smoothcert.json'), '{"format": "smoothcert-model", ');
  mkdirSync(join(root, 'study'));
  copyFileSync(STUDY_LOG, join(root, 'study', 'log.tsv'));
  mkdirSync(join(root, 'study-bf16'));
  for (const f of ['log.tsv', 'smoothcert.json']) copyFileSync(join(STUDY_BF16, f), join(root, 'study-bf16', f));
  return { root, good, certify };
}
