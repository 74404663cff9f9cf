import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BIN, cli, cliStart, startUntil } from '../helpers/cli.js';
import { saveTinyModel } from '../helpers/models.js';
import { loadAddon } from '../../src/backend/addon.js';
import { resultRows, resultSettings } from '../helpers/results.js';

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-certify-'));
const mnistModel = join(tmp, 'mnist-model');
const cifarModel = join(tmp, 'cifar-model');
await saveTinyModel(mnistModel, [28, 28, 1], 10, 0.25);
await saveTinyModel(cifarModel, [32, 32, 3], 10);

const rows = resultRows;
const quick = ['--n0', '10', '--n', '200', '--batch', '100'];

test('certify writes the reference columns, one line per selected example', () => {
  const out = join(tmp, 'c.tsv');
  const r = cli(['certify', '--model', mnistModel, '--out', out, '--skip', '3', '--max', '12', ...quick]);
  assert.equal(r.status, 0, r.stderr);
  const t = rows(out);
  assert.deepEqual(t[0], ['idx', 'label', 'predict', 'radius', 'correct', 'time']);
  assert.deepEqual(
    t.slice(1).map((row) => Number(row[0])),
    [0, 3, 6, 9],
  );
  for (const [, label, predict, radius, correct, time] of t.slice(1)) {
    assert.equal(Number(correct), Number(predict === label));
    assert.ok(Number(radius) >= 0 && (predict !== '-1' || Number(radius) === 0));
    assert.match(time!, /^\d+:\d\d:\d\d\.\d{6}$/);
  }
  // The sigma recorded in the model is used when --sigma is absent.
  assert.equal(resultSettings(out).sigma, 0.25);
});

test('predict writes idx label predict correct time', () => {
  const out = join(tmp, 'p.tsv');
  const r = cli(['predict', '--model', mnistModel, '--out', out, '--max', '3', '--n', '200', '--batch', '100']);
  assert.equal(r.status, 0, r.stderr);
  const t = rows(out);
  assert.deepEqual(t[0], ['idx', 'label', 'predict', 'correct', 'time']);
  assert.equal(t.length, 4);
});

test('a certify run killed with SIGKILL resumes without losing or repeating an example', async () => {
  const out = join(tmp, 'resume.tsv');
  const args = ['certify', '--model', mnistModel, '--out', out, '--max', '30', '--n0', '10', '--n', '1000', '--batch', '250'];
  const child = cliStart(args);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (existsSync(out) && rows(out).length >= 4) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(poll);
      reject(new Error('finished before it could be killed; make the run longer'));
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const before = rows(out).length - 1;
  assert.ok(before < 30, `killed after ${before} examples`);
  appendFileSync(out, `${before}\t7\t`); // the torn line a kill during a write would leave
  const r = cli(args);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming/);
  const ids = rows(out)
    .slice(1)
    .map((row) => Number(row[0]));
  assert.deepEqual(
    ids,
    Array.from({ length: 30 }, (_, i) => i),
  );
  // Results are reproducible: a fresh run with the same seed gives the same predictions and radii.
  const fresh = join(tmp, 'fresh.tsv');
  assert.equal(cli([...args.slice(0, 4), fresh, ...args.slice(5)]).status, 0);
  const strip = (f: string) =>
    rows(f)
      .slice(1)
      .map((row) => row.slice(0, 5).join('\t'));
  assert.deepEqual(strip(fresh), strip(out));
});

test('certify runs an ONNX model normalized outside its graph, and resumes only with the same normalization', () => {
  const onnx = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
  const out = join(tmp, 'onnx', 'nested', 'c.tsv'); // a missing folder is created
  const args = ['certify', '--model', onnx, '--sigma', '0.25', '--mean', '0.5', '--std', '0.5', '--out', out, ...quick];
  const first = cli([...args, '--max', '3']);
  assert.equal(first.status, 0, first.stderr);
  const again = cli([...args, '--max', '5']);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(
    rows(out)
      .slice(1)
      .map((r) => r[0]),
    ['0', '1', '2', '3', '4'],
  );
  const other = cli(['certify', '--model', onnx, '--sigma', '0.25', '--mean', '0.4', '--std', '0.5', '--out', out, ...quick, '--max', '6']);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /made with --mean \[0.5\], but this run has --mean \[0.4\]/);
  const folder = cli(['certify', '--model', onnx, '--sigma', '0.25', '--out', tmp, ...quick]);
  assert.equal(folder.status, 2);
  assert.match(folder.stderr, /--out .* is a folder; give the name of a regular file/);
});

