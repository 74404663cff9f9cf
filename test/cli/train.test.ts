import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliStart, startUntil } from '../helpers/cli.js';
import { readCheckpoint } from '../../src/files/checkpoint.js';
import { resultRows, resultSettings } from '../helpers/results.js';
import { loadAddon } from '../../src/backend/addon.js';

/** Whether oneDNN runs bf16 here (AVX512-BF16 or AMX). */
const bf16Cpu = loadAddon().addon?.info().bf16 === true;

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-train-'));
const small = ['--sigma', '0.5', '--train-size', '192', '--batch', '64', '--eval-size', '64', '--epochs', '3'];
/** Epochs the run's checkpoint has committed (0 for its starting point, -1 before it exists). */
function epochsCommitted(run: string): number {
  try {
    return readCheckpoint<{ position: { epoch: number } }>(join(run, 'checkpoint.ckpt')).state.position.epoch;
  } catch {
    return -1;
  }
}
/** log.tsv's header and epoch lines, split into fields (its first line, the run's settings, left out). */
const logRows = (dir: string) =>
  readFileSync(join(dir, 'log.tsv'), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split('\t'));

test('a run killed after its first checkpoint resumes with every epoch logged exactly once', async () => {
  const run = join(tmp, 'killed');
  const child = cliStart(['train', '--out', run, ...small]);
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (epochsCommitted(run) >= 1) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve();
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== null) reject(new Error(`run ended (${code}) before it was killed`));
    });
  });
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(logRows(run).length - 1 < 3, 'the run was killed before its last epoch');
  const resumed = cli(['train', '--out', run, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* after epoch [12] of 3/);
  const rows = logRows(run);
  assert.deepEqual(rows[0], ['epoch', 'time', 'lr', 'train_loss', 'train_acc', 'test_loss', 'test_acc']);
  assert.deepEqual(
    rows.slice(1).map((r) => r[0]),
    ['0', '1', '2'],
  );

  // The resumed run continues exactly as an uninterrupted one (same noise, order and state).
  const straight = join(tmp, 'straight');
  assert.equal(cli(['train', '--out', straight, ...small]).status, 0);
  const losses = (dir: string) =>
    logRows(dir)
      .slice(1)
      .map((r) => Number(r[3]));
  losses(run).forEach((l, i) => assert.ok(Math.abs(l - losses(straight)[i]!) < 2e-3, `epoch ${i}: ${l} vs ${losses(straight)[i]}`));
  // The run folder is a model that certify accepts.
  const out = join(tmp, 'certify.tsv');
  const c = cli(['certify', '--model', run, '--out', out, '--max', '2', '--n0', '10', '--n', '100', '--batch', '100']);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(resultSettings(out).sigma, 0.5);
});

test('bad training input gives a clear error, a non-zero exit, and overwrites nothing', () => {
  const expect = (args: string[], pattern: RegExp) => {
    const r = cli(['train', ...args]);
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, pattern);
  };
  const out = join(tmp, 'bad');
  expect(['--out', out, '--sigma', '0.5', '--arch', 'vgg16'], /--arch.*vgg16.*Allowed choices are lenet, cifar_resnet20/);
  expect(['--out', out, '--sigma', '0.5', '--method', 'mixup'], /--method.*mixup.*Allowed choices are gaussian, consistency/);
  expect(['--out', out, '--sigma', '0.5', '--dataset', 'svhn'], /--dataset.*svhn.*Allowed choices are fashion-mnist/);
  expect(['--out', out, '--sigma', '0.5', '--num-noise', '1'], /needs m ≥ 2 noisy copies/);
  expect(['--out', out, '--sigma', '-0.25'], /--sigma.*expected a noise level > 0/);
  expect(['--out', out, '--sigma', '0.5', '--lbd', '-1'], /--lbd.*expected a finite number ≥ 0/);
  expect(
    ['--out', out, '--sigma', '0.5', '--arch', 'cifar_resnet20'],
    /architecture "cifar_resnet20" expects 32×32×3.*fashion-mnist.*choose one of: lenet/,
  );
  expect(['--out', out], /--sigma is required/);
  assert.equal(existsSync(out), false, 'a refused run leaves no folder behind');

  // A finished run is never overwritten by a new one, and a corrupt checkpoint is refused.
  const done = join(tmp, 'done');
  assert.equal(cli(['train', '--out', done, ...small, '--epochs', '1']).status, 0);
  const before = Object.fromEntries(readdirSync(done).map((f) => [f, readFileSync(join(done, f)).toString('base64')]));
  expect(['--out', done, ...small], /already holds a training run; continue it with --resume/);
  expect(['--out', done, '--resume', '--sigma', '0.25'], /started with --sigma 0.5, not 0.25/);
  const after = Object.fromEntries(readdirSync(done).map((f) => [f, readFileSync(join(done, f)).toString('base64')]));
  assert.deepEqual(after, before);
  // A folder holding a model but no checkpoint (e.g. a copied model) is not trained over either.
  const copy = join(tmp, 'copy');
  mkdirSync(copy);
  writeFileSync(join(copy, 'model.json'), readFileSync(join(done, 'model.json')));
  expect(['--out', copy, ...small], /already holds a model \(model\.json\) that no training run here produced/);
  assert.deepEqual(readFileSync(join(copy, 'model.json')), readFileSync(join(done, 'model.json')));
  writeFileSync(join(done, 'checkpoint.ckpt'), 'not a checkpoint');
  expect(['--out', done, '--resume'], /checkpoint .*checkpoint\.ckpt is corrupt/);
  expect(
    ['--out', join(tmp, 'never'), '--resume'],
    /holds no training run to resume \(no checkpoint\.ckpt\); start the run without --resume/,
  );
});

