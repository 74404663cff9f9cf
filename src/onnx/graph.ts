import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeProto,
  type Dimension,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto/model.js';

/** ONNX operator set written by smoothcert: 13 has Softmax over one axis and Pad/Clip with tensor inputs. */
export const OPSET = 13;
/** IR version 7: the IR of ONNX 1.8, the release that introduced opset 13, so any opset-13 runtime reads it. */
export const IR_VERSION = 7;

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttributeType.FLOAT, f }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttributeType.INTS, ints }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
};

/**
 * A graph input or output: element type and dims, a string dim being symbolic (e.g. 'batch');
 * null dims leave the shape undeclared.
 */
export function valueInfo(name: string, elemType: number, dims: (number | string)[] | null): ValueInfoProto {
  if (dims === null) return { name, type: { tensorType: { elemType } } };
  const dim: Dimension[] = dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/**
 * Builds one ONNX graph node by node. Every value gets a fresh name derived from a hint,
 * so callers never collide; nodes must be added in topological order.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();

  constructor(readonly name: string) {}

  /** A fresh value name: `hint` itself if unused, else hint_1, hint_2, … */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./-]/g, '_') || 'v';
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: (number | string)[]): string {
    const value = this.fresh(name);
    this.inputs.push(valueInfo(value, elemType, dims));
    return value;
  }

  /** Declares `value` as a graph output under the name `name` (through an Identity node if they differ). */
  output(value: string, name: string, elemType: number, dims: (number | string)[] | null): void {
    const out = value === name ? value : this.node('Identity', [value], [], name);
    if (out !== name) throw new Error(`output name ${name} is already taken`);
    this.outputs.push(valueInfo(out, elemType, dims));
  }

  floatConst(hint: string, dims: number[], data: Float32Array | number[]): string {
    const bytes = new Uint8Array(4 * data.length);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
    return this.constant(hint, dims, DataType.FLOAT, bytes);
  }

  int64Const(hint: string, dims: number[], data: number[]): string {
    const bytes = new Uint8Array(8 * data.length);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < data.length; i++) view.setBigInt64(8 * i, BigInt(data[i]!), true);
    return this.constant(hint, dims, DataType.INT64, bytes);
  }

  /** Appends a node with one output and returns the output's name. */
  node(opType: string, inputs: string[], attributes: AttributeProto[] = [], hint = opType): string {
    const output = this.fresh(hint);
    this.nodes.push({ name: output, opType, input: inputs, output: [output], attribute: attributes });
    return output;
  }

  /** The model's bytes, importing the default ONNX domain at OPSET. */
  encode(info: { producerVersion?: string; docString?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      producerName: 'smoothcert',
      producerVersion: info.producerVersion ?? '',
      opsetImport: [{ domain: '', version: OPSET }],
      ...(info.docString === undefined ? {} : { docString: info.docString }),
      metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  private constant(hint: string, dims: number[], dataType: number, rawData: Uint8Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, dataType, rawData });
    return name;
  }
}
