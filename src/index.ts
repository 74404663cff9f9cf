export type { BaseClassifier, ImageShape } from './smoothing/classifier.js';
export { Smooth, ABSTAIN, type AdaptiveCertifyResult, type CertifyResult, type PredictResult } from './smoothing/smooth.js';
export { lowerConfidenceBound, normalCdf, normalInverseCdf, binomialTwoSidedPValue } from './smoothing/bounds.js';
export {
  adaptiveEstimate, planAdaptive, DEFAULT_SEQUENCE, type AdaptiveEstimate, type AdaptiveOptions, type AdaptivePlan, type CountSelected,
} from './smoothing/adaptive.js';
export {
  betaMixtureLower, betaMixtureSequence, confidenceSequence, geometricLooks, unionBoundSequence, SEQUENCES,
  type ConfidenceSequence, type SequenceName,
} from './smoothing/confidence-sequence.js';
export { tfjsClassifier, type TfjsModel } from './smoothing/tfjs-classifier.js';
export { saveModel, loadModel, readMeta, checkModelFitsData } from './files/model-folder.js';
export { Normalize } from './models/normalize.js';
export {
  ARCHITECTURES, buildModel, isArchName, type ArchName, type Architecture, type ArchBuildOptions, type ModelDatasetInfo,
} from './models/registry.js';
export {
  METHODS, METHOD_NAMES, createMethod, lossAndGrads, trainableVariables, type MethodName, type MethodOptions, type MethodSpec,
  type MethodStep, type StepContext, type StepOutput, type StepResult, type TrainBatch, type TrainingMethod,
} from './training/methods.js';
export { philoxNoise, TRAIN_SUBSTREAM, type NoiseSource } from './training/noise-source.js';
export { consistencyLoss, CONSISTENCY_FORMS, type ConsistencyForm } from './training/losses/consistency.js';
export { crossEntropy, softCrossEntropy } from './training/losses/cross-entropy.js';
export { stabilityLoss } from './training/losses/stability.js';
export { macerLoss, type MacerLossOptions } from './training/losses/macer.js';
export { smoothAdvAttack, softSmoothedNll, type SmoothAdvAttackOptions } from './training/attacks/smoothadv.js';
export { UserError } from './errors.js';
export { fillGaussian, SUBSTREAM, type NoiseKey } from './noise/gaussian.js';
export type { ImageDataset, InMemoryDataset, Split } from './data/types.js';
export type { ModelMeta, Normalization } from './models/meta.js';
export {
  averageCertifiedRadius, certifiedAccuracy, parseCertifyTsv, radiusGrid, readCertifyFile, summarize, totalSamples,
  ADAPTIVE_HEADER, CERTIFY_HEADER, DECISION_HEADER, type CertifyRow, type Summary,
} from './report/analyze.js';
export { renderTable, formatRadius, parseTableFormat, TABLE_FORMATS, type TableFormat, type TableRow } from './report/table.js';
export { plotFormat, plotSpec, renderPlotSvg, writePlot, PLOT_STEP, type PlotSeries } from './report/plot.js';
export {
  loadDataset, datasetInfo, isDatasetName, fashionMnistDir, fashionMnistSampleDir, DATASETS, DATASET_NAMES,
  FASHION_MNIST_DIR, MNIST_FILES, type DatasetName, type DatasetInfo, type LoadedDataset, type TrainAugmentation,
} from './data/registry.js';
export { readIdx, parseIdx, encodeIdx, readIdxImageSet, type IdxArray, type IdxImageSet } from './data/idx.js';
export { readCifar10, decodeCifarBatch, CIFAR10_CLASSES } from './data/cifar10.js';
export {
  ImageFolderDataset, openImageNet, indexImageFolder, loadTestImage, loadTrainImage, randomResizedCropBox,
  type CropBox, type FolderIndex,
} from './data/imagenet.js';
export { MemoryDataset } from './data/memory.js';
export { randomCropFlip, cropPadFlip } from './data/augment.js';
export { Mulberry32, randInt, uniform, type Rng } from './data/rng.js';
export { loadOnnxClassifier, OnnxClassifier, type InputLayout, type OnnxClassifierOptions } from './onnx/classifier.js';
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, type OnnxExportOptions } from './onnx/export.js';
export { parseInputLayout, parseChannelList } from './onnx/options.js';
export {
  BACKENDS, BACKEND_ENV, activeBackend, chooseBackend, initBackend, nativeUnavailableReason, setBackend,
  type BackendName, type BackendOptions,
} from './backend/select.js';
export { nativeClassifier } from './backend/native-classifier.js';
export { nativePhiloxNoise } from './backend/noise.js';
export { NATIVE_BACKEND, NativeBackend } from './backend/native-backend.js';