test('a log whose results were deleted starts over with the new settings', () => {
  const out = join(tmp, 'restart.tsv');
  assert.equal(cli(['certify', '--model', mnistModel, '--out', out, '--max', '1', '--sigma', '0.5', ...quick]).status, 0);
  rmSync(out);
  const r = cli(['certify', '--model', mnistModel, '--out', out, '--max', '1', '--sigma', '0.1', ...quick]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(resultSettings(out).sigma, 0.1);
});

test('resuming with different settings is refused', () => {
  const out = join(tmp, 'settings.tsv');
  assert.equal(cli(['certify', '--model', mnistModel, '--out', out, '--max', '1', ...quick]).status, 0);
  const r = cli(['certify', '--model', mnistModel, '--out', out, '--max', '2', '--sigma', '0.5', ...quick]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /made with --sigma 0.25, but this run has --sigma 0.5/);
});

test('--precision bf16 is recorded in the settings; a resume in the other precision is refused both ways', async () => {
  const out = join(tmp, 'bf16.tsv');
  const args = ['certify', '--model', mnistModel, '--out', out, '--skip', '3', '--max', '9', ...quick];
  const { addon } = loadAddon();
  const native = (process.env.SMOOTHCERT_BACKEND ?? 'native') === 'native' && addon !== undefined;
  // On the fallback engine bf16 is refused in one line (checked here whatever engine the suite runs on).
  const wasm = cli([...args, '--backend', 'wasm', '--precision', 'bf16']);
  assert.equal(wasm.status, 2);
  assert.match(wasm.stderr, /^smoothcert: error: --precision bf16 runs on the native backend only \(this run uses wasm\)/);
  assert.equal(existsSync(out), false);
  const r = cli([...args, '--precision', 'bf16']);
  if (!native || !addon.info().bf16) {
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      native ? /--precision bf16 .*AVX512-BF16/ : /--precision bf16 runs on the native backend only \(this run uses wasm\)/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  assert.equal(resultSettings(out).precision, 'bf16');
  assert.equal(rows(out).length, 1 + 3);
  const fp32 = cli([...args, '--max', '12']);
  assert.equal(fp32.status, 2);
  assert.match(fp32.stderr, /made with --precision "bf16", but this run has --precision its default/);
  const fp32Out = join(tmp, 'fp32.tsv');
  assert.equal(cli([...args, '--out', fp32Out]).status, 0);
  const bf16 = cli([...args, '--out', fp32Out, '--precision', 'bf16', '--max', '12']);
  assert.equal(bf16.status, 2);
  assert.match(bf16.stderr, /made with --precision its default, but this run has --precision "bf16"/);
  // An .onnx graph runs in bf16 on the plan, and onnxruntime refuses it.
  const onnx = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
  const onnxArgs = ['certify', '--model', onnx, '--sigma', '0.25', ...quick, '--max', '2', '--precision', 'bf16'];
  const onPlan = cli([...onnxArgs, '--out', join(tmp, 'onnx-bf16.tsv')]);
  assert.equal(onPlan.status, 0, onPlan.stderr);
  assert.equal(resultSettings(join(tmp, 'onnx-bf16.tsv')).precision, 'bf16');
  const o = cli([...onnxArgs, '--out', join(tmp, 'onnx-bf16-ort.tsv'), '--engine', 'onnxruntime']);
  assert.equal(o.status, 2);
  assert.match(o.stderr, /onnxruntime runs \.onnx files in fp32/);
});

test('bad input gives a specific error and a non-zero exit', () => {
  const out = join(tmp, 'bad.tsv');
  const base = ['certify', '--model', mnistModel, '--out', out, '--max', '1', ...quick];
  const expect = (args: string[], pattern: RegExp) => {
    const r = cli(args);
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, pattern);
  };
  expect([...base, '--sigma', '0'], /--sigma.*expected a noise level > 0 and ≤ 2\^125 .*got "0"/);
  expect([...base, '--sigma', '-0.5'], /--sigma.*expected a noise level > 0/);
  expect([...base, '--n0', '0'], /--n0.*expected an integer ≥ 1/);
  expect([...base, '--alpha', '1'], /--alpha.*strictly between 0 and 1/);
  expect([...base, '--alpha', '0'], /--alpha.*strictly between 0 and 1/);
  expect([...base, '--batch', '1e12'], /--batch.*expected an integer ≥ 1 and ≤ 100000/);
  expect([...base, '--seed', '1e300'], /--seed.*expected an integer ≥ 0/);
  // A system error is one line, and no temporary file is left behind.
  const r = cli(['certify', '--model', mnistModel, '--out', join(BIN, 'x.tsv'), ...quick, '--max', '1']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^smoothcert: error: a path is a file where a folder is needed, or the reverse .*; check --out/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  expect(['certify', '--model', cifarModel, '--out', out, ...quick], /takes 32×32×3 images but dataset fashion-mnist has 28×28×1/);
  expect(['certify', '--model', join(tmp, 'nope'), '--out', out, ...quick], /model folder .*nope does not exist/);
  expect([...base, '--dataset', 'mnist'], /mnist.*--data-dir/);
  expect([...base, '--dataset', 'svhn'], /--dataset.*svhn.*fashion-mnist, mnist, cifar10, imagenet/);
  const missing = join(tmp, 'empty-dir');
  mkdirSync(missing, { recursive: true });
  expect([...base, '--data-dir', missing], /not found: .*t10k-images-idx3-ubyte.*apt-get install dataset-fashion-mnist/);
  // A file with the wrong IDX magic number.
  const corrupt = join(tmp, 'corrupt');
  mkdirSync(corrupt, { recursive: true });
  writeFileSync(join(corrupt, 't10k-images-idx3-ubyte.gz'), gzipSync(Buffer.from([0, 0, 9, 9, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28])));
  writeFileSync(join(corrupt, 't10k-labels-idx1-ubyte.gz'), gzipSync(Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 0])));
  expect([...base, '--data-dir', corrupt], /t10k-images-idx3-ubyte.*magic/i);
});

