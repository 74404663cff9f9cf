import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/loaders/registry.js';
import { type RunningService, startApiServer } from '../../src/service/server.js';
import { BIN } from '../helpers/cli.js';
import { freePort, redisMissing, TestRedis } from '../helpers/redis.js';

const MODEL = fileURLToPath(new URL('../../../docs/results/adaptive/models/consistency-s0.25', import.meta.url));
const skip = redisMissing;
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-service-queue-'));
const redis = new TestRedis(await freePort(), join(tmp, 'redis'));
let worker: ChildProcess | undefined;
let local: RunningService;
let queued: RunningService;

before(async () => {
  if (skip) return;
  mkdirSync(redis.dir);
  await redis.start();
  worker = spawn(process.execPath, [BIN, 'worker', '--queue', redis.url], { stdio: 'ignore', detached: true });
  local = await startApiServer({ model: MODEL, port: 0 });
  queued = await startApiServer({ model: MODEL, port: 0, queue: redis.url, chunk: 2000 });
});
after(async () => {
  if (!skip) {
    await Promise.all([local.stop(100), queued.stop(100)]);
    if (worker?.pid !== undefined) process.kill(-worker.pid, 'SIGKILL');
    await redis.stop();
  }
  rmSync(tmp, { recursive: true, force: true });
});

const post = async (service: RunningService, path: string, body: unknown) => {
  const res = await fetch(`${service.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const { ms: _, ...answer } = (await res.json()) as Record<string, unknown>;
  return { status: res.status, answer };
};

test('with --queue the workers count, each job carrying the input, and the answers are the same', { skip, timeout: 120_000 }, async () => {
  const data = await loadDataset('fashion-mnist', 'test');
  for (const [i, body] of [
    [5, { radius: 0.25 }],
    [9, { tolerance: 0.2, maxN: 6000, seed: 4 }],
    [11, { n: 3000 }],
  ] as const) {
    const image = Array.from(await data.image(i));
    const path = 'n' in body ? '/v1/predict' : '/v1/certify';
    const [here, there] = await Promise.all([post(local, path, { image, ...body }), post(queued, path, { image, ...body })]);
    assert.equal(there.status, 200, JSON.stringify(there.answer));
    assert.deepEqual(there.answer, here.answer, `image ${i} ${JSON.stringify(body)}`);
  }
  assert.equal(queued.certifier.stats().forwardPasses, 0, 'the queued service computed nothing itself');
});
