import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { UserError } from '../base/errors.js';
import { updateWithLength } from '../files/digest.js';
import { onnxRoot } from './proto/schema.js';

/** TensorProto.DataLocation.EXTERNAL (onnx.proto): the tensor's bytes are in another file. */
const EXTERNAL = 1;

const view = onnxRoot.lookupType('onnx.ModelExternalView');

interface TensorView {
  name?: string;
  externalData?: { key: string; value: string }[];
  dataLocation?: number;
}
interface GraphView {
  node?: { attribute?: AttributeView[] }[];
  initializer?: TensorView[];
}
interface AttributeView {
  t?: TensorView;
  g?: GraphView;
  tensors?: TensorView[];
  graphs?: GraphView[];
}

/** An .onnx file with the external data files its tensors name, read from the model's own folder. */
export interface OnnxFiles {
  model: Uint8Array;
  /** Each external data file once, by the location the graph names it by (as onnxruntime looks it up). */
  external: { path: string; data: Uint8Array }[];
  /** Identifies the graph and every weight byte, wherever it is stored. */
  fingerprint: string;
}

/** The locations of every external tensor in a graph and its subgraphs. */
function externalLocations(graph: GraphView | undefined, into: Set<string>): void {
  if (!graph) return;
  const tensor = (t: TensorView | undefined) => {
    if (t?.dataLocation !== EXTERNAL) return;
    const location = t.externalData?.find((e) => e.key === 'location')?.value;
    into.add(location ?? `\0${t.name ?? ''}`);
  };
  graph.initializer?.forEach(tensor);
  for (const node of graph.node ?? []) {
    for (const a of node.attribute ?? []) {
      tensor(a.t);
      a.tensors?.forEach(tensor);
      externalLocations(a.g, into);
      a.graphs?.forEach((g) => externalLocations(g, into));
    }
  }
}

/**
 * Reads an .onnx file and its external data (the layout PyTorch exports models over 2 GB in).
 * Each location resolves against the model's folder, never the working directory, and must stay
 * inside it after symlinks: a model from elsewhere cannot make smoothcert read other files. The
 * bytes read here are the bytes onnxruntime runs (handed over in memory) and the bytes the
 * fingerprint covers, so a changed weights file can neither slip past a resume nor a worker.
 */
export function readOnnxFiles(path: string): OnnxFiles {
  const model = readFileSync(path);
  const locations = new Set<string>();
  try {
    externalLocations((view.toObject(view.decode(model)) as { graph?: GraphView }).graph, locations);
  } catch {
    // Not ONNX: loading the session reports that with a clear message.
  }
  const folder = realpathSync(dirname(path));
  const external = [...locations].sort().map((location) => {
    if (location.startsWith('\0')) {
      throw new UserError(
        `ONNX model ${path}: tensor '${location.slice(1)}' keeps its data in another file but names none (no 'location'); re-export the model`,
      );
    }
    const file = join(folder, location);
    if (isAbsolute(location) || !existsSync(file)) {
      throw new UserError(
        isAbsolute(location)
          ? `ONNX model ${path} names its external data by the absolute path ${location}; only files in the model's folder are read: re-export with a relative location`
          : `ONNX model ${path} keeps weights in ${location}, which is not in its folder ${folder}; copy that file next to the model`,
      );
    }
    const real = realpathSync(file);
    const inside = relative(folder, real);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new UserError(
        `ONNX model ${path} names external data ${location}, which resolves to ${real}, outside the model's folder ${folder}; refusing to read it`,
      );
    }
    return { path: location, data: readFileSync(real) };
  });
  return { model, external, fingerprint: onnxFingerprint(model, external) };
}

/**
 * sha256 of the graph's bytes, then of each external file's location and bytes (length-prefixed,
 * so no two different sets of files hash alike), truncated to 16 hex digits as every smoothcert
 * fingerprint is. A model without external data keeps the fingerprint of its bytes alone.
 */
function onnxFingerprint(model: Uint8Array, external: { path: string; data: Uint8Array }[]): string {
  const hash = createHash('sha256').update(model);
  for (const { path, data } of external) updateWithLength(updateWithLength(hash, path), data);
  return hash.digest('hex').slice(0, 16);
}
