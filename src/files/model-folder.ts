import * as tf from '@tensorflow/tfjs-core';
import { META_FILE, MODEL_FILE } from '../base/run-folder.js';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { UserError } from '../base/errors.js';
import { writeFileAtomic } from './atomic.js';
import { updateWithLength } from './digest.js';
import type { ImageShape } from '../base/shapes.js';
import { checkMeta, checkMetaFitsNetwork, type ModelMeta } from '../models/meta.js';
import { ARCHITECTURES } from '../models/registry.js';
import { DATASETS, isDatasetName } from '../data/datasets.js';
import { checkWeightsPath } from '../models/load-remote.js';
import '../models/normalize.js'; // registers the Normalize layer so saved models deserialize
import '../models/batch-norm.js'; // saved BatchNormalization layers load with the fused training path

/**
 * Saves a model folder: tfjs model.json + weights, and smoothcert.json. Weights go to a file
 * named by their hash and model.json is renamed into place last, so a crash at any point
 * leaves the previous model or the new one loadable, never a mix of the two.
 */
export async function saveModel(dir: string, model: LayersModel, meta: ModelMeta): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
      const weightsFile = `weights-${weightsHash(weights)}.bin`;
      writeFileAtomic(join(dir, weightsFile), weights);
      writeFileAtomic(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
      writeFileAtomic(
        join(dir, MODEL_FILE),
        JSON.stringify({
          format: 'layers-model',
          generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs }],
        }),
      );
      for (const f of readdirSync(dir)) if (/^weights-[0-9a-f]{16}\.bin$/.test(f) && f !== weightsFile) rmSync(join(dir, f));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** Loads a model folder written by saveModel (or any tfjs layers model with a smoothcert.json). */
export async function loadModel(dir: string): Promise<{ model: LayersModel; meta: ModelMeta; fingerprint: string }> {
  const meta = readMeta(dir);
  const modelPath = join(dir, MODEL_FILE);
  const json = readJson(modelPath, 'the tfjs model description') as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const fingerprint = createHash('sha256').update(readFileSync(modelPath));
  // Weights files named by their hash (saveModel's) are checked against it below, so model.json
  // alone identifies them; any other name (tfjs's group1-shard1of1.bin) is hashed byte by byte.
  const covered = json.weightsManifest.every((g) => g.paths.every((p) => /^weights-[0-9a-f]{16}\.bin$/.test(p)));
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const folder = existsSync(dir) ? realpathSync(dir) : dir;
  const weightData = Buffer.concat(
    json.weightsManifest.flatMap((g) =>
      g.paths.map((p) => {
        const file = join(dir, checkWeightsPath(p, dir));
        if (!existsSync(file))
          throw new UserError(`model weights ${file} are missing; the model folder ${dir} is incomplete — re-train or re-copy it`);
        // Inside the folder after symlinks too: a weights file that is a link out of it is refused.
        const real = relative(folder, realpathSync(file));
        if (real === '' || real === '..' || real.startsWith('../') || isAbsolute(real)) {
          throw new UserError(
            `model weights ${file} resolve to ${realpathSync(file)}, outside the model folder ${dir}; refusing to read them`,
          );
        }
        const bytes = readFileSync(file);
        // saveModel names the file by its hash: a file that no longer matches was damaged or replaced.
        const named = /^weights-([0-9a-f]{16})\.bin$/.exec(p)?.[1];
        if (named !== undefined && weightsHash(bytes) !== named) {
          throw new UserError(
            `model weights ${file} do not match the hash in their name; the file is damaged — re-train or re-copy the model`,
          );
        }
        if (!covered) updateWithLength(updateWithLength(fingerprint, p), bytes);
        return bytes;
      }),
    ),
  );
  const expected = weightSpecs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (weightData.length !== expected) {
    throw new UserError(
      `model weights in ${dir} hold ${weightData.length} bytes but model.json describes ${expected}; the folder is corrupt — re-train or re-copy it`,
    );
  }
  const buffer = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength);
  if (weightSpecs.every((w) => w.dtype === undefined || w.dtype === 'float32') && !new Float32Array(buffer).every(Number.isFinite)) {
    throw new UserError(
      `model ${dir} has NaN or infinite weights (its training diverged?); a smoothed classifier of it would certify nonsense — re-train it`,
    );
  }
  const model = await loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: buffer }));
  try {
    checkMetaFitsNetwork(
      meta,
      { name: model.name, inputShape: model.inputs[0]!.shape, outputShape: model.outputs[0]!.shape },
      join(dir, META_FILE),
      Object.keys(ARCHITECTURES),
    );
    checkMetaDataset(meta, join(dir, META_FILE));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta, fingerprint: fingerprint.digest('hex').slice(0, 16) };
}

/** A dataset smoothcert knows has one image shape and class count: the record must agree with it. */
function checkMetaDataset(meta: ModelMeta, where: string): void {
  if (!isDatasetName(meta.dataset)) return;
  const info = DATASETS[meta.dataset];
  if (info.shape.some((d, i) => d !== meta.inputShape[i]) || info.numClasses !== meta.numClasses) {
    throw new UserError(
      `${where}: dataset is ${meta.dataset} (${info.shape.join('×')} images, ${info.numClasses} classes) but the model takes ` +
        `${meta.inputShape.join('×')} images and gives ${meta.numClasses} classes; correct the file`,
    );
  }
}

export function readMeta(dir: string): ModelMeta {
  if (!existsSync(dir))
    throw new UserError(`model folder ${dir} does not exist; train one there (smoothcert train) or give an existing folder or .onnx file`);
  return checkMeta(readJson(join(dir, META_FILE), 'smoothcert model metadata'), join(dir, META_FILE));
}

/** Refuses a model whose input shape is not the dataset's image shape. */
export function checkModelFitsData(modelShape: ImageShape, dataShape: ImageShape, what: { model: string; dataset: string }): void {
  if (modelShape.length !== 3 || modelShape.some((s, i) => s !== dataShape[i])) {
    throw new UserError(
      `model ${what.model} takes ${modelShape.join('×')} images but dataset ${what.dataset} has ${dataShape.join('×')} images; use a model trained on ${what.dataset} (or a dataset of the model's shape)`,
    );
  }
}

function weightsHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new UserError(`${what} ${path} is missing`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${what} ${path} is not valid JSON (${(e as Error).message}); the file is corrupt`);
  }
}
