import { Command, Option } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { nativePhiloxNoise } from '../backend/noise.js';
import { datasetInfo, loadDataset } from '../data/registry.js';
import { readCheckpoint, writeCheckpoint } from '../files/checkpoint.js';
import { EpochLog } from '../files/epoch-log.js';
import { META_FILE, MODEL_FILE, saveModel } from '../files/model-folder.js';
import { buildModel } from '../models/registry.js';
import { CONSISTENCY_FORMS } from '../training/losses/consistency.js';
import { trainingData } from '../training/batches.js';
import { createMethod, METHOD_NAMES, trainableVariables, type MethodOptions } from '../training/methods.js';
import { Trainer, type TrainerConfig, type TrainerPosition } from '../training/trainer.js';
import type { SgdState } from '../training/sgd.js';
import { backendOption, useBackend } from './backend-option.js';
import { parse } from './options.js';
import { progress } from './progress.js';

/** Everything that defines a training run; kept in its checkpoint so --resume needs no options. */
export interface RunConfig extends TrainerConfig {
  dataset: string;
  arch: string;
  method: string;
  sigma: number;
  methodOptions: MethodOptions;
  trainSize?: number;
  evalSize: number;
  /** --data-dir of the run: the default when it is resumed. */
  dataDir?: string;
}

interface CheckpointState {
  config: RunConfig;
  position: TrainerPosition;
}

/** Learning-rate schedules of the paper's Supplementary A.1, per kind of dataset. */
const SCHEDULES: Record<'mnist' | 'cifar10' | 'imagenet', Pick<TrainerConfig, 'lr' | 'epochs' | 'lrMilestones' | 'batchSize'>> = {
  mnist: { lr: 0.01, epochs: 90, lrMilestones: [30, 60], batchSize: 256 },
  cifar10: { lr: 0.1, epochs: 150, lrMilestones: [50, 100], batchSize: 256 },
  imagenet: { lr: 0.1, epochs: 90, lrMilestones: [30, 60], batchSize: 200 },
};

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
export const LOG_FILE = 'log.tsv';

/** The CLI's options: the method's own (MethodOptions, with --consistency-loss for `form`) and the loop's. */
export interface TrainOptions extends Omit<MethodOptions, 'form'> {
  dataset: string;
  dataDir?: string;
  arch?: string;
  method: string;
  sigma?: number;
  out: string;
  resume?: boolean;
  epochs?: number;
  lr?: number;
  lrSteps?: number[];
  lrGamma: number;
  batch?: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  seed: number;
  trainSize?: number;
  evalSize?: number;
  consistencyLoss?: MethodOptions['form'];
  backend?: string;
  /** No progress bar (the demo prints its own summary). */
  quiet?: boolean;
}

