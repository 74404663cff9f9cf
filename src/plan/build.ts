import type { LayersModel } from '@tensorflow/tfjs-layers';
import { loadAddon, type NativeAddon } from '../backend/addon.js';
import { UserError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import { exportOnnx } from '../onnx/export.js';
import type { OnnxFiles } from '../onnx/external-data.js';
import { decodeModel, type GraphProto } from '../onnx/proto/model.js';
import { planClassifier, type PlanClassifier } from './classifier.js';
import { compileOnnx, UnsupportedGraphError } from './compile.js';

export interface PlanOptions {
  /** bf16: convolutions and inner products in bfloat16 with float32 accumulation, activations bf16 between layers. */
  precision?: 'fp32' | 'bf16';
  /** Rows per native call (default: defaultPlanBatch). */
  batch?: number;
}

/**
 * Rows per native call, measured (docs/results/plan/batch-sweep.jsonl, 2-core AMD EPYC with 2 MiB
 * of L2 per core): LeNet and the CIFAR ResNets run as fast at 16 to 100 rows as at any size and
 * lose up to a fifth at 400; ResNet-50 at 224×224 runs at 24–25 images/s with 16 or 32 rows,
 * 16 with 100 and 4 with 400, when its activations no longer fit the caches. Fewer rows also
 * waste less when a caller asks for fewer samples than a batch.
 */
export function defaultPlanBatch(inputShape: ImageShape): number {
  const pixels = inputShape[0] * inputShape[1];
  return pixels >= 112 * 112 ? 32 : 100;
}

/** The addon, which the plan needs whatever tfjs backend is active. */
function nativeAddon(): NativeAddon {
  const { addon, error } = loadAddon();
  if (!addon)
    throw new UserError(`the native inference plan needs the native addon (oneDNN), which did not load: ${error ?? 'unknown reason'}`);
  return addon;
}

/** A smoothcert model (tfjs layers) as a plan: its ONNX export, compiled. */
export function planFromModel(model: LayersModel, options: PlanOptions = {}): PlanClassifier {
  const graph = decodeModel(exportOnnx(model)).graph;
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return fromGraph(nativeAddon(), graph, { inputLayout: 'nhwc', inputShape: [h!, w!, c!] }, options);
}

export interface OnnxPlanInput {
  inputLayout: 'nchw' | 'nhwc';
  /** The image [H, W, C] the graph takes (the dataset's, or read from the graph). */
  inputShape: ImageShape;
  mean?: Float32Array;
  std?: Float32Array;
  output?: string;
}

/** An ONNX model as a plan; UnsupportedGraphError names the first op it cannot run. */
export function planFromOnnx(files: OnnxFiles, input: OnnxPlanInput, options: PlanOptions = {}): PlanClassifier {
  return fromGraph(nativeAddon(), decodeModel(files.model).graph, input, options, new Map(files.external.map((f) => [f.path, f.data])));
}

function fromGraph(
  addon: NativeAddon,
  graph: GraphProto,
  input: OnnxPlanInput,
  options: PlanOptions,
  external?: ReadonlyMap<string, Uint8Array>,
): PlanClassifier {
  const spec = compileOnnx(graph, {
    ...input,
    batch: options.batch ?? defaultPlanBatch(input.inputShape),
    bf16: options.precision === 'bf16',
    ...(external ? { external } : {}),
  });
  return planClassifier(addon, spec);
}

export { UnsupportedGraphError };
