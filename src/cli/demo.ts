import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import { loadDataset } from '../loaders/registry.js';
import { lockOutput } from '../files/lock.js';
import { outputTarget } from '../files/output-path.js';
import { radiusGrid } from '../report/analyze.js';
import { summarize } from '../files/read-results.js';
import { writePlot } from '../files/plot.js';
import { renderTable } from '../report/table.js';
import { runSmoothing } from '../runs/smoothing.js';
import { CHECKPOINT_FILE } from '../base/run-folder.js';
import { train } from '../runs/train.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { parse } from './options.js';
import { flagOf } from './settings.js';

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

/** The demo's flag for each setting of its training run and certification. */
const DEMO_FLAG: Record<string, string> = {
  sigma: '--sigma',
  lbd: '--lbd',
  epochs: '--epochs',
  trainSize: '--train-size',
  n: '--n',
  skip: '--examples',
};

/**
 * The README's main job: the paper's method end to end at demo scale. Both stages resume,
 * so rerunning after an interruption continues where it stopped; a rerun with other settings
 * is refused rather than reporting the old model's results under the new settings.
 */
async function demo(o: DemoOptions): Promise<void> {
  outputTarget(o.out, 'folder', 'out');
  await useBackend(o.backend);
  const release = lockOutput(o.out, 'demo folder');
  try {
    await interruptible((signal) => stages(o, signal));
  } catch (e) {
    if (e instanceof SettingError || (e instanceof UserError && /was made with/.test(e.message))) {
      throw new UserError(
        `${o.out} holds a demo run with other settings (${e instanceof SettingError ? e.describe((k) => DEMO_FLAG[k] ?? flagOf(k)) : e.message}); ` +
          `choose another --out, or delete ${o.out} to start afresh`,
      );
    }
    throw e;
  } finally {
    release();
  }
}

async function stages(o: DemoOptions, signal: AbortSignal): Promise<void> {
  const modelDir = join(o.out, 'lenet-consistency');
  const dirOpt = o.dataDir === undefined ? {} : { dataDir: o.dataDir };
  process.stderr.write(
    `[1/3] training LeNet with consistency regularization (σ = ${o.sigma}, λ = ${o.lbd}, m = 2) on Fashion-MNIST for ${o.epochs} epochs\n`,
  );
  const trained = await train(
    {
      dataset: 'fashion-mnist',
      arch: 'lenet',
      method: 'consistency',
      sigma: o.sigma,
      lbd: o.lbd,
      epochs: o.epochs,
      evalSize: 1000,
      ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
    },
    {
      out: modelDir,
      resume: existsSync(join(modelDir, CHECKPOINT_FILE)),
      ...dirOpt,
      signal,
      onEpoch: (e) =>
        process.stderr.write(`  epoch ${e.epoch}/${e.epochs}: noisy test accuracy ${e.testAcc.toFixed(1)}% (${e.seconds.toFixed(1)} s)\n`),
    },
  );
  if (trained.interrupted) return interrupted(o.out);
  const tsv = join(o.out, 'certify.tsv');
  // Spread the examples over the whole test split (10000 images, 500 in the bundled sample).
  const testSize = (await loadDataset('fashion-mnist', 'test', dirOpt)).size;
  const skip = Math.max(1, Math.floor(testSize / o.examples));
  process.stderr.write(`[2/3] CERTIFY on every ${skip}-th test image (${o.examples} images, n0 = 100, n = ${o.n}, alpha = 0.001)\n`);
  const certified = await runSmoothing(
    'certify',
    {
      dataset: 'fashion-mnist',
      split: 'test',
      ...dirOpt,
      model: modelDir,
      n0: 100,
      n: o.n,
      alpha: 0.001,
      batch: 1000,
      skip,
      max: skip * o.examples,
      seed: 0,
      out: tsv,
    },
    { signal },
  );
  if (certified.interrupted) return interrupted(o.out);
  const radii = radiusGrid(0.25, 1.5);
  const summary = summarize(tsv, radii);
  const plot = join(o.out, 'certified-accuracy.png');
  await writePlot([{ label: `consistency σ=${o.sigma}`, rows: summary.rows }], plot);
  process.stderr.write('[3/3] approximate certified test accuracy (%) and ACR\n');
  process.stdout.write(
    renderTable(
      [{ label: `LeNet + consistency (σ = ${o.sigma}, λ = ${o.lbd})`, accuracy: summary.accuracy, acr: summary.acr }],
      radii,
      'markdown',
    ),
  );
  process.stdout.write(`\nmodel: ${modelDir}\ncertify results: ${tsv}\nplot: ${plot}\n`);
}

function interrupted(out: string): void {
  process.stderr.write(`\ninterrupted: ${out} keeps what is finished; run the same command again to continue\n`);
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'train LeNet with consistency regularization on Fashion-MNIST for a few epochs, certify a few hundred test images, print the certified-accuracy table and plot it',
    )
    .option('--out <dir>', 'output folder (model, certify.tsv, certified-accuracy.png)', 'runs/demo')
    .option('--data-dir <dir>', 'Fashion-MNIST files (default: the dataset-fashion-mnist package, else the bundled sample)')
    .option('--sigma <s>', 'noise level σ', parse.sigma, 0.5)
    .option('--lbd <λ>', 'consistency weight λ (the paper uses 5 on MNIST at σ = 0.5)', parse.nonNegative, 5)
    .option('--epochs <k>', 'training epochs', parse.int(1, 10_000), 3)
    .option('--train-size <N>', 'train on the first N images only', parse.int(1))
    .option('--examples <k>', 'test images to certify', parse.int(1), 300)
    .option('--n <count>', 'Monte Carlo samples per certificate (the paper uses 100000)', parse.int(1, 1e9), 2000)
    .addOption(backendOption())
    .action(demo);
}
