import type { Tensor } from '@tensorflow/tfjs-core';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { UserError } from '../base/errors.js';
import { DataType, type AttributeProto } from './proto/model.js';
import { attr, GraphBuilder } from './graph.js';

/** Names of the exported graph's input and output. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

export interface OnnxExportOptions {
  /** Stored as the model's producer_version. */
  producerVersion?: string;
  /** Stored as metadata_props (e.g. arch, dataset, sigma). */
  metadata?: Record<string, string>;
}

/**
 * Converts a tfjs layers model from NHWC images to logits into an ONNX model (opset 13).
 *
 * The graph's input is float32 [batch, H, W, C] (NHWC, dynamic batch) in [0, 1] pixel space,
 * exactly what the tfjs model takes: the Normalize layer is inside the graph, so smoothcert
 * runs it with input layout nhwc and no mean/std outside the graph. The output is [batch, classes].
 * Inside, convolutions run in NCHW (the only layout of ONNX Conv): values are transposed
 * lazily where a layer needs the other layout, and back to NHWC before Flatten, so the
 * flattened order — and hence the Dense weights — match tfjs.
 */
export function exportOnnx(model: LayersModel, options: OnnxExportOptions = {}): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UserError(
      `cannot export model ${model.name}: it has ${model.inputs.length} inputs and ${model.outputs.length} outputs; ONNX export supports one image input and one logits output`,
    );
  }
  const input = model.inputs[0]!;
  const output = model.outputs[0]!;
  const [, h, w, c] = input.shape;
  if (input.shape.length !== 4 || !h || !w || !c) {
    throw new UserError(
      `cannot export model ${model.name}: its input shape ${shapeText(input.shape)} is not [batch, H, W, C] with known H, W, C`,
    );
  }
  if (output.shape.length !== 2 || !output.shape[1]) {
    throw new UserError(`cannot export model ${model.name}: its output shape ${shapeText(output.shape)} is not [batch, classes]`);
  }
  const g = new GraphBuilder(model.name);
  const values = new Map<number, Value>();
  values.set(input.id, { name: g.input(ONNX_INPUT, DataType.FLOAT, ['batch', h, w, c]), layout: 'nhwc', shape: [h, w, c] });
  const converter = new Converter(g);
  for (const t of topologicalOrder(output)) {
    if (values.has(t.id)) continue;
    if (t.inputs.length === 0) {
      throw new UserError(`cannot export model ${model.name}: tensor ${t.name} is a second input; ONNX export supports one image input`);
    }
    const inputs = t.inputs.map((i) => values.get(i.id)!);
    values.set(t.id, converter.layer(t.sourceLayer, inputs, dims(t)));
  }
  const result = converter.toLayout(values.get(output.id)!, 'nhwc');
  g.output(result.name, ONNX_OUTPUT, DataType.FLOAT, ['batch', output.shape[1]]);
  return g.encode({
    producerVersion: options.producerVersion,
    docString:
      `smoothcert export of ${model.name}. Input '${ONNX_INPUT}': float32 [batch, ${h}, ${w}, ${c}] NHWC images in [0, 1] ` +
      `(normalization is inside the graph). Output '${ONNX_OUTPUT}': float32 [batch, ${output.shape[1]}].`,
    metadata: options.metadata,
  });
}

/** A tfjs convolution kernel [kh, kw, in, out] in the [out, in, kh, kw] order of ONNX and PyTorch. */
export function hwioToOihw(hwio: Float32Array, [kh, kw, inC, outC]: readonly [number, number, number, number]): Float32Array {
  const oihw = new Float32Array(hwio.length);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ci = 0; ci < inC; ci++) {
        for (let co = 0; co < outC; co++) oihw[((co * inC + ci) * kh + i) * kw + j] = hwio[((i * kw + j) * inC + ci) * outC + co]!;
      }
    }
  }
  return oihw;
}

/**
 * A graph value. Rank-4 values keep their tfjs (NHWC) `shape` but may be stored transposed
 * as NCHW; other ranks are stored as in tfjs ('plain').
 */
interface Value {
  name: string;
  layout: 'nhwc' | 'nchw' | 'plain';
  /** The tfjs shape without the batch dimension. */
  shape: number[];
}

