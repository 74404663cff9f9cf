import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { Queue } from 'bullmq';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUEUE_NAME } from '../../src/queue/job.js';
import { BIN, cli, startUntil } from '../helpers/cli.js';
import { underLoad } from '../helpers/load.js';
import { saveTinyModel } from '../helpers/models.js';
import { freePort, redisMissing, TestRedis } from '../helpers/redis.js';
import { resultRows, resultSettings } from '../helpers/results.js';

const skip = redisMissing;
const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-queue-'));
const model = join(tmp, 'model');
const otherModel = join(tmp, 'other-model');
await saveTinyModel(model, [28, 28, 1], 10, 0.25);
await saveTinyModel(otherModel, [28, 28, 1], 10, 0.25, 0.01);

/** The live processes of process group `pgid` (from /proc: field 5 of /proc/PID/stat; zombies excluded). */
function processGroup(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) found.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** A `smoothcert worker` in its own process group: killing the group is a machine that dies (the worker and its forked processors). */
interface WorkerProcess {
  child: ChildProcess;
  log: () => string;
  exited: Promise<number | null>;
}

function startWorker(url: string, ...extra: string[]): WorkerProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, log: () => log, exited };
}

async function killWorker(w: WorkerProcess, signal: NodeJS.Signals): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  try {
    process.kill(-w.child.pid!, signal);
  } catch {
    /* already gone */
  }
  await w.exited;
}

const redis = new TestRedis(await freePort(), join(tmp, 'redis'));
const workers: WorkerProcess[] = [];
if (!skip) {
  mkdirSync(redis.dir);
  await redis.start();
  for (let k = 0; k < 3; k++) workers.push(startWorker(redis.url));
}

