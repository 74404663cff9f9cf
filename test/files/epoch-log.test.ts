import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EpochLog } from '../../src/files/epoch-log.js';
import { EPOCH_LOG_COLUMNS, parseTrainingLog, TRAIN_SETTINGS_PREFIX } from '../../src/report/training-log.js';

const dir = mkdtempSync(join(tmpdir(), 'smoothcert-epochlog-'));
const header = EPOCH_LOG_COLUMNS.join('\t');

const settings = { sigma: 0.5, precision: 'bf16' };
const settingsLine = `${TRAIN_SETTINGS_PREFIX}${JSON.stringify(settings)}`;

test("a new log starts with the run's settings and the reference header, and appends whole lines", () => {
  const path = join(dir, 'new.tsv');
  const log = new EpochLog(path, 0, settings);
  log.append([0, 1.5, 0.01, 2.3, 10, 2.2, 12]);
  const text = readFileSync(path, 'utf8');
  assert.equal(text, `${settingsLine}\n${header}\n0\t1.5\t0.01\t2.3\t10\t2.2\t12\n`);
  assert.deepEqual(JSON.parse(text.split('\n')[0]!.slice(TRAIN_SETTINGS_PREFIX.length)), settings);
  assert.equal(parseTrainingLog(text, 'new.tsv')[0]!.train_acc, 10, 'the settings line is no epoch');
  assert.throws(() => parseTrainingLog(`${settingsLine}\n${header}\n0\tx\n`, 'bad.tsv'), /bad\.tsv, line 3:/);
});

test('reopening for a checkpoint of k epochs drops the lines of later epochs', () => {
  // Epoch 2 was logged, then the run was killed before its checkpoint: the checkpoint covers 2 epochs.
  const path = join(dir, 'killed.tsv');
  writeFileSync(path, `${header}\n0\ta\n1\tb\n2\tc\n`);
  const log = new EpochLog(path, 2, settings);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n`, 'a log from before the settings line keeps its form');
  log.append([2, 'd']);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n2\td\n`);
  new EpochLog(path, 3, settings);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n2\td\n`, 'lines the checkpoint covers are kept');
  const withSettings = join(dir, 'killed-settings.tsv');
  writeFileSync(withSettings, `${settingsLine}\n${header}\n0\ta\n1\tb\n`);
  new EpochLog(withSettings, 1, settings);
  assert.equal(readFileSync(withSettings, 'utf8'), `${settingsLine}\n${header}\n0\ta\n`, 'the settings line stays');
});
