import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startServer, type RunningServer } from '../../src/serve/server.js';
import type { RunsResponse } from '../../src/serve/api.js';
import { BIN, cli } from '../helpers/cli.js';
import { makeRunsFolder } from './fixture.js';

const APP = fileURLToPath(new URL('../../web/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'smoothcert-serve-'));
const runs = join(dir, 'runs');
let server: RunningServer;

before(async () => {
  mkdirSync(runs);
  await makeRunsFolder(runs);
  writeFileSync(join(dir, 'secret.txt'), 'SECRET-CONTENT');
  symlinkSync(join(dir, 'secret.txt'), join(runs, 'tiny', 'link-out.tsv'));
  symlinkSync(dir, join(runs, 'dir-out'));
  server = await startServer({ runs, port: 0, host: '127.0.0.1', app: APP });
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request: the path goes out exactly as written (fetch would normalize '..' and '//'). */
function get(path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? url.host } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('/api/runs lists the runs with summaries, and a corrupt file with its problem', async () => {
  const { status, body } = await get('/api/runs');
  assert.equal(status, 200);
  const { runs: listed } = JSON.parse(body) as RunsResponse;
  assert.deepEqual(
    listed.map((r) => r.id),
    ['broken', 'study', 'study-bf16', 'tiny'],
    'symlinked folders are not followed',
  );
  // The committed study run's log: test accuracy in percent, as log.tsv holds it.
  const study = listed.find((r) => r.id === 'study')!;
  assert.equal(study.files[0]!.summary!.epochs, 30);
  assert.ok(Number(study.files[0]!.summary!.testAcc) > 50 && Number(study.files[0]!.summary!.testAcc) <= 100);
  // A run trained in bf16: its log's settings line is no epoch, and its model records the precision.
  const bf16 = listed.find((r) => r.id === 'study-bf16')!;
  assert.deepEqual(
    bf16.files.map((f) => [f.name, f.kind]),
    [
      ['log.tsv', 'log'],
      ['smoothcert.json', 'model'],
    ],
  );
  assert.equal(bf16.files[0]!.summary!.epochs, 30);
  assert.equal((bf16.files[1]!.summary!.training as { precision?: string }).precision, 'bf16');
  const tiny = listed.find((r) => r.id === 'tiny')!;
  assert.deepEqual(
    tiny.files.map((f) => [f.name, f.kind]),
    [
      ['certify-0.25.tsv', 'certify'],
      ['log.tsv', 'log'],
      ['smoothcert.json', 'model'],
    ],
  );
  assert.equal(tiny.files[0]!.summary!.acr, 0.515);
  assert.equal(tiny.files[1]!.summary!.epochs, 3);
  const broken = listed.find((r) => r.id === 'broken')!;
  assert.match(broken.files[0]!.error!, /broken\/certify\.tsv, line 2: radius must be a finite number/);
  assert.match(broken.files[1]!.error!, /broken\/smoothcert\.json is not valid JSON/);
});

test('files inside the runs folder are served; paths leading outside are refused', async () => {
  const log = await get('/files/tiny/log.tsv');
  assert.equal(log.status, 200);
  assert.match(log.body, /^epoch\ttime/);
  assert.equal((await get('/files/tiny/model.json')).status, 200);
  for (const path of [
    '/files/..%2fsecret.txt',
    '/files/tiny/..%2f..%2fsecret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/..%5csecret.txt',
    `/files/${encodeURIComponent(join(dir, 'secret.txt'))}`,
    `/files/${join(dir, 'secret.txt')}`,
    '/files/tiny/link-out.tsv',
    '/files/dir-out/secret.txt',
    '/files/tiny/%00log.tsv',
    '/files/../secret.txt',
  ]) {
    const { status, body } = await get(path);
    assert.ok(status === 403 || status === 404, `${path}: ${status}`);
    assert.ok(!body.includes('SECRET-CONTENT'), path);
  }
  assert.equal((await get('/files/..%2fsecret.txt')).status, 403);
  assert.equal((await get('/files/tiny/link-out.tsv')).status, 403);
  assert.equal((await get('/files/tiny/no-such.tsv')).status, 404);
  assert.equal((await get('/files/tiny')).status, 404, 'a folder is not a file');
});

test('only GET of known routes: other methods 405, unknown routes 404, other hosts 403', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) assert.equal((await get('/api/runs', { method })).status, 405, method);
  assert.equal((await get('/etc/passwd')).status, 404);
  assert.equal((await get('/assets/..%2f..%2fpackage.json')).status, 404);
  assert.equal((await get('/api/samples/..')).status, 404);
  assert.equal((await get('/api/samples/test')).status, 404);
  assert.equal((await get('/api/runs', { host: 'evil.example:80' })).status, 403);
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<title>smoothcert<\/title>/);
  assert.equal((await get('/assets/tfjs-backend-wasm-simd.wasm')).status, 200);
});

test('/api/samples serves the first test images of a known dataset as float32 pixels', async () => {
  const { status, body } = await get('/api/samples/fashion-mnist');
  assert.equal(status, 200);
  const samples = JSON.parse(body) as { shape: number[]; images: { pixels: number[]; label: number }[] };
  assert.deepEqual(samples.shape, [28, 28, 1]);
  assert.equal(samples.images.length, 16);
  assert.equal(samples.images[0]!.pixels.length, 784);
});

test('smoothcert serve: a missing --runs folder is a one-line error; Ctrl-C stops the server with status 130', async () => {
  const missing = cli(['serve', '--runs', join(dir, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^smoothcert: error: --runs .*nope is not a folder/);
  const child = spawn(process.execPath, [BIN, 'serve', '--runs', runs, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      if (found !== undefined) resolve(found);
    });
    void exited.then(() => reject(new Error(`serve exited early: ${out}`)));
  });
  assert.equal((await fetch(`${url}api/runs`)).status, 200);
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  assert.match(stderr, /Ctrl-C: stopping the server/);
  assert.doesNotMatch(stderr, /current batch|warning/);
});

test('smoothcert serve: an unresolvable --host, a foreign address and an empty --port are one-line errors; a non-loopback bind warns', async () => {
  // Usage errors and errors found while running are user errors alike: status 2.
  for (const [args, pattern, status] of [
    [['--host', 'no-such-host.invalid'], /--host no-such-host\.invalid is not a name this machine can resolve/, 2],
    [['--host', '192.0.2.1'], /--host 192\.0\.2\.1 is not an address of this machine/, 2],
    [['--port', ''], /option '--port <port>' argument '' is invalid/, 2],
  ] as const) {
    const r = cli(['serve', '--runs', runs, ...args]);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // 0.0.0.0 binds every address: the server says at start what that exposes (and stops on SIGTERM).
  const child = spawn(process.execPath, [BIN, 'serve', '--runs', runs, '--port', '0', '--host', '0.0.0.0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const warned = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('\n')) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await warned;
  assert.match(stderr, /warning: --host 0\.0\.0\.0 makes every file under .* readable by anyone who can reach this machine/);
  child.kill('SIGTERM');
  assert.equal(await exited, 143);
});

// The server does not depend on the engine: this 20-second test runs in the native pass only.
test('a 200 MB TSV in the runs folder: other requests are answered within 200 ms while it is summarized', {
  skip: process.env.SMOOTHCERT_BACKEND === 'wasm' && 'engine-independent; run in the native pass',
}, async () => {
  const bigRuns = join(dir, 'big-runs');
  mkdirSync(join(bigRuns, 'big'), { recursive: true });
  await makeRunsFolder(join(bigRuns, 'small'));
  // ~5.5 million certify rows, written in blocks.
  const row = (i: number) => `${i}\t${i % 10}\t${i % 10}\t0.${String(i % 1000).padStart(3, '0')}\t1\t0:00:01.000000\n`;
  const fd = openSync(join(bigRuns, 'big', 'certify.tsv'), 'w');
  writeSync(fd, 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n');
  for (let first = 0; fstatSync(fd).size < 200e6; first += 100_000)
    writeSync(fd, Array.from({ length: 100_000 }, (_, i) => row(first + i)).join(''));
  closeSync(fd);
  const big = await startServer({ runs: bigRuns, port: 0, host: '127.0.0.1', app: APP });
  try {
    const url = new URL(big.url);
    const timed = async (path: string) => {
      const began = performance.now();
      const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
      return { ...r, ms: performance.now() - began };
    };
    const listing = timed('/api/runs');
    await new Promise((resolve) => setTimeout(resolve, 100)); // the summary thread is reading by now
    for (const path of ['/', '/files/small/tiny/log.tsv', '/files/small/tiny/smoothcert.json']) {
      const r = await timed(path);
      assert.equal(r.status, 200, path);
      assert.ok(r.ms < 200, `${path} took ${r.ms.toFixed(0)} ms while the big file was summarized`);
    }
    const runsResponse = await listing;
    assert.equal(runsResponse.status, 200);
    const listed = (JSON.parse(runsResponse.body) as RunsResponse).runs.find((r) => r.id === 'big')!;
    assert.ok(Number(listed.files[0]!.summary?.examples) > 5_000_000, JSON.stringify(listed.files[0]));
    // Polled again unchanged: the cached summary, at once.
    assert.ok((await timed('/api/runs')).ms < 200);
  } finally {
    await big.close();
  }
});
