import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SettingError, UserError } from '../base/errors.js';
import { nativePhiloxNoise } from '../backend/noise.js';
import { arithmeticFor } from '../backend/precision.js';
import { datasetInfo } from '../data/datasets.js';
import { loadDataset, type LoadedDataset } from '../loaders/registry.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from '../files/checkpoint.js';
import { EpochLog } from '../files/epoch-log.js';
import { lockOutput } from '../files/lock.js';
import { outputTarget } from '../files/output-path.js';
import { CHECKPOINT_FILE, LOG_FILE, META_FILE, MODEL_FILE } from '../base/run-folder.js';
import { saveModel } from '../files/model-folder.js';
import type { ModelMeta } from '../models/meta.js';
import { buildModel } from '../models/registry.js';
import { trainingData } from '../training/batches.js';
import { checkResumable, resolveRunConfig, trainingRecord, type RunConfig, type TrainSpec } from '../training/config.js';
import { createMethod } from '../training/methods.js';
import type { SgdState } from '../training/sgd.js';
import { trainableVariables } from '../training/step.js';
import { EpochAborted, Trainer, type BatchProgress, type TrainerPosition } from '../training/trainer.js';

/** What the checkpoint keeps besides weights and optimizer state. */
interface CheckpointState {
  config: RunConfig;
  position: TrainerPosition;
  /** The data folder of the run: the default when it is resumed. */
  dataDir?: string;
}

/** One finished epoch, as its log.tsv line records it. */
export interface EpochRecord {
  epoch: number;
  epochs: number;
  seconds: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
}

export interface TrainRunOptions {
  /** The run folder: log.tsv, checkpoint.ckpt and the model (certify takes it as its model). */
  out: string;
  /** Continue the run in `out`; the spec's settings must then agree with the run's. */
  resume?: boolean;
  /** Folder of the dataset files (default: the dataset's; on resume, the run's). */
  dataDir?: string;
  /** Aborting it stops the run at the next batch; finished epochs stay, the run resumes from them. */
  signal?: AbortSignal;
  /** Called after every optimizer step of an epoch. */
  onProgress?: (epoch: number, p: BatchProgress, imagesPerEpoch: number) => void;
  /** Called after every epoch is committed (logged, model saved, checkpoint written). */
  onEpoch?: (e: EpochRecord) => void;
  /** Messages for the user (resuming, taking over a stale lock). Default: stderr. */
  notify?: (message: string) => void;
}

export interface TrainRunResult {
  config: RunConfig;
  /** Epochs finished, all of them unless interrupted. */
  epochsDone: number;
  interrupted: boolean;
}

/**
 * Trains (or resumes) a run to its last epoch: the library's training API, used by the CLI,
 * the demo and the benches. After every epoch it appends the log line, refreshes the model
 * folder, then commits the checkpoint (one atomic file); a resumed run cuts the log back to the
 * checkpoint, so each finished epoch is logged exactly once and the run continues as an
 * uninterrupted one would. The run folder is locked for the duration: a second writer is refused.
 * Choose the backend first (initBackend); the native one makes the training noise natively.
 */
