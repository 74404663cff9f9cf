/**
 * How often the bf16 base classifier (certify --precision bf16, on the inference plan) and the fp32 one disagree on
 * noisy inputs: for each model folder, every 20th test image of its dataset (up to --images),
 * --samples noise draws at the model's σ (CERTIFY's estimation stream), classified by both on
 * the same noisy batch. Prints one TSV row per model: noisy samples, arg-max disagreements and
 * their fraction, and the images whose majority class differs.
 *
 *   node dist/bench/bf16-agreement.js [--images 100] [--samples 1000] <model folder>...
 */
import { parseArgs } from 'node:util';
import { loadAddon } from '../src/backend/addon.js';
import { setBackend } from '../src/backend/select.js';
import { planFromModel } from '../src/plan/build.js';
import { loadDataset } from '../src/loaders/registry.js';
import { loadModel } from '../src/files/model-folder.js';
import { SUBSTREAM } from '../src/noise/gaussian.js';

const { values, positionals } = parseArgs({
  options: { images: { type: 'string', default: '100' }, samples: { type: 'string', default: '1000' } },
  allowPositionals: true,
});
const images = Number(values.images),
  samples = Number(values.samples);
if (!(images >= 1) || !(samples >= 1) || positionals.length === 0) {
  process.stderr.write('usage: node dist/bench/bf16-agreement.js [--images 100] [--samples 1000] <model folder>...\n');
  process.exit(2);
}
await setBackend('native');
const addon = loadAddon().addon!;
process.stdout.write('model\tsigma\timages\tsamples\tdiffering\tfraction\tmajority_differs\n');
for (const folder of positionals) {
  const { model, meta } = await loadModel(folder);
  const sigma = Number(meta.training?.sigma);
  const data = await loadDataset(meta.dataset, 'test');
  const fp32 = planFromModel(model),
    bf16 = planFromModel(model, { precision: 'bf16' });
  const k = fp32.numClasses;
  let differing = 0,
    majority = 0,
    done = 0;
  for (let i = 0; i < data.size && done < images; i += 20, done++) {
    const x = await data.image(i);
    const batch = new Float32Array(samples * x.length);
    addon.noisyCopies(batch, x, samples, 0, i, SUBSTREAM.estimate, 0, sigma);
    const a = await fp32.classify(batch, samples),
      b = await bf16.classify(batch, samples);
    const countsA = new Array<number>(k).fill(0),
      countsB = new Array<number>(k).fill(0);
    for (let s = 0; s < samples; s++) {
      differing += Number(a[s] !== b[s]);
      countsA[a[s]!]!++;
      countsB[b[s]!]!++;
    }
    const top = (c: number[]) => c.indexOf(Math.max(...c));
    majority += Number(top(countsA) !== top(countsB));
  }
  process.stdout.write(
    `${folder}\t${sigma}\t${done}\t${done * samples}\t${differing}\t${(differing / (done * samples)).toExponential(2)}\t${majority}\n`,
  );
  model.dispose();
}