/** Where each tfjs axis (batch first) of a rank-4 tensor sits in NCHW. */
const NCHW_POSITION = [0, 2, 3, 1];

/** Minimal structural view of a tfjs Layer: what the exporter reads from each layer. */
interface LayerView {
  name: string;
  getClassName(): string;
  getConfig(): object;
  getWeights(): Tensor[];
}

class Converter {
  /** Transposed copies already emitted, by source value name and target layout. */
  private readonly transposed = new Map<string, string>();

  constructor(private readonly g: GraphBuilder) {}

  layer(layer: LayerView, inputs: Value[], outShape: number[]): Value {
    const kind = layer.getClassName();
    const cfg = new Config(layer, kind);
    const x = inputs[0]!;
    switch (kind) {
      case 'Normalize':
        return this.normalize(layer, cfg, x);
      case 'Conv2D':
        return this.conv2d(layer, cfg, x, outShape);
      case 'Dense':
        return this.dense(layer, cfg, x, outShape);
      case 'Flatten':
        return x.shape.length === 1 ? x : this.flatten(this.toLayout(x, 'nhwc'), outShape);
      case 'MaxPooling2D':
      case 'AveragePooling2D':
        return this.pool(layer, cfg, kind === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', x, outShape);
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        checkChannelsLast(cfg);
        const pooled = this.g.node(
          kind === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool',
          [this.toLayout(x, 'nchw').name],
          [],
          layer.name,
        );
        return this.flatten({ name: pooled, layout: 'nchw', shape: [1, 1, x.shape[2]!] }, outShape);
      }
      case 'BatchNormalization':
        return this.batchNorm(layer, cfg, x);
      case 'Activation':
        return this.activation(layer, cfg.string('activation'), x);
      case 'ReLU': {
        const maxValue = cfg.optionalNumber('maxValue');
        return maxValue === undefined ? this.op('Relu', x, layer.name) : this.clip(x, 0, maxValue, layer.name);
      }
      case 'LeakyReLU':
        return this.op('LeakyRelu', x, layer.name, [attr.float('alpha', cfg.number('alpha'))]);
      case 'Softmax':
        return this.op('Softmax', x, layer.name, [attr.int('axis', this.axis(x, cfg.number('axis')))]);
      case 'Add': {
        const [first, ...rest] = this.sameLayout(inputs);
        let sum = first!;
        for (const v of rest) sum = { ...sum, name: this.g.node('Add', [sum.name, v.name], [], layer.name) };
        return sum;
      }
      case 'Concatenate': {
        const same = this.sameLayout(inputs);
        const axis = this.axis(same[0]!, cfg.number('axis'));
        return {
          name: this.g.node(
            'Concat',
            same.map((v) => v.name),
            [attr.int('axis', axis)],
            layer.name,
          ),
          layout: same[0]!.layout,
          shape: outShape,
        };
      }
      case 'ZeroPadding2D':
        return this.zeroPad(layer, cfg, x, outShape);
      case 'Dropout':
      case 'SpatialDropout2D':
        return x; // identity at inference
      default:
        throw new UserError(
          `cannot export layer ${layer.name}: layer type ${kind} is not supported by the ONNX exporter (supported: ${SUPPORTED.join(', ')})`,
        );
    }
  }

