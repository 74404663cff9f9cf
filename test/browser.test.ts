import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { saveTinyModel } from './helpers/models.js';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadModelFromSource } from '../src/browser.js';
import { loadModel } from '../src/files/model-folder.js';
import { UserError } from '../src/base/errors.js';

const ENTRY = fileURLToPath(new URL('../src/browser.js', import.meta.url));

test('smoothcert/browser bundles for the browser without any Node built-in', async () => {
  // For the browser platform esbuild refuses an import of a Node built-in it cannot leave out, unless
  // a package's "browser" field maps it away (tfjs's Node platform file, say); so the build failing,
  // or its inputs naming a built-in, is what this test looks for.
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    metafile: true,
  }).catch((e: { errors?: { text: string }[] }) => assert.fail(`bundling failed: ${e.errors?.map((m) => m.text).join('; ')}`));
  const builtin = (path: string) => path.startsWith('node:') || builtinModules.includes(path.split('/')[0]!);
  const reached = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => builtin(i.path) || i.external).map((i) => `${file} imports ${i.path}`),
  );
  assert.deepEqual(reached, []);
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(
    inputs.some((f) => f.endsWith('smoothing/smooth.js')) && inputs.some((f) => f.endsWith('models/load-remote.js')),
    'the bundle carries the library',
  );
  assert.ok(
    !inputs.some((f) => /^dist\/src\/(backend|files|runs|onnx|cli|serve)\/|onnxruntime|smoothcert_native/.test(f)),
    'no Node-side module',
  );
});

test('loadModelFromSource reads a model folder as the Node reader does, and refuses a damaged one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-browser-'));
  try {
    await saveTinyModel(dir, [4, 4, 1], 3);
    const files = (overrides: Record<string, Uint8Array> = {}) => ({
      where: dir,
      read: async (name: string) => new Uint8Array(overrides[name] ?? readFileSync(join(dir, name))),
    });
    const fromSource = await loadModelFromSource(files());
    const fromDisk = await loadModel(dir);
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 3);
    assert.deepEqual(await (fromSource.model.predict(x) as tf.Tensor).data(), await (fromDisk.model.predict(x) as tf.Tensor).data());
    assert.deepEqual(fromSource.meta, fromDisk.meta);
    const weights = (JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] })
      .weightsManifest[0]!.paths[0]!;
    const damaged = new Uint8Array(readFileSync(join(dir, weights)));
    damaged[0]! ^= 1;
    await assert.rejects(
      loadModelFromSource(files({ [weights]: damaged })),
      (e: unknown) => e instanceof UserError && /do not match the hash/.test(e.message),
    );
    await assert.rejects(
      loadModelFromSource(files({ 'smoothcert.json': new TextEncoder().encode('{}') })),
      /not smoothcert model metadata/,
    );
    await assert.rejects(loadModelFromSource(files({ 'model.json': new TextEncoder().encode('{') })), /model\.json is not valid JSON/);
    fromSource.model.dispose();
    fromDisk.model.dispose();
    x.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('weights paths outside the model folder are refused by the browser and the Node loaders alike, before any read', async () => {
  const root = mkdtempSync(join(tmpdir(), 'smoothcert-manifest-'));
  try {
    const dir = join(root, 'model');
    await saveTinyModel(dir, [4, 4, 1], 3);
    const json = readFileSync(join(dir, 'model.json'), 'utf8');
    const weights = (JSON.parse(json) as { weightsManifest: { paths: string[] }[] }).weightsManifest[0]!.paths[0]!;
    // A copy of the real weights outside the folder: only the path decides the refusal.
    writeFileSync(join(root, 'outside.bin'), readFileSync(join(dir, weights)));
    for (const bad of [
      '../outside.bin',
      `${root}/outside.bin`,
      'https://example.org/w.bin',
      '//example.org/w.bin',
      'a/../../outside.bin',
      '..\\outside.bin',
      '',
    ]) {
      writeFileSync(join(dir, 'model.json'), json.replace(JSON.stringify(weights), JSON.stringify(bad)));
      const asked: string[] = [];
      const source = {
        where: dir,
        read: async (name: string) => {
          asked.push(name);
          return new Uint8Array(readFileSync(join(dir, name)));
        },
      };
      await assert.rejects(
        loadModelFromSource(source),
        (e: unknown) => e instanceof UserError && /not a file inside the model's folder/.test(e.message),
        bad,
      );
      assert.ok(!asked.includes(bad), `${bad} was never read`);
      await assert.rejects(
        loadModel(dir),
        (e: unknown) => e instanceof UserError && /not a file inside the model's folder/.test(e.message),
        bad,
      );
    }
    // A weights file in the folder that is a symlink out of it: refused by the Node loader.
    writeFileSync(join(dir, 'model.json'), json.replace(JSON.stringify(weights), JSON.stringify('linked.bin')));
    symlinkSync(join(root, 'outside.bin'), join(dir, 'linked.bin'));
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof UserError && /outside the model folder/.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
