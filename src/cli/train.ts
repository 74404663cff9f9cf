import type { Command } from 'commander';
import { SettingError } from '../base/errors.js';
import { TRAIN_SETTINGS, type TrainSpec } from '../training/settings.js';
import { train, type TrainRunResult } from '../runs/train.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { addSettings, givenSettings } from './settings.js';
import { progress, type Progress } from './progress.js';

/** The command's own options, beside the training settings (TRAIN_SETTINGS). */
interface TrainCommandOptions {
  out: string;
  resume?: boolean;
  dataDir?: string;
  backend?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      'train a base classifier for randomized smoothing (Gaussian, consistency, SmoothAdv, stability, MACER), checkpointing every epoch',
    )
    .requiredOption('--out <dir>', 'run folder: checkpoint, log.tsv and the model (usable by `smoothcert certify --model DIR`)')
    .option('--data-dir <dir>', "folder with the dataset files (default: the dataset's; on --resume, the run's)")
    .option('--resume', 'continue the run in --out from its last checkpoint, with its own settings');
  addSettings(cmd, TRAIN_SETTINGS)
    .addOption(backendOption())
    // Only what the user typed goes into the spec: the rest takes the run's (on resume) or the defaults.
    .action((o: TrainCommandOptions, self: Command) => trainCommand(o, givenSettings(self, TRAIN_SETTINGS)));
}

async function trainCommand(o: TrainCommandOptions, spec: TrainSpec): Promise<void> {
  if (!o.resume && spec.sigma === undefined)
    throw new SettingError(
      'sigma',
      (name) => `${name('sigma')} is required: the Gaussian noise level to train with, e.g. ${name('sigma')} 0.5`,
    );
  await useBackend(o.backend);
  let bar: Progress | undefined;
  let result: TrainRunResult;
  try {
    result = await interruptible((signal) =>
      train(spec, {
        out: o.out,
        ...(o.resume ? { resume: true } : {}),
        ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
        signal,
        onProgress(epoch, p, total) {
          bar ??= progress(`epoch ${epoch + 1}`, total, 'images');
          bar.update(p.images, { loss: p.loss.toFixed(3), acc: `${p.acc.toFixed(1)}%` });
        },
        onEpoch(e) {
          bar?.stop();
          bar = undefined;
          process.stderr.write(
            `epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(4)} acc ${e.trainAcc.toFixed(2)}% | ` +
              `noisy test loss ${e.testLoss.toFixed(4)} acc ${e.testAcc.toFixed(2)}% | ${e.seconds.toFixed(1)} s\n`,
          );
        },
      }),
    );
  } finally {
    bar?.stop();
  }
  if (result.interrupted) process.stderr.write(`\n${interruptedHint(o.out, result.epochsDone)}\n`);
}

/**
 * What to run after Ctrl-C: the checkpoint, committed when the run starts and after every epoch,
 * holds the run's settings, so `--resume` alone continues it at any moment.
 */
function interruptedHint(out: string, epochsDone: number): string {
  const folder = /^[\w@%+=:,./-]+$/.test(out) ? out : `'${out.replace(/'/g, `'\\''`)}'`;
  return `interrupted: ${out} holds ${epochsDone} finished epoch(s); continue with: smoothcert train --out ${folder} --resume`;
}