// About 150 ms an example on the native backend: long enough for a second process to start while the first runs.
const longRun = (out: string) => [
  'certify',
  '--model',
  mnistModel,
  '--out',
  out,
  '--max',
  '20',
  '--n0',
  '10',
  '--n',
  '20000',
  '--batch',
  '1000',
];
const withoutTime = (f: string) =>
  rows(f)
    .slice(1)
    .map((row) => row.slice(0, 5).join('\t'));
const reference = join(tmp, 'reference.tsv');
const referenceRows = () => {
  if (!existsSync(reference)) assert.equal(cli(longRun(reference)).status, 0);
  return withoutTime(reference);
};

test('a second certify on the same --out is refused while the first runs, and the file holds each example once', async () => {
  const out = join(tmp, 'concurrent.tsv');
  const first = await startUntil(longRun(out), () => existsSync(out) && rows(out).length >= 3);
  // Paused while the second tries, so that a fast machine cannot finish the first (and free the file) before.
  first.child.kill('SIGSTOP');
  const second = cli(longRun(out));
  first.child.kill('SIGCONT');
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`result file .*concurrent\\.tsv is in use by process ${first.child.pid} `));
  assert.equal(await first.exited, 0, first.stderr());
  assert.deepEqual(withoutTime(out), referenceRows());
});

test('Ctrl-C stops certify on a model folder within a batch, exits 130, and the rerun completes the uninterrupted result', async () => {
  const out = join(tmp, 'sigint.tsv');
  const run = await startUntil(longRun(out), () => existsSync(out) && rows(out).length >= 3);
  const sent = performance.now();
  run.child.kill('SIGINT');
  assert.equal(await run.exited, 130, run.stderr());
  assert.ok(performance.now() - sent < 2000, `stopped ${(performance.now() - sent).toFixed(0)} ms after Ctrl-C`);
  assert.match(run.stderr(), /interrupted: .*sigint\.tsv holds \d+ of 20 examples; rerun the same command to resume/);
  assert.ok(rows(out).length - 1 < 20);
  const rest = cli(longRun(out));
  assert.equal(rest.status, 0, rest.stderr);
  assert.deepEqual(withoutTime(out), referenceRows());
});

test('SIGTERM stops certify the same way, with exit status 143', async () => {
  const out = join(tmp, 'sigterm.tsv');
  const run = await startUntil(longRun(out), () => existsSync(out) && rows(out).length >= 2);
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 143, run.stderr());
  assert.equal(cli(longRun(out)).status, 0);
  assert.deepEqual(withoutTime(out), referenceRows());
});

