import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, encodeModel, type ModelProto } from '../../src/onnx/proto/model.js';
import { readOnnxFiles } from '../../src/onnx/external-data.js';
import { BIN } from '../helpers/cli.js';
import { resultRows } from '../helpers/results.js';
import { tempDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The fixture with every initializer's bytes moved to one file named `location` (PyTorch's
 * layout for models over 2 GB): writes `folder/model.onnx` and the data file beside it.
 */
function withExternalData(folder: string, location: string, scale = 1): string {
  mkdirSync(folder, { recursive: true });
  const model: ModelProto = decodeModel(readFileSync(FIXTURE));
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of model.graph.initializer) {
    const bytes = Buffer.from(t.rawData);
    if (scale !== 1) for (let i = 0; i + 4 <= bytes.length; i += 4) bytes.writeFloatLE(bytes.readFloatLE(i) * scale, i);
    chunks.push(bytes);
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(bytes.length) },
    ];
    t.dataLocation = 1;
    t.rawData = new Uint8Array(0);
    offset += bytes.length;
  }
  writeFileSync(isAbsolute(location) ? location : join(folder, location), Buffer.concat(chunks));
  const path = join(folder, 'model.onnx');
  writeFileSync(path, encodeModel(model));
  return path;
}

function certify(model: string, out: string, cwd: string) {
  return spawnSync(
    process.execPath,
    [
      BIN,
      'certify',
      '--model',
      model,
      '--sigma',
      '0.25',
      '--mean',
      '0.5',
      '--std',
      '0.5',
      '--out',
      out,
      '--max',
      '4',
      '--n0',
      '10',
      '--n',
      '300',
      '--batch',
      '100',
    ],
    { encoding: 'utf8', cwd },
  );
}

test('external data resolves against the model folder, not the working directory, and the fingerprint covers it', () => {
  const inline = join(dir, 'inline.tsv');
  const r0 = certify(FIXTURE, inline, dir);
  assert.equal(r0.status, 0, r0.stderr);
  const model = withExternalData(join(dir, 'model'), 'W.bin');
  // A working directory holding another W.bin (the weights scaled): it must not be read.
  const elsewhere = join(dir, 'elsewhere');
  withExternalData(elsewhere, 'W.bin', -3);
  const out = join(dir, 'external.tsv');
  const r1 = certify(model, out, elsewhere);
  assert.equal(r1.status, 0, r1.stderr);
  const noTime = (f: string) => resultRows(f).map((row) => row.slice(0, -1));
  assert.deepEqual(noTime(out), noTime(inline), 'the same rows as the model with its weights inline');
  assert.notEqual(readOnnxFiles(model).fingerprint, readOnnxFiles(join(elsewhere, 'model.onnx')).fingerprint);
  // The weights changed under the same graph: a resume is refused in one line.
  withExternalData(join(dir, 'model'), 'W.bin', 2);
  const r2 = spawnSync(
    process.execPath,
    [
      BIN,
      'certify',
      '--model',
      model,
      '--sigma',
      '0.25',
      '--mean',
      '0.5',
      '--std',
      '0.5',
      '--out',
      out,
      '--max',
      '6',
      '--n0',
      '10',
      '--n',
      '300',
      '--batch',
      '100',
    ],
    { encoding: 'utf8', cwd: elsewhere },
  );
  assert.equal(r2.status, 2, r2.stderr);
  assert.match(r2.stderr, /fingerprint/i);
  assert.equal(r2.stderr.trim().split('\n').length, 1, r2.stderr);
});

test('external data outside the model folder (../, an absolute path, a symlink out) is refused in one line', () => {
  const outside = withExternalData(join(dir, 'outside', 'sub'), '../W.bin');
  // The same through a symlink in the folder that points out of it.
  const linked = withExternalData(join(dir, 'linked'), 'W.bin');
  unlinkSync(join(dir, 'linked', 'W.bin'));
  symlinkSync(join(dir, 'outside', 'W.bin'), join(dir, 'linked', 'W.bin'));
  for (const model of [outside, linked]) {
    const r = certify(model, join(dir, 'o.tsv'), dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /outside the model's folder .*; refusing to read it/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const absolute = withExternalData(join(dir, 'absolute'), join(dir, 'absolute-W.bin'));
  const a = certify(absolute, join(dir, 'a.tsv'), dir);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /absolute path/);
});
