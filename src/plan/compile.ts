import { UserError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import { DataType, type AttributeProto, type GraphProto, type NodeProto, type TensorProto } from '../onnx/proto/model.js';
import { POOL, PREP_OP, type ConvOp, type PlanOp, type PlanSpec, type PrepStep } from './spec.js';

/**
 * A graph the plan cannot run: it names the first op (or pattern) it does not support, in one
 * line, so the caller can say so and run the graph on onnxruntime instead.
 */
export class UnsupportedGraphError extends UserError {}

export interface CompileOptions {
  /** How the graph's image input is laid out: PyTorch exports NCHW, smoothcert's own exports NHWC. */
  inputLayout: 'nchw' | 'nhwc';
  /** The image [H, W, C] the graph receives. */
  inputShape: ImageShape;
  /** Per-channel (x − mean) / std before the graph, for models normalized outside it. */
  mean?: Float32Array;
  std?: Float32Array;
  /** The graph output holding the class scores (default: the graph's only output). */
  output?: string;
  batch: number;
  bf16: boolean;
  /** Bytes of external data files by the location the graph names them by. */
  external?: ReadonlyMap<string, Uint8Array>;
}

/**
 * A tensor of the graph as the compiler tracks it: an activation (a plan value, rank 4 seen in
 * the graph as NCHW or NHWC, or rank 2; a flattened rank-4 value is a `flat` view read only by an
 * inner product), a float constant, or integers of the shape arithmetic PyTorch exports around
 * Reshape (the batch size is 'N').
 */
type Tensor =
  | { kind: 'act'; id: number; order: 'nchw' | 'nhwc' | 'flat'; flat?: FlatView; pads?: Pads }
  | { kind: 'const'; dims: number[]; data: Float32Array }
  | { kind: 'ints'; values: (number | 'N')[] };
type Pads = [number, number, number, number];
/** A rank-4 value [C, H, W] read as [N, C·H·W], its features in NCHW or NHWC order. */
interface FlatView {
  src: number;
  order: 'nchw' | 'nhwc';
}

/**
 * Compiles an ONNX graph of the ops PyTorch exports for the paper's classifiers (and
 * smoothcert's own exports) into a PlanSpec. Patterns become fused ops: Conv + BatchNormalization
 * (folded into the weights), + Add of a shortcut, + Relu; Flatten or Reshape to [N, −1] followed by
 * Gemm/MatMul (+ Add of a bias) is one inner product whose weights are permuted to read the
 * rank-4 value directly; Sub/Div/Mul/Add of per-channel constants on the input join the noise
 * step; a Pad of zeros joins the next convolution or pooling. A trailing Softmax is dropped: it
 * keeps the arg-max and the differences of log-scores.
 */
export function compileOnnx(graph: GraphProto, options: CompileOptions): PlanSpec {
  return new Compiler(graph, options).compile();
}

class Compiler {
  private readonly tensors = new Map<string, Tensor>();
  private readonly consumers = new Map<string, number>();
  private readonly values: number[][] = [];
  private ops: PlanOp[] = [];
  /** The op that produced each value, by value id. */
  private readonly producer = new Map<number, PlanOp>();
  private readonly prep: PrepStep[] = [];
  private readonly outputs: Set<string>;

  constructor(
    private readonly graph: GraphProto,
    private readonly options: CompileOptions,
  ) {
    this.outputs = new Set(graph.output.map((o) => o.name));
    for (const node of graph.node) for (const name of node.input) this.consumers.set(name, (this.consumers.get(name) ?? 0) + 1);
    for (const o of graph.output) this.consumers.set(o.name, (this.consumers.get(o.name) ?? 0) + 1);
  }

  compile(): PlanSpec {
    const { graph, options } = this;
    for (const t of graph.initializer) this.tensors.set(t.name, this.constant(t));
    const input = graph.input.find((i) => !this.tensors.has(i.name));
    if (!input) throw new UnsupportedGraphError('the graph has no image input');
    const [h, w, c] = options.inputShape;
    this.values.push([c, h, w]);
    this.tensors.set(input.name, { kind: 'act', id: 0, order: options.inputLayout });
    if (options.mean) this.prep.push({ op: PREP_OP.sub, values: options.mean });
    if (options.std) this.prep.push({ op: PREP_OP.div, values: options.std });
    for (const node of graph.node) this.node(node);
    const outputName = options.output ?? graph.output[0]?.name;
    const out = outputName === undefined ? undefined : this.tensors.get(outputName);
    if (out?.kind !== 'act' || out.order !== 'nchw' || this.values[out.id]!.length !== 1 || out.id === 0) {
      throw new UnsupportedGraphError(`the graph's output ${outputName ?? '(none)'} is not a [batch, classes] result of its layers`);
    }
    return {
      batch: options.batch,
      bf16: options.bf16,
      input: [h, w, c],
      prep: this.prep,
      values: this.values,
      ops: this.ops,
      output: out.id,
    };
  }

  private node(node: NodeProto): void {
    const out = node.output[0]!;
    const set = (t: Tensor) => this.tensors.set(out, t);
    switch (node.opType) {
      case 'Constant': {
        const t = attribute(node, 'value')?.t;
        if (!t) throw this.unsupported(node, 'a Constant without a tensor value');
        return void set(this.constant(t));
      }
      case 'Identity':
      case 'Dropout':
        // Two names for one value: nothing may fuse into its producer any more.
        this.consumers.set(node.input[0]!, Number.POSITIVE_INFINITY);
        return void set(this.any(node, 0));
      case 'Shape': {
        const x = this.act(node, 0);
        return void set({ kind: 'ints', values: ['N', ...this.graphDims(x)] });
      }
      case 'Gather':
        return void set(this.gather(node));
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
        return void set(this.ints(node, 0));
      case 'Concat':
        return void set(this.concat(node));
      case 'Transpose':
        return void set(this.transpose(node));
      case 'Sub':
      case 'Div':
      case 'Mul':
      case 'Add':
        return void set(this.binary(node));
      case 'Conv':
        return void set(this.conv(node));
      case 'BatchNormalization':
        return void set(this.batchNorm(node));
      case 'Relu':
        return void set(this.relu(node));
      case 'MaxPool':
      case 'AveragePool':
        return void set(this.pool(node));
      case 'GlobalAveragePool': {
        const x = this.nchw(node, this.act(node, 0));
        const [ch, ih, iw] = this.values[x.id]!;
        return void set(this.emitPool(x, POOL.averageInside, [ih!, iw!], [1, 1], [0, 0, 0, 0], [ch!, 1, 1]));
      }
      case 'Flatten':
      case 'Reshape':
        return void set(this.flatten(node));
      case 'Gemm':
      case 'MatMul':
        return void set(this.dense(node));
      case 'Pad':
        return void set(this.pad(node));
      case 'Softmax':
      case 'LogSoftmax': {
        if (!this.outputs.has(out)) throw this.unsupported(node, 'a Softmax inside the graph (only at its end)');
        return void set(this.any(node, 0));
      }
      default:
        throw this.unsupported(node);
    }
  }

  private unsupported(node: NodeProto, what?: string): UnsupportedGraphError {
    return new UnsupportedGraphError(`the native plan does not run ${what ?? `op ${node.opType}`} (node '${node.name || node.output[0]}')`);
  }

  private any(node: NodeProto, i: number): Tensor {
    const t = this.tensors.get(node.input[i]!);
    if (!t) throw this.unsupported(node, `input '${node.input[i]}' of op ${node.opType}, which nothing computes`);
    return t;
  }

  private act(node: NodeProto, i: number): Extract<Tensor, { kind: 'act' }> {
    const t = this.any(node, i);
    if (t.kind !== 'act') throw this.unsupported(node, `op ${node.opType} on a constant`);
    if (t.pads && node.opType !== 'Conv' && node.opType !== 'MaxPool' && node.opType !== 'AveragePool')
      throw this.unsupported(node, `a Pad followed by op ${node.opType}`);
    if (t.order === 'flat' && node.opType !== 'Gemm' && node.opType !== 'MatMul')
      throw this.unsupported(node, `a flattened image read by op ${node.opType}`);
    return t;
  }

  private ints(node: NodeProto, i: number): Tensor {
    const t = this.any(node, i);
    if (t.kind === 'act') throw this.unsupported(node, `op ${node.opType} on an activation`);
    return t.kind === 'ints' ? t : { kind: 'ints', values: Array.from(t.data) };
  }

  /** A rank-4 activation in NCHW, the layout of ONNX's image ops. */
  private nchw(node: NodeProto, x: Extract<Tensor, { kind: 'act' }>): Extract<Tensor, { kind: 'act' }> {
    if (x.order !== 'nchw' || this.values[x.id]!.length !== 3) throw this.unsupported(node, `op ${node.opType} on a value not in NCHW`);
    return x;
  }

  /** The dims of an activation as the graph sees them, without the batch. */
  private graphDims(x: Extract<Tensor, { kind: 'act' }>): number[] {
    const [c, h, w] = this.values[x.id]!;
    if (x.order === 'flat') return [c! * h! * w!];
    if (x.order === 'nhwc') return [h!, w!, c!];
    return this.values[x.id]!;
  }

  /** True when `name` feeds exactly one node and is not a graph output, so its producer may absorb that node. */
  private single(name: string): boolean {
    return this.consumers.get(name) === 1 && !this.outputs.has(name);
  }

  private newValue(dims: number[]): number {
    this.values.push(dims);
    return this.values.length - 1;
  }

  private emit(op: PlanOp): number {
    this.ops.push(op);
    const dst = 'dst' in op ? op.dst : -1;
    this.producer.set(dst, op);
    return dst;
  }

  private constant(t: TensorProto): Tensor {
    if (t.dataType === DataType.FLOAT) return { kind: 'const', dims: t.dims.map(Number), data: this.floats(t) };
    if (t.dataType === DataType.INT64 || t.dataType === DataType.INT32) return { kind: 'ints', values: this.integers(t) };
    return { kind: 'ints', values: [] };
  }

  private bytesOf(t: TensorProto): Uint8Array {
    if (t.dataLocation !== 1) return t.rawData;
    const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value;
    const file = this.options.external?.get(entry('location') ?? '');
    if (!file) throw new UnsupportedGraphError(`tensor '${t.name}' keeps its data in a file that was not read`);
    const offset = Number(entry('offset') ?? 0);
    const length = entry('length') === undefined ? file.length - offset : Number(entry('length'));
    return file.subarray(offset, offset + length);
  }

  private floats(t: TensorProto): Float32Array {
    if (t.floatData && t.floatData.length > 0) return Float32Array.from(t.floatData);
    const raw = this.bytesOf(t);
    const copy = new Uint8Array(raw); // a fresh buffer at offset 0: raw may sit unaligned in a larger one
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }

  private integers(t: TensorProto): number[] {
    if (t.int64Data && t.int64Data.length > 0) return t.int64Data.map(Number);
    const raw = this.bytesOf(t);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const wide = t.dataType === DataType.INT64;
    const out: number[] = [];
    for (let i = 0; i < raw.byteLength; i += wide ? 8 : 4) out.push(wide ? Number(view.getBigInt64(i, true)) : view.getInt32(i, true));
    return out;
  }

  private gather(node: NodeProto): Tensor {
    const data = this.ints(node, 0);
    const indices = this.ints(node, 1);
    if (data.kind !== 'ints' || indices.kind !== 'ints') throw this.unsupported(node);
    const picked = indices.values.map((i) => {
      if (typeof i !== 'number') throw this.unsupported(node, 'a Gather by the batch size');
      return data.values[i < 0 ? i + data.values.length : i]!;
    });
    return { kind: 'ints', values: picked };
  }

  private concat(node: NodeProto): Tensor {
    const first = this.any(node, 0);
    if (first.kind === 'ints') {
      return { kind: 'ints', values: node.input.flatMap((_, i) => (this.ints(node, i) as { values: (number | 'N')[] }).values) };
    }
    const axis = attribute(node, 'axis')?.i ?? 1;
    const xs = node.input.map((_, i) => this.act(node, i));
    const order = xs[0]!.order;
    if (order === 'flat' || xs.some((x) => x.order !== order) || axis !== (order === 'nchw' ? 1 : 3))
      throw this.unsupported(node, 'a Concat other than along the channels of images');
    const dims = this.values[xs[0]!.id]!;
    const channels = xs.reduce((s, x) => s + this.values[x.id]![0]!, 0);
    const dst = this.emit({ kind: 'concat', srcs: xs.map((x) => x.id), dst: this.newValue([channels, dims[1]!, dims[2]!]) });
    return { kind: 'act', id: dst, order };
  }

  private transpose(node: NodeProto): Tensor {
    const x = this.act(node, 0);
    const perm = (attribute(node, 'perm')?.ints ?? []).map(Number).join(',');
    if (x.order === 'nhwc' && perm === '0,3,1,2') return { ...x, order: 'nchw' };
    if (x.order === 'nchw' && perm === '0,2,3,1') return { ...x, order: 'nhwc' };
    throw this.unsupported(node, `a Transpose with perm [${perm}]`);
  }

  /** Sub/Div/Mul/Add: shape arithmetic, normalization of the input, a bias after MatMul, or a residual Add. */
  private binary(node: NodeProto): Tensor {
    const a = this.any(node, 0);
    const b = this.any(node, 1);
    if (a.kind === 'ints' && b.kind !== 'act') {
      const bv = b.kind === 'ints' ? b.values : Array.from(b.data);
      if (a.values.every((v) => typeof v === 'number') && bv.every((v) => typeof v === 'number')) {
        const f = {
          Sub: (x: number, y: number) => x - y,
          Div: (x: number, y: number) => Math.trunc(x / y),
          Mul: (x: number, y: number) => x * y,
          Add: (x: number, y: number) => x + y,
        }[node.opType as 'Sub'];
        return { kind: 'ints', values: (a.values as number[]).map((v, i) => f(v, bv[bv.length === 1 ? 0 : i] as number)) };
      }
      throw this.unsupported(node, `op ${node.opType} on the batch size`);
    }
    if (a.kind === 'act' && b.kind === 'act') {
      if (node.opType !== 'Add') throw this.unsupported(node, `op ${node.opType} of two activations`);
      return this.residualAdd(node, this.act(node, 0), this.act(node, 1));
    }
    if (a.kind !== 'act' || b.kind !== 'const') throw this.unsupported(node, `op ${node.opType} with a constant first`);
    const x = this.act(node, 0);
    const dense = this.producer.get(x.id);
    if (
      node.opType === 'Add' &&
      dense?.kind === 'dense' &&
      !dense.relu &&
      this.single(node.input[0]!) &&
      b.data.length === dense.bias.length
    ) {
      const bias = new Float32Array(dense.bias.length);
      for (let i = 0; i < bias.length; i++) bias[i] = dense.bias[i]! + b.data[i]!;
      dense.bias = bias;
      return x;
    }
    if (x.id === 0 && this.ops.length === 0 && this.single(node.input[0]!)) {
      const c = this.values[0]![0]!;
      const perChannel = this.perChannel(b, c, x.order);
      if (perChannel) {
        this.prep.push({ op: PREP_OP[node.opType.toLowerCase() as 'sub'], values: perChannel });
        return x;
      }
    }
    throw this.unsupported(node, `op ${node.opType} with a constant other than the input's normalization or a bias`);
  }

  /** The constant's one value per channel, if it broadcasts along the channels of a value in `order`. */
  private perChannel(b: { dims: number[]; data: Float32Array }, c: number, order: string): Float32Array | undefined {
    if (b.data.length === 1) return new Float32Array(c).fill(b.data[0]!);
    if (b.data.length !== c) return undefined;
    if (c === 1) return b.data;
    // The channel axis is the last one of an NHWC value and the third from the end of an NCHW one.
    const fromEnd = b.dims.length - b.dims.indexOf(c);
    return fromEnd === (order === 'nhwc' ? 1 : 3) ? b.data : undefined;
  }

  private residualAdd(node: NodeProto, a: Extract<Tensor, { kind: 'act' }>, b: Extract<Tensor, { kind: 'act' }>): Tensor {
    if (a.order !== b.order || a.order === 'flat') throw this.unsupported(node, 'an Add of values in different layouts');
    const fusable = (x: typeof a, name: string): ConvOp | undefined => {
      const op = this.producer.get(x.id);
      return op?.kind === 'conv' && op.residual < 0 && !op.relu && this.single(name) ? op : undefined;
    };
    const candidates = [
      { conv: fusable(a, node.input[0]!), other: b },
      { conv: fusable(b, node.input[1]!), other: a },
    ].filter((c): c is { conv: ConvOp; other: typeof a } => c.conv !== undefined);
    // The later of two convolutions absorbs the Add, so the shortcut it reads is computed before it.
    const pick = candidates.sort((p, q) => this.ops.indexOf(q.conv) - this.ops.indexOf(p.conv))[0];
    if (pick) {
      pick.conv.residual = pick.other.id;
      // Run it where the Add was: everything it reads, the shortcut included, is computed by then.
      this.ops = [...this.ops.filter((o) => o !== pick.conv), pick.conv];
      return { kind: 'act', id: pick.conv.dst, order: a.order };
    }
    const dst = this.emit({ kind: 'add', a: a.id, b: b.id, dst: this.newValue(this.values[a.id]!), relu: false });
    return { kind: 'act', id: dst, order: a.order };
  }

  private conv(node: NodeProto): Tensor {
    const x = this.nchw(node, this.act(node, 0));
    const w = this.any(node, 1);
    if (w.kind !== 'const' || w.dims.length !== 4) throw this.unsupported(node, 'a Conv whose weights are not a constant 4-D tensor');
    if ((attribute(node, 'group')?.i ?? 1) !== 1) throw this.unsupported(node, 'a grouped Conv');
    const autoPad = text(attribute(node, 'auto_pad')) ?? 'NOTSET';
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw this.unsupported(node, `a Conv with auto_pad ${autoPad}`);
    const [oc, ic, kh, kw] = w.dims as [number, number, number, number];
    const [c, ih, iw] = this.values[x.id]! as [number, number, number];
    if (ic !== c) throw this.unsupported(node, `a Conv of ${ic} input channels on ${c}`);
    const strides = pair(attribute(node, 'strides'), 1);
    const dilations = pair(attribute(node, 'dilations'), 1);
    const p = (attribute(node, 'pads')?.ints ?? [0, 0, 0, 0]).map(Number);
    const pads = addPads([p[0]!, p[1]!, p[2]!, p[3]!], x.pads);
    const oh = Math.floor((ih + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0]) + 1;
    const ow = Math.floor((iw + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1]) + 1;
    const bias = node.input[2] ? this.any(node, 2) : undefined;
    if (bias && bias.kind !== 'const') throw this.unsupported(node, 'a Conv whose bias is not a constant');
    const dst = this.emit({
      kind: 'conv',
      src: x.id,
      dst: this.newValue([oc, oh, ow]),
      weights: w.data,
      ...(bias ? { bias: bias.data } : {}),
      kernel: [kh, kw],
      strides,
      pads,
      dilations,
      residual: -1,
      relu: false,
    });
    return { kind: 'act', id: dst, order: 'nchw' };
  }

  /** Folded into the convolution before it when nothing else reads that one's output; else a batch norm of its own. */
  private batchNorm(node: NodeProto): Tensor {
    const x = this.act(node, 0);
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => {
      const t = this.any(node, i);
      if (t.kind !== 'const') throw this.unsupported(node, 'a BatchNormalization with computed statistics');
      return t.data;
    }) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const epsilon = attribute(node, 'epsilon')?.f ?? 1e-5;
    const op = this.producer.get(x.id);
    if (op?.kind === 'conv' && op.residual < 0 && !op.relu && this.single(node.input[0]!)) {
      // w' = w·γ/√(var + ε), b' = (b − mean)·γ/√(var + ε) + β, in float64, rounded once.
      const perOut = op.weights.length / gamma.length;
      const weights = new Float32Array(op.weights.length);
      const bias = new Float32Array(gamma.length);
      for (let o = 0; o < gamma.length; o++) {
        const scale = gamma[o]! / Math.sqrt(variance[o]! + Math.fround(epsilon));
        for (let j = 0; j < perOut; j++) weights[o * perOut + j] = op.weights[o * perOut + j]! * scale;
        bias[o] = ((op.bias?.[o] ?? 0) - mean[o]!) * scale + beta[o]!;
      }
      op.weights = weights;
      op.bias = bias;
      return x;
    }
    if (x.order === 'flat' || (x.order === 'nhwc' && this.values[x.id]!.length === 3))
      throw this.unsupported(node, 'a BatchNormalization of a value not in NCHW');
    const dst = this.emit({
      kind: 'batchnorm',
      src: x.id,
      dst: this.newValue(this.values[x.id]!),
      mean,
      variance,
      gamma,
      beta,
      epsilon: Math.fround(epsilon),
      relu: false,
    });
    return { kind: 'act', id: dst, order: x.order };
  }

  private relu(node: NodeProto): Tensor {
    const x = this.act(node, 0);
    const op = this.producer.get(x.id);
    if (op && 'relu' in op && !op.relu && this.single(node.input[0]!)) {
      op.relu = true;
      return x;
    }
    const dst = this.emit({ kind: 'relu', src: x.id, dst: this.newValue(this.values[x.id]!) });
    return { kind: 'act', id: dst, order: x.order };
  }

  private pool(node: NodeProto): Tensor {
    const x = this.nchw(node, this.act(node, 0));
    if ((attribute(node, 'ceil_mode')?.i ?? 0) !== 0) throw this.unsupported(node, `a ${node.opType} with ceil_mode`);
    if ((text(attribute(node, 'auto_pad')) ?? 'NOTSET') !== 'NOTSET') throw this.unsupported(node, `a ${node.opType} with auto_pad`);
    if (pair(attribute(node, 'dilations'), 1).some((d) => d !== 1)) throw this.unsupported(node, `a dilated ${node.opType}`);
    const kernel = pair(attribute(node, 'kernel_shape'), 1);
    const strides = pair(attribute(node, 'strides'), 1);
    const p = (attribute(node, 'pads')?.ints ?? [0, 0, 0, 0]).map(Number);
    const own: Pads = [p[0]!, p[1]!, p[2]!, p[3]!];
    let algo: (typeof POOL)[keyof typeof POOL];
    if (node.opType === 'MaxPool') {
      // oneDNN's max pooling skips padding, as ONNX's does; zeros from a Pad equal that only after a ReLU.
      if (x.pads && !this.nonNegative(x.id)) throw this.unsupported(node, 'a Pad of zeros before a MaxPool of values that may be negative');
      algo = POOL.max;
    } else {
      const include = (attribute(node, 'count_include_pad')?.i ?? 0) === 1;
      if (x.pads && own.some((v) => v !== 0) && !include) throw this.unsupported(node, 'a Pad before an AveragePool that pads again');
      algo = include || x.pads ? POOL.averageWithPadding : POOL.averageInside;
    }
    const pads = addPads(own, x.pads);
    const [c, ih, iw] = this.values[x.id]! as [number, number, number];
    const oh = Math.floor((ih + pads[0] + pads[2] - kernel[0]) / strides[0]) + 1;
    const ow = Math.floor((iw + pads[1] + pads[3] - kernel[1]) / strides[1]) + 1;
    return this.emitPool(x, algo, kernel, strides, pads, [c, oh, ow]);
  }

  private emitPool(
    x: Extract<Tensor, { kind: 'act' }>,
    algo: (typeof POOL)[keyof typeof POOL],
    kernel: [number, number],
    strides: [number, number],
    pads: Pads,
    dims: number[],
  ): Tensor {
    const dst = this.emit({ kind: 'pool', src: x.id, dst: this.newValue(dims), algo, kernel, strides, pads });
    return { kind: 'act', id: dst, order: 'nchw' };
  }

  private nonNegative(id: number): boolean {
    const op = this.producer.get(id);
    return op !== undefined && (op.kind === 'relu' || ('relu' in op && op.relu));
  }

  private pad(node: NodeProto): Tensor {
    const x = this.nchw(node, this.act(node, 0));
    const mode = text(attribute(node, 'mode')) ?? 'constant';
    const pads = node.input[1] ? this.ints(node, 1) : { kind: 'ints' as const, values: (attribute(node, 'pads')?.ints ?? []).map(Number) };
    const value = node.input[2] ? this.any(node, 2) : undefined;
    const v = (pads as { values: (number | 'N')[] }).values;
    const zero = !value || (value.kind === 'const' && value.data.every((d) => d === 0));
    if (mode !== 'constant' || !zero || v.length !== 8 || v[0] !== 0 || v[1] !== 0 || v[4] !== 0 || v[5] !== 0 || x.pads)
      throw this.unsupported(node, 'a Pad other than zeros around the image');
    return { ...x, pads: [v[2] as number, v[3] as number, v[6] as number, v[7] as number] };
  }

  /** Flatten (axis 1) or Reshape to [N, −1]: a view of the rank-4 value that the next inner product reads. */
  private flatten(node: NodeProto): Tensor {
    const x = this.act(node, 0);
    if (node.opType === 'Flatten' && (attribute(node, 'axis')?.i ?? 1) !== 1) throw this.unsupported(node, 'a Flatten not at axis 1');
    if (node.opType === 'Reshape') {
      const shape = this.ints(node, 1) as { values: (number | 'N')[] };
      const features = this.graphDims(x).reduce((s, d) => s * d, 1);
      const ok =
        shape.values.length === 2 &&
        (shape.values[0] === 'N' || shape.values[0] === -1 || shape.values[0] === 0) &&
        (shape.values[1] === -1 || shape.values[1] === features);
      if (!ok) throw this.unsupported(node, `a Reshape to [${shape.values.join(', ')}]`);
    }
    if (this.values[x.id]!.length === 1 || x.order === 'flat') return x;
    return { kind: 'act', id: x.id, order: 'flat', flat: { src: x.id, order: x.order === 'nhwc' ? 'nhwc' : 'nchw' } };
  }

  /** Gemm (alpha = beta = 1, A not transposed) or MatMul by a constant: an inner product. */
  private dense(node: NodeProto): Tensor {
    const x = this.act(node, 0);
    const w = this.any(node, 1);
    if (w.kind !== 'const' || w.dims.length !== 2)
      throw this.unsupported(node, `a ${node.opType} by something other than a constant matrix`);
    const transB = node.opType === 'Gemm' && (attribute(node, 'transB')?.i ?? 0) === 1;
    if (
      node.opType === 'Gemm' &&
      ((attribute(node, 'transA')?.i ?? 0) !== 0 || (attribute(node, 'alpha')?.f ?? 1) !== 1 || (attribute(node, 'beta')?.f ?? 1) !== 1)
    )
      throw this.unsupported(node, 'a Gemm with transA, alpha or beta');
    const [rows, cols] = w.dims as [number, number];
    const [features, out] = transB ? [cols, rows] : [rows, cols];
    const at = (f: number, o: number) => w.data[transB ? o * cols + f : f * cols + o]!;
    const srcDims = this.values[x.id]!;
    if (x.order !== 'flat' && srcDims.length !== 1) throw this.unsupported(node, `a ${node.opType} of an image not flattened`);
    if (srcDims.reduce((s, d) => s * d, 1) !== features)
      throw this.unsupported(node, `a ${node.opType} of ${features} features on another size`);
    // Plain [out, C, H, W] (or [out, F]) weights; a flattened NHWC value reads its features as (h, w, c).
    const weights = new Float32Array(out * features);
    if (srcDims.length === 3 && x.flat?.order === 'nhwc') {
      const [c, h, wd] = srcDims as [number, number, number];
      for (let o = 0; o < out; o++)
        for (let ch = 0; ch < c; ch++)
          for (let y = 0; y < h; y++) for (let z = 0; z < wd; z++) weights[((o * c + ch) * h + y) * wd + z] = at((y * wd + z) * c + ch, o);
    } else {
      for (let o = 0; o < out; o++) for (let f = 0; f < features; f++) weights[o * features + f] = at(f, o);
    }
    let bias = new Float32Array(out);
    if (node.opType === 'Gemm' && node.input[2]) {
      const c = this.any(node, 2);
      if (c.kind !== 'const' || (c.data.length !== out && c.data.length !== 1))
        throw this.unsupported(node, 'a Gemm whose C is not a bias');
      bias = c.data.length === out ? Float32Array.from(c.data) : new Float32Array(out).fill(c.data[0]!);
    }
    const dst = this.emit({ kind: 'dense', src: x.id, dst: this.newValue([out]), weights, bias, relu: false });
    return { kind: 'act', id: dst, order: 'nchw' };
  }
}

function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

function text(a: AttributeProto | undefined): string | undefined {
  return a?.s && a.s.length > 0 ? new TextDecoder().decode(a.s) : undefined;
}

function pair(a: AttributeProto | undefined, fallback: number): [number, number] {
  const v = (a?.ints ?? []).map(Number);
  return [v[0] ?? fallback, v[1] ?? fallback];
}

function addPads(own: Pads, extra: Pads | undefined): Pads {
  return extra ? [own[0] + extra[0], own[1] + extra[1], own[2] + extra[2], own[3] + extra[3]] : own;
}
