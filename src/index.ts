/**
 * smoothcert for Node: the browser-safe core (core.ts) plus datasets and model folders on
 * disk, the backends (native oneDNN addon, tfjs-wasm), ONNX, and the run workflows (train,
 * certify/predict) that the CLI is built on. Importing it loads onnxruntime-node's binding and
 * registers tfjs's CPU backend; smoothcert's own addon is loaded and its backend registered only
 * when initBackend (or setBackend) runs on native, and vega, resvg and bullmq load on first use
 * (docs/ARCHITECTURE.md, "What importing each entry point loads").
 */
export * from './core.js';
export { saveModel, loadModel, readMeta, checkModelFitsData } from './files/model-folder.js';
export { lockOutput, type ReleaseLock } from './files/lock.js';
export { readCertifyFile, summarize } from './files/read-results.js';
export { plotFormat, renderPlotSvg, writePlot } from './files/plot.js';
export {
  loadDataset,
  dataFingerprint,
  fashionMnistDir,
  fashionMnistSampleDir,
  FASHION_MNIST_DIR,
  MNIST_FILES,
  type LoadedDataset,
} from './loaders/registry.js';
export { readIdx, parseIdx, encodeIdx, readIdxImageSet, type IdxArray, type IdxImageSet } from './loaders/idx.js';
export { readCifar10, decodeCifarBatch } from './loaders/cifar10.js';
export {
  ImageFolderDataset,
  openImageNet,
  indexImageFolder,
  loadTestImage,
  loadTrainImage,
  randomResizedCropBox,
  type CropBox,
  type FolderIndex,
} from './loaders/imagenet.js';
export { loadOnnxClassifier, OnnxClassifier, type InputLayout, type OnnxClassifierOptions } from './onnx/classifier.js';
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, type OnnxExportOptions } from './onnx/export.js';
export {
  BACKENDS,
  BACKEND_ENV,
  activeBackend,
  chooseBackend,
  initBackend,
  nativeUnavailableReason,
  setBackend,
  type BackendName,
  type BackendOptions,
} from './backend/select.js';
export { nativeClassifier } from './backend/native-classifier.js';
export { defaultPlanBatch, planFromModel, planFromOnnx, type PlanOptions } from './plan/build.js';
export type { PlanClassifier } from './plan/classifier.js';
export { UnsupportedGraphError } from './plan/compile.js';
export { nativePhiloxNoise } from './backend/noise.js';
export { NATIVE_BACKEND, NativeBackend } from './backend/native-backend.js';
export { CHECKPOINT_FILE, LOG_FILE, META_FILE, MODEL_FILE } from './base/run-folder.js';
export { train, type TrainRunOptions, type TrainRunResult, type EpochRecord } from './runs/train.js';
export {
  runSmoothing,
  type SmoothingMode,
  type SmoothingRunOptions,
  type SmoothingHooks,
  type SmoothingProgress,
  type SmoothingRunResult,
  type QueueRunOptions,
} from './runs/smoothing.js';
export { runWorker, type WorkerOptions } from './queue/worker.js';
export { type Engine, loadClassifier, type LoadedClassifier, type OnnxInputOptions } from './loaders/classifier.js';
export {
  createCertifier,
  REQUEST_STREAM,
  type Answer,
  type Certifier,
  type CertifierOptions,
  type ModelInfo,
} from './service/certifier.js';
export { createRequestHandler, type HandlerOptions, type ServiceHandler } from './service/http.js';
export { REQUEST_SETTINGS, type CertifyRequest, type PredictRequest } from './service/request.js';
export { startApiServer, SERVICE_SETTINGS, type RunningService, type ServiceSpec } from './service/server.js';
