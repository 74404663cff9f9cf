import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignedChunk } from '../../src/queue/coordinator.js';
import { displayUrl, redisOptions } from '../../src/queue/connection.js';
import { type CountsJob, inputSource, inputValues, jobId, parseCountsJob } from '../../src/queue/job.js';

const valid: CountsJob = {
  v: 1,
  run: 'abc',
  model: { path: '/m', fingerprint: 'f1' },
  data: { dataset: 'fashion-mnist', split: 'test', fingerprint: 'f2' },
  sigma: 0.25,
  seed: 0,
  example: 3,
  substream: 1,
  offset: 10_000,
  num: 10_000,
  batch: 1000,
};

test('a well-formed payload is accepted as it is; each malformed field is named', () => {
  assert.deepEqual(parseCountsJob(valid), valid);
  assert.deepEqual(parseCountsJob({ ...valid, model: { ...valid.model, inputLayout: 'nchw', mean: [0.5], std: [0.5] } }), {
    ...valid,
    model: { ...valid.model, inputLayout: 'nchw', mean: [0.5], std: [0.5] },
  });
  assert.deepEqual(parseCountsJob({ ...valid, model: { ...valid.model, precision: 'bf16' } }), {
    ...valid,
    model: { ...valid.model, precision: 'bf16' },
  });
  assert.equal(
    parseCountsJob({ ...valid, model: { ...valid.model, precision: 'fp16' } }),
    'malformed payload: model.precision must be bf16 or absent',
  );
  assert.equal(parseCountsJob(null), 'malformed payload: not an object');
  assert.equal(parseCountsJob({ ...valid, example: 2 ** 32 }), 'malformed payload: example must be an integer in [0, 2^32)');
  assert.equal(
    parseCountsJob({ ...valid, data: { ...valid.data, split: 'val' }, num: 0.5 }),
    'malformed payload: data.split must be train or test; num must be an integer in [1, 10000000]',
  );
  // Bounded work: a job of 2^53 samples or a batch of 2^31 images fails at once.
  assert.match(parseCountsJob({ ...valid, num: 2 ** 53 }) as string, /num must be an integer in \[1, 10000000\]/);
  assert.match(parseCountsJob({ ...valid, batch: 2 ** 31 }) as string, /batch must be an integer in \[1, 100000\]/);
  assert.match(
    parseCountsJob({ ...valid, model: { ...valid.model, mean: ['a'] } }) as string,
    /model.mean and model.std must be lists of numbers/,
  );
});

test('job ids are a function of the run, example, phase and range only, without the colon BullMQ refuses', () => {
  assert.equal(jobId('abc', 3, 1, 10_000, 5000), 'abc-3-1-10000-5000');
  assert.notEqual(jobId('abc', 3, 1, 0, 5000), jobId('abc', 3, 1, 0, 10_000));
});

test('redis:// URLs become connection options; anything else is a one-line error', () => {
  assert.deepEqual(
    { ...redisOptions('redis://:s3cret@queue-host:6380/2') },
    { host: 'queue-host', port: 6380, db: 2, password: 's3cret', maxRetriesPerRequest: null, connectTimeout: 3000 },
  );
  assert.equal(redisOptions('redis://127.0.0.1').port, 6379);
  assert.deepEqual(redisOptions('rediss://h:1').tls, {});
  assert.throws(() => redisOptions('queue-host:6379'), /not a redis:\/\/ URL/);
  assert.throws(() => redisOptions('nonsense'), /is not a URL; give redis:\/\/HOST:PORT/);
  assert.throws(() => redisOptions('redis://h:1/x'), /database number "x"/);
  assert.equal(displayUrl('redis://user:s3cret@h:1'), 'redis://user:***@h:1');
});

test('jobs are cut at multiples of the batch, at least one batch each', () => {
  assert.equal(alignedChunk(10_000, 500), 10_000);
  assert.equal(alignedChunk(10_000, 384), 9_984);
  assert.equal(alignedChunk(1_000, 1_500), 1_500);
  for (const [chunk, batch] of [
    [7, 3],
    [1, 1],
    [99_999, 1000],
    [5, 5],
  ] as const) {
    const c = alignedChunk(chunk, batch);
    assert.ok(c % batch === 0 && c >= batch && (c <= chunk || c === batch), `${chunk}, ${batch} → ${c}`);
  }
});

test('a job whose σ would overflow float32 (x + σz) fails at once with the reason', () => {
  for (const sigma of [1e300, 2 ** 126]) {
    const r = parseCountsJob({ ...valid, sigma });
    assert.ok(typeof r === 'string' && r.includes('sigma must be a number > 0 and ≤ 2^125'), String(r));
  }
  assert.equal(typeof parseCountsJob({ ...valid, sigma: 2 ** 125 }), 'object');
});

test('a job carries a live input instead of a dataset example, checked against its fingerprint', () => {
  const x = Float32Array.from({ length: 12 }, (_, i) => i / 12);
  const input = inputSource(x, [2, 2, 3]);
  const { data: _, ...withoutData } = valid;
  const carried = { ...withoutData, input };
  assert.deepEqual(parseCountsJob(carried), carried);
  assert.deepEqual(inputValues(input), x);
  assert.match(parseCountsJob({ ...valid, input }) as string, /from data or from input, exactly one/);
  assert.match(parseCountsJob(withoutData) as string, /from data or from input, exactly one/);
  assert.match(parseCountsJob({ ...withoutData, input: { ...input, shape: [2, 2] } }) as string, /input\.shape must be \[H, W, C\]/);
  assert.equal(inputValues({ ...input, shape: [2, 2, 2] }), 'input holds 48 bytes, not the 32 of 2×2×2 float32 values');
  const other = inputSource(
    Float32Array.from(x, (v) => v / 2),
    [2, 2, 3],
  );
  assert.equal(inputValues({ ...input, values: other.values }), 'input values do not match their fingerprint');
});