test('resuming with another --skip is refused, and the settings cannot be lost beside the file', () => {
  const out = join(tmp, 'skip.tsv');
  assert.equal(cli(['certify', '--model', mnistModel, '--out', out, '--skip', '2', '--max', '6', ...quick]).status, 0);
  const other = cli(['certify', '--model', mnistModel, '--out', out, '--skip', '3', '--max', '6', ...quick]);
  assert.equal(other.status, 2);
  assert.match(other.stderr, /made with --skip 2, but this run has --skip 3/);
  const otherN = cli([
    'certify',
    '--model',
    mnistModel,
    '--out',
    out,
    '--skip',
    '2',
    '--max',
    '6',
    '--n0',
    '10',
    '--n',
    '300',
    '--batch',
    '100',
  ]);
  assert.match(otherN.stderr, /made with --n 200, but this run has --n 300/);
  // A file whose settings line is gone (edited by hand, or written by another tool) cannot be resumed.
  const stripped = join(tmp, 'stripped.tsv');
  writeFileSync(stripped, readFileSync(out, 'utf8').split('\n').slice(1).join('\n'));
  const r = cli(['certify', '--model', mnistModel, '--out', stripped, '--skip', '2', '--max', '6', ...quick]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /holds results but no record of the settings that made them/);
  // The same model under another path is the same model: its fingerprint, not its path, is compared.
  const moved = join(tmp, 'mnist-model-copy');
  cpSync(mnistModel, moved, { recursive: true });
  const same = cli(['certify', '--model', moved, '--out', out, '--skip', '2', '--max', '10', ...quick]);
  assert.equal(same.status, 0, same.stderr);
  assert.deepEqual(
    rows(out)
      .slice(1)
      .map((row) => row[0]),
    ['0', '2', '4', '6', '8'],
  );
});

