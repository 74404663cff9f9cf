import { onnxRoot } from './proto/schema.js';

const view = onnxRoot.lookupType('onnx.ModelMetadataView');

/** The metadata_props of an ONNX model (e.g. input_layout and sigma, as `smoothcert export` writes them). */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  try {
    const decoded = view.toObject(view.decode(bytes)) as { metadataProps?: { key: string; value: string }[] };
    return Object.fromEntries((decoded.metadataProps ?? []).map((p) => [p.key, p.value]));
  } catch {
    return {}; // not ONNX: loading the session reports that with a clear message
  }
}
