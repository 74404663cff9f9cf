import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EpochLog } from '../../src/files/epoch-log.js';
import { EPOCH_LOG_COLUMNS } from '../../src/report/training-log.js';

const dir = mkdtempSync(join(tmpdir(), 'smoothcert-epochlog-'));
const header = EPOCH_LOG_COLUMNS.join('\t');

test('a new log starts with the reference header and appends whole lines', () => {
  const path = join(dir, 'new.tsv');
  const log = new EpochLog(path, 0);
  log.append([0, 1.5, 0.01, 2.3, 10, 2.2, 12]);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\t1.5\t0.01\t2.3\t10\t2.2\t12\n`);
});

test('reopening for a checkpoint of k epochs drops the lines of later epochs', () => {
  // Epoch 2 was logged, then the run was killed before its checkpoint: the checkpoint covers 2 epochs.
  const path = join(dir, 'killed.tsv');
  writeFileSync(path, `${header}\n0\ta\n1\tb\n2\tc\n`);
  const log = new EpochLog(path, 2);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n`);
  log.append([2, 'd']);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n2\td\n`);
  new EpochLog(path, 3);
  assert.equal(readFileSync(path, 'utf8'), `${header}\n0\ta\n1\tb\n2\td\n`, 'lines the checkpoint covers are kept');
});