export async function train(spec: TrainSpec, given: TrainRunOptions): Promise<TrainRunResult> {
  // A folder (or a symlink to one, followed) or a path to create; never a device or a system path.
  const o = { ...given, out: outputTarget(given.out, 'folder', 'out') };
  const notify = o.notify ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Settings are checked before the folder is touched, so a typo changes nothing on disk (and a
  // CPU without bf16 units refuses --precision bf16 there).
  const fresh = o.resume ? undefined : resolveRunConfig(spec);
  if (fresh) arithmeticFor(fresh.precision);
  const release = lockOutput(o.out, 'training run folder', notify);
  try {
    const ckptPath = join(o.out, CHECKPOINT_FILE);
    const started = existsSync(join(o.out, LOG_FILE));
    let restored: Checkpoint<CheckpointState> | undefined;
    if (!o.resume) {
      refuseExistingRun(o.out);
    } else if (existsSync(ckptPath)) {
      restored = readCheckpoint<CheckpointState>(ckptPath);
      // Runs checkpointed before the precision was a setting trained in fp32.
      restored.state.config.precision ??= 'fp32';
      checkResumable(restored.state.config, spec);
    } else if (started) {
      // Killed before its first checkpoint: nothing was committed, the run starts over.
      notify(`${o.out} has no checkpoint yet (no epoch was committed): starting the run from epoch 0`);
    } else {
      throw new SettingError(
        'resume',
        (name) => `${o.out} holds no training run to resume (no ${CHECKPOINT_FILE}); start the run without ${name('resume')}`,
      );
    }
    const config = restored?.state.config ?? fresh ?? resolveRunConfig(spec);
    const dataDir = o.dataDir ?? restored?.state.dataDir;
    return await runEpochs(config, restored, { ...o, notify, ...(dataDir === undefined ? {} : { dataDir }) });
  } finally {
    release();
  }
}

async function runEpochs(
  config: RunConfig,
  restored: Checkpoint<CheckpointState> | undefined,
  o: TrainRunOptions & { notify: (m: string) => void },
): Promise<TrainRunResult> {
  const method = createMethod(config.method, config.sigma, config.methodOptions);
  const info = datasetInfo(config.dataset);
  const dirOpt = o.dataDir === undefined ? {} : { dataDir: o.dataDir };
  const [trainSet, testSet] = await Promise.all([
    loadDataset(config.dataset, 'train', dirOpt),
    loadDataset(config.dataset, 'test', dirOpt),
  ]);
  checkFitsData(config, trainSet.size, method.splitsBatch ? method.numNoise : 1);
  const model = buildModel(
    config.arch,
    { name: config.dataset, shape: trainSet.shape, numClasses: trainSet.numClasses, normalization: info.normalization },
    config.seed,
  );
  const trainer = new Trainer(
    model,
    method,
    config,
    restored ? { ...restored.state.position } : undefined,
    nativePhiloxNoise,
    arithmeticFor(config.precision),
  );
  try {
    if (restored) restoreWeights(model, trainer, restored);
    mkdirSync(o.out, { recursive: true });
    removeStaleTemporaries(o.out);
    const commit = () =>
      writeCheckpoint<CheckpointState>(join(o.out, CHECKPOINT_FILE), {
        state: { config, position: { ...trainer.position }, ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }) },
        weights: model.weights.map((w) => ({ shape: w.shape as number[], values: w.read().dataSync() as Float32Array })),
        optimizer: optimizerTensors(trainer),
      });
    // A new run commits its starting point before its log exists, so resuming works at every
    // moment the folder shows a run, before the first epoch too, with the run's own settings.
    if (!restored) commit();
    // Lines past the checkpoint (an epoch logged just before a kill) are cut: it is redone.
    const log = new EpochLog(join(o.out, LOG_FILE), trainer.position.epoch, trainingRecord(config, method.options));
    const data = trainingData(trainSet, info.trainAugmentation, config.trainSize);
    const evalSet = await evaluationSet(testSet, config.evalSize);
    const meta: ModelMeta = {
      format: 'smoothcert-model',
      version: 1,
      arch: config.arch,
      dataset: config.dataset,
      inputShape: trainSet.shape,
      numClasses: trainSet.numClasses,
      normalization: info.normalization,
    };
    if (trainer.position.epoch > 0 && !trainer.done)
      o.notify(`resuming ${o.out} after epoch ${trainer.position.epoch} of ${config.epochs}`);
    while (!trainer.done) {
      const began = performance.now();
      const epoch = trainer.position.epoch;
      let stats;
      try {
        stats = await trainer.trainEpoch(data, (p) => o.onProgress?.(epoch, p, data.size), o.signal);
      } catch (e) {
        if (e instanceof EpochAborted) return { config, epochsDone: epoch, interrupted: true };
        throw e;
      }
      const test = await trainer.evaluate(evalSet.x, evalSet.labels, trainSet.shape);
      const seconds = (performance.now() - began) / 1000;
      log.append([
        epoch,
        seconds.toFixed(3),
        stats.lr,
        stats.trainLoss.toFixed(4),
        stats.trainAcc.toFixed(3),
        test.loss.toFixed(4),
        test.acc.toFixed(3),
      ]);
      // The model first, the checkpoint (the commit point) last: a kill in between redoes this epoch.
      await saveModel(o.out, model, {
        ...meta,
        training: { ...trainingRecord(config, method.options), epochsDone: trainer.position.epoch },
      });
      commit();
      o.onEpoch?.({
        epoch: epoch + 1,
        epochs: config.epochs,
        seconds,
        lr: stats.lr,
        trainLoss: stats.trainLoss,
        trainAcc: stats.trainAcc,
        testLoss: test.loss,
        testAcc: test.acc,
      });
      if (o.signal?.aborted) return { config, epochsDone: trainer.position.epoch, interrupted: !trainer.done };
    }
    return { config, epochsDone: trainer.position.epoch, interrupted: false };
  } finally {
    trainer.optimizer.dispose();
    model.dispose();
  }
}