export function register(program: Command): void {
  program.command('train')
    .description('train a base classifier for randomized smoothing (Gaussian, consistency, SmoothAdv, stability, MACER), checkpointing every epoch')
    .requiredOption('--out <dir>', 'run folder: checkpoint, log.tsv and the model (usable by `smoothcert certify --model DIR`)')
    .option('--sigma <s>', 'training noise level σ (required for a new run)', parse.positive)
    .option('--dataset <name>', 'fashion-mnist, mnist, cifar10 or imagenet', 'fashion-mnist')
    .option('--data-dir <dir>', 'folder with the dataset files')
    .option('--arch <name>', 'lenet, cifar_resnet20, cifar_resnet110, cifar_densenet40 or resnet50 (default: lenet for 28×28 data, cifar_resnet110 for CIFAR-10, resnet50 for ImageNet)')
    .addOption(new Option('--method <name>', 'training objective').choices([...METHOD_NAMES]).default('consistency'))
    .option('--lbd <λ>', 'weight λ of the regularizer (default: consistency 10 — the paper uses 5 on MNIST at σ ≥ 0.5; SmoothAdv 0 = no consistency; stability 2; MACER 16)', parse.nonNegative)
    .option('--eta <η>', 'weight of the entropy term of consistency regularization (default 0.5)', parse.nonNegative)
    .option('--num-noise <m>', 'noisy copies per image (default: 2 for consistency, 4 SmoothAdv, 16 MACER)', parse.int(1))
    .addOption(new Option('--consistency-loss <form>', 'form of the consistency term (paper Section 4.5)').choices([...CONSISTENCY_FORMS]))
    .option('--epsilon <ε>', 'SmoothAdv: L2 attack radius ε in [0,1] pixel units (default 1.0)', parse.nonNegative)
    .option('--num-steps <k>', 'SmoothAdv: PGD steps (default 10)', parse.int(1))
    .option('--warmup <epochs>', 'SmoothAdv: epochs over which ε grows to its value (default 10)', parse.int(1))
    .option('--gamma <γ>', 'MACER: hinge margin γ (default 8)', parse.nonNegative)
    .option('--beta <β>', 'MACER: inverse temperature β (default 16)', parse.positive)
    .option('--defer-epochs <k>', 'MACER: epochs trained with λ = 0 first (default 0; the reference\'s --deferred equals the first LR milestone)', parse.int(0))
    .option('--epochs <k>', 'epochs (default 90 for MNIST-like and ImageNet, 150 for CIFAR-10)', parse.int(1))
    .option('--lr <lr>', 'initial learning rate (default 0.01 MNIST-like, 0.1 CIFAR-10 and ImageNet)', parse.positive)
    .option('--lr-steps <epochs>', 'epochs at which the learning rate is multiplied by --lr-gamma (default 30,60 / 50,100)', parse.numbers)
    .option('--lr-gamma <g>', 'learning-rate decay factor', parse.positive, 0.1)
    .option('--batch <B>', 'loader batch size (default 256; 200 for ImageNet)', parse.int(1))
    .option('--momentum <μ>', 'SGD momentum', parse.nonNegative, 0.9)
    .option('--no-nesterov', 'plain momentum, as the authors\' code (the paper says Nesterov)')
    .option('--weight-decay <wd>', 'L2 weight decay', parse.nonNegative, 1e-4)
    .option('--seed <seed>', 'seed of initialization, shuffling, augmentation and noise', parse.int(0), 0)
    .option('--train-size <N>', 'train on the first N training examples only', parse.int(1))
    .option('--eval-size <N>', 'test examples evaluated under noise after each epoch (default: all 10000; 500 for ImageNet, whose images are held decoded)', parse.int(1))
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .addOption(backendOption())
    .action(async (o: TrainOptions, cmd: Command) => {
      await train(o, new Set(cmd.options.map((opt) => opt.attributeName()).filter((k) => cmd.getOptionValueSource(k) === 'cli')));
    });
}

/**
 * Runs (or resumes) a training run to its last epoch. After every epoch it appends the log
 * line, refreshes the model folder, then commits the checkpoint (one atomic file); a resumed
 * run drops log lines past the checkpoint, so each finished epoch is logged exactly once.
 */
