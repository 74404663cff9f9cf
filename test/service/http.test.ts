import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { SettingError } from '../../src/base/errors.js';
import { loadDataset } from '../../src/loaders/registry.js';
import { type RunningService, startApiServer } from '../../src/service/server.js';
import { BIN, cli } from '../helpers/cli.js';

const MODEL = fileURLToPath(new URL('../../../docs/results/adaptive/models/consistency-s0.25', import.meta.url));
const LIMIT = 64 * 1024;
let service: RunningService;
let image: number[];

before(async () => {
  service = await startApiServer({ model: MODEL, port: 0, perClient: 64 });
  image = Array.from(await (await loadDataset('fashion-mnist', 'test')).image(0));
});
after(() => service.stop(1000));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP exchange with full control of method, headers and raw body (fetch forbids some of them). */
function send(base: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const options = { hostname, port, path, method, headers: { 'content-type': 'application/json', ...headers } };
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    // A refused request may be answered, and the connection closed, before its body is sent.
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve({ status: 0, headers: {}, body: '' }) : reject(e),
    );
    req.end(body);
  });
}

/** Requests that are wrong by construction: each must get a 4xx with a one-sentence JSON error. */
function malformed(valid: number[]): fc.Arbitrary<{ method: string; path: string; body?: string }> {
  const post = (body: fc.Arbitrary<string>) =>
    fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/v1/predict', '/v1/certify'), body });
  const withField = (field: string, value: fc.Arbitrary<unknown>) => value.map((v) => JSON.stringify({ image: valid, [field]: v }));
  const badNumber = fc.oneof(
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.object(),
    fc.double({ min: -1e300, max: -1e-9 }),
    fc.constant(1e300),
  );
  return fc.oneof(
    // Wrong methods on real paths, and paths that do not exist.
    fc.record({
      method: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'GET'),
      path: fc.constantFrom('/v1/predict', '/v1/certify'),
    }),
    fc.record({ method: fc.constantFrom('POST', 'PUT'), path: fc.constantFrom('/v1/model', '/v1/health', '/v1/openapi.json') }),
    fc.record({
      method: fc.constantFrom('GET', 'POST'),
      path: fc
        .webPath()
        .filter((p) => !['/v1/predict', '/v1/certify', '/v1/model', '/v1/health', '/v1/openapi.json'].includes(p.split('?')[0]!)),
    }),
    // Not JSON, truncated JSON, JSON that is not a request.
    post(
      fc.string().filter((t) => {
        try {
          JSON.parse(t);
          return false;
        } catch {
          return true;
        }
      }),
    ),
    post(fc.nat({ max: 2000 }).map((k) => JSON.stringify({ image: valid, radius: 0.25 }).slice(0, k))),
    post(fc.jsonValue().map((v) => JSON.stringify(v))),
    // Images of the wrong type, size or range, NaN and infinities (which JSON cannot carry).
    post(
      fc
        .array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 1000 })
        .filter((a) => a.length !== valid.length)
        .map((a) => JSON.stringify({ image: a })),
    ),
    post(
      fc
        .tuple(
          fc.nat({ max: valid.length - 1 }),
          fc.oneof(fc.double({ min: 1.0001, max: 1e300 }), fc.double({ min: -1e300, max: -1e-6 }), fc.string()),
        )
        .map(([i, v]) => {
          const bad: unknown[] = [...valid];
          bad[i] = v;
          return JSON.stringify({ image: bad });
        }),
    ),
    post(fc.constantFrom('NaN', 'Infinity', '1e999', '-1e999').map((t) => `{"image":[${t}${',0'.repeat(valid.length - 1)}]}`)),
    post(
      fc
        .anything()
        .filter((v) => !Array.isArray(v))
        .map((v) => JSON.stringify({ image: v }) ?? '{}'),
    ),
    // Settings of the wrong type or out of range, and fields no request has.
    post(fc.constantFrom('radius', 'tolerance', 'n', 'n0', 'maxN', 'alpha', 'seed', 'deadlineMs').chain((f) => withField(f, badNumber))),
    post(
      fc
        .string({ minLength: 1 })
        .filter((k) => !['image', 'png', 'radius', 'tolerance', 'n', 'n0', 'maxN', 'alpha', 'seed', 'deadlineMs', '__proto__'].includes(k))
        .chain((f) => withField(f, fc.integer())),
    ),
    post(fc.oneof(fc.string(), fc.integer()).map((p) => JSON.stringify({ png: p }))),
    // Larger than the body limit.
    post(fc.integer({ min: LIMIT + 1, max: 4 * LIMIT }).map((n) => `{"image":[${'0,'.repeat(n / 2)}0]}`)),
  );
}

