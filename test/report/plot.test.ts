import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { UserError } from '../../src/base/errors.js';
import { readCertifyFile } from '../../src/files/read-results.js';
import { writePlot } from '../../src/files/plot.js';
import { plotSpec, trainingPlotSpec, type PlotSeries } from '../../src/report/plot-spec.js';
import { parseTrainingLog } from '../../src/report/training-log.js';
import { FIXTURE } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'smoothcert-plot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fixture = readCertifyFile(FIXTURE);
// A second curve: two examples, certified correctly at radius 1 and 3 → accuracy 1 up to r = 1, then 1/2 up to 3.
const other = [
  { idx: 0, label: 0, predict: 0, radius: 1, correct: true },
  { idx: 1, label: 1, predict: 1, radius: 3, correct: true },
];
const SERIES: PlotSeries[] = [
  { label: 'gaussian', rows: fixture },
  { label: 'consistency', rows: other },
];

test('the spec samples each curve on a 0.01 grid up to one step past the largest radius', () => {
  const spec = plotSpec(SERIES) as unknown as { data: { values: { model: string; radius: number; accuracy: number }[] } };
  const at = (model: string, radius: number): number | undefined =>
    spec.data.values.find((v) => v.model === model && Math.abs(v.radius - radius) < 1e-9)?.accuracy;
  // Fixture values worked out in analyze.test.ts.
  assert.equal(at('gaussian', 0), 0.6);
  assert.equal(at('gaussian', 0.25), 0.5);
  assert.equal(at('gaussian', 0.26), 0.4);
  assert.equal(at('gaussian', 2.5), 0);
  assert.equal(at('consistency', 1), 1);
  assert.equal(at('consistency', 1.01), 0.5);
  assert.equal(at('consistency', 3), 0.5);
  assert.equal(at('consistency', 3.01), 0);
  assert.equal(at('consistency', 3.02), undefined);
  assert.equal(spec.data.values.length, 2 * 302);
});

test('writes an SVG with the labels and a PNG, atomically', async () => {
  const svgFile = join(dir, 'curves.svg');
  await writePlot(SERIES, svgFile);
  const svg = readFileSync(svgFile, 'utf8');
  assert.ok(svg.startsWith('<svg'), svg.slice(0, 40));
  assert.match(svg, />gaussian</);
  assert.match(svg, />consistency</);
  assert.match(svg, /Certified accuracy/);

  const pngFile = join(dir, 'curves.png');
  await writePlot(SERIES, pngFile);
  const png = readFileSync(pngFile);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(readdirSync(dir).sort(), ['curves.png', 'curves.svg'], 'no temporary file left behind');
});

test('an unknown image type is a UserError', async () => {
  await assert.rejects(
    writePlot(SERIES, join(dir, 'curves.pdf')),
    (err: unknown) => err instanceof UserError && /\.svg or \.png/.test(err.message),
  );
});

test('the accuracy chart of a committed study run holds its percentages (log.tsv is in percent)', () => {
  const file = fileURLToPath(new URL('../../../docs/results/fashion-mnist/consistency-s0.5/log.tsv', import.meta.url));
  const rows = parseTrainingLog(readFileSync(file, 'utf8'), file);
  const spec = trainingPlotSpec([{ label: 'consistency-s0.5', rows }], 'acc') as unknown as {
    data: { values: { value: number }[] };
    encoding: { y: { scale: { domain: [number, number] } } };
  };
  const [lo, hi] = spec.encoding.y.scale.domain;
  const values = spec.data.values.map((v) => v.value);
  assert.ok(Math.max(...values) > 50, 'the study reaches more than 50 % accuracy');
  assert.ok(
    values.every((v) => v >= lo && v <= hi),
    `every value in [${lo}, ${hi}]`,
  );
});

test('a plot of 300,000 rows (three ImageNet-validation-sized TSVs) does not overflow the stack', () => {
  const rows = Array.from({ length: 300_000 }, (_, i) => ({
    idx: i,
    label: 0,
    predict: i % 5 === 0 ? -1 : 0,
    radius: (i % 997) / 500,
    correct: i % 5 !== 0,
    time: '0:00:00.1',
  }));
  const spec = plotSpec([
    { label: 'a', rows },
    { label: 'b', rows },
  ]) as unknown as { data: { values: { radius: number }[] } };
  assert.ok(Math.max(...spec.data.values.map((v) => v.radius)) > 1.99, 'the grid reaches the largest radius');
});