export async function train(o: TrainOptions, givenOnCli: ReadonlySet<string> = new Set()): Promise<void> {
  await useBackend(o.backend);
  const ckptPath = join(o.out, CHECKPOINT_FILE);
  const logPath = join(o.out, LOG_FILE);
  let restored: ReturnType<typeof readCheckpoint<CheckpointState>> | undefined;
  let config: RunConfig;
  if (o.resume) {
    restored = readCheckpoint<CheckpointState>(ckptPath);
    config = restored.state.config;
    const fresh = runConfig({ ...o, sigma: o.sigma ?? config.sigma });
    for (const key of givenOnCli) checkSame(key, config, fresh);
  } else {
    if (existsSync(ckptPath)) {
      throw new UserError(`${o.out} already holds a training run; pass --resume to continue it, or choose another --out (nothing was overwritten)`);
    }
    const taken = [MODEL_FILE, META_FILE, LOG_FILE].filter((f) => existsSync(join(o.out, f)));
    if (taken.length > 0) {
      throw new UserError(`${o.out} already holds ${taken.join(', ')} (but no checkpoint to resume); choose another --out (nothing was overwritten)`);
    }
    config = runConfig(o);
  }
  const method = createMethod(config.method, config.sigma, config.methodOptions);
  const info = datasetInfo(config.dataset);
  const dataDir = o.dataDir ?? config.dataDir;
  const dirOpt = dataDir === undefined ? {} : { dataDir };
  const [trainSet, testSet] = await Promise.all([loadDataset(config.dataset, 'train', dirOpt), loadDataset(config.dataset, 'test', dirOpt)]);
  const model = buildModel(config.arch, { name: config.dataset, shape: trainSet.shape, numClasses: trainSet.numClasses, normalization: info.normalization }, config.seed);
  const trainer = new Trainer(model, method, config, restored?.state.position, nativePhiloxNoise);
  if (restored) restoreWeights(model, trainer, restored);
  mkdirSync(o.out, { recursive: true });
  const log = new EpochLog(logPath, trainer.position.epoch);

  const data = trainingData(trainSet, info.trainAugmentation, config.trainSize);
  const evalSet = await evaluationSet(testSet, config.evalSize);
  const meta = {
    format: 'smoothcert-model' as const, version: 1 as const, arch: config.arch, dataset: config.dataset,
    inputShape: trainSet.shape, numClasses: trainSet.numClasses, normalization: info.normalization,
  };
  if (trainer.position.epoch > 0) process.stderr.write(`resuming ${o.out} after epoch ${trainer.position.epoch} of ${config.epochs}\n`);
  const interrupted = () => {
    process.stderr.write(`\ninterrupted: ${o.out} holds every finished epoch; continue with the same command and --resume\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    while (!trainer.done) {
      const began = performance.now();
      const epoch = trainer.position.epoch;
      const bar = o.quiet ? undefined : progress(`epoch ${epoch + 1}/${config.epochs}`, data.size, 'images');
      const stats = await trainer.trainEpoch(data, (p) => {
        const seconds = (performance.now() - began) / 1000;
        bar?.update(p.images, { loss: p.loss.toFixed(3), acc: `${p.acc.toFixed(1)}%`, 'samples/s': (p.samples / seconds).toFixed(0) });
      });
      bar?.stop();
      const test = await trainer.evaluate(evalSet.x, evalSet.labels, trainSet.shape);
      const seconds = (performance.now() - began) / 1000;
      log.append([epoch, seconds.toFixed(3), stats.lr, stats.trainLoss.toFixed(4), stats.trainAcc.toFixed(3), test.loss.toFixed(4), test.acc.toFixed(3)]);
      // The model first, the checkpoint (the commit point) last: a kill in between redoes this epoch.
      await saveModel(o.out, model, { ...meta, training: trainingRecord(config, method.options, trainer.position.epoch) });
      writeCheckpoint<CheckpointState>(ckptPath, {
        state: { config, position: { ...trainer.position } },
        weights: model.weights.map((w) => ({ shape: w.shape as number[], values: w.read().dataSync() as Float32Array })),
        optimizer: optimizerTensors(trainer),
      });
      process.stderr.write(`epoch ${epoch + 1}/${config.epochs}: train loss ${stats.trainLoss.toFixed(4)} acc ${stats.trainAcc.toFixed(2)}% | noisy test loss ${test.loss.toFixed(4)} acc ${test.acc.toFixed(2)}% | ${seconds.toFixed(1)} s\n`);
    }
  } finally {
    process.removeListener('SIGINT', interrupted);
  }
  trainer.optimizer.dispose();
  model.dispose();
}

function runConfig(o: TrainOptions): RunConfig {
  if (o.sigma === undefined) throw new UserError('--sigma is required: the Gaussian noise level to train with, e.g. --sigma 0.5');
  datasetInfo(o.dataset); // an unknown name fails here, before anything is read or written
  const kind = o.dataset === 'cifar10' ? 'cifar10' : o.dataset === 'imagenet' ? 'imagenet' : 'mnist';
  const schedule = SCHEDULES[kind];
  const arch = o.arch ?? (kind === 'mnist' ? 'lenet' : kind === 'cifar10' ? 'cifar_resnet110' : 'resnet50');
  const given: MethodOptions = {
    lbd: o.lbd, eta: o.eta, numNoise: o.numNoise, form: o.consistencyLoss, epsilon: o.epsilon, numSteps: o.numSteps,
    warmup: o.warmup, gamma: o.gamma, beta: o.beta, deferEpochs: o.deferEpochs,
  };
  // Only the options given: they are stored in the checkpoint and compared on resume.
  const methodOptions = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as MethodOptions;
  // Validate the method's options now, before any data is read or anything is written.
  createMethod(o.method, o.sigma, methodOptions);
  return {
    dataset: o.dataset, arch, method: o.method, sigma: o.sigma, methodOptions,
    epochs: o.epochs ?? schedule.epochs, batchSize: o.batch ?? schedule.batchSize, lr: o.lr ?? schedule.lr,
    lrMilestones: o.lrSteps ?? schedule.lrMilestones, lrGamma: o.lrGamma, momentum: o.momentum, nesterov: o.nesterov,
    weightDecay: o.weightDecay, seed: o.seed, evalSize: o.evalSize ?? (kind === 'imagenet' ? 500 : 10_000),
    ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
  };
}

/** Where a CLI option lives in RunConfig when the names differ. */
const FIELD: Record<string, string> = { batch: 'batchSize', lrSteps: 'lrMilestones', consistencyLoss: 'form' };
/** Options that do not define the run and may change on resume. */
const FREE = new Set(['out', 'resume', 'backend', 'dataDir']);

function checkSame(key: string, saved: RunConfig, fresh: RunConfig): void {
  if (FREE.has(key)) return;
  // Method options as resolved (defaults filled in), so an unset option compares as its default.
  const flat = (c: RunConfig): Record<string, unknown> => ({ ...c, ...createMethod(c.method, c.sigma, c.methodOptions).options });
  const field = FIELD[key] ?? key;
  const [a, b] = [flat(saved)[field], flat(fresh)[field]];
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new UserError(`the run was started with --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${JSON.stringify(a)}, not ${JSON.stringify(b)}; resume without that option (the run keeps its settings) or start a new run in another --out`);
  }
}

function restoreWeights(model: tfl.LayersModel, trainer: Trainer, ckpt: ReturnType<typeof readCheckpoint<CheckpointState>>): void {
  if (ckpt.weights.length !== model.weights.length) {
    throw new UserError(`checkpoint holds ${ckpt.weights.length} tensors but ${ckpt.state.config.arch} has ${model.weights.length}; the checkpoint does not belong to this architecture`);
  }
  model.setWeights(ckpt.weights.map((t) => tf.tensor(t.values, t.shape)));
  const vars = trainableVariables(model);
  const state: SgdState = {};
  ckpt.optimizer.forEach((t, i) => { if (t) state[vars[i]!.name] = t; });
  trainer.optimizer.setState(state);
}

function optimizerTensors(trainer: Trainer) {
  const state = trainer.optimizer.getState();
  return trainableVariables(trainer.model).map((v) => state[v.name] ?? null);
}

function trainingRecord(config: RunConfig, methodOptions: Readonly<Record<string, number | string>>, epochsDone: number): Record<string, unknown> {
  return {
    method: config.method, sigma: config.sigma, ...methodOptions, epochs: config.epochs, epochsDone, lr: config.lr,
    lrMilestones: config.lrMilestones, lrGamma: config.lrGamma, batch: config.batchSize, momentum: config.momentum,
    nesterov: config.nesterov, weightDecay: config.weightDecay, seed: config.seed,
    ...(config.trainSize === undefined ? {} : { trainSize: config.trainSize }),
  };
}

/**
 * Every k-th test example, k = floor(size / n): a spread over the classes even where the
 * split is stored class by class (ImageNet's val/ folders).
 */
async function evaluationSet(test: Awaited<ReturnType<typeof loadDataset>>, size: number) {
  const n = Math.min(size, test.size);
  const stride = n > 0 ? Math.floor(test.size / n) : 1;
  const d = test.shape[0] * test.shape[1] * test.shape[2];
  const x = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    x.set(await test.image(k * stride), k * d);
    labels[k] = test.label(k * stride);
  }
  return { x, labels, size: n };
}
