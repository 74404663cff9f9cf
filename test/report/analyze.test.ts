import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/base/errors.js';
import {
  averageCertifiedRadius,
  certifiedAccuracy,
  MAX_RADII,
  parseCertifyTsv,
  radiusGrid,
  totalSamples,
  type CertifyRow,
} from '../../src/report/analyze.js';
import { readCertifyFile, summarize } from '../../src/files/read-results.js';
import { ADAPTIVE_FIXTURE, FIXTURE } from './fixture.js';

// The fixture's 10 examples (idx: radius, outcome):
//   0: 0.8 correct   1: 0.25 correct   2: abstain        3: 1.1 WRONG   4: 1.5 correct
//   5: 0.1 correct   6: abstain        7: 0.5 correct    8: 0.3 WRONG   9: 2.0 correct
// Correct radii: 0.1, 0.25, 0.5, 0.8, 1.5, 2.0 (6 of 10). Counting radius ≥ r among them:
//   r = 0 → 6, 0.25 → 5 (0.25 itself counts), 0.5 → 4 (0.5 counts), 0.75 → 3, 1.0 → 2, 1.5 → 2 (1.5 counts),
//   2.0 → 1, 2.25 → 0. The wrong prediction at 1.1 never counts.
// ACR = (0.1 + 0.25 + 0.5 + 0.8 + 1.5 + 2.0) / 10 = 5.15 / 10 = 0.515.
const RADII = [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.25];
const EXPECTED = [0.6, 0.5, 0.4, 0.3, 0.2, 0.2, 0.1, 0];

const HEADER = 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n';
const row = (radius: number, correct: boolean): CertifyRow => ({ idx: 0, label: 1, predict: correct ? 1 : 2, radius, correct });

test('certified accuracy and ACR of the hand-checked fixture', () => {
  const rows = readCertifyFile(FIXTURE);
  assert.equal(rows.length, 10);
  assert.deepEqual(rows[2], { idx: 2, label: 1, predict: -1, radius: 0, correct: false });
  assert.deepEqual(certifiedAccuracy(rows, RADII), EXPECTED);
  assert.ok(Math.abs(averageCertifiedRadius(rows) - 0.515) < 1e-12);
});

test('summarize reads the file and computes both metrics', () => {
  const summary = summarize(FIXTURE, [0, 0.5]);
  assert.equal(summary.file, FIXTURE);
  assert.equal(summary.rows.length, 10);
  assert.deepEqual(summary.accuracy, [0.6, 0.4]);
  assert.ok(Math.abs(summary.acr - 0.515) < 1e-12);
});

test('a radius equal to the threshold counts; a correct prediction with radius 0 counts at r = 0 only', () => {
  const rows = [row(0, true), row(0.3, true), row(0.3, false)];
  // 0.3 read from text and the grid's 3·0.1 must be the same number, or the column at 0.3 would miss it.
  const grid = radiusGrid(0.1, 0.4);
  assert.deepEqual(grid, [0, 0.1, 0.2, 0.3, 0.4]);
  assert.deepEqual(certifiedAccuracy(rows, grid), [2 / 3, 1 / 3, 1 / 3, 1 / 3, 0]);
  assert.ok(Math.abs(averageCertifiedRadius(rows) - 0.1) < 1e-12); // 0.3 / 3
  assert.throws(() => certifiedAccuracy([], [0]), RangeError);
});

test('radiusGrid includes max and rejects a zero step', () => {
  assert.deepEqual(radiusGrid(0.25, 2.5), [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5]);
  assert.deepEqual(radiusGrid(0.5, 1.2), [0, 0.5, 1]);
  assert.throws(() => radiusGrid(0, 1), UserError);
  // A grid too large for any table is refused at once instead of exhausting memory.
  assert.equal(radiusGrid(1e-5, 1).length, MAX_RADII + 1);
  assert.throws(
    () => radiusGrid(1e-9, 2.5),
    (e: unknown) => e instanceof UserError && /has 2500000001 radii \(at most 100001\)/.test(e.message),
  );
  assert.throws(() => radiusGrid(0.25, 1e12), UserError);
});

test('a smoothcert settings line before the header is skipped, and line numbers still count it', () => {
  const text = `# smoothcert certify {"n":100}\n${HEADER}0\t1\t1\t0.5\t1\t0:00:01\n1\t2\t2\tx\t1\t0:00:01\n`;
  assert.throws(() => parseCertifyTsv(text, 'x.tsv'), /x\.tsv, line 4: radius must be a finite number/);
});

test('a last line without a newline is an interrupted write and is ignored', () => {
  const text = `${HEADER}0\t1\t1\t0.5\t1\t0:00:01\n1\t2\t2\t0.7`;
  assert.deepEqual(parseCertifyTsv(text, 'x.tsv'), [{ idx: 0, label: 1, predict: 1, radius: 0.5, correct: true }]);
  // Windows line ends are tolerated.
  assert.equal(parseCertifyTsv(`${HEADER.replace('\n', '\r\n')}0\t1\t1\t0.5\t1\t2.5\r\n`, 'x.tsv').length, 1);
});

