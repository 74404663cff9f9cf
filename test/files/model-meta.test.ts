import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/base/errors.js';
import { loadModel, saveModel } from '../../src/files/model-folder.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { cli } from '../helpers/cli.js';

await tf.setBackend('cpu');
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-meta-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const good = join(tmp, 'lenet');
const normalization = { mean: [0.286], std: [0.353] };
await saveModel(good, ARCHITECTURES.lenet.build({ numClasses: 10, inputShape: [28, 28, 1], normalization, seed: 1 }), {
  format: 'smoothcert-model',
  version: 1,
  arch: 'lenet',
  dataset: 'fashion-mnist',
  inputShape: [28, 28, 1],
  numClasses: 10,
  normalization,
  training: { sigma: 0.25 },
});
const meta = JSON.parse(readFileSync(join(good, 'smoothcert.json'), 'utf8')) as Record<string, unknown>;

/** A copy of the good folder whose smoothcert.json has `change` applied. */
function variant(name: string, change: (m: Record<string, unknown>) => void): string {
  const dir = join(tmp, name);
  cpSync(good, dir, { recursive: true });
  const m = structuredClone(meta);
  change(m);
  writeFileSync(join(dir, 'smoothcert.json'), JSON.stringify(m));
  return dir;
}

const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
  [
    'sigma-zero',
    (m) => {
      m.training = { sigma: 0 };
    },
    /training\.sigma is 0; it must be a number > 0/,
  ],
  [
    'sigma-negative',
    (m) => {
      m.training = { sigma: -1 };
    },
    /training\.sigma is -1; it must be a number > 0/,
  ],
  [
    'sigma-text',
    (m) => {
      m.training = { sigma: '0.5' };
    },
    /training\.sigma is "0\.5"/,
  ],
  [
    'classes',
    (m) => {
      m.numClasses = 7;
    },
    /numClasses is 7 but the network outputs \[10\]/,
  ],
  [
    'classes-one',
    (m) => {
      m.numClasses = 1;
    },
    /numClasses is 1; it must be an integer ≥ 2/,
  ],
  [
    'shape',
    (m) => {
      m.inputShape = [32, 32, 3];
    },
    /inputShape is \[32,32,3\] but the network takes \[28,28,1\]/,
  ],
  [
    'arch',
    (m) => {
      m.arch = 'cifar_resnet20';
    },
    /arch is "cifar_resnet20" but the network is a lenet/,
  ],
  [
    'dataset',
    (m) => {
      m.dataset = 'cifar10';
    },
    /dataset is cifar10 \(32×32×3 images, 10 classes\) but the model takes 28×28×1/,
  ],
  [
    'std',
    (m) => {
      m.normalization = { mean: [0.5], std: [0] };
    },
    /normalization\.std is \[0\]; it must be 1 or 1 numbers > 0/,
  ],
];

test('recorded metadata that contradicts itself or the network is refused, naming the file and the field', async () => {
  await loadModel(good); // the control loads
  for (const [name, change, pattern] of cases) {
    const dir = variant(name, change);
    await assert.rejects(
      loadModel(dir),
      (e: unknown) => e instanceof UserError && pattern.test(e.message) && e.message.includes(join(dir, 'smoothcert.json')),
      name,
    );
  }
});

test('certify, predict and gaps on a model recording σ ≤ 0 stop with one line and no stack trace', () => {
  const dir = variant('cli-sigma', (m) => {
    m.training = { sigma: -1 };
  });
  for (const args of [
    ['certify', '--out', join(tmp, 'c.tsv'), '--max', '1'],
    ['predict', '--out', join(tmp, 'p.tsv'), '--max', '1'],
    ['gaps', '--index', '0'],
  ]) {
    const r = cli([...args, '--model', dir]);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /training\.sigma is -1; it must be a number > 0/, args[0]);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
