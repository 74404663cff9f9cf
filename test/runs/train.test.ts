import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/backend/select.js';
import { SettingError } from '../../src/base/errors.js';
import type { TrainSpec } from '../../src/training/config.js';
import { CHECKPOINT_FILE, LOG_FILE } from '../../src/base/run-folder.js';
import { train, type EpochRecord } from '../../src/runs/train.js';
import { readCheckpoint } from '../../src/files/checkpoint.js';

await initBackend();
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-run-'));
const spec: TrainSpec = { sigma: 0.5, trainSize: 192, batchSize: 64, evalSize: 64, epochs: 3, lbd: 5 };
const quiet = { notify: () => {} };

/** Trains `spec` into `out`, collecting the epoch records. */
async function run(out: string, extra: Parameters<typeof train>[1] extends infer O ? Partial<O> : never = {}, s: TrainSpec = spec) {
  const epochs: EpochRecord[] = [];
  const result = await train(s, { out, ...quiet, onEpoch: (e) => epochs.push(e), ...extra });
  return { result, epochs };
}

const straight = await run(join(tmp, 'straight'));

test('the library trains a run to its last epoch and logs each epoch once', () => {
  assert.equal(straight.result.interrupted, false);
  assert.equal(straight.result.epochsDone, 3);
  assert.deepEqual(
    straight.epochs.map((e) => e.epoch),
    [1, 2, 3],
  );
  assert.ok(straight.epochs.every((e) => Number.isFinite(e.trainLoss) && e.trainLoss > 0));
  const lines = readFileSync(join(tmp, 'straight', LOG_FILE), 'utf8')
    .trim()
    .split('\n');
  // After the settings line and the header.
  assert.match(lines[0]!, /^# smoothcert train \{.*"precision":"fp32"/);
  assert.deepEqual(
    lines.slice(2).map((l) => l.split('\t')[0]),
    ['0', '1', '2'],
  );
});

/** The model's weights file: saveModel names it by the hash of its bytes, so equal names are equal weights. */
function weightsFile(out: string): string {
  const files = readdirSync(out).filter((f) => /^weights-[0-9a-f]{16}\.bin$/.test(f));
  assert.equal(files.length, 1, `${out}: one weights file`);
  return files[0]!;
}

test('two runs of the same spec and seed end with bit-identical weights and losses', async () => {
  const again = await run(join(tmp, 'again'));
  assert.equal(weightsFile(join(tmp, 'again')), weightsFile(join(tmp, 'straight')));
  assert.deepEqual(
    again.epochs.map((e) => [e.trainLoss, e.testLoss]),
    straight.epochs.map((e) => [e.trainLoss, e.testLoss]),
  );
});

test('a run aborted at three moments (mid-epoch 1, after epoch 1, mid-epoch 2) resumes in-process to the uninterrupted bits', async () => {
  for (const where of ['mid-epoch-1', 'after-epoch-1', 'mid-epoch-2'] as const) {
    const out = join(tmp, where);
    const controller = new AbortController();
    const midEpoch = where === 'mid-epoch-1' ? 0 : 1;
    const first = await run(out, {
      signal: controller.signal,
      ...(where === 'after-epoch-1'
        ? {
            onEpoch: (e: EpochRecord) => {
              if (e.epoch === 1) controller.abort();
            },
          }
        : {
            onProgress: (epoch: number, p: { images: number }, total: number) => {
              if (epoch === midEpoch && p.images >= total / 2) controller.abort();
            },
          }),
    });
    assert.equal(first.result.interrupted, true, where);
    const done = where === 'mid-epoch-1' ? 0 : 1;
    assert.equal(first.result.epochsDone, done, where);
    const resumed = await run(out, { resume: true });
    assert.equal(resumed.result.interrupted, false);
    // Every epoch after the last checkpoint is recomputed with exactly the uninterrupted run's bits.
    assert.deepEqual(
      resumed.epochs.map((e) => [e.epoch, e.trainLoss, e.testLoss]),
      straight.epochs.slice(done).map((e) => [e.epoch, e.trainLoss, e.testLoss]),
      where,
    );
    assert.equal(weightsFile(out), weightsFile(join(tmp, 'straight')), `${where}: the same weights`);
    const log = readFileSync(join(out, LOG_FILE), 'utf8').trim().split('\n');
    assert.deepEqual(
      log.slice(2).map((l) => l.split('\t')[0]),
      ['0', '1', '2'],
      `${where}: each epoch logged once`,
    );
  }
});

test('resuming with a setting that contradicts the run is refused, naming the setting', async () => {
  await assert.rejects(
    run(join(tmp, 'straight'), { resume: true }, { sigma: 0.25 }),
    (e: unknown) => e instanceof SettingError && e.setting === 'sigma' && /started with sigma 0.5, not 0.25/.test(e.message),
  );
  await assert.rejects(
    run(join(tmp, 'straight'), { resume: true }, { lbd: 10 }),
    (e: unknown) => e instanceof SettingError && e.setting === 'lbd',
  );
  // Settings that agree, or are left out, resume (here: nothing left to do).
  const again = await run(join(tmp, 'straight'), { resume: true }, { sigma: 0.5, lbd: 5 });
  assert.deepEqual([again.result.epochsDone, again.epochs.length], [3, 0]);
});

test('a diverging run stops with a clear error and saves no broken model', async () => {
  const out = join(tmp, 'diverge');
  // A learning rate this large sends the loss to infinity within the first epoch.
  await assert.rejects(
    run(out, {}, { ...spec, lbd: undefined, lr: 1e12, method: 'gaussian' }),
    /training diverged: the loss is (NaN|Infinity|-Infinity)/,
  );
  assert.equal(existsSync(join(out, 'model.json')), false, 'model.json was not written');
  // Only the run's starting point is committed: it resumes from epoch 0, never from the diverged weights.
  assert.equal(readCheckpoint<{ position: { epoch: number } }>(join(out, CHECKPOINT_FILE)).state.position.epoch, 0);
});
