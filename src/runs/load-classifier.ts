import { activeBackend } from '../backend/select.js';
import { nativeClassifier } from '../backend/native-classifier.js';
import type { Precision } from '../backend/native-backend.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { UserError } from '../errors.js';
import { join } from 'node:path';
import { loadModel, checkModelFitsData, MODEL_FILE } from '../files/model-folder.js';
import { loadOnnxClassifier, type InputLayout } from '../onnx/classifier.js';
import { readOnnxMetadata } from '../onnx/metadata.js';
import type { BaseClassifier, ImageShape } from '../smoothing/classifier.js';
import { tfjsClassifier } from '../smoothing/tfjs-classifier.js';

/** A base classifier loaded from disk, with what its files say about how it was trained. */
export interface LoadedClassifier {
  base: BaseClassifier;
  /** The sigma the model was trained with, when its metadata records one. */
  trainedSigma?: number;
  /** Identifies the weights: a resumed result log must come from the same model. */
  fingerprint: string;
  /** The layout an ONNX graph is fed in. */
  inputLayout?: InputLayout;
}

/** How to feed an ONNX graph: its layout and any normalization that lives outside it (.onnx files only). */
export interface OnnxInputOptions {
  /** Default: what the file records (smoothcert export writes nhwc), else nchw (PyTorch). */
  inputLayout?: InputLayout;
  mean?: number[];
  std?: number[];
}

export interface LoadOptions extends OnnxInputOptions {
  /** Model folders on the native backend: the convolutions' arithmetic (default fp32; see Precision). */
  precision?: Precision;
}

/**
 * Loads the base classifier at `path` for images of `dataShape`: an .onnx file runs in
 * onnxruntime; a smoothcert model folder runs in tfjs, on the native fast path (noise and
 * argmax counting in the addon) when the native backend is active.
 */
export async function loadClassifier(path: string, dataShape: ImageShape, dataset: string, options: LoadOptions): Promise<LoadedClassifier> {
  const { precision, ...onnx } = options;
  const bf16 = precision === 'bf16';
  if (bf16 && (isOnnxPath(path) || activeBackend() !== 'native')) {
    throw new UserError(`--precision bf16 runs smoothcert model folders on the native backend only${isOnnxPath(path)
      ? '; onnxruntime runs .onnx files in fp32' : ` (this run uses ${activeBackend()})`}; leave it out`);
  }
  if (isOnnxPath(path)) {
    const bytes = existsSync(path) ? readFileSync(path) : new Uint8Array(0);
    const recorded = readOnnxMetadata(bytes);
    // smoothcert export records the layout and puts the normalization inside the graph.
    if (recorded['input_layout'] !== undefined && (onnx.mean || onnx.std)) {
      throw new UserError(`${path} was written by smoothcert export and normalizes inside the graph; leave out --mean/--std (they would normalize twice)`);
    }
    const inputLayout = onnx.inputLayout ?? (recorded['input_layout'] === 'nhwc' ? 'nhwc' : 'nchw');
    const base = await loadOnnxClassifier(path, { ...onnx, inputLayout, expectedShape: dataShape });
    const sigma = Number(recorded['sigma']);
    return { base, fingerprint: sha256(bytes), inputLayout, ...(sigma > 0 ? { trainedSigma: sigma } : {}) };
  }
  const given = (['inputLayout', 'mean', 'std'] as const).filter((k) => onnx[k] !== undefined);
  if (given.length > 0) {
    const flags = given.map((k) => (k === 'inputLayout' ? '--input-layout' : `--${k}`)).join(', ');
    throw new UserError(`${flags} apply to .onnx files only; a smoothcert model folder records its layout and normalization (leave ${given.length > 1 ? 'them' : 'it'} out)`);
  }
  const { model, meta } = await loadModel(path);
  checkModelFitsData(meta.inputShape, dataShape, { model: path, dataset });
  const sigma = meta.training?.['sigma'];
  let base: BaseClassifier;
  try {
    base = activeBackend() === 'native' ? nativeClassifier(model, undefined, bf16 ? { precision: 'bf16' } : {}) : tfjsClassifier(model);
  } catch (e) {
    if (bf16 && e instanceof Error) throw new UserError(`--precision bf16: ${e.message}`); // this CPU lacks bf16
    throw e;
  }
  return {
    base,
    ...(typeof sigma === 'number' ? { trainedSigma: sigma } : {}),
    // model.json names its weights file by their hash, so it identifies topology and weights.
    fingerprint: sha256(readFileSync(join(path, MODEL_FILE))),
  };
}

export function isOnnxPath(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
