import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { NativeAddon } from '../backend/addon.js';
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
 * Rows per native call. Measured on the certify bench cases (docs/results/plan.md): a batch
 * whose largest activation fits in the L2 cache runs as fast per image as 400, and wastes less
 * when a caller asks for fewer samples; below it the per-call overhead shows.
 */
export function defaultPlanBatch(inputShape: ImageShape): number {
  const pixels = inputShape[0] * inputShape[1];
  return pixels >= 112 * 112 ? 16 : 100;
}

/** A smoothcert model (tfjs layers) as a plan: its ONNX export, compiled. */
export function planFromModel(addon: NativeAddon, model: LayersModel, options: PlanOptions = {}): PlanClassifier {
  const graph = decodeModel(exportOnnx(model)).graph;
  const [, h, w, c] = model.inputs[0]!.shape as number[];
  return fromGraph(addon, graph, { inputLayout: 'nhwc', inputShape: [h!, w!, c!] }, options);
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
export function planFromOnnx(addon: NativeAddon, files: OnnxFiles, input: OnnxPlanInput, options: PlanOptions = {}): PlanClassifier {
  return fromGraph(addon, decodeModel(files.model).graph, input, options, new Map(files.external.map((f) => [f.path, f.data])));
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
