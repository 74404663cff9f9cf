import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { averageCertifiedRadius, parseCertifyTsv } from '../../src/report/analyze.js';
import { parseTrainingLog } from '../../src/report/training-log.js';
import { loadModel } from '../../src/files/model-folder.js';
import { loadDataset } from '../../src/loaders/registry.js';
import { Smooth } from '../../src/smoothing/smooth.js';
import { tfjsClassifier } from '../../src/smoothing/tfjs-classifier.js';
import { SUBSTREAM } from '../../src/noise/gaussian.js';
import { BIN } from '../helpers/cli.js';
import { makeRunsFolder, STUDY_BF16, STUDY_LOG, type RunsFixture } from './fixture.js';

// The page in Debian's chromium (never a downloaded browser), against `smoothcert serve` on a fixture
// runs folder. The page computes on tfjs-wasm, so its counts are compared with the library's in Node
// on tfjs-wasm: on the native backend the comparison would be between engines, and the test is skipped.
// Screenshots go to the test's temporary folder, and to docs/screenshots when SMOOTHCERT_SCREENSHOTS=1.

const CHROMIUM = '/usr/bin/chromium';
const SETTINGS = { sigma: 0.25, n: 300, n0: 30, alpha: 0.001, seed: 7, batch: 100, image: 2 };
const onWasm = tf.getBackend() === 'wasm';
const dir = mkdtempSync(join(tmpdir(), 'smoothcert-e2e-'));
const shots = process.env.SMOOTHCERT_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url)) : dir;
let fixture: RunsFixture;
let server: ChildProcess;
let url: string;
let browser: Browser;
let page: Page;

before(async () => {
  if (!onWasm) return;
  mkdirSync(join(dir, 'runs'));
  fixture = await makeRunsFolder(join(dir, 'runs'));
  server = spawn(process.execPath, [BIN, 'serve', '--runs', fixture.root, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      if (found !== undefined) resolve(found);
    });
    server.once('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
  // Nothing may come from anywhere but the local server.
  await page.route('**/*', (route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  assert.deepEqual(problems, []);
});

after(async () => {
  await browser?.close();
  server?.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
});

test("the dashboard shows the runs, the ACR analyze computes, and the corrupt file's problem", {
  skip: !onWasm && 'needs the wasm backend',
}, async () => {
  const rows = parseCertifyTsv(readFileSync(fixture.certify, 'utf8'), fixture.certify);
  const acr = averageCertifiedRadius(rows).toFixed(3);
  const cell = page.locator('tr[data-file="tiny/certify-0.25.tsv"] td.acr');
  await cell.waitFor({ timeout: 15_000 });
  assert.equal(await cell.textContent(), acr);
  assert.match((await page.locator('[data-run="broken"]').textContent()) ?? '', /radius must be a finite number ≥ 0, got 'lots'/);
  await page.locator('#plot-certify svg').waitFor();
  await page.locator('#plot-acc svg').waitFor();
  // A committed study run: log.tsv holds percent, shown as such, not multiplied by 100 again.
  const study = parseTrainingLog(readFileSync(STUDY_LOG, 'utf8'), STUDY_LOG);
  const last = study[study.length - 1]!;
  assert.ok(last.test_acc > 1 && last.test_acc <= 100, 'the study log is in percent');
  assert.equal(
    await page.locator('.file-row[data-key="study/log.tsv"] .summary').textContent(),
    `${study.length} epochs, test accuracy ${last.test_acc.toFixed(1)} %`,
  );
  assert.match(
    (await page.locator('.file-row[data-key="study-bf16/smoothcert.json"] .summary').textContent()) ?? '',
    /^model lenet on fashion-mnist, consistency, σ = 0\.5, trained in bf16$/,
  );
  // Its log starts with the run's settings line, which is no epoch.
  const bf16Log = parseTrainingLog(readFileSync(join(STUDY_BF16, 'log.tsv'), 'utf8'), STUDY_BF16);
  assert.equal(
    await page.locator('.file-row[data-key="study-bf16/log.tsv"] .summary').textContent(),
    `${bf16Log.length} epochs, test accuracy ${bf16Log.at(-1)!.test_acc.toFixed(1)} %`,
  );
  await page.locator('.file-row[data-key="study/log.tsv"] input[type=checkbox]').check();
  await page.waitForFunction(
    () => document.querySelectorAll('#plot-acc svg path').length > 0 && document.querySelector('#plot-acc')?.textContent?.includes('study'),
  );
  const height = await page.locator('#plot-acc svg').evaluate((svg) => svg.getBoundingClientRect().height);
  assert.ok(height < 600, `the accuracy chart is ${height} px tall`);
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
});

test('the playground certifies in the page with the counts of Smooth in Node (tfjs-wasm, same seed)', {
  skip: !onWasm && 'needs the wasm backend',
}, async () => {
  await page.click('#tab-playground');
  await page.selectOption('#model-select', 'tiny');
  await page.locator(`#samples canvas[data-index="${SETTINGS.image}"]`).click({ timeout: 20_000 });
  for (const key of ['sigma', 'n', 'n0', 'alpha', 'seed', 'batch'] as const) await page.fill(`#${key}`, String(SETTINGS[key]));
  await page.click('#certify');
  await page.locator('#result[data-counts]').waitFor({ timeout: 30_000 });
  await page.locator('#gaps svg').waitFor();
  const shown = await page.locator('#result').evaluate((el) => ({ ...(el as HTMLElement).dataset }));

  const { model } = await loadModel(fixture.good);
  const x = await (await loadDataset('fashion-mnist', 'test')).image(SETTINGS.image);
  const smooth = new Smooth(tfjsClassifier(model), SETTINGS.sigma, SETTINGS.seed);
  const expected = await smooth.certify(x, SETTINGS.n0, SETTINGS.n, SETTINGS.alpha, SETTINGS.batch, SETTINGS.image);
  const counts = await smooth.sampleCounts(x, SETTINGS.n, SETTINGS.batch, {
    seed: SETTINGS.seed,
    stream: SETTINGS.image,
    substream: SUBSTREAM.estimate,
  });
  model.dispose();
  assert.deepEqual(JSON.parse(shown.counts!), [...counts]);
  assert.equal(Number(shown.nA), expected.nA);
  assert.equal(Number(shown.prediction), expected.prediction);
  assert.equal(Number(shown.radius), expected.radius);

  // The fixture's model certifies this image; a step inside the radius leaves the smoothed prediction alone.
  assert.equal(expected.prediction, 1);
  {
    await page.fill('#epsilon', String(expected.radius * 0.9));
    await page.click('#attack');
    const attacked = page.locator('#attack-result[data-prediction]');
    await attacked.waitFor({ timeout: 30_000 });
    const after = await attacked.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
    assert.ok(Number(after.norm) <= expected.radius * 0.9 + 1e-6);
    assert.equal(Number(after.prediction), expected.prediction);
  }
  await page.screenshot({ path: join(shots, 'playground.png'), fullPage: true });
});