  /** `v` stored in `layout` (a rank-4 value is transposed once and the copy reused). */
  toLayout(v: Value, layout: 'nhwc' | 'nchw'): Value {
    if (v.layout === 'plain' || v.layout === layout) return v;
    const key = `${v.name}\u0000${layout}`;
    let name = this.transposed.get(key);
    if (name === undefined) {
      const perm = layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1];
      name = this.g.node('Transpose', [v.name], [attr.ints('perm', perm)], `${v.name}_${layout}`);
      this.transposed.set(key, name);
    }
    return { ...v, name, layout };
  }

  /** (x − mean) / std per channel, in the same order of operations as the tfjs layer. */
  private normalize(layer: LayerView, cfg: Config, x: Value): Value {
    const mean = cfg.numbers('mean');
    const std = cfg.numbers('std');
    const dims = this.channelDims(x, mean.length);
    const centered = this.g.node('Sub', [x.name, this.g.floatConst(`${layer.name}_mean`, dims, mean)], [], `${layer.name}_sub`);
    const scaled = this.g.node('Div', [centered, this.g.floatConst(`${layer.name}_std`, dims, std)], [], layer.name);
    return { ...x, name: scaled };
  }

  private conv2d(layer: LayerView, cfg: Config, x: Value, outShape: number[]): Value {
    checkChannelsLast(cfg);
    const [kh, kw] = cfg.pair('kernelSize');
    const strides = cfg.pair('strides');
    const dilations = cfg.pair('dilationRate');
    const [kernel, bias] = weights(layer, cfg.bool('useBias') ? 2 : 1);
    const [, , inC, outC] = kernel.shape as [number, number, number, number];
    const oihw = hwioToOihw(kernel.dataSync() as Float32Array, [kh, kw, inC, outC]);
    const operands = [this.toLayout(x, 'nchw').name, this.g.floatConst(`${layer.name}_kernel`, [outC, inC, kh, kw], oihw)];
    if (bias) operands.push(this.g.floatConst(`${layer.name}_bias`, [outC], bias.dataSync() as Float32Array));
    const conv = this.g.node(
      'Conv',
      operands,
      [
        attr.ints('kernel_shape', [kh, kw]),
        attr.ints('strides', strides),
        attr.ints('dilations', dilations),
        attr.ints('pads', pads(cfg.string('padding'), x.shape, [kh, kw], strides, dilations, layer.name)),
      ],
      layer.name,
    );
    return this.activation(layer, cfg.string('activation'), { name: conv, layout: 'nchw', shape: outShape });
  }

  private dense(layer: LayerView, cfg: Config, x: Value, outShape: number[]): Value {
    const [kernel, bias] = weights(layer, cfg.bool('useBias') ? 2 : 1);
    const input = this.toLayout(x, 'nhwc'); // Dense acts on the last tfjs axis
    let y = this.g.node(
      'MatMul',
      [input.name, this.g.floatConst(`${layer.name}_kernel`, kernel.shape, kernel.dataSync() as Float32Array)],
      [],
      `${layer.name}_matmul`,
    );
    if (bias)
      y = this.g.node('Add', [y, this.g.floatConst(`${layer.name}_bias`, bias.shape, bias.dataSync() as Float32Array)], [], layer.name);
    return this.activation(layer, cfg.string('activation'), { name: y, layout: input.layout, shape: outShape });
  }

  private flatten(x: Value, outShape: number[]): Value {
    return { name: this.g.node('Flatten', [x.name], [attr.int('axis', 1)]), layout: 'plain', shape: outShape };
  }

  private pool(layer: LayerView, cfg: Config, op: 'MaxPool' | 'AveragePool', x: Value, outShape: number[]): Value {
    checkChannelsLast(cfg);
    const size = cfg.pair('poolSize');
    const strides = cfg.pair('strides');
    const attributes = [
      attr.ints('kernel_shape', size),
      attr.ints('strides', strides),
      attr.ints('pads', pads(cfg.string('padding'), x.shape, size, strides, [1, 1], layer.name)),
    ];
    // tfjs averages over the in-bounds pixels only, which is ONNX's count_include_pad = 0 (the default)
    const name = this.g.node(op, [this.toLayout(x, 'nchw').name], attributes, layer.name);
    return { name, layout: 'nchw', shape: outShape };
  }

  private batchNorm(layer: LayerView, cfg: Config, x: Value): Value {
    const rank = x.shape.length + 1;
    const axis = cfg.number('axis');
    if (axis !== -1 && axis !== rank - 1) {
      throw new UserError(
        `cannot export layer ${layer.name}: BatchNormalization over axis ${axis} is not supported (only the channel axis, -1)`,
      );
    }
    if (rank !== 2 && rank !== 4)
      throw new UserError(
        `cannot export layer ${layer.name}: BatchNormalization of a rank-${rank} tensor is not supported (only rank 2 or 4)`,
      );
    const scale = cfg.bool('scale');
    const center = cfg.bool('center');
    const ws = weights(layer, 2 + Number(scale) + Number(center));
    const channels = x.shape[x.shape.length - 1]!;
    const take = (present: boolean, fill: number): Float32Array =>
      present ? (ws.shift()!.dataSync() as Float32Array) : new Float32Array(channels).fill(fill);
    const gamma = take(scale, 1);
    const beta = take(center, 0);
    const [mean, variance] = ws.map((t) => t.dataSync() as Float32Array);
    const input = this.toLayout(x, 'nchw'); // ONNX normalizes axis 1: channels of NCHW and of [batch, features]
    const operands = [
      input.name,
      ...(
        [
          ['gamma', gamma],
          ['beta', beta],
          ['moving_mean', mean!],
          ['moving_variance', variance!],
        ] as const
      ).map(([n, data]) => this.g.floatConst(`${layer.name}_${n}`, [channels], data)),
    ];
    const name = this.g.node('BatchNormalization', operands, [attr.float('epsilon', cfg.number('epsilon'))], layer.name);
    return { ...input, name };
  }

  private zeroPad(layer: LayerView, cfg: Config, x: Value, outShape: number[]): Value {
    checkChannelsLast(cfg);
    const [[top, bottom], [left, right]] = cfg.raw('padding') as [[number, number], [number, number]];
    const padding = this.g.int64Const(`${layer.name}_pads`, [8], [0, 0, top, left, 0, 0, bottom, right]);
    const name = this.g.node('Pad', [this.toLayout(x, 'nchw').name, padding], [attr.string('mode', 'constant')], layer.name);
    return { name, layout: 'nchw', shape: outShape };
  }

  /** A fused or standalone activation by its tfjs name. */
  private activation(layer: LayerView, fn: string, x: Value): Value {
    switch (fn) {
      case 'linear':
        return x;
      case 'relu':
        return this.op('Relu', x, `${layer.name}_relu`);
      case 'relu6':
        return this.clip(x, 0, 6, `${layer.name}_relu6`);
      case 'sigmoid':
        return this.op('Sigmoid', x, `${layer.name}_sigmoid`);
      case 'tanh':
        return this.op('Tanh', x, `${layer.name}_tanh`);
      case 'elu':
        return this.op('Elu', x, `${layer.name}_elu`);
      case 'softplus':
        return this.op('Softplus', x, `${layer.name}_softplus`);
      case 'softmax':
        return this.op('Softmax', x, `${layer.name}_softmax`, [attr.int('axis', this.axis(x, -1))]);
      case 'logSoftmax':
        return this.op('LogSoftmax', x, `${layer.name}_logsoftmax`, [attr.int('axis', this.axis(x, -1))]);
      default:
        throw new UserError(
          `cannot export layer ${layer.name}: activation '${fn}' is not supported by the ONNX exporter (supported: linear, relu, relu6, sigmoid, tanh, elu, softplus, softmax, logSoftmax)`,
        );
    }
  }

  private op(opType: string, x: Value, hint: string, attributes: AttributeProto[] = []): Value {
    return { ...x, name: this.g.node(opType, [x.name], attributes, hint) };
  }

  private clip(x: Value, min: number, max: number, hint: string): Value {
    const bounds = [this.g.floatConst(`${hint}_min`, [], [min]), this.g.floatConst(`${hint}_max`, [], [max])];
    return { ...x, name: this.g.node('Clip', [x.name, ...bounds], [], hint) };
  }

  /** Position of tfjs axis `axis` (batch included, negative from the end) in how `x` is stored. */
  private axis(x: Value, axis: number): number {
    const rank = x.shape.length + 1;
    const a = axis < 0 ? axis + rank : axis;
    return x.layout === 'nchw' ? NCHW_POSITION[a]! : a;
  }

  /** Dims of a per-channel constant that broadcasts over `x` as stored. */
  private channelDims(x: Value, length: number): number[] {
    return x.layout === 'nchw' ? [length, 1, 1] : [length];
  }

  /** All inputs of a merge layer stored in one layout (NCHW if any rank-4 input already is). */
  private sameLayout(inputs: Value[]): Value[] {
    const target = inputs.some((v) => v.layout === 'nchw') ? 'nchw' : 'nhwc';
    return inputs.map((v) => this.toLayout(v, target));
  }
}

