import type { Command } from 'commander';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../data/registry.js';
import { radiusGrid, summarize } from '../report/analyze.js';
import { writePlot } from '../report/plot.js';
import { renderTable } from '../report/table.js';
import { backendOption } from './backend-option.js';
import { parse } from './options.js';
import { runSmoothing } from './smoothing-run.js';
import { CHECKPOINT_FILE, train } from './train.js';

interface DemoOptions {
  out: string;
  dataDir?: string;
  sigma: number;
  lbd: number;
  epochs: number;
  trainSize?: number;
  examples: number;
  n: number;
  backend?: string;
}

/**
 * The README's main job: the paper's method end to end at demo scale. Both stages resume,
 * so rerunning after an interruption continues where it stopped.
 */
async function demo(o: DemoOptions): Promise<void> {
  mkdirSync(o.out, { recursive: true });
  const modelDir = join(o.out, 'lenet-consistency');
  const dirOpt = o.dataDir === undefined ? {} : { dataDir: o.dataDir };
  const backendOpt = o.backend === undefined ? {} : { backend: o.backend };
  process.stderr.write(`[1/3] training LeNet with consistency regularization (σ = ${o.sigma}, λ = ${o.lbd}, m = 2) on Fashion-MNIST for ${o.epochs} epochs\n`);
  await train({
    dataset: 'fashion-mnist', ...dirOpt, arch: 'lenet', method: 'consistency', sigma: o.sigma, lbd: o.lbd, out: modelDir,
    resume: existsSync(join(modelDir, CHECKPOINT_FILE)), epochs: o.epochs, lrGamma: 0.1, momentum: 0.9, nesterov: true,
    weightDecay: 1e-4, seed: 0, evalSize: 1000, ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }), ...backendOpt,
  }, new Set());
  const tsv = join(o.out, 'certify.tsv');
  // Spread the examples over the whole test split (10000 images, 500 in the bundled sample).
  const testSize = (await loadDataset('fashion-mnist', 'test', dirOpt)).size;
  const skip = Math.max(1, Math.floor(testSize / o.examples));
  process.stderr.write(`[2/3] CERTIFY on every ${skip}-th test image (${o.examples} images, n0 = 100, n = ${o.n}, alpha = 0.001)\n`);
  await runSmoothing('certify', {
    dataset: 'fashion-mnist', split: 'test', ...dirOpt, model: modelDir, n0: 100, n: o.n, alpha: 0.001, batch: 1000,
    skip, max: skip * o.examples, seed: 0, out: tsv, ...backendOpt,
  });
  const radii = radiusGrid(0.25, 1.5);
  const summary = summarize(tsv, radii);
  const plot = join(o.out, 'certified-accuracy.png');
  await writePlot([{ label: `consistency σ=${o.sigma}`, rows: summary.rows }], plot);
  process.stderr.write('[3/3] approximate certified test accuracy (%) and ACR\n');
  process.stdout.write(renderTable([{ label: `LeNet + consistency (σ = ${o.sigma}, λ = ${o.lbd})`, accuracy: summary.accuracy, acr: summary.acr }], radii, 'markdown'));
  process.stdout.write(`\nmodel: ${modelDir}\ncertify results: ${tsv}\nplot: ${plot}\n`);
}

export function register(program: Command): void {
  program.command('demo')
    .description('train LeNet with consistency regularization on Fashion-MNIST for a few epochs, certify a few hundred test images, print the certified-accuracy table and plot it')
    .option('--out <dir>', 'output folder (model, certify.tsv, certified-accuracy.png)', 'runs/demo')
    .option('--data-dir <dir>', 'Fashion-MNIST files (default: the dataset-fashion-mnist package, else the bundled sample)')
    .option('--sigma <s>', 'noise level σ', parse.positive, 0.5)
    .option('--lbd <λ>', 'consistency weight λ (the paper uses 5 on MNIST at σ = 0.5)', parse.nonNegative, 5)
    .option('--epochs <k>', 'training epochs', parse.int(1), 3)
    .option('--train-size <N>', 'train on the first N images only', parse.int(1))
    .option('--examples <k>', 'test images to certify', parse.int(1), 300)
    .option('--n <count>', 'Monte Carlo samples per certificate (the paper uses 100000)', parse.int(1), 2000)
    .addOption(backendOption())
    .action(demo);
}