test('a model with NaN weights is refused before anything is certified', async () => {
  const broken = join(tmp, 'nan-model');
  await saveTinyModel(broken, [28, 28, 1], 10, 0.25, NaN);
  const out = join(tmp, 'nan.tsv');
  const r = cli(['certify', '--model', broken, '--out', out, ...quick, '--max', '2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /has NaN or infinite weights/);
  assert.equal(existsSync(out), false);
  // A weights file changed after saving no longer matches the hash in its name.
  const damaged = join(tmp, 'damaged-model');
  cpSync(mnistModel, damaged, { recursive: true });
  const weights = readdirSync(damaged).find((f) => f.startsWith('weights-'))!;
  const bytes = readFileSync(join(damaged, weights));
  bytes[0]! ^= 1;
  writeFileSync(join(damaged, weights), bytes);
  const d = cli(['certify', '--model', damaged, '--out', join(tmp, 'damaged.tsv'), ...quick, '--max', '2']);
  assert.equal(d.status, 2);
  assert.match(d.stderr, /do not match the hash in their name; the file is damaged/);
});

test('--mean, --std and --input-layout are refused with a model folder instead of being ignored', () => {
  const r = cli(['certify', '--model', mnistModel, '--out', join(tmp, 'mean.tsv'), '--mean', '0.5', ...quick]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--mean applies to \.onnx files only/);
});

test('adaptive CERTIFY writes the forward passes (and decided radii), resumes after kill -9 to the uninterrupted file, and refuses bad options', async () => {
  const adaptive = (out: string, ...mode: string[]) => [
    'certify',
    '--model',
    mnistModel,
    '--out',
    out,
    '--adaptive',
    '--max',
    '12',
    '--n0',
    '20',
    '--max-n',
    '20000',
    '--batch',
    '1000',
    ...mode,
  ];
  const reference = join(tmp, 'adaptive-reference.tsv');
  assert.equal(cli(adaptive(reference, '--radii', '0,0.1')).status, 0);
  const header = rows(reference)[0]!;
  assert.deepEqual(header, ['idx', 'label', 'predict', 'radius', 'correct', 'samples', 'certified', 'time']);
  for (const row of rows(reference).slice(1)) {
    const samples = Number(row[5]);
    assert.ok(Number.isInteger(samples) && samples > 20 && samples <= 20 + 20_000, `samples ${row[5]}`);
    // Certified at r means radius > r; an abstention certifies nothing.
    const certified = row[6] === '-' ? [] : row[6]!.split(',').map(Number);
    assert.ok(certified.every((r) => Number(row[3]) > r));
  }
  const out = join(tmp, 'adaptive-killed.tsv');
  const run = await startUntil(adaptive(out, '--radii', '0,0.1'), () => existsSync(out) && rows(out).length >= 3);
  run.child.kill('SIGKILL');
  await run.exited;
  assert.equal(cli(adaptive(out, '--radii', '0,0.1')).status, 0);
  const strip = (f: string) =>
    rows(f)
      .slice(1)
      .map((row) => [...row.slice(0, 7)].join('\t'));
  assert.deepEqual(strip(out), strip(reference));
  // Another question is another run.
  const other = cli(adaptive(out, '--radii', '0,0.2'));
  assert.equal(other.status, 2);
  assert.match(other.stderr, /made with --radii \[0,0.1\], but this run has --radii \[0,0.2\]/);
  const radiusMode = join(tmp, 'adaptive-radius.tsv');
  assert.equal(cli(adaptive(radiusMode, '--tolerance', '0.05')).status, 0);
  assert.deepEqual(rows(radiusMode)[0], ['idx', 'label', 'predict', 'radius', 'correct', 'samples', 'time']);

  const bad = (args: string[], pattern: RegExp) => {
    const r = cli(args);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, pattern);
  };
  const x = join(tmp, 'adaptive-bad.tsv');
  bad(adaptive(x, '--tolerance', '0'), /--tolerance.*expected a finite number > 0/);
  bad(adaptive(x, '--tolerance', '-1'), /--tolerance.*expected a finite number > 0/);
  bad([...adaptive(x), '--max-n', '10'], /--max-n must be an integer ≥ --n0 = 20 \(got 10\)/);
  bad(adaptive(x, '--radii', '0.5,-0.25'), /--radii.*expected a comma-separated list of finite numbers ≥ 0/);
  bad(
    adaptive(x, '--radii', '0.5', '--tolerance', '0.1'),
    /--radii \(decision mode\) and --tolerance \(radius mode\) ask different questions/,
  );
  bad(['certify', '--model', mnistModel, '--out', x, '--tolerance', '0.1'], /--tolerance applies to adaptive CERTIFY only; add --adaptive/);
  bad([...adaptive(x), '--n', '500'], /in adaptive mode give the budget as --max-n/);
  assert.equal(existsSync(x), false, 'refused runs write nothing');
});

test('weights under any file name are part of the fingerprint: a resume after they changed is refused in one line', async () => {
  // tfjs's own naming (group1-shard1of1.bin), which the loader accepts: model.json does not change with the weights.
  const renamed = join(tmp, 'renamed-model');
  cpSync(mnistModel, renamed, { recursive: true });
  const hashed = readdirSync(renamed).find((f) => f.startsWith('weights-'))!;
  const json = readFileSync(join(renamed, 'model.json'), 'utf8');
  writeFileSync(join(renamed, 'model.json'), json.replace(hashed, 'group1-shard1of1.bin'));
  cpSync(join(renamed, hashed), join(renamed, 'group1-shard1of1.bin'));
  rmSync(join(renamed, hashed));
  const out = join(tmp, 'renamed.tsv');
  assert.equal(cli(['certify', '--model', renamed, '--out', out, '--max', '2', ...quick]).status, 0);
  // Other weights of the same shapes under the same name.
  const other = join(tmp, 'other-weights');
  await saveTinyModel(other, [28, 28, 1], 10, 0.25, 0.01);
  cpSync(join(other, readdirSync(other).find((f) => f.startsWith('weights-'))!), join(renamed, 'group1-shard1of1.bin'));
  const r = cli(['certify', '--model', renamed, '--out', out, '--max', '4', ...quick]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /made with the model whose fingerprint is "[0-9a-f]{16}", but this run has the model whose fingerprint is "[0-9a-f]{16}"/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(rows(out).length, 1 + 2, 'no row added');
});

test('an --n that can never certify or predict is refused in one line, naming the least that can; --radii are sorted once each', () => {
  const c = cli(['certify', '--model', mnistModel, '--out', join(tmp, 'n5.tsv'), '--n', '5', '--n0', '10', '--max', '1']);
  assert.equal(c.status, 2);
  assert.match(c.stderr, /--n 5 can never certify at --alpha 0\.001: .* give --n ≥ 10/);
  assert.equal(existsSync(join(tmp, 'n5.tsv')), false);
  const p = cli(['predict', '--model', mnistModel, '--out', join(tmp, 'n5p.tsv'), '--n', '10', '--max', '1']);
  assert.match(p.stderr, /--n 10 can never predict at --alpha 0\.001: .* give --n ≥ 11/);
  // The least n named does answer: 10 votes of 10 bound p_A above 1/2 at alpha 0.001.
  assert.equal(cli(['certify', '--model', mnistModel, '--out', join(tmp, 'n10.tsv'), '--n', '10', '--n0', '10', '--max', '1']).status, 0);
  // Unsorted, repeated radii ask the same question as sorted ones: the file resumes with either spelling.
  const out = join(tmp, 'radii.tsv');
  const adaptive = (radii: string, max: string) =>
    cli(['certify', '--model', mnistModel, '--out', out, '--adaptive', '--radii', radii, '--max-n', '2000', '--n0', '10', '--max', max]);
  assert.equal(adaptive('0.5,0.25,0.5', '1').status, 0);
  assert.deepEqual(resultSettings(out).radii, [0.25, 0.5]);
  const again = adaptive('0.25,0.5', '2');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(rows(out).length, 1 + 2);
});