test('the demo trains, certifies and reports end to end (smoke test at toy scale)', () => {
  const out = join(tmp, 'demo');
  const r = cli(['demo', '--out', out, '--epochs', '1', '--train-size', '64', '--examples', '4', '--n', '50']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| Model \| ACR \| 0\.00 \| 0\.25 \|/);
  assert.equal(resultRows(join(out, 'certify.tsv')).length, 1 + 4);
  assert.deepEqual([...readFileSync(join(out, 'certified-accuracy.png')).subarray(1, 4)], [0x50, 0x4e, 0x47]);
});

test('ImageNet folders train a ResNet-50 end to end (streamed decoding, random resized crops)', async (t) => {
  if (process.env.SMOOTHCERT_BACKEND === 'wasm') {
    t.skip('a ResNet-50 step takes tens of seconds on tfjs-wasm; the native run covers this path');
    return;
  }
  const { default: sharp } = await import('sharp');
  const root = join(tmp, 'imagenet');
  for (const [split, wnid, shade] of [
    ['train', 'n01', 40],
    ['train', 'n02', 200],
    ['val', 'n01', 50],
    ['val', 'n02', 190],
  ] as const) {
    mkdirSync(join(root, split, wnid), { recursive: true });
    const image = sharp({ create: { width: 300, height: 260, channels: 3, background: { r: shade, g: shade / 2, b: 255 - shade } } });
    await image.jpeg().toFile(join(root, split, wnid, 'a.JPEG'));
  }
  const out = join(tmp, 'imagenet-run');
  const r = cli([
    'train',
    '--dataset',
    'imagenet',
    '--data-dir',
    root,
    '--arch',
    'resnet50',
    '--method',
    'gaussian',
    '--sigma',
    '0.5',
    '--out',
    out,
    '--epochs',
    '1',
    '--batch',
    '2',
    '--eval-size',
    '1',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(out, 'smoothcert.json'), 'utf8'));
  assert.deepEqual([meta.arch, meta.dataset, meta.inputShape, meta.numClasses], ['resnet50', 'imagenet', [224, 224, 3], 2]);
  assert.equal(logRows(out).length, 2);
});

