import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { UserError } from '../base/errors.js';
import { META_FILE, MODEL_FILE } from '../base/run-folder.js';
import { checkMeta, checkMetaFitsNetwork, type ModelMeta } from './meta.js';
import { ARCHITECTURES } from './registry.js';
import './normalize.js'; // registers the Normalize layer so saved models deserialize

// Loading a smoothcert model folder without a file system: over HTTP or from a page's File objects.
// The checks are those of the Node reader (files/model-folder.ts): metadata, weight size, weight
// hash, finite weights, so a page refuses the same broken folders the CLI does.

/** Where a model folder's files come from: `read(name)` returns the bytes of one file of the folder. */
export interface ModelSource {
  /** The folder, as named in error messages. */
  readonly where: string;
  read(name: string): Promise<Uint8Array<ArrayBuffer>>;
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/**
 * A weights path from model.json, refused unless it names a file inside the model's folder: a
 * relative path of plain segments (no `..`, `.`, empty segment, backslash, scheme or absolute
 * path). A model from someone else must not make a loader read the user's files (`../../x`) or
 * fetch from another server (`https://…`, `//host/…`), nor an export embed them.
 */
export function checkWeightsPath(name: unknown, where: string): string {
  const ok =
    typeof name === 'string' &&
    name.length > 0 &&
    !name.includes('\\') &&
    !name.includes(':') &&
    !name.includes('\0') &&
    !name.startsWith('/') &&
    name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
  if (!ok) {
    throw new UserError(
      `${where}/model.json names weights at ${JSON.stringify(name)}, which is not a file inside the model's folder; refusing to read it`,
    );
  }
  return name;
}

/** Loads model.json, its weights and smoothcert.json from `source`. */
export async function loadModelFromSource(source: ModelSource): Promise<{ model: LayersModel; meta: ModelMeta }> {
  const meta = checkMeta(await readJson(source, META_FILE), `${source.where}/${META_FILE}`);
  const json = (await readJson(source, MODEL_FILE)) as ModelJson;
  if (!Array.isArray(json.weightsManifest))
    throw new UserError(`${source.where}/model.json is not a tfjs layers model (no weightsManifest)`);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (const name of json.weightsManifest.flatMap((g) => g.paths)) {
    const bytes = await source.read(checkWeightsPath(name, source.where));
    const named = /^weights-([0-9a-f]{16})\.bin$/.exec(name)?.[1];
    const hash = named === undefined ? undefined : await weightsHash(bytes);
    if (hash !== undefined && hash !== named) {
      throw new UserError(
        `model weights ${source.where}/${name} do not match the hash in their name; the file is damaged — re-train or re-copy the model`,
      );
    }
    parts.push(bytes);
  }
  const weightData = concat(parts);
  const expected = weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weightData.byteLength !== expected) {
    throw new UserError(
      `model weights in ${source.where} hold ${weightData.byteLength} bytes but model.json describes ${expected}; the folder is corrupt`,
    );
  }
  if (
    weightSpecs.every((w) => w.dtype === undefined || w.dtype === 'float32') &&
    !new Float32Array(weightData.buffer).every(Number.isFinite)
  ) {
    throw new UserError(`model ${source.where} has NaN or infinite weights (its training diverged?); re-train it`);
  }
  const model = await loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: weightData.buffer }));
  try {
    checkMetaFitsNetwork(
      meta,
      { name: model.name, inputShape: model.inputs[0]!.shape, outputShape: model.outputs[0]!.shape },
      `${source.where}/smoothcert.json`,
      Object.keys(ARCHITECTURES),
    );
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta };
}

/** Loads the model folder served at `url` (the folder's URL; a trailing slash is added when missing). */
export function loadModelFromUrl(url: string | URL): Promise<{ model: LayersModel; meta: ModelMeta }> {
  const base = new URL(url, globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return loadModelFromSource({
    where: base.href.replace(/\/$/, ''),
    async read(name) {
      const response = await fetch(new URL(name, base));
      if (!response.ok) throw new UserError(`${new URL(name, base).href}: ${response.status} ${response.statusText}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  });
}

/** Loads a model folder from the files a user picked (model.json, smoothcert.json and the weights). */
export function loadModelFromFiles(files: Iterable<File>): Promise<{ model: LayersModel; meta: ModelMeta }> {
  const byName = new Map([...files].map((f) => [f.name, f]));
  return loadModelFromSource({
    where: 'the chosen files',
    async read(name) {
      const file = byName.get(name);
      if (file === undefined) throw new UserError(`${name} is missing: choose model.json, smoothcert.json and ${name} together`);
      return new Uint8Array(await file.arrayBuffer());
    },
  });
}

async function readJson(source: ModelSource, name: string): Promise<unknown> {
  const text = new TextDecoder().decode(await source.read(name));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source.where}/${name} is not valid JSON (${(e as Error).message}); the file is corrupt`);
  }
}

/**
 * The first 16 hex digits of SHA-256, as saveModel names weight files; undefined where Web Crypto is
 * unavailable (a page served over plain HTTP to another host is not a secure context), and then the
 * size and finiteness checks remain.
 */
async function weightsHash(bytes: Uint8Array<ArrayBuffer>): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return undefined;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