/**
 * Refuses a run that could not take a training step: each step trains on floor(B/m) images of a
 * loader batch of B (m noisy copies share one batch), so fewer images than m in the split or a
 * batch is an epoch of no steps, which would save an untrained model as trained. And a training
 * subset larger than the split would be recorded as if it had been used.
 */
function checkFitsData(config: RunConfig, splitSize: number, m: number): void {
  if (config.trainSize !== undefined && config.trainSize > splitSize) {
    throw new SettingError(
      'trainSize',
      (name) =>
        `${name('trainSize')} is ${config.trainSize} but the ${config.dataset} training split has ${splitSize} images; give at most ${splitSize}`,
    );
  }
  const images = Math.min(config.trainSize ?? splitSize, splitSize, config.batchSize);
  if (images < m) {
    const which = config.batchSize < m ? 'batchSize' : 'trainSize';
    throw new SettingError(
      which,
      (name) =>
        `${name(which)} ${which === 'batchSize' ? config.batchSize : images} is fewer than the ${m} noisy copies ` +
        `each step splits a batch into, so no training step would be taken; give at least ${m}`,
    );
  }
}

/** Temporary files of a writer killed mid-write (weights are written under their hash's name, so they are not reused). */
function removeStaleTemporaries(out: string): void {
  if (!existsSync(out)) return;
  for (const f of readdirSync(out)) if (/^\..*\.tmp$/.test(f)) rmSync(join(out, f), { force: true });
}

/** A new run never writes over a folder that holds another run or a model. */
function refuseExistingRun(out: string): void {
  if (existsSync(join(out, CHECKPOINT_FILE)) || existsSync(join(out, LOG_FILE))) {
    throw new SettingError(
      'resume',
      (name) =>
        `${out} already holds a training run; continue it with ${name('resume')}, or choose another output folder (nothing was overwritten)`,
    );
  }
  const taken = [MODEL_FILE, META_FILE].filter((f) => existsSync(join(out, f)));
  if (taken.length > 0) {
    throw new UserError(
      `${out} already holds a model (${taken.join(', ')}) that no training run here produced; choose another output folder (nothing was overwritten)`,
    );
  }
}

function restoreWeights(model: tfl.LayersModel, trainer: Trainer, ckpt: Checkpoint<CheckpointState>): void {
  if (ckpt.weights.length !== model.weights.length) {
    throw new UserError(
      `checkpoint holds ${ckpt.weights.length} tensors but ${ckpt.state.config.arch} has ${model.weights.length}; the checkpoint does not belong to this architecture`,
    );
  }
  model.setWeights(ckpt.weights.map((t) => tf.tensor(t.values, t.shape)));
  const vars = trainableVariables(model);
  const state: SgdState = {};
  ckpt.optimizer.forEach((t, i) => {
    if (t) state[vars[i]!.name] = t;
  });
  trainer.optimizer.setState(state);
}

function optimizerTensors(trainer: Trainer) {
  const state = trainer.optimizer.getState();
  return trainableVariables(trainer.model).map((v) => state[v.name] ?? null);
}

/**
 * Every k-th test example, k = floor(size / n): a spread over the classes even where the
 * split is stored class by class (ImageNet's val/ folders).
 */
async function evaluationSet(test: LoadedDataset, size: number) {
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
