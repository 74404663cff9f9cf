import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { resultRows, resultSettings } from '../helpers/results.js';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { saveModel } from '../../src/files/model-folder.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { loadOnnxClassifier } from '../../src/onnx/classifier.js';
import { cli } from '../helpers/cli.js';
import { assertClose, randomImages, tempDir, tfjsLogits } from '../onnx/helpers.js';

await tf.setBackend('cpu');
const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

test('smoothcert export writes an ONNX file that onnxruntime runs like the tfjs model', async () => {
  const normalization = { mean: [0.286], std: [0.353] };
  const model = ARCHITECTURES.lenet.build({ numClasses: 10, inputShape: [28, 28, 1], normalization, seed: 9 });
  const modelDir = join(dir, 'lenet');
  await saveModel(modelDir, model, {
    format: 'smoothcert-model',
    version: 1,
    arch: 'lenet',
    dataset: 'fashion-mnist',
    inputShape: [28, 28, 1],
    numClasses: 10,
    normalization,
    training: { sigma: 0.25 },
  });
  const outDir = join(dir, 'out');
  const out = join(outDir, 'lenet.onnx');
  mkdirSync(outDir);
  const r = cli(['export', '--model', modelDir, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /wrote .*lenet\.onnx .*input 'input' float32 \[batch, 28, 28, 1\] NHWC in \[0, 1\], output 'logits' \[batch, 10\]/,
  );
  // tfjs's CPU backend greets its first tensor with advice to install tfjs-node: not in smoothcert's output.
  assert.doesNotMatch(r.stderr, /looks like you are running TensorFlow\.js in Node\.js/);
  assert.deepEqual(readdirSync(outDir), ['lenet.onnx'], 'no temporary file left behind');
  // An existing file is replaced only with --force, and nothing is ever written into a model folder.
  const before = readFileSync(out);
  const again = cli(['export', '--model', modelDir, '--out', out]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /--out .*lenet\.onnx already exists; pass --force to replace it/);
  assert.equal(cli(['export', '--model', modelDir, '--out', out, '--force']).status, 0);
  assert.deepEqual(readFileSync(out), before, 'the same model exports to the same bytes');
  for (const target of [join(modelDir, 'model.json'), join(modelDir, 'lenet.onnx')]) {
    const into = cli(['export', '--model', modelDir, '--out', target, '--force']);
    assert.equal(into.status, 2);
    assert.match(into.stderr, /is inside a model folder/);
  }
  assert.deepEqual(
    readdirSync(modelDir).sort(),
    readdirSync(modelDir)
      .filter((f) => f !== 'lenet.onnx')
      .sort(),
  );
  const onnx = await loadOnnxClassifier(out, { inputLayout: 'nhwc', expectedShape: [28, 28, 1] });
  const images = randomImages(4, [28, 28, 1], 1);
  assertClose(await onnx.logits(images, 4), tfjsLogits(model, images, 4), 1e-4, 'exported logits');
  onnx.dispose();

  // certify reads the layout and σ the export recorded: no --input-layout or --sigma needed, and the
  // exported graph certifies exactly like the model folder it came from (same noise, same seed).
  const viaOnnx = join(dir, 'onnx.tsv');
  const viaFolder = join(dir, 'folder.tsv');
  const quick = ['--max', '3', '--n0', '10', '--n', '200', '--batch', '100'];
  assert.equal(cli(['certify', '--model', out, '--out', viaOnnx, ...quick]).status, 0);
  assert.equal(cli(['certify', '--model', modelDir, '--out', viaFolder, ...quick]).status, 0);
  const settings = resultSettings(viaOnnx);
  assert.deepEqual([settings.inputLayout, settings.sigma], ['nhwc', 0.25]);
  const rows = (f: string) => resultRows(f).map((row) => row.slice(0, 5).join('\t'));
  assert.deepEqual(rows(viaOnnx), rows(viaFolder));
});

test('smoothcert export: --help documents the NHWC input; bad paths exit 2 with a clear message', () => {
  const help = cli(['export', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--input-layout nhwc/);
  assert.match(help.stdout, /--model <dir>/);
  const missing = cli(['export', '--model', join(dir, 'absent'), '--out', join(dir, 'x.onnx')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^smoothcert: error: model folder .*absent does not exist/);
  const noDir = cli(['export', '--model', join(dir, 'absent'), '--out', join(dir, 'no', 'x.onnx')]);
  assert.equal(noDir.status, 2);
  assert.match(noDir.stderr, /--out .*x\.onnx: directory .*no does not exist; create it first/);
});
