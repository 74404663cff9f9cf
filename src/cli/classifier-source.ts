import { activeBackend } from '../backend/select.js';
import { nativeClassifier } from '../backend/native-classifier.js';
import { loadModel, checkModelFitsData } from '../files/model-folder.js';
import { loadOnnxClassifier, type InputLayout } from '../onnx/classifier.js';
import type { BaseClassifier, ImageShape } from '../smoothing/classifier.js';
import { tfjsClassifier } from '../smoothing/tfjs-classifier.js';

/** A base classifier loaded from disk, with what its files say about how it was trained. */
export interface LoadedClassifier {
  base: BaseClassifier;
  /** The sigma the model was trained with, when its metadata records one. */
  trainedSigma?: number;
}

/** How to feed an ONNX graph: its layout and any normalization that lives outside it. */
export interface OnnxInputOptions {
  inputLayout: InputLayout;
  mean?: number[];
  std?: number[];
}

/**
 * Loads the base classifier at `path` for images of `dataShape`: an .onnx file runs in
 * onnxruntime; a smoothcert model folder runs in tfjs, on the native fast path (noise and
 * argmax counting in the addon) when the native backend is active.
 */
export async function loadClassifier(path: string, dataShape: ImageShape, dataset: string, onnx: OnnxInputOptions): Promise<LoadedClassifier> {
  if (path.toLowerCase().endsWith('.onnx')) {
    return { base: await loadOnnxClassifier(path, { ...onnx, expectedShape: dataShape }) };
  }
  const { model, meta } = await loadModel(path);
  checkModelFitsData(meta.inputShape, dataShape, { model: path, dataset });
  const sigma = meta.training?.['sigma'];
  return {
    base: activeBackend() === 'native' ? nativeClassifier(model) : tfjsClassifier(model),
    ...(typeof sigma === 'number' ? { trainedSigma: sigma } : {}),
  };
}
