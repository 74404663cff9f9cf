import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE } from '../report/fixture.js';
import { saveTinyModel } from '../helpers/models.js';

/** The runs folder the web tests serve: one good run and one with corrupt files. */
export interface RunsFixture {
  root: string;
  /** The good run: a tiny 28×28 model on fashion-mnist, a 3-epoch log.tsv and a certify TSV (certify-small.tsv). */
  good: string;
  certify: string;
}

export const LOG = ['epoch\ttime\tlr\ttrain_loss\ttrain_acc\ttest_loss\ttest_acc',
  '0\t12.1\t0.01\t1.9\t0.41\t1.6\t0.52', '1\t11.8\t0.01\t1.2\t0.63\t1.1\t0.66', '2\t11.9\t0.01\t0.9\t0.71\t0.95\t0.70', ''].join('\n');

export async function makeRunsFolder(root: string): Promise<RunsFixture> {
  const good = join(root, 'tiny');
  await saveTinyModel(good, [28, 28, 1], 10, 0.25);
  // The playground offers the test images of the model's dataset; the bundled fashion-mnist sample serves.
  const metaFile = join(good, 'smoothcert.json');
  writeFileSync(metaFile, JSON.stringify({ ...JSON.parse(readFileSync(metaFile, 'utf8')), dataset: 'fashion-mnist' }, null, 2));
  writeFileSync(join(good, 'log.tsv'), LOG);
  const certify = join(good, 'certify-0.25.tsv');
  copyFileSync(FIXTURE, certify);
  const broken = join(root, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'certify.tsv'), 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\tlots\t1\t0.1\n');
  writeFileSync(join(broken, 'smoothcert.json'), '{"format": "smoothcert-model", ');
  return { root, good, certify };
}
