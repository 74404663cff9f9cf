/**
 * `npm run bench`: throughput of smoothcert's engines on the paper's workloads against their peers,
 * one JSON line per case and engine on stdout, a summary table and progress on stderr. Never part
 * of the test suite.
 *
 *   node dist/bench/run.js [--seconds S] [--rounds K] [--cases a,b] [--engines plan,plan-bf16,native,…]
 *
 * Cases (bench/cases.ts): lenet-certify, resnet20-certify, resnet110-certify, resnet50-certify (Philox
 * noise + forward + arg-max counts; peer: onnxruntime-node on the ONNX export of the same weights; PyTorch
 * in fp32 and bf16 autocast on the same weights and noisy batch, bench/pytorch_certify.py), lenet-train-consistency,
 * resnet20-train, resnet110-train, densenet40-train (consistency training, m = 2, in fp32 on `native` and as
 * `train --precision bf16` on `native-bf16`; peer: the same step in PyTorch fp32, bench/pytorch_train.py,
 * when a python3 with torch is present; PyTorch's bf16 autocast training is too slow here to be a peer).
 *
 * Shared machines swing by tens of percent within minutes, so each case measures its engines in
 * alternation, K rounds of S seconds each (A, B, A, B, …), and reports each engine's best round
 * with the spread of all rounds; the ratio is best against best. Every round runs in a fresh
 * process, so the reported peak resident memory (maxRSS) is that case's alone. Engines: plan and
 * plan-bf16 (the native inference plan; `plan:32` sets its batch, for a sweep), native and native-bf16
 * (tfjs layer by layer on the native backend; bf16 on CPUs with AVX512-BF16), wasm, and the peers
 * onnxruntime, pytorch, pytorch-bf16. Each rate is also given in GFLOP/s and as a fraction of this
 * machine's peak, measured first by a oneDNN matmul in fp32 and bf16 (native/peak.cc).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../src/backend/addon.js';
import { CASE_NAMES, CASES, NUM_NOISE, type CaseName } from './cases.js';
import { round3 } from './measure.js';
import { debianBlas, PYTORCH_MALLOC, pytorchTraining, pythonWithTorch } from './pytorch.js';

type Engine = string;
const ENGINE_NAME = /^(plan(-bf16)?(:[1-9][0-9]*)?|native|native-bf16|wasm|onnxruntime|pytorch|pytorch-bf16)$/;
const CERTIFY_ONLY = /^(plan|onnxruntime|pytorch-bf16)/;

function fail(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = Number(option('seconds') ?? 5);
const rounds = Number(option('rounds') ?? 3);
const cases = (option('cases')?.split(',') ?? CASE_NAMES) as CaseName[];
const engines = option('engines')?.split(',') ?? ['plan', 'plan-bf16', 'native', 'native-bf16', 'onnxruntime', 'pytorch', 'pytorch-bf16'];
if (!(seconds > 0)) fail('--seconds must be a positive number');
if (!Number.isInteger(rounds) || rounds < 1) fail('--rounds must be a positive integer');
for (const c of cases) if (!(c in CASES)) fail(`unknown case "${c}"; cases: ${CASE_NAMES.join(', ')}`);
for (const e of engines)
  if (!ENGINE_NAME.test(e))
    fail(
      `unknown engine "${e}"; engines: plan, plan-bf16 (plan:B sets the batch), native, native-bf16, wasm, onnxruntime, pytorch, pytorch-bf16`,
    );

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function packageVersion(name: string): string {
  const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

function debianVersion(pkg: string): string {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : 'not installed';
}

const ENGINE_SCRIPT = fileURLToPath(new URL('./engine.js', import.meta.url));

/** One round of one engine, in a process of its own. */
function measure(name: CaseName, engine: Engine): Record<string, unknown> {
  const c = CASES[name];
  if (engine === 'pytorch' && c.kind === 'train') return pytorchTraining(c.arch, c.batch, NUM_NOISE, seconds);
  const r = spawnSync(process.execPath, [ENGINE_SCRIPT, name, engine, String(seconds)], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `${engine} failed: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`}` };
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

interface Summary {
  engine: Engine;
  best: number;
  min: number;
  max: number;
  peakRssMB: number;
  rssGrowthMB?: number;
  gflops?: number;
  ofPeak?: number;
  ratio?: number;
}

/** The CPU's vector flags that decide the kernels (/proc/cpuinfo), stated with every table. */
function cpuFlags(): string {
  try {
    const line =
      readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('flags')) ?? '';
    return line
      .split(/\s+/)
      .filter((f) => /^(avx2|fma|avx512f|avx512_bf16|avx512_vnni|amx_bf16|amx_tile|amx_int8)$/.test(f))
      .join(' ');
  } catch {
    return 'unknown';
  }
}

const torch = pythonWithTorch();
// The machine's attainable peak, in the same run: each rate is also read as a fraction of it.
const addon = loadAddon().addon;
const peak = addon
  ? { fp32: addon.peakMatmul(false, 1024, 2), bf16: addon.info().bf16 ? addon.peakMatmul(true, 1024, 2) : undefined }
  : undefined;
const peakOf = (engine: string): number | undefined => (engine.includes('bf16') ? peak?.bf16?.gflops : peak?.fp32.gflops);
emit({
  machine: cpus()[0]?.model,
  cores: cpus().length,
  node: process.version,
  tfjs: packageVersion('@tensorflow/tfjs-core'),
  onnxruntimeNode: packageVersion('onnxruntime-node'),
  onednn: debianVersion('libdnnl-dev'),
  torch:
    torch === null ? 'not found' : spawnSync(torch, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim(),
  blas: debianBlas(),
  torchMalloc: PYTORCH_MALLOC,
  seconds,
  rounds,
  cpuFlags: cpuFlags(),
  peakGflops: peak ? { fp32: round3(peak.fp32.gflops), bf16: peak.bf16 ? round3(peak.bf16.gflops) : null, impl: peak.fp32.impl } : null,
});

const table: string[] = [];
for (const name of cases) {
  const c = CASES[name];
  const caseEngines = engines.filter((e) =>
    c.kind === 'certify' ? true : e === 'native' || e === 'native-bf16' || e === 'wasm' || e === c.peer || !CERTIFY_ONLY.test(e),
  );
  const results = new Map<Engine, Record<string, unknown>[]>(caseEngines.map((e) => [e, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const engine of caseEngines) {
      process.stderr.write(`${name}: ${engine}, round ${round} of ${rounds}…\n`);
      results.get(engine)!.push(measure(name, engine));
    }
  }
  const summaries: Summary[] = [];
  for (const engine of caseEngines) {
    const runs = results.get(engine)!;
    const skipped = runs.find((r) => 'skipped' in r);
    if (skipped !== undefined) {
      emit({ case: name, engine, skipped: skipped.skipped });
      continue;
    }
    const rates = runs.map((r) => r.rate as number);
    const best = Math.max(...rates);
    const peakRssMB = Math.max(...runs.map((r) => r.peakRssMB as number));
    const growth = runs.map((r) => r.rssGrowthMB).filter((g): g is number => typeof g === 'number');
    const flops = runs[0]!.flopsPerUnit;
    const gflops = typeof flops === 'number' ? (best * flops) / 1e9 : undefined;
    const top = peakOf(engine);
    summaries.push({
      engine,
      best,
      min: Math.min(...rates),
      max: best,
      peakRssMB,
      ...(growth.length > 0 ? { rssGrowthMB: Math.max(...growth) } : {}),
      ...(gflops !== undefined ? { gflops } : {}),
      ...(gflops !== undefined && top !== undefined && c.kind === 'certify' ? { ofPeak: gflops / top } : {}),
    });
    emit({
      case: name,
      engine,
      unit: c.kind === 'certify' ? 'images/s' : 'noisy samples/s',
      batch: c.batch,
      ...(c.kind === 'train' ? { m: NUM_NOISE } : {}),
      best: round3(best),
      spread: [round3(Math.min(...rates)), round3(best)],
      rounds: rates.map(round3),
      ...(typeof flops === 'number' ? { gflops: round3((best * flops) / 1e9) } : {}),
      ...(summaries.at(-1)!.ofPeak === undefined ? {} : { fractionOfPeak: round3(summaries.at(-1)!.ofPeak!) }),
      peakRssMB: round3(peakRssMB),
      ...(growth.length > 0 ? { rssGrowthMB: round3(Math.max(...growth)) } : {}),
      ...(runs[0]!.torch === undefined ? {} : { torch: runs[0]!.torch, threads: runs[0]!.threads }),
      ...(runs[0]!.noise === undefined ? {} : { noise: runs[0]!.noise }),
      ...(runs[0]!.planBatch === undefined ? {} : { planBatch: runs[0]!.planBatch, activationMB: round3(runs[0]!.activationMB as number) }),
    });
  }
  const peer = summaries.find((s) => s.engine === c.peer);
  for (const s of summaries) {
    if (peer !== undefined && s !== peer) {
      s.ratio = s.best / peer.best;
      const agreement: Record<string, unknown> = {};
      if (c.kind === 'certify') {
        // Same weights, same noise: the warm-up call's arg-max counts should agree up to float near-ties.
        const a = results.get(s.engine)![0]!.counts as number[];
        const b = results.get(peer.engine)![0]!.counts as number[];
        agreement.countsDiffering = a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / 2;
      }
      emit({
        case: name,
        engine: s.engine,
        peer: peer.engine,
        ratio: round3(s.ratio),
        ratioWorstRounds: round3(s.min / peer.max),
        ...agreement,
      });
    }
    table.push(
      `| ${name} | ${s.engine} | ${round3(s.best)} | ${round3(s.min)}–${round3(s.max)} | ${s.gflops === undefined ? '' : round3(s.gflops)} | ` +
        `${s.ofPeak === undefined ? '' : `${Math.round(100 * s.ofPeak)} %`} | ${Math.round(s.peakRssMB)} | ` +
        `${s.rssGrowthMB === undefined ? '' : round3(s.rssGrowthMB)} | ${s.ratio === undefined ? '' : `${round3(s.ratio)}×`} |`,
    );
  }
}
process.stderr.write(
  [
    '',
    `CPU: ${cpus()[0]?.model} (${cpus().length} cores), flags: ${cpuFlags()}; peak ${peak ? `${round3(peak.fp32.gflops)} GFLOP/s fp32, ${peak.bf16 ? round3(peak.bf16.gflops) : '—'} bf16` : 'not measured'}`,
    '',
    '| case | engine | best | spread | GFLOP/s | of peak | peak RSS MiB | RSS growth MiB | vs peer |',
    '| :-- | :-- | --: | --: | --: | --: | --: | --: | --: |',
    ...table,
    '',
  ].join('\n'),
);