test('a second trainer on the same run folder is refused; Ctrl-C stops the first within seconds and it resumes to the uninterrupted losses', async () => {
  const run = join(tmp, 'sigint');
  const longer = ['--sigma', '0.5', '--train-size', '640', '--batch', '64', '--eval-size', '64', '--epochs', '3'];
  const first = await startUntil(['train', '--out', run, ...longer], () => epochsCommitted(run) >= 1);
  // Paused while the second trainer tries, so that a fast machine cannot finish the run (and free the folder) first.
  first.child.kill('SIGSTOP');
  const second = cli(['train', '--out', run, '--resume']);
  const sent = performance.now();
  first.child.kill('SIGINT'); // pending while it is stopped: handled as soon as it runs again, in its second epoch
  first.child.kill('SIGCONT');
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`training run folder .*sigint is in use by process ${first.child.pid} `));
  assert.equal(await first.exited, 130, first.stderr());
  assert.ok(performance.now() - sent < 2000, `stopped ${(performance.now() - sent).toFixed(0)} ms after Ctrl-C`);
  assert.match(
    first.stderr(),
    /interrupted: .*sigint holds [12] finished epoch\(s\); continue with: smoothcert train --out .*sigint --resume/,
  );
  const resumed = cli(['train', '--out', run, '--resume']);
  assert.equal(resumed.status, 0, resumed.stderr);
  const straight = join(tmp, 'sigint-straight');
  assert.equal(cli(['train', '--out', straight, ...longer]).status, 0);
  // The same numbers up to float rounding: the native backend's reductions may differ in the last bits
  // between processes (OpenMP), and the noisy test accuracy counts 64 images.
  const [a, b] = [logRows(run).slice(1), logRows(straight).slice(1)];
  assert.deepEqual(
    a.map((r) => r[0]),
    b.map((r) => r[0]),
  );
  a.forEach((row, i) => {
    for (const [col, tol] of [
      [3, 5e-3],
      [5, 5e-3],
      [4, 0.5],
      [6, 2],
    ] as const) {
      assert.ok(Math.abs(Number(row[col]) - Number(b[i]![col])) <= tol, `epoch ${i}, column ${col}: ${row[col]} vs ${b[i]![col]}`);
    }
  });
});

test('a run killed between its first log line and its first checkpoint resumes from the start', () => {
  const run = join(tmp, 'no-checkpoint');
  assert.equal(cli(['train', '--out', run, ...small, '--epochs', '1']).status, 0);
  // What a kill after the log line and the model but before the checkpoint leaves behind.
  rmSync(join(run, 'checkpoint.ckpt'));
  const fresh = cli(['train', '--out', run, ...small, '--epochs', '1']);
  assert.equal(fresh.status, 2);
  assert.match(fresh.stderr, /already holds a training run; continue it with --resume/);
  const resumed = cli(['train', '--out', run, '--resume', ...small, '--epochs', '1']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /no checkpoint yet .* starting the run from epoch 0/);
  assert.deepEqual(
    logRows(run)
      .slice(1)
      .map((r) => r[0]),
    ['0'],
  );
});

test("Ctrl-C before the first epoch finishes prints the README's --resume command, and that command runs it", async () => {
  const run = join(tmp, 'first-epoch');
  // 50 batches: the signal lands long before the first epoch could finish.
  const longer = ['--sigma', '0.5', '--train-size', '3200', '--batch', '64', '--eval-size', '64', '--epochs', '1'];
  const first = await startUntil(['train', '--out', run, ...longer], () => existsSync(join(run, 'log.tsv')));
  first.child.kill('SIGINT');
  assert.equal(await first.exited, 130, first.stderr());
  assert.equal(existsSync(join(run, 'checkpoint.ckpt')), true, 'the starting point is committed');
  const hint = /holds 0 finished epoch\(s\); continue with: smoothcert (.*)\n/.exec(first.stderr());
  assert.ok(hint, first.stderr());
  const args = hint[1]!.split(' ');
  assert.deepEqual(args, ['train', '--out', run, '--resume']);
  const again = cli(args);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(
    logRows(run)
      .slice(1)
      .map((r) => r[0]),
    ['0'],
  );
});

test('flag errors name flags that exist', () => {
  const r = cli(['train', '--out', join(tmp, 'flags'), '--sigma', '0.5', '--method', 'gaussian', '--consistency-loss', 'kl']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /option --consistency-loss does not apply to method gaussian \(its options: --num-noise\)/);
  const steps = cli(['train', '--out', join(tmp, 'flags'), '--sigma', '0.5', '--lr-steps', '5,-1']);
  assert.notEqual(steps.status, 0);
  assert.match(steps.stderr, /--lr-steps.*expected an increasing list of epochs, integers ≥ 0, got "5,-1"/);
  const seed = cli(['train', '--out', join(tmp, 'flags'), '--sigma', '0.5', '--seed', '1e300']);
  assert.match(seed.stderr, /--seed.*expected an integer ≥ 0/);
  assert.equal(existsSync(join(tmp, 'flags')), false);
});