test('thousands of malformed requests each get a 4xx and one sentence; valid ones are still answered; memory stays flat', {
  timeout: 300_000,
}, async () => {
  const fuzzed = await startApiServer({ model: MODEL, port: 0, perClient: 64 });
  // The body limit is small here so that oversized bodies are cheap to send.
  const { createRequestHandler } = await import('../../src/service/http.js');
  const { createServer } = await import('node:http');
  const handler = createRequestHandler(fuzzed.certifier, { checkHost: true, maxBodyBytes: LIMIT });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  try {
    const round = () =>
      fc.assert(
        fc.asyncProperty(malformed(image), async (r) => {
          const reply = await send(base, r.method, r.path, r.body);
          if (reply.status === 0) return; // closed before the body was sent: refused all the same
          assert.ok(
            reply.status >= 400 && reply.status < 500,
            `${r.method} ${r.path} ${String(r.body).slice(0, 200)} → ${reply.status} ${reply.body}`,
          );
          const error = (JSON.parse(reply.body) as { error: unknown }).error;
          assert.ok(typeof error === 'string' && error.length > 0 && !error.includes('\n'), reply.body);
        }),
        { numRuns: 1500, seed: 42 },
      );
    await round();
    const before = process.memoryUsage().rss;
    await round();
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${(grown / 2 ** 20).toFixed(1)} MB over 1500 more malformed requests`);
    const ok = await send(base, 'POST', '/v1/certify', JSON.stringify({ image, radius: 0.25 }));
    assert.equal(ok.status, 200, ok.body);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fuzzed.stop(100);
  }
});

test('a token is required beyond loopback; with one, requests without it get 401; the Host check stays on for loopback', async () => {
  await assert.rejects(startApiServer({ model: MODEL, host: '0.0.0.0' }), (e) => e instanceof SettingError && e.setting === 'token');
  const r = cli(['serve', '--api', '--model', MODEL, '--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^smoothcert: error: binding 0\.0\.0\.0 exposes the service beyond this machine; give --token/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const guarded = await startApiServer({ model: MODEL, port: 0, token: 's3cret-token' });
  try {
    const body = JSON.stringify({ image, radius: 0.25 });
    const none = await send(guarded.url, 'POST', '/v1/certify', body);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal((await send(guarded.url, 'POST', '/v1/certify', body, { authorization: 'Bearer s3cret-tokeX' })).status, 401);
    assert.equal((await send(guarded.url, 'GET', '/v1/model', undefined, { authorization: 's3cret-token' })).status, 401);
    assert.equal((await send(guarded.url, 'POST', '/v1/certify', body, { authorization: 'Bearer s3cret-token' })).status, 200);
    const rebound = await send(guarded.url, 'GET', '/v1/model', undefined, {
      authorization: 'Bearer s3cret-token',
      host: 'evil.example:80',
    });
    assert.equal(rebound.status, 403);
  } finally {
    await guarded.stop(100);
  }
});

test('a client over its in-flight limit, and a server over its bound, get 429 with Retry-After', async () => {
  const small = await startApiServer({ model: MODEL, port: 0, perClient: 1, maxInFlight: 1 });
  try {
    const slow = send(small.url, 'POST', '/v1/certify', JSON.stringify({ image, tolerance: 1e-6, maxN: 1_000_000, deadlineMs: 1500 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await send(small.url, 'POST', '/v1/predict', JSON.stringify({ image }));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '1');
    const first = await slow;
    assert.equal(first.status, 200);
    assert.equal((JSON.parse(first.body) as { budgetExhausted: string }).budgetExhausted, 'deadline');
    assert.equal((await send(small.url, 'POST', '/v1/predict', JSON.stringify({ image }))).status, 200);
  } finally {
    await small.stop(100);
  }
});

test('Ctrl-C answers the requests in flight, then exits 130', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'serve', '--api', '--model', MODEL, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /at (http:\/\/\S+)\/v1\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`the server exited: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const inFlight = send(url, 'POST', '/v1/certify', JSON.stringify({ image, tolerance: 1e-6, maxN: 1_000_000, deadlineMs: 2000 }));
  await new Promise((resolve) => setTimeout(resolve, 400));
  child.kill('SIGINT');
  const answered = await inFlight;
  assert.equal(answered.status, 200, answered.body);
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /Ctrl-C: answering the requests in flight, then stopping/);
});