test('malformed input is a UserError naming the file and line', () => {
  const bad = (body: string, pattern: RegExp): void => {
    assert.throws(
      () => parseCertifyTsv(HEADER + body, 'run.tsv'),
      (err: unknown) => err instanceof UserError && pattern.test(err.message),
    );
  };
  bad('0\t1\t1\t0.5\t1\t0:00:01\n\n', /run\.tsv, line 3: expected 6 tab-separated fields, found 1/);
  bad('0\t1\t1\t0.5\t1\n', /line 2: expected 6 .* found 5/);
  bad('0\t1\t1\tabc\t1\t1.0\n', /line 2: radius must be a finite number/);
  bad('0\t1\t1\t-0.5\t1\t1.0\n', /radius must be a finite number ≥ 0/);
  bad('0\t1\t1\t0.5\tyes\t1.0\n', /correct must be 0 or 1/);
  bad('0\t1.5\t1\t0.5\t1\t1.0\n', /label must be an integer/);
  bad('0\t1\t-2\t0\t0\t1.0\n', /predict must be an integer ≥ -1/);
  bad('0\t1\t2\t0.5\t1\t1.0\n', /correct is 1 but predict 2 ≠ label 1/);
  bad('0\t1\t-1\t0.5\t0\t1.0\n', /abstention .* radius 0/);
  bad('0\t1\t1\t0.5\t1\t\n', /time field is empty/);
  bad('0\t1\t1\t0.5\t1\t1.0\n0\t1\t1\t0.5\t1\t1.0\n', /line 3: idx 0 appears twice/);
  bad('', /run\.tsv: no certified examples/);
  assert.throws(() => parseCertifyTsv('idx\tlabel\tpredict\tcorrect\ttime\n', 'p.tsv'), /p\.tsv: header 'idx\\tlabel/);
  assert.throws(() => parseCertifyTsv('', 'e.tsv'), /e\.tsv: no complete header line/);
  assert.throws(
    () => readCertifyFile('/nonexistent/certify.tsv'),
    (err: unknown) => err instanceof UserError && /cannot read \/nonexistent/.test(err.message),
  );
});

// The adaptive fixture's 5 examples (idx: radius, outcome, forward passes):
//   0: 0.8 correct 2300   1: 0.3 correct 15400   2: abstain 900   3: 0.6 WRONG 4100   4: 1.2 correct 100100
// Certified accuracy: r = 0 → 3/5 (0, 1, 4), 0.5 → 2/5 (0, 4), 1.0 → 1/5 (4). ACR = (0.8 + 0.3 + 1.2) / 5 = 0.46.
// Forward passes: 2300 + 15400 + 900 + 4100 + 100100 = 122800.
test('an adaptive certify file: samples and certified radii are read, forward passes totalled', () => {
  const rows = readCertifyFile(ADAPTIVE_FIXTURE);
  assert.deepEqual(rows[1], { idx: 1, label: 8, predict: 8, radius: 0.3, correct: true, samples: 15400, certified: [0, 0.25] });
  assert.deepEqual(rows[2]!.certified, []);
  const summary = summarize(ADAPTIVE_FIXTURE, [0, 0.5, 1]);
  assert.deepEqual(summary.accuracy, [0.6, 0.4, 0.2]);
  assert.ok(Math.abs(summary.acr - 0.46) < 1e-12);
  assert.equal(summary.samples, 122_800);
  // A fixed-n file records no forward passes.
  assert.equal(totalSamples(readCertifyFile(FIXTURE)), undefined);
  assert.equal('samples' in summarize(FIXTURE, [0]), false);
});

test('an adaptive file in radius mode has a samples column and no certified column', () => {
  const text = 'idx\tlabel\tpredict\tradius\tcorrect\tsamples\ttime\n0\t1\t1\t0.5\t1\t3100\t1.0\n1\t2\t-1\t0\t0\t600\t0.2\n';
  const rows = parseCertifyTsv(text, 'r.tsv');
  assert.deepEqual(rows[0], { idx: 0, label: 1, predict: 1, radius: 0.5, correct: true, samples: 3100 });
  assert.equal(totalSamples(rows), 3700);
});

test('malformed adaptive rows are UserErrors naming the file and line', () => {
  const header = 'idx\tlabel\tpredict\tradius\tcorrect\tsamples\tcertified\ttime\n';
  const bad = (body: string, pattern: RegExp): void => {
    assert.throws(
      () => parseCertifyTsv(header + body, 'a.tsv'),
      (err: unknown) => err instanceof UserError && pattern.test(err.message),
    );
  };
  bad('0\t1\t1\t0.5\t1\t0\t0\t1.0\n', /a\.tsv, line 2: samples must be an integer ≥ 1, got '0'/);
  bad('0\t1\t1\t0.5\t1\tmany\t0\t1.0\n', /samples must be an integer/);
  bad('0\t1\t1\t0.5\t1\t100\t0,x\t1.0\n', /certified must be '-' or comma-separated radii ≥ 0, got '0,x'/);
  bad('0\t1\t1\t0.5\t1\t100\t\t1.0\n', /certified must be '-' or comma-separated radii/);
  bad('0\t1\t1\t0.5\t1\t100\t0,0.5\t1.0\n', /certified lists radius 0.5, not below the certified radius 0.5/);
  bad('0\t1\t-1\t0\t0\t100\t0\t1.0\n', /certified lists radius 0, not below the certified radius 0/);
  bad('0\t1\t1\t0.5\t1\t100\t1.0\n', /expected 8 tab-separated fields, found 7/);
});