test("the README's recovery command works at every point: killed early in epoch 1, mid-run, after the last epoch", async () => {
  const weights = (dir: string) => readdirSync(dir).filter((f) => /^weights-[0-9a-f]{16}\.bin$/.test(f));
  const straight = join(tmp, 'recover-straight');
  assert.equal(cli(['train', '--out', straight, ...small]).status, 0);
  for (const [name, ready] of [
    ['recover-early', (run: string) => existsSync(join(run, 'log.tsv'))],
    ['recover-mid', (run: string) => existsSync(join(run, 'log.tsv')) && logRows(run).length >= 2],
  ] as const) {
    const run = join(tmp, name);
    const first = await startUntil(['train', '--out', run, ...small], () => ready(run));
    first.child.kill('SIGKILL');
    await first.exited;
    // What a kill during the weights' write leaves: a temporary file under the next hash's name.
    writeFileSync(join(run, '.weights-0123456789abcdef.bin.tmp'), 'partial');
    const resumed = cli(['train', '--out', run, '--resume']);
    assert.equal(resumed.status, 0, `${name}: ${resumed.stderr}`);
    assert.deepEqual(weights(run), weights(straight), `${name}: the uninterrupted run's weights`);
    assert.deepEqual(
      readdirSync(run).filter((f) => f.endsWith('.tmp')),
      [],
      `${name}: no temporary file left`,
    );
  }
  const done = cli(['train', '--out', straight, '--resume']);
  assert.equal(done.status, 0, done.stderr);
  assert.deepEqual(
    logRows(straight)
      .slice(1)
      .map((r) => r[0]),
    ['0', '1', '2'],
  );
});

test('a run that could take no step, a subset beyond the split and unsorted --lr-steps are refused in one line', () => {
  for (const [args, pattern] of [
    [
      ['--train-size', '1'],
      /--train-size 1 is fewer than the 2 noisy copies each step splits a batch into, so no training step would be taken/,
    ],
    [['--batch', '1'], /--batch 1 is fewer than the 2 noisy copies/],
    [['--train-size', '100000'], /--train-size is 100000 but the fashion-mnist training split has \d+ images/],
    [['--lr-steps', '60,30'], /--lr-steps.*an increasing list of epochs/],
    [['--lr-steps', '30,30'], /--lr-steps.*an increasing list of epochs/],
  ] as const) {
    const run = join(tmp, `refused-${args.join('')}`);
    const r = cli(['train', '--out', run, '--sigma', '0.5', '--eval-size', '64', '--epochs', '1', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(join(run, 'checkpoint.ckpt')) && !existsSync(join(run, 'model.json')), 'nothing trained was saved');
  }
});

test('--precision bf16 is recorded in smoothcert.json, the checkpoint and log.tsv; a resume cannot change it', {
  skip: !bf16Cpu && 'this CPU lacks AVX512-BF16 (the refusal is tested below)',
}, () => {
  const run = join(tmp, 'bf16');
  const args = ['train', '--out', run, ...small.slice(0, -1), '1', '--precision', 'bf16'];
  const r = cli(args);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(run, 'smoothcert.json'), 'utf8')) as { training: { precision: string } };
  assert.equal(meta.training.precision, 'bf16');
  assert.equal(readCheckpoint<{ config: { precision: string } }>(join(run, 'checkpoint.ckpt')).state.config.precision, 'bf16');
  const settings = readFileSync(join(run, 'log.tsv'), 'utf8').split('\n')[0]!;
  assert.equal(JSON.parse(settings.replace(/^# smoothcert train /, '')).precision, 'bf16');
  const changed = cli(['train', '--out', run, '--resume', '--precision', 'fp32']);
  assert.notEqual(changed.status, 0);
  assert.match(changed.stderr, /^smoothcert: error: the run was started with --precision "bf16", not "fp32"[^\n]*\n$/);
  // The saved weights are float32: the model certifies in fp32 and in bf16.
  for (const precision of ['fp32', 'bf16']) {
    const out = join(tmp, `bf16-certify-${precision}.tsv`);
    const c = cli(['certify', '--model', run, '--out', out, '--max', '2', '--n0', '10', '--n', '100', '--precision', precision]);
    assert.equal(c.status, 0, c.stderr);
  }
});

test('--precision bf16 is refused in one line where oneDNN has no bf16 units (DNNL_MAX_CPU_ISA=AVX2), and nothing is written', () => {
  const run = join(tmp, 'bf16-avx2');
  const r = cli(['train', '--out', run, ...small, '--precision', 'bf16'], { DNNL_MAX_CPU_ISA: 'AVX2' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^smoothcert: error: --precision bf16 needs a CPU with AVX512-BF16 or AMX[^\n]*fp32\n$/);
  assert.equal(existsSync(run), false, 'the run folder was not created');
});
