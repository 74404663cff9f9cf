import { onnxRoot } from './schema.js';

/** TensorProto.DataType values used here (onnx.proto). */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;

/** AttributeProto.AttributeType values used here (onnx.proto). */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  /** Elements in row-major order, fixed-width little-endian; empty when they are in another file. */
  rawData: Uint8Array;
  /** Elements of a FLOAT tensor stored unpacked (some exporters' small constants); read only. */
  floatData?: number[];
  /** Elements of an INT64 tensor stored unpacked; read only. */
  int64Data?: number[];
  /** Where the elements are when not in rawData (location, offset, length), with dataLocation 1 (EXTERNAL). */
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}

/** A known size (dimValue) or a symbolic one such as the batch dimension (dimParam). */
export type Dimension = { dimValue: number } | { dimParam: string };

export interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape?: { dim: Dimension[] } } };
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  /** A tensor-valued attribute (Constant's value); read only. */
  t?: TensorProto;
}

export interface NodeProto {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}

export interface GraphProto {
  name: string;
  docString?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  opsetImport: { domain: string; version: number }[];
  graph: GraphProto;
  metadataProps?: { key: string; value: string }[];
}

const modelType = onnxRoot.lookupType('onnx.ModelProto');

/** Parses the bytes of a .onnx file (the fields of the subset in schema.ts). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return modelType.toObject(modelType.decode(bytes), { longs: Number, defaults: true }) as ModelProto;
}

/** Serializes a model to the bytes of a .onnx file. */
export function encodeModel(model: ModelProto): Uint8Array {
  return modelType.encode(modelType.fromObject(model)).finish();
}
