import { activeBackend } from '../backend/select.js';
import { nativeClassifier } from '../backend/native-classifier.js';
import type { Precision } from '../backend/native-backend.js';
import { existsSync } from 'node:fs';
import { SettingError, UserError } from '../base/errors.js';
import { loadModel, checkModelFitsData } from '../files/model-folder.js';
import { loadOnnxFiles, type InputLayout } from '../onnx/classifier.js';
import { readOnnxFiles } from '../onnx/external-data.js';
import { readOnnxMetadata } from '../onnx/metadata.js';
import type { ImageShape } from '../base/shapes.js';
import type { BaseClassifier } from '../smoothing/classifier.js';
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
  /** The graph's output with the class scores, when it has several. */
  output?: string;
}

export interface LoadOptions extends OnnxInputOptions {
  /** Model folders on the native backend: the convolutions' arithmetic (default fp32; see Precision). */
  precision?: Precision;
}

/**
 * Loads the base classifier at `path` for images of `dataShape` (undefined: any its input takes): an .onnx file runs in
 * onnxruntime; a smoothcert model folder runs in tfjs, on the native fast path (noise and
 * argmax counting in the addon) when the native backend is active.
 */
export async function loadClassifier(
  path: string,
  dataShape: ImageShape | undefined,
  dataset: string | undefined,
  options: LoadOptions,
): Promise<LoadedClassifier> {
  const { precision, ...onnx } = options;
  const bf16 = precision === 'bf16';
  if (bf16 && (isOnnxPath(path) || activeBackend() !== 'native')) {
    throw new SettingError(
      'precision',
      (name) =>
        `${name('precision')} bf16 runs smoothcert model folders on the native backend only${
          isOnnxPath(path) ? '; onnxruntime runs .onnx files in fp32' : ` (this run uses ${activeBackend()})`
        }; leave it out`,
    );
  }
  if (isOnnxPath(path)) {
    if (!existsSync(path)) throw new UserError(`ONNX model ${path} does not exist`);
    const files = readOnnxFiles(path);
    const recorded = readOnnxMetadata(files.model);
    // smoothcert export records the layout and puts the normalization inside the graph.
    if (recorded.input_layout !== undefined && (onnx.mean || onnx.std)) {
      throw new SettingError(
        onnx.mean ? 'mean' : 'std',
        (name) =>
          `${path} was written by smoothcert export and normalizes inside the graph; leave out ${name('mean')}/${name('std')} (they would normalize twice)`,
      );
    }
    const inputLayout = onnx.inputLayout ?? (recorded.input_layout === 'nhwc' ? 'nhwc' : 'nchw');
    const base = await loadOnnxFiles(files, path, { ...onnx, inputLayout, expectedShape: dataShape });
    const sigma = Number(recorded.sigma);
    return { base, fingerprint: files.fingerprint, inputLayout, ...(sigma > 0 ? { trainedSigma: sigma } : {}) };
  }
  const given = (['inputLayout', 'mean', 'std', 'output'] as const).filter((k) => onnx[k] !== undefined);
  if (given.length > 0) {
    throw new SettingError(
      given[0]!,
      (name) =>
        `${given.map(name).join(', ')} ${given.length > 1 ? 'apply' : 'applies'} to .onnx files only; a smoothcert model folder records its layout and normalization (leave ${given.length > 1 ? 'them' : 'it'} out)`,
    );
  }
  const { model, meta, fingerprint } = await loadModel(path);
  // No data (a service): the model's own input shape is what it takes.
  if (dataShape !== undefined) checkModelFitsData(meta.inputShape, dataShape, { model: path, dataset: dataset ?? 'the data' });
  const sigma = meta.training?.sigma;
  let base: BaseClassifier;
  try {
    base = activeBackend() === 'native' ? nativeClassifier(model, undefined, bf16 ? { precision: 'bf16' } : {}) : tfjsClassifier(model);
  } catch (e) {
    if (bf16 && e instanceof Error) throw new SettingError('precision', (name) => `${name('precision')} bf16: ${e.message}`); // this CPU lacks bf16
    throw e;
  }
  return {
    base,
    ...(typeof sigma === 'number' ? { trainedSigma: sigma } : {}),
    fingerprint,
  };
}

export function isOnnxPath(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}
