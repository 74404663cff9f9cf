import { type Command, Option } from 'commander';
import { SettingError } from '../base/errors.js';
import { CONSISTENCY_FORMS } from '../training/losses/consistency.js';
import { METHOD_NAMES, type MethodOptions } from '../training/method.js';
import type { TrainSpec } from '../training/config.js';
import { train, type TrainRunResult } from '../runs/train.js';
import { backendOption, useBackend } from './backend-option.js';
import { interruptible } from './interrupt.js';
import { kebabFlag, parse } from './options.js';
import { progress, type Progress } from './progress.js';

/** The command line's options, as commander parses them. */
interface TrainOptions extends Omit<MethodOptions, 'form'> {
  out: string;
  resume?: boolean;
  dataDir?: string;
  backend?: string;
  dataset?: string;
  arch?: string;
  method?: string;
  sigma?: number;
  consistencyLoss?: MethodOptions['form'];
  epochs?: number;
  lr?: number;
  lrSteps?: number[];
  lrGamma?: number;
  batch?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  seed?: number;
  trainSize?: number;
  evalSize?: number;
}

/** The one place where flags meet library names: the settings whose flag is not their kebab-cased name. */
const FLAG_OF_SETTING: Record<string, string> = { form: '--consistency-loss', batchSize: '--batch', lrMilestones: '--lr-steps' };
const flagOf = (setting: string): string => FLAG_OF_SETTING[setting] ?? kebabFlag(setting);

const METHOD_OPTION_FLAGS = [
  'lbd',
  'eta',
  'numNoise',
  'consistencyLoss',
  'epsilon',
  'numSteps',
  'warmup',
  'gamma',
  'beta',
  'deferEpochs',
] as const;

export function register(program: Command): void {
  program
    .command('train')
    .description(
      'train a base classifier for randomized smoothing (Gaussian, consistency, SmoothAdv, stability, MACER), checkpointing every epoch',
    )
    .requiredOption('--out <dir>', 'run folder: checkpoint, log.tsv and the model (usable by `smoothcert certify --model DIR`)')
    .option('--sigma <s>', 'training noise level σ (required for a new run)', parse.sigma)
    .option('--dataset <name>', 'fashion-mnist, mnist, cifar10 or imagenet (default fashion-mnist)')
    .option('--data-dir <dir>', 'folder with the dataset files')
    .option(
      '--arch <name>',
      'lenet, cifar_resnet20, cifar_resnet110, cifar_densenet40 or resnet50 (default: lenet for 28×28 data, cifar_resnet110 for CIFAR-10, resnet50 for ImageNet)',
    )
    .addOption(new Option('--method <name>', 'training objective (default consistency)').choices([...METHOD_NAMES]))
    .option(
      '--lbd <λ>',
      'weight λ of the regularizer (default: consistency 10 — the paper uses 5 on MNIST at σ ≥ 0.5; SmoothAdv 0 = no consistency; stability 2; MACER 16)',
      parse.nonNegative,
    )
    .option('--eta <η>', 'weight of the entropy term of consistency regularization (default 0.5)', parse.nonNegative)
    .option('--num-noise <m>', 'noisy copies per image (default: 2 for consistency, 4 SmoothAdv, 16 MACER)', parse.int(1, 1024))
    .addOption(
      new Option('--consistency-loss <form>', 'form of the consistency term (paper Section 4.5; default: default)').choices([
        ...CONSISTENCY_FORMS,
      ]),
    )
    .option('--epsilon <ε>', 'SmoothAdv: L2 attack radius ε in [0,1] pixel units (default 1.0)', parse.nonNegative)
    .option('--num-steps <k>', 'SmoothAdv: PGD steps (default 10)', parse.int(1, 1000))
    .option('--warmup <epochs>', 'SmoothAdv: epochs over which ε grows to its value (default 10)', parse.int(1))
    .option('--gamma <γ>', 'MACER: hinge margin γ (default 8)', parse.nonNegative)
    .option('--beta <β>', 'MACER: inverse temperature β (default 16)', parse.positive)
    .option(
      '--defer-epochs <k>',
      "MACER: epochs trained with λ = 0 first (default: the first --lr-steps epoch, as the reference's --deferred runs; 0 = never)",
      parse.int(0),
    )
    .option('--epochs <k>', 'epochs (default 90 for MNIST-like and ImageNet, 150 for CIFAR-10)', parse.int(1, 100_000))
    .option('--lr <lr>', 'initial learning rate (default 0.01 MNIST-like, 0.1 CIFAR-10 and ImageNet)', parse.positive)
    .option('--lr-steps <epochs>', 'epochs at which the learning rate is multiplied by --lr-gamma (default 30,60 / 50,100)', parse.epochs)
    .option('--lr-gamma <g>', 'learning-rate decay factor (default 0.1)', parse.positive)
    .option('--batch <B>', 'loader batch size (default 256; 200 for ImageNet)', parse.int(1, 65_536))
    .option('--momentum <μ>', 'SGD momentum (default 0.9)', parse.nonNegative)
    .option('--no-nesterov', "plain momentum, as the authors' code (the paper says Nesterov)")
    .option('--weight-decay <wd>', 'L2 weight decay (default 1e-4)', parse.nonNegative)
    .option('--seed <seed>', 'seed of initialization, shuffling, augmentation and noise (default 0)', parse.int(0))
    .option('--train-size <N>', 'train on the first N training examples only', parse.int(1))
    .option(
      '--eval-size <N>',
      'test examples evaluated under noise after each epoch (default: all 10000; 500 for ImageNet, whose images are held decoded)',
      parse.int(1),
    )
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .addOption(backendOption())
    .action(async (o: TrainOptions, cmd: Command) => {
      // Only what the user typed goes into the spec: the rest takes the run's (on resume) or the defaults.
      const given = new Set(cmd.options.map((opt) => opt.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
      await trainCommand(o, given);
    });
}

/** The library spec of what was given on the command line. */
function specOf(o: TrainOptions, given: ReadonlySet<string>): TrainSpec {
  const pick = <K extends keyof TrainOptions>(k: K) => (given.has(k) ? o[k] : undefined);
  const methodOptions = Object.fromEntries(
    METHOD_OPTION_FLAGS.filter((k) => given.has(k)).map((k) => [k === 'consistencyLoss' ? 'form' : k, o[k]]),
  ) as MethodOptions;
  const spec: TrainSpec = {
    dataset: pick('dataset'),
    sigma: pick('sigma'),
    arch: pick('arch'),
    method: pick('method'),
    methodOptions,
    epochs: pick('epochs'),
    batchSize: pick('batch'),
    lr: pick('lr'),
    lrMilestones: pick('lrSteps'),
    lrGamma: pick('lrGamma'),
    momentum: pick('momentum'),
    nesterov: pick('nesterov'),
    weightDecay: pick('weightDecay'),
    seed: pick('seed'),
    trainSize: pick('trainSize'),
    evalSize: pick('evalSize'),
  };
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as TrainSpec;
}

async function trainCommand(o: TrainOptions, given: ReadonlySet<string>): Promise<void> {
  const spec = specOf(o, given);
  if (!o.resume && spec.sigma === undefined)
    throw new SettingError('sigma', () => '--sigma is required: the Gaussian noise level to train with, e.g. --sigma 0.5');
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
  } catch (e) {
    throw e instanceof SettingError ? new SettingError(e.setting, () => e.describe(flagOf)) : e;
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