const SUPPORTED = [
  'Normalize',
  'Conv2D',
  'Dense',
  'Flatten',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'Softmax',
  'Add',
  'Concatenate',
  'ZeroPadding2D',
  'Dropout',
  'SpatialDropout2D',
];

/**
 * ONNX pads [top, left, bottom, right] for tfjs padding 'valid' or 'same'. 'same' pads
 * (out − 1)·s + (k − 1)·d + 1 − in in total with the odd pixel at the end, as TensorFlow does.
 */
function pads(padding: string, inShape: number[], kernel: number[], strides: number[], dilations: number[], layer: string): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same')
    throw new UserError(`cannot export layer ${layer}: padding '${padding}' is not supported (only 'valid' and 'same')`);
  const before: number[] = [];
  const after: number[] = [];
  for (let a = 0; a < 2; a++) {
    const size = inShape[a]!;
    const total = Math.max(0, (Math.ceil(size / strides[a]!) - 1) * strides[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - size);
    before.push(Math.floor(total / 2));
    after.push(total - Math.floor(total / 2));
  }
  return [...before, ...after];
}

/** The layer's weight tensors, checking there are as many as its config implies. */
function weights(layer: LayerView, count: number): Tensor[] {
  const ws = layer.getWeights();
  if (ws.length !== count) throw new Error(`layer ${layer.name} has ${ws.length} weight tensors; expected ${count}`);
  return ws;
}

