import { loadAddon } from '../backend/addon.js';
import { activeBackend } from '../backend/select.js';
import { nativeClassifier } from '../backend/native-classifier.js';
import type { Precision } from '../backend/native-backend.js';
import { planFromModel, planFromOnnx, UnsupportedGraphError } from '../plan/build.js';
import { checkPlanAgrees } from '../plan/agreement.js';
import { existsSync } from 'node:fs';
import { SettingError, UserError } from '../base/errors.js';
import { loadModel, checkModelFitsData } from '../files/model-folder.js';
import { loadOnnxFiles, type InputLayout, type OnnxClassifier } from '../onnx/classifier.js';
import { readOnnxFiles, type OnnxFiles } from '../onnx/external-data.js';
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

/**
 * What runs the base classifier. auto: the native inference plan where the native backend is
 * active (an ONNX graph with an op the plan lacks runs on onnxruntime, a model folder with such a
 * layer on tfjs, each said in one line), else tfjs (model folders) or onnxruntime (.onnx). plan: the plan or an error. tfjs: a model folder
 * layer by layer through the tfjs backend (the reference the plan is tested against).
 * onnxruntime: an .onnx file as before the plan.
 */
export type Engine = 'auto' | 'plan' | 'tfjs' | 'onnxruntime';

export interface LoadOptions extends OnnxInputOptions {
  /** The arithmetic of convolutions and inner products on the native backend (default fp32; see Precision). */
  precision?: Precision;
  engine?: Engine;
  /** Where the one-line note of an ONNX graph that falls back to onnxruntime goes (default: stderr). */
  notify?: (message: string) => void;
}

/**
 * Loads the base classifier at `path` for images of `dataShape` (undefined: any its input takes):
 * an .onnx file or a smoothcert model folder, run by the engine `options.engine` picks (Engine).
 */
export async function loadClassifier(
  path: string,
  dataShape: ImageShape | undefined,
  dataset: string | undefined,
  options: LoadOptions,
): Promise<LoadedClassifier> {
  const { precision, engine = 'auto', notify = (m: string) => process.stderr.write(`${m}\n`), ...onnx } = options;
  const bf16 = precision === 'bf16';
  const native = activeBackend() === 'native' ? (loadAddon().addon ?? null) : null;
  const onnxFile = isOnnxPath(path);
  if (engine === (onnxFile ? 'tfjs' : 'onnxruntime')) {
    throw new SettingError(
      'engine',
      (name) =>
        `${name('engine')} ${engine} runs ${onnxFile ? 'smoothcert model folders' : '.onnx files'} only; ${path} is ${onnxFile ? 'an .onnx file' : 'a model folder'}`,
    );
  }
  if (engine === 'plan' && !native) {
    throw new SettingError(
      'engine',
      (name) => `${name('engine')} plan needs the native backend (oneDNN); this run uses ${activeBackend()}`,
    );
  }
  if (bf16 && (!native || engine === 'onnxruntime')) {
    throw new SettingError(
      'precision',
      (name) =>
        `${name('precision')} bf16 runs on the native backend only${
          engine === 'onnxruntime' ? '; onnxruntime runs .onnx files in fp32' : ` (this run uses ${activeBackend()})`
        }; leave it out`,
    );
  }
  if (bf16 && !native!.info().bf16) {
    throw new SettingError(
      'precision',
      (name) => `${name('precision')} bf16 needs a CPU with AVX512-BF16 or AMX, which this one lacks; use fp32`,
    );
  }
  const usePlan = native !== null && (engine === 'auto' || engine === 'plan');
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
    const checked = await loadOnnxFiles(files, path, { ...onnx, inputLayout, expectedShape: dataShape });
    let base: BaseClassifier = checked;
    if (usePlan) {
      try {
        base = await onnxPlan(files, checked, onnx, bf16);
      } catch (e) {
        if (!(e instanceof UnsupportedGraphError) || engine === 'plan') throw e;
        notify(`${path}: ${e.message}; it runs on onnxruntime`);
      }
    }
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
    const layerByLayer = () => (native ? nativeClassifier(model, undefined, bf16 ? { precision: 'bf16' } : {}) : tfjsClassifier(model));
    if (!usePlan) base = layerByLayer();
    else {
      try {
        base = planFromModel(model, { precision: bf16 ? 'bf16' : 'fp32' });
      } catch (e) {
        // A layer the ONNX export or the plan lacks: auto runs the folder layer by layer, saying so.
        if (engine === 'plan' || !(e instanceof UserError)) throw e;
        notify(`${path}: ${e.message}; it runs on tfjs`);
        base = layerByLayer();
      }
    }
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

/**
 * The checked graph compiled to a plan with what onnxruntime's load resolved (image shape, output,
 * normalization), confirmed against onnxruntime on a few images before onnxruntime is let go.
 */
async function onnxPlan(files: OnnxFiles, checked: OnnxClassifier, onnx: OnnxInputOptions, bf16: boolean): Promise<BaseClassifier> {
  const plan = planFromOnnx(
    files,
    {
      inputLayout: checked.layout,
      inputShape: checked.inputShape,
      output: checked.outputName,
      ...(onnx.mean ? { mean: checked.mean } : {}),
      ...(onnx.std ? { std: checked.std } : {}),
    },
    { precision: bf16 ? 'bf16' : 'fp32' },
  );
  await checkPlanAgrees(plan, checked, bf16);
  checked.dispose();
  return plan;
}

export function isOnnxPath(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}