after(async () => {
  await Promise.all(workers.map((w) => killWorker(w, 'SIGKILL')));
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const rows = resultRows;
const fixedN = (out: string) => ['certify', '--model', model, '--out', out, '--max', '16', '--n0', '50', '--n', '3000', '--batch', '500'];
const onQueue = (args: string[], url = redis.url) => [...args, '--queue', url, '--chunk', '1000'];

/** The file without its time column: settings line, header and rows. */
function withoutTime(file: string): string[] {
  const [settings] = readFileSync(file, 'utf8').split('\n', 1);
  return [settings!, ...rows(file).map((row) => row.slice(0, -1).join('\t'))];
}

/** The single-process file for `args` (made once). */
const references = new Map<string, string[]>();
function reference(args: (out: string) => string[]): string[] {
  const key = args('').join(' ');
  if (!references.has(key)) {
    const out = join(tmp, `reference-${references.size}.tsv`);
    const r = cli(args(out));
    assert.equal(r.status, 0, r.stderr);
    references.set(key, withoutTime(out));
  }
  return references.get(key)!;
}

test('a malformed job fails at once with its reason, and the workers keep serving', { skip }, async () => {
  const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    const bad = [
      { id: 'bad-not-object', data: 'hello', reason: /^malformed payload: not an object$/ },
      {
        id: 'bad-fields',
        data: { v: 1, run: 'r', sigma: -1, seed: 0, example: 0, substream: 0, offset: 0, num: 0, batch: 10 },
        reason:
          /malformed payload: model must be an object; a job takes its x from data or from input, exactly one; sigma must be a number > 0 and ≤ 2\^125; num must be an integer in \[1, 10000000\]/,
      },
      { id: 'bad-version', data: { v: 99 }, reason: /payload version 99 is not 1/ },
      // Well-formed but unbounded work: it would hold the worker for ever, or ask for terabytes.
      ...[
        { num: 2 ** 53, batch: 10, reason: /^malformed payload: num must be an integer in \[1, 10000000\]/ },
        { num: 100, batch: 2 ** 31, reason: /^malformed payload: batch must be an integer in \[1, 100000\]$/ },
      ].map((b, k) => ({
        id: `bad-bounds-${k}`,
        reason: b.reason,
        data: {
          v: 1,
          run: 'r',
          model: { path: model, fingerprint: 'f' },
          data: { dataset: 'fashion-mnist', split: 'test', fingerprint: 'g' },
          sigma: 0.25,
          seed: 0,
          example: 0,
          substream: 0,
          offset: 0,
          num: b.num,
          batch: b.batch,
        },
      })),
    ];
    for (const b of bad) await queue.add('counts', b.data, { jobId: b.id, attempts: 5 });
    for (const b of bad) {
      const deadline = Date.now() + 30_000;
      for (let state = await queue.getJobState(b.id); state !== 'failed'; state = await queue.getJobState(b.id)) {
        assert.ok(Date.now() < deadline, `job ${b.id} is ${state}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const job = (await queue.getJob(b.id))!;
      assert.match(job.failedReason, b.reason);
      assert.equal(job.attemptsMade, 1, 'a malformed job is not retried');
    }
  } finally {
    await queue.close();
  }
  assert.ok(
    workers.every((w) => w.child.exitCode === null),
    'every worker is still running',
  );
  assert.match(workers.map((w) => w.log()).join(''), /failed job bad-not-object: malformed payload: not an object/);
});

test('certify and predict on the queue write the single-process file, all columns but time; adaptive CERTIFY too', { skip }, () => {
  const out = join(tmp, 'queue.tsv');
  const r = cli(onQueue(fixedN(out)));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(withoutTime(out), reference(fixedN));
  assert.match(r.stderr, /samples\/s \d+ workers 3/);

  const predict = (o: string) => ['predict', '--model', model, '--out', o, '--max', '6', '--n', '2500', '--batch', '500'];
  const p = cli(onQueue(predict(join(tmp, 'queue-predict.tsv'))));
  assert.equal(p.status, 0, p.stderr);
  assert.deepEqual(withoutTime(join(tmp, 'queue-predict.tsv')), reference(predict));

  // Adaptive asks for its ranges look by look: ranges that do not start on a chunk boundary.
  const adaptive = (o: string) => [
    'certify',
    '--model',
    model,
    '--out',
    o,
    '--max',
    '2',
    '--n0',
    '20',
    '--adaptive',
    '--max-n',
    '400',
    '--radii',
    '0,0.1',
    '--batch',
    '100',
  ];
  const a = cli([...adaptive(join(tmp, 'queue-adaptive.tsv')), '--queue', redis.url, '--chunk', '150']);
  assert.equal(a.status, 0, a.stderr);
  assert.deepEqual(withoutTime(join(tmp, 'queue-adaptive.tsv')), reference(adaptive));
});

test('kill -9 of a worker mid-run beside two busy loops: its job goes to another worker and the file is the same', { skip }, async () => {
  const out = join(tmp, 'worker-killed.tsv');
  const victim = workers[0]!;
  const logged = victim.log().length;
  const expected = reference(fixedN); // made on a quiet machine
  await underLoad(2, async () => {
    const run = await startUntil(
      onQueue(fixedN(out)),
      () => victim.log().slice(logged).includes(' done ') && existsSync(out) && rows(out).length >= 2,
    );
    await killWorker(victim, 'SIGKILL');
    assert.equal(await run.exited, 0, run.stderr());
  });
  assert.deepEqual(withoutTime(out), expected);
  workers[0] = startWorker(redis.url);
});

test('kill -9 of the coordinator and a restart: the same file, no line missing or repeated', { skip }, async () => {
  const out = join(tmp, 'coordinator-killed.tsv');
  const run = await startUntil(onQueue(fixedN(out)), () => existsSync(out) && rows(out).length >= 3);
  run.child.kill('SIGKILL');
  await run.exited;
  const before = rows(out).length - 1;
  assert.ok(before >= 2 && before < 16, `killed after ${before} rows`);
  const rest = cli(onQueue(fixedN(out)));
  assert.equal(rest.status, 0, rest.stderr);
  assert.match(rest.stderr, /resuming .*: \d+ of 16 examples already done/);
  assert.deepEqual(
    rows(out)
      .slice(1)
      .map((row) => Number(row[0])),
    Array.from({ length: 16 }, (_, i) => i),
  );
  assert.deepEqual(withoutTime(out), reference(fixedN));
});

test('Redis killed mid-run and started again from its append-only file: the same file', { skip }, async () => {
  const out = join(tmp, 'redis-restarted.tsv');
  const run = await startUntil(onQueue(fixedN(out)), () => existsSync(out) && rows(out).length >= 3);
  await redis.stop('SIGKILL');
  const during = rows(out).length - 1;
  await new Promise((resolve) => setTimeout(resolve, 500));
  await redis.start();
  assert.equal(await run.exited, 0, run.stderr());
  assert.ok(during < 16, `Redis was killed after ${during} of 16 rows`);
  assert.deepEqual(withoutTime(out), reference(fixedN));
  assert.ok(
    workers.every((w) => w.child.exitCode === null),
    'every worker survived the outage',
  );
});

test('an unreachable Redis is a one-line error within seconds, for the coordinator and for a worker', { skip }, async () => {
  const url = `redis://127.0.0.1:${await freePort()}`;
  for (const args of [onQueue(fixedN(join(tmp, 'unreachable.tsv')), url), ['worker', '--queue', url]]) {
    const began = performance.now();
    const r = cli(args);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^smoothcert: error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ within 3 s \(.*ECONNREFUSED.*\); start redis-server there or check --queue\n$/,
    );
    assert.ok(performance.now() - began < 10_000, `${args[0]} took ${(performance.now() - began).toFixed(0)} ms`);
  }
  assert.equal(existsSync(join(tmp, 'unreachable.tsv')), false, 'no file is touched');
});

test('a worker with another model refuses the run, naming both fingerprints; a right worker then completes it', { skip }, async () => {
  const own = new TestRedis(await freePort(), join(tmp, 'redis-own'));
  mkdirSync(own.dir);
  await own.start();
  const wrong = startWorker(own.url, '--model', otherModel);
  let right: WorkerProcess | undefined;
  try {
    const small = (o: string) => ['certify', '--model', model, '--out', o, '--max', '2', '--n0', '20', '--n', '200', '--batch', '100'];
    const out = join(tmp, 'refused.tsv');
    const run = await startUntil([...small(out), '--queue', own.url], () => /refusing run/.test(wrong.log()));
    const fingerprint = (dir: string) =>
      createHash('sha256')
        .update(readFileSync(join(dir, 'model.json')))
        .digest('hex')
        .slice(0, 16);
    assert.equal(resultSettings(out).modelFingerprint, fingerprint(model));
    assert.match(
      wrong.log(),
      new RegExp(
        `this worker's model .*other-model has fingerprint ${fingerprint(otherModel)}, the run's model has fingerprint ${fingerprint(model)}`,
      ),
    );
    await killWorker(wrong, 'SIGTERM');
    assert.equal(await wrong.exited, 143, 'the refusing worker kept running until stopped');
    right = startWorker(own.url);
    assert.equal(await run.exited, 0, run.stderr());
    assert.deepEqual(withoutTime(out), reference(small));
  } finally {
    await killWorker(wrong, 'SIGKILL');
    if (right) await killWorker(right, 'SIGKILL');
    await own.stop();
  }
});

// The queue's behaviour does not depend on the engine: these three run in the native pass only.
const nativeOnly = skip || (process.env.SMOOTHCERT_BACKEND === 'wasm' && 'engine-independent; run in the native pass');

test('a misconfigured worker beside a good one: it hands the jobs back without spending attempts and the run completes', {
  skip: nativeOnly,
}, async () => {
  const own = new TestRedis(await freePort(), join(tmp, 'redis-mixed'));
  mkdirSync(own.dir);
  await own.start();
  // One worker with a stale model, started first so that it takes jobs first, and one with the right model.
  const stale = startWorker(own.url, '--model', otherModel);
  const good = startWorker(own.url);
  try {
    const out = join(tmp, 'mixed.tsv');
    const few = (o: string) => [...fixedN(o).slice(0, -8), '--max', '3', '--n0', '50', '--n', '3000', '--batch', '500'];
    const r = await startUntil([...few(out), '--queue', own.url, '--chunk', '1000'], () => true);
    assert.equal(await r.exited, 0, r.stderr());
    assert.deepEqual(withoutTime(out), reference(few));
    // Both took part, and the stale one's refusals cost no attempt (5 failures would have stopped the run).
    assert.match(stale.log() + r.stderr(), /refusing run/);
    // A worker whose --model does not exist refuses to start at all.
    const missing = cli(['worker', '--queue', own.url, '--model', join(tmp, 'no-such-model')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /model .*no-such-model does not exist on this machine/);
  } finally {
    await killWorker(stale, 'SIGKILL');
    await killWorker(good, 'SIGKILL');
    await own.stop();
  }
});

test('kill -9 of a worker in the middle of a long job: none of its processes is left 10 s later', { skip: nativeOnly }, async () => {
  const own = new TestRedis(await freePort(), join(tmp, 'redis-orphan'));
  mkdirSync(own.dir);
  await own.start();
  const victim = startWorker(own.url);
  try {
    const out = join(tmp, 'orphan.tsv');
    // Jobs of 200,000 samples: seconds each, so the kill lands inside one.
    const run = await startUntil(
      [
        'certify',
        '--model',
        model,
        '--out',
        out,
        '--max',
        '2',
        '--n0',
        '50',
        '--n',
        '200000',
        '--batch',
        '1000',
        '--queue',
        own.url,
        '--chunk',
        '200000',
      ],
      () => true,
    );
    // The worker's process group (it was started detached): the worker and, once a job runs, its processor.
    let children: number[] = [];
    for (let t = 0; t < 100 && children.length < 2; t++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      children = processGroup(victim.child.pid!);
    }
    assert.ok(children.length >= 2, `the worker and its processor run (${children.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // inside a job by now
    // Only the worker itself is killed (its processor is a separate process in the same group).
    process.kill(victim.child.pid!, 'SIGKILL');
    await victim.exited;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    assert.deepEqual(processGroup(victim.child.pid!), [], 'no process of the killed worker is left');
    run.child.kill('SIGKILL');
  } finally {
    await killWorker(victim, 'SIGKILL');
    await own.stop();
  }
});

test('Redis passwords from the URL, an environment variable or a file; refused, missing and TLS failures told apart', {
  skip: nativeOnly,
}, async () => {
  const secured = new TestRedis(await freePort(), join(tmp, 'redis-auth'), ['--requirepass', 'open sesame']);
  mkdirSync(secured.dir);
  await secured.start();
  const certifyOn = (url: string, env: NodeJS.ProcessEnv = {}) =>
    cli(
      [
        'certify',
        '--model',
        model,
        '--out',
        join(tmp, 'auth.tsv'),
        '--max',
        '1',
        '--n0',
        '10',
        '--n',
        '100',
        '--batch',
        '100',
        '--queue',
        url,
      ],
      env,
    );
  try {
    const host = `127.0.0.1:${secured.port}`;
    for (const [url, env, pattern] of [
      [`redis://${host}`, {}, /Redis at redis:\/\/127\.0\.0\.1:\d+ needs a password; give it in the URL .*SMOOTHCERT_REDIS_PASSWORD/],
      [`redis://:wrong@${host}`, {}, /Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password/],
      [`redis://${host}`, { SMOOTHCERT_REDIS_PASSWORD: 'wrong' }, /refused the password/],
      [
        `rediss://${host}`,
        { SMOOTHCERT_REDIS_PASSWORD: 'open sesame' },
        /the TLS connection to Redis at rediss:\/\/127\.0\.0\.1:\d+ failed .*SMOOTHCERT_REDIS_CA_FILE/,
      ],
      [
        `redis://${host}`,
        { SMOOTHCERT_REDIS_CA_FILE: '/nonexistent' },
        /SMOOTHCERT_REDIS_CA_FILE is set but --queue .* is not rediss:\/\//,
      ],
    ] as const) {
      const r = certifyOn(url, env);
      assert.equal(r.status, 2, `${url} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    // The right password from a file (a newline at its end is not part of it): a worker serves and a run completes.
    const secret = join(tmp, 'redis-password');
    writeFileSync(secret, 'open sesame\n');
    const env = { SMOOTHCERT_REDIS_PASSWORD_FILE: secret };
    const worker = spawn(process.execPath, [BIN, 'worker', '--queue', `redis://${host}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: { ...process.env, ...env },
    });
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    try {
      const r = certifyOn(`redis://${host}`, env);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(
        spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout ?? '',
        /open sesame/,
        'the password is in no command line',
      );
    } finally {
      process.kill(-worker.pid!, 'SIGKILL');
      await exited;
    }
  } finally {
    await secured.stop();
  }
});