function checkChannelsLast(cfg: Config): void {
  const format = cfg.optionalString('dataFormat');
  if (format !== undefined && format !== 'channelsLast') {
    throw new UserError(`cannot export layer ${cfg.layer}: data format ${format} is not supported (only channelsLast, the tfjs default)`);
  }
}

/** Typed reads of a layer's getConfig(), failing with the layer's name. */
class Config {
  private readonly cfg: Record<string, unknown>;
  readonly layer: string;

  constructor(
    layer: LayerView,
    private readonly kind: string,
  ) {
    this.cfg = layer.getConfig() as Record<string, unknown>;
    this.layer = layer.name;
  }

  raw(key: string): unknown {
    if (!(key in this.cfg)) throw new Error(`${this.kind} layer ${this.layer} has no '${key}' in its config`);
    return this.cfg[key];
  }

  number(key: string): number {
    return this.typed(key, 'number') as number;
  }

  optionalNumber(key: string): number | undefined {
    const v = this.cfg[key];
    return v === null || v === undefined ? undefined : this.number(key);
  }

  string(key: string): string {
    return this.typed(key, 'string') as string;
  }

  optionalString(key: string): string | undefined {
    const v = this.cfg[key];
    return v === null || v === undefined ? undefined : this.string(key);
  }

  bool(key: string): boolean {
    return this.typed(key, 'boolean') as boolean;
  }

  numbers(key: string): number[] {
    const v = this.raw(key);
    if (!Array.isArray(v) || !v.every((e) => typeof e === 'number'))
      throw new Error(`${this.kind} layer ${this.layer}: '${key}' is not a list of numbers`);
    return v as number[];
  }

  /** A [height, width] hyper-parameter, which tfjs configs may hold as one number. */
  pair(key: string): [number, number] {
    const v = this.raw(key);
    if (typeof v === 'number') return [v, v];
    const list = this.numbers(key);
    if (list.length !== 2) throw new Error(`${this.kind} layer ${this.layer}: '${key}' has ${list.length} entries, expected 2`);
    return [list[0]!, list[1]!];
  }

  private typed(key: string, type: 'number' | 'string' | 'boolean'): unknown {
    const v = this.raw(key);
    if (typeof v !== type) throw new Error(`${this.kind} layer ${this.layer}: '${key}' is ${JSON.stringify(v)}, expected a ${type}`);
    return v;
  }
}

/** Every tensor the output depends on, inputs before the layers that consume them. */
function topologicalOrder(output: SymbolicTensor): SymbolicTensor[] {
  const order: SymbolicTensor[] = [];
  const seen = new Set<number>();
  // iterative DFS: deep ResNets would overflow a recursive one
  const stack: [SymbolicTensor, boolean][] = [[output, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    stack.push([t, true]);
    for (const i of t.inputs) if (!seen.has(i.id)) stack.push([i, false]);
  }
  return order;
}

function dims(t: SymbolicTensor): number[] {
  return t.shape.slice(1).map((d) => d ?? -1);
}

function shapeText(shape: (number | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}
