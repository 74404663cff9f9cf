// Load test of the certified prediction service (`smoothcert serve --api`) with autocannon on loopback:
// throughput and p50/p99 latency at 1, 8 and 64 concurrent clients for predict (n = 1,000) and certify
// (decision at r = σ), and the server's forward passes per second against offline `smoothcert certify`
// on the same model and batch size. Writes docs/results/service/load-test.{md,json}.
//
//   node scripts/load-test.mjs [--model DIR] [--seconds S]
//
// Run it with nothing else on the machine: the server, autocannon and the offline run share its cores.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { loadDataset } from '../dist/src/loaders/registry.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const MODEL = arg('model', 'docs/results/adaptive/models/consistency-s0.25');
const SECONDS = Number(arg('seconds', '10'));
const BATCH = 1000;
const BIN = 'bin/smoothcert.js';
const OUT = 'docs/results/service';

const sigma = JSON.parse(readFileSync(join(MODEL, 'smoothcert.json'), 'utf8')).training.sigma;
const data = await loadDataset('fashion-mnist', 'test');
// 32 test images, every 300th: each request of a connection takes the next one.
const images = await Promise.all(Array.from({ length: 32 }, async (_, i) => Array.from(await data.image(i * 300))));

/** Offline CERTIFY on the same model and batch: forward passes per second from the TSV's per-example times. */
function offlineCertify() {
  const dir = mkdtempSync(join(tmpdir(), 'smoothcert-load-'));
  try {
    const out = join(dir, 'certify.tsv');
    const n = 10_000;
    const r = spawnSync(
      process.execPath,
      [BIN, 'certify', '--model', MODEL, '--n', String(n), '--batch', String(BATCH), '--skip', '300', '--max', '6000', '--out', out],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(r.stderr);
    const rows = readFileSync(out, 'utf8').trim().split('\n').slice(2);
    const seconds = rows.reduce((sum, row) => {
      const [h, m, s] = row.split('\t').at(-1).split(':').map(Number);
      return sum + 3600 * h + 60 * m + s;
    }, 0);
    return { images: rows.length, passesPerSecond: (rows.length * (100 + n)) / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startServer() {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--api', '--model', MODEL, '--port', '0', '--batch', String(BATCH), '--per-client', '128'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /at (http:\/\/\S+)\/v1\//.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', () => reject(new Error('the server exited')));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGINT');
      }),
  };
}

const health = async (url) => (await (await fetch(`${url}/v1/health`)).json()).forwardPasses;

async function cell(url, endpoint, connections) {
  const body = (image) => JSON.stringify(endpoint === 'predict' ? { image, n: 1000 } : { image, radius: sigma });
  const before = await health(url);
  const started = performance.now();
  const result = await autocannon({
    url,
    connections,
    duration: SECONDS,
    timeout: 120,
    requests: images.map((image) => ({
      method: 'POST',
      path: `/v1/${endpoint}`,
      headers: { 'content-type': 'application/json' },
      body: body(image),
    })),
  });
  const seconds = (performance.now() - started) / 1000;
  const passes = (await health(url)) - before;
  return {
    endpoint,
    connections,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    passesPerSecond: passes / seconds,
  };
}

const offline = offlineCertify();
const server = await startServer();
const cells = [];
try {
  for (const endpoint of ['predict', 'certify']) {
    for (const connections of [1, 8, 64]) {
      cells.push(await cell(server.url, endpoint, connections));
      console.error(JSON.stringify(cells.at(-1)));
    }
  }
} finally {
  await server.stop();
}

const cpu = `${cpus()[0].model}; flags: ${['avx512f', 'avx512_bf16', 'amx_bf16'].filter((f) => readFileSync('/proc/cpuinfo', 'utf8').includes(` ${f}`)).join(', ')}`;
const lines = [
  `Measured by \`node scripts/load-test.mjs --seconds ${SECONDS}\` on ${cpus().length} cores (${cpu}), native backend,`,
  `model \`${MODEL}\` (LeNet, σ = ${sigma}), batch ${BATCH}, ${images.length} test images cycled; autocannon ${SECONDS} s per row.`,
  '',
  '| endpoint | clients | requests/s | p50 ms | p99 ms | errors | forward passes/s | vs offline certify |',
  '| --- | --: | --: | --: | --: | --: | --: | --: |',
  ...cells.map(
    (c) =>
      `| ${c.endpoint === 'predict' ? 'predict (n = 1,000)' : `certify (decision at r = σ)`} | ${c.connections} | ${c.requestsPerSecond.toFixed(1)} | ${c.p50} | ${c.p99} | ${c.errors} | ${Math.round(c.passesPerSecond)} | ${(c.passesPerSecond / offline.passesPerSecond).toFixed(2)}× |`,
  ),
  '',
  `Offline \`smoothcert certify\` (n0 = 100, n = 10,000, batch ${BATCH}, ${offline.images} images): ${Math.round(offline.passesPerSecond)} forward passes/s`,
  '(from the time column of its TSV).',
  '',
];
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'load-test.md'), lines.join('\n'));
writeFileSync(join(OUT, 'load-test.json'), `${JSON.stringify({ cpu, seconds: SECONDS, batch: BATCH, offline, cells }, null, 2)}\n`);
process.stdout.write(lines.join('\n'));
