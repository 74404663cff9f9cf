import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Normalize } from '../../src/models/normalize.js';

const mean = [0.4914, 0.4822, 0.4465];
const std = [0.2023, 0.1994, 0.201];

function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [2, 2, 3] });
  const x = new Normalize({ mean, std, name: 'normalize' }).apply(input) as tfl.SymbolicTensor;
  const y = tfl.layers
    .dense({ units: 2, kernelInitializer: tfl.initializers.randomNormal({ seed: 3 }) })
    .apply(tfl.layers.flatten().apply(x)) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: y });
}

test('Normalize computes (x − mean) / std per channel of NHWC input', () => {
  const values = Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => ((i * 7) % 11) / 10);
  const out = new Normalize({ mean, std }).apply(tf.tensor4d(values, [2, 2, 2, 3])) as tf.Tensor;
  const got = out.dataSync();
  values.forEach((v, i) => assert.ok(Math.abs(got[i]! - (v - mean[i % 3]!) / std[i % 3]!) < 1e-5, `element ${i}`));
  out.dispose();
});

test('Normalize rejects inconsistent constants', () => {
  assert.throws(() => new Normalize({ mean: [0, 0], std: [1] }), /one entry per channel/);
  assert.throws(() => new Normalize({ mean: [0], std: [0] }), /positive/);
});

test('a model with Normalize survives toJSON → modelFromJSON', async () => {
  const model = tinyModel();
  const json = model.toJSON(null, false);
  assert.equal(typeof json, 'object');
  const restored = await tfl.models.modelFromJSON({ modelTopology: json } as Parameters<typeof tfl.models.modelFromJSON>[0]);
  const layer = restored.getLayer('normalize');
  assert.ok(layer instanceof Normalize);
  assert.deepEqual(layer.mean, mean);
  assert.deepEqual(layer.std, std);
  restored.setWeights(model.getWeights());
  const x = tf.randomUniform([3, 2, 2, 3], 0, 1, 'float32', 5);
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (restored.predict(x) as tf.Tensor).dataSync();
  assert.deepEqual(Array.from(b), Array.from(a));
});

test('a model with Normalize survives save → tf.loadLayersModel', async () => {
  const model = tinyModel();
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const restored = await tfl.loadLayersModel(tf.io.fromMemory(artifacts!));
  assert.ok(restored.getLayer('normalize') instanceof Normalize);
  const x = tf.randomUniform([2, 2, 2, 3], 0, 1, 'float32', 6);
  assert.deepEqual(Array.from((restored.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
});
