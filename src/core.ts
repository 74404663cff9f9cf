/**
 * `smoothcert/core`: the smoothing core and everything that runs without Node — CERTIFY and
 * PREDICT, the bounds, the noise, model building, the training methods and loop, dataset facts
 * and the report maths. No module reachable from here imports a `node:` built-in, the native
 * addon or a Node-only package (a test walks the import graph), so it bundles for a browser.
 * The package root (index.ts) re-exports this and adds files, datasets on disk, backends,
 * ONNX and the run workflows.
 */
export type { ImageShape } from './base/shapes.js';
export type { BaseClassifier } from './smoothing/classifier.js';
export { NonFiniteLogitsError, argMaxRows } from './smoothing/classifier.js';
export {
  Smooth,
  ABSTAIN,
  certifyBySampling,
  certifyAdaptiveBySampling,
  predictBySampling,
  type AdaptiveCertifyResult,
  type CertifyResult,
  type PredictResult,
  type SampleCounts,
  type SmoothingNoise,
} from './smoothing/smooth.js';
export { lowerConfidenceBound, normalCdf, normalInverseCdf, binomialTwoSidedPValue } from './smoothing/bounds.js';
export {
  adaptiveEstimate,
  planAdaptive,
  DEFAULT_SEQUENCE,
  type AdaptiveEstimate,
  type AdaptiveOptions,
  type AdaptivePlan,
  type CountSelected,
} from './smoothing/adaptive.js';
export {
  betaMixtureLower,
  betaMixtureSequence,
  confidenceSequence,
  geometricLooks,
  unionBoundSequence,
  SEQUENCES,
  type ConfidenceSequence,
  type SequenceName,
} from './smoothing/confidence-sequence.js';
export { tfjsClassifier, type TfjsModel } from './smoothing/tfjs-classifier.js';
export { logProbGaps } from './smoothing/log-prob-gap.js';
export { fillGaussian, noisyCopies, SUBSTREAM, type NoiseKey } from './noise/gaussian.js';
export { philoxNoise, type NoiseSource } from './noise/tensor-noise.js';
export { Normalize } from './models/normalize.js';
export { checkMeta, type ModelMeta, type Normalization } from './models/meta.js';
export {
  ARCHITECTURES,
  buildModel,
  isArchName,
  type ArchName,
  type Architecture,
  type ArchBuildOptions,
  type ModelDatasetInfo,
} from './models/registry.js';
export {
  METHOD_NAMES,
  type MethodName,
  type MethodOptions,
  type MethodSpec,
  type MethodStep,
  type StepContext,
  type StepOutput,
  type TrainBatch,
  type TrainingMethod,
} from './training/method.js';
export { METHODS, createMethod } from './training/methods.js';
export { lossAndGrads, trainableVariables, trainStep, DivergedError, type StepInputs, type StepResult } from './training/step.js';
export { Trainer, type TrainerConfig, type TrainerPosition, type EpochStats, type BatchProgress } from './training/trainer.js';
export { resolveRunConfig, checkResumable, trainingRecord, type RunConfig } from './training/config.js';
export { TRAIN_SETTINGS, type TrainSpec } from './training/settings.js';
export { checkSpec, recordOf, kinds, type Declarations, type Setting, type Kind, type SpecOf } from './base/settings.js';
export { Sgd, stepLr, type SgdOptions, type SgdState } from './training/sgd.js';
export { trainingData, type TrainingData } from './training/batches.js';
export { consistencyLoss, CONSISTENCY_FORMS, type ConsistencyForm } from './training/losses/consistency.js';
export { crossEntropy, softCrossEntropy } from './training/losses/cross-entropy.js';
export { stabilityLoss } from './training/losses/stability.js';
export { macerLoss, type MacerLossOptions } from './training/losses/macer.js';
export { smoothAdvAttack, softSmoothedNll, type SmoothAdvAttackOptions } from './training/attacks/smoothadv.js';
export {
  DATASETS,
  DATASET_NAMES,
  CIFAR10_CLASSES,
  datasetInfo,
  isDatasetName,
  type DatasetInfo,
  type DatasetName,
  type Schedule,
  type TrainAugmentation,
} from './data/datasets.js';
export type { ImageDataset, InMemoryDataset, Split } from './data/types.js';
export { MemoryDataset } from './data/memory.js';
export { randomCropFlip, cropPadFlip } from './data/augment.js';
export { Mulberry32, randInt, uniform, type Rng } from './data/rng.js';
export {
  averageCertifiedRadius,
  certifiedAccuracy,
  parseCertifyTsv,
  radiusGrid,
  totalSamples,
  ADAPTIVE_HEADER,
  CERTIFY_HEADER,
  DECISION_HEADER,
  MAX_RADII,
  type CertifyRow,
  type Summary,
} from './report/analyze.js';
export { renderTable, formatRadius, parseTableFormat, TABLE_FORMATS, type TableFormat, type TableRow } from './report/table.js';
export { plotSpec, trainingPlotSpec, PLOT_STEP, type PlotSeries, type TrainingSeries } from './report/plot-spec.js';
export { parseTrainingLog, EPOCH_LOG_COLUMNS, type EpochRow } from './report/training-log.js';
export { parsePredictTsv, PREDICT_HEADER, type PredictRow } from './report/predict-tsv.js';
export { UserError, SettingError } from './base/errors.js';
export { SGD_STEP_KERNEL, type SgdStepAttrs } from './base/custom-kernels.js';
