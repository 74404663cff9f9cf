import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/loaders/registry.js';
import { type RunningService, startApiServer } from '../../src/service/server.js';
import { cli } from '../helpers/cli.js';
import { saveTinyModel } from '../helpers/models.js';

/** The study's LeNet trained at σ = 0.25 with consistency regularization (committed with its results). */
const MODEL = fileURLToPath(new URL('../../../docs/results/adaptive/models/consistency-s0.25', import.meta.url));
const SIGMA = 0.25;
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-service-'));
let service: RunningService;

before(async () => {
  service = await startApiServer({ model: MODEL, port: 0 });
});
after(async () => {
  await service.stop(1000);
  rmSync(tmp, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** An answer without its timing, which is all that may differ between two runs of one request. */
const decided = ({ ms: _, ...rest }: Record<string, unknown>) => rest;

test('POST /v1/certify at radius σ agrees with certify --adaptive --radii σ on 50 test images', { timeout: 300_000 }, async () => {
  const data = await loadDataset('fashion-mnist', 'test');
  const skip = 200;
  const out = join(tmp, 'cli.tsv');
  const r = cli([
    'certify',
    '--model',
    MODEL,
    '--out',
    out,
    '--adaptive',
    '--radii',
    String(SIGMA),
    '--skip',
    String(skip),
    '--max',
    String(50 * skip),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .slice(2)
    .map((l) => l.split('\t'));
  assert.equal(rows.length, 50);
  const answers = await Promise.all(
    rows.map(async (row) => post('/v1/certify', { image: Array.from(await data.image(Number(row[0]))), radius: SIGMA })),
  );
  let sameDecision = 0;
  rows.forEach((row, i) => {
    const a = answers[i]!;
    assert.equal(a.status, 200, JSON.stringify(a.json));
    const cliClass = Number(row[2]);
    const cliCertified = row[6] !== '-';
    // The noise streams differ (a request has no example index), so answers near a threshold may differ.
    if (cliClass !== -1 && a.json.prediction !== null) assert.equal(a.json.prediction, cliClass, `image ${row[0]}`);
    if (cliCertified === a.json.certified) sameDecision++;
  });
  assert.ok(sameDecision >= 48, `the same decision on ${sameDecision} of 50 images`);
});

test('the same request 20 times at once, alone or among 64 concurrent clients, gets 20 identical answers', {
  timeout: 120_000,
}, async () => {
  const data = await loadDataset('fashion-mnist', 'test');
  const image = Array.from(await data.image(7));
  const request = { image, tolerance: 0.2, maxN: 4000, seed: 3 };
  const alone = await Promise.all(Array.from({ length: 20 }, () => post('/v1/certify', request)));
  const others = await Promise.all(Array.from({ length: 44 }, async (_, i) => Array.from(await data.image(100 + i))));
  const crowd = await Promise.all([
    ...Array.from({ length: 20 }, () => post('/v1/certify', request)),
    ...others.map((img, i) =>
      i % 2 ? post('/v1/certify', { image: img, radius: 0.1 * (i % 5) }) : post('/v1/predict', { image: img, n: 2000 }),
    ),
  ]);
  const expected = decided(alone[0]!.json);
  assert.ok(
    typeof expected.radius === 'number' && (expected.samples as number) > 1000 && !expected.budgetExhausted,
    JSON.stringify(expected),
  );
  for (const a of [...alone, ...crowd.slice(0, 20)]) {
    assert.equal(a.status, 200);
    assert.deepEqual(decided(a.json), expected);
  }
  for (const a of crowd.slice(20)) assert.equal(a.status, 200, JSON.stringify(a.json));
});

test('budgets: a request out of samples or time answers with what it has and says so', async () => {
  const data = await loadDataset('fashion-mnist', 'test');
  const image = Array.from(await data.image(0));
  // A radius the model nearly reaches cannot be settled in 300 samples.
  const few = await post('/v1/certify', { image, radius: 0.45, n0: 100, maxN: 300 });
  assert.equal(few.status, 200);
  assert.equal(few.json.budgetExhausted, 'maxN');
  assert.ok((few.json.samples as number) <= 400, JSON.stringify(few.json));
  const late = await post('/v1/certify', { image, tolerance: 0.001, maxN: 1_000_000, deadlineMs: 200 });
  assert.equal(late.status, 200);
  assert.equal(late.json.budgetExhausted, 'deadline');
  assert.ok((late.json.ms as number) < 5000 && (late.json.pABar as number) > 0.5, JSON.stringify(late.json));
  // Fixed-n CERTIFY (n given): the classic algorithm, cut short by a deadline in the same way.
  const fixed = await post('/v1/certify', { image, n: 2000, radius: 0.25 });
  assert.equal(fixed.status, 200);
  assert.equal(fixed.json.samples, 2100);
  assert.equal(fixed.json.certified, (fixed.json.radius as number) > 0.25);
  const cut = await post('/v1/certify', { image, n: 1_000_000, deadlineMs: 100 });
  assert.equal(cut.json.budgetExhausted, 'deadline');
  assert.ok((cut.json.samples as number) < 1_000_000 && cut.json.prediction === data.label(0), JSON.stringify(cut.json));
  assert.equal((await post('/v1/certify', { image, n: 2000, maxN: 5000 })).status, 400);
  const vote = await post('/v1/predict', { image, n: 1_000_000, deadlineMs: 100 });
  assert.equal(vote.json.budgetExhausted, 'deadline');
  assert.ok((vote.json.samples as number) < 1_000_000 && vote.json.prediction === data.label(0), JSON.stringify(vote.json));
});

test('a PNG of the image gets the answer of its numbers; the model and the API describe themselves', async () => {
  const data = await loadDataset('fashion-mnist', 'test');
  const x = await data.image(3);
  const { default: sharp } = await import('sharp');
  const png = await sharp(Buffer.from(x.map((v) => Math.round(v * 255))), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
  const viaPng = await post('/v1/certify', { png: png.toString('base64'), radius: SIGMA });
  const viaNumbers = await post('/v1/certify', { image: Array.from(x), radius: SIGMA });
  assert.deepEqual(decided(viaPng.json), decided(viaNumbers.json));
  // The library function takes the PNG's bytes and either question.
  const inProcess = await service.certifier.answer({ question: 'certify', png, radius: SIGMA });
  assert.deepEqual(decided({ ...inProcess }), decided(viaNumbers.json));
  const wrongSize = await post('/v1/certify', { png: (await sharp(png).resize(20, 20).png().toBuffer()).toString('base64') });
  assert.equal(wrongSize.status, 400);
  assert.match(String(wrongSize.json.error), /png is 20×20 pixels; the model takes 28×28/);
  const model = (await (await fetch(`${service.url}/v1/model`)).json()) as Record<string, unknown>;
  assert.deepEqual(
    { ...model },
    { arch: 'lenet', dataset: 'fashion-mnist', sigma: SIGMA, inputShape: [28, 28, 1], numClasses: 10, classNames: model.classNames },
  );
  const doc = (await (await fetch(`${service.url}/v1/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(Object.keys(doc.paths).sort(), ['/v1/certify', '/v1/health', '/v1/model', '/v1/openapi.json', '/v1/predict']);
});

test('other models: a PyTorch ONNX graph normalized outside it, and a 32×32×3 model fed an RGB PNG', async () => {
  const fixture = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
  const onnx = await startApiServer({ model: fixture, sigma: 0.25, mean: [0.5], std: [0.5], inputLayout: 'nchw', port: 0 });
  const rgbModel = join(tmp, 'rgb');
  await saveTinyModel(rgbModel, [32, 32, 3], 10, 0.5);
  const rgb = await startApiServer({ model: rgbModel, port: 0 });
  try {
    const data = await loadDataset('fashion-mnist', 'test');
    const res = await fetch(`${onnx.url}/v1/predict`, {
      method: 'POST',
      body: JSON.stringify({ image: Array.from(await data.image(0)), n: 2000 }),
    });
    const answer = (await res.json()) as { prediction: number | null; samples: number };
    assert.equal(res.status, 200);
    assert.equal(answer.prediction, data.label(0), 'the fixture classifies this ankle boot right, with and without noise');
    assert.equal(answer.samples, 2000);
    assert.deepEqual(onnx.certifier.info.inputShape, [28, 28, 1]);
    // Three channels: the PNG is read as RGB, the same values as the numbers.
    const values = Array.from({ length: 32 * 32 * 3 }, (_, i) => ((i * 37) % 256) / 255);
    const { default: sharp } = await import('sharp');
    const png = await sharp(Buffer.from(values.map((v) => Math.round(v * 255))), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const a = await rgb.certifier.answer({ question: 'certify', png, radius: 0.1 });
    const b = await rgb.certifier.answer({ question: 'certify', image: values, radius: 0.1 });
    assert.deepEqual(decided({ ...a }), decided({ ...b }));
  } finally {
    await Promise.all([onnx.stop(100), rgb.stop(100)]);
  }
});
