/**
 * Does the fp32 inference plan give the certificates of the path it replaces? CERTIFY (Cohen et
 * al., n0 = 100, alpha = 0.001, seed 0, stream = image index, as `smoothcert certify` runs it) of
 * --images test images (every size/images-th) at --n samples, once through the plan and once
 * through the reference: tfjs layer by layer for a model folder, onnxruntime for an .onnx file
 * (--onnx, on seeded random images of --shape, since its dataset may not be installed). One TSV
 * row per model: predictions and abstentions that differ, the largest radius difference, the
 * estimation counts that differ, and each engine's seconds.
 *
 *   node dist/bench/plan-agreement.js [--images 100] [--n 10000] <model folder>...
 *   node dist/bench/plan-agreement.js --onnx model.onnx --shape 32,32,3 --sigma 0.25 [--layout nchw]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend/select.js';
import { loadModel } from '../src/files/model-folder.js';
import { loadClassifier } from '../src/loaders/classifier.js';
import { loadDataset } from '../src/loaders/registry.js';
import type { BaseClassifier } from '../src/smoothing/classifier.js';
import { Smooth } from '../src/smoothing/smooth.js';
import { randomImages } from '../test/onnx/helpers.js';

const { values, positionals } = parseArgs({
  options: {
    images: { type: 'string', default: '100' },
    n: { type: 'string', default: '10000' },
    onnx: { type: 'string' },
    shape: { type: 'string', default: '32,32,3' },
    sigma: { type: 'string', default: '0.25' },
    layout: { type: 'string', default: 'nchw' },
  },
  allowPositionals: true,
});
const images = Number(values.images);
const n = Number(values.n);
if (!(images >= 1) || !(n >= 1) || (positionals.length === 0 && !values.onnx)) {
  process.stderr.write(
    'usage: node dist/bench/plan-agreement.js [--images 100] [--n 10000] <model folder>... | --onnx F --shape H,W,C --sigma S\n',
  );
  process.exit(2);
}
await initBackend();

interface Row {
  differingPredictions: number;
  differingAbstentions: number;
  maxRadiusDiff: number;
  differingCounts: number;
  seconds: [number, number];
}

async function compare(
  plan: BaseClassifier,
  reference: BaseClassifier,
  sigma: number,
  inputs: { x: Float32Array; stream: number }[],
): Promise<Row> {
  const row: Row = { differingPredictions: 0, differingAbstentions: 0, maxRadiusDiff: 0, differingCounts: 0, seconds: [0, 0] };
  for (const { x, stream } of inputs) {
    const results = [];
    for (const [k, base] of [plan, reference].entries()) {
      const start = performance.now();
      results.push(await new Smooth(base, sigma, 0).certify(x, 100, n, 0.001, 400, stream));
      row.seconds[k]! += (performance.now() - start) / 1000;
    }
    const [a, b] = results as [(typeof results)[0], (typeof results)[0]];
    row.differingPredictions += Number(a.prediction !== b.prediction);
    row.differingAbstentions += Number(a.prediction < 0 !== b.prediction < 0);
    row.maxRadiusDiff = Math.max(row.maxRadiusDiff, Math.abs(a.radius - b.radius));
    row.differingCounts += Math.abs(a.nA - b.nA);
  }
  return row;
}

process.stdout.write(
  'model\tsigma\timages\tn\tdiffering_predictions\tdiffering_abstentions\tmax_radius_diff\tdiffering_nA\tplan_s\treference\treference_s\n',
);
const print = (name: string, sigma: number, count: number, reference: string, r: Row) =>
  process.stdout.write(
    `${name}\t${sigma}\t${count}\t${n}\t${r.differingPredictions}\t${r.differingAbstentions}\t${r.maxRadiusDiff.toExponential(2)}\t${r.differingCounts}\t${r.seconds[0].toFixed(1)}\t${reference}\t${r.seconds[1].toFixed(1)}\n`,
  );

for (const folder of positionals) {
  const { meta } = await loadModel(folder);
  const sigma = Number(meta.training?.sigma);
  const data = await loadDataset(meta.dataset, 'test');
  const plan = (await loadClassifier(folder, data.shape, meta.dataset, { engine: 'plan' })).base;
  const tfjs = (await loadClassifier(folder, data.shape, meta.dataset, { engine: 'tfjs' })).base;
  const step = Math.floor(data.size / images);
  const inputs = [];
  for (let i = 0; i < images; i++) inputs.push({ x: await data.image(i * step), stream: i * step });
  print(folder, sigma, images, 'tfjs', await compare(plan, tfjs, sigma, inputs));
}

if (values.onnx) {
  const shape = values.shape.split(',').map(Number) as [number, number, number];
  const sigma = Number(values.sigma);
  const layout = values.layout as 'nchw' | 'nhwc';
  const plan = (await loadClassifier(values.onnx, shape, undefined, { inputLayout: layout, engine: 'plan' })).base;
  const ort = (await loadClassifier(values.onnx, shape, undefined, { inputLayout: layout, engine: 'onnxruntime' })).base;
  const d = shape[0] * shape[1] * shape[2];
  const all = randomImages(images, shape, 1);
  const inputs = Array.from({ length: images }, (_, i) => ({ x: all.subarray(i * d, (i + 1) * d), stream: i }));
  print(values.onnx, sigma, images, 'onnxruntime', await compare(plan, ort, sigma, inputs));
}
