import { Worker, type Job } from 'bullmq';
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { UserError } from '../base/errors.js';
import { fileURLToPath } from 'node:url';
import { BACKEND_ENV, type BackendName } from '../backend/select.js';
import { displayUrl, openQueue, redisOptions } from './connection.js';
import { QUEUE_NAME, SUBSTREAM_NAMES, WORKER_ENV, type CountsJob } from './job.js';

/** The sandboxed processor BullMQ forks (processor.ts, as built beside this file). */
const PROCESSOR = fileURLToPath(new URL('./processor.js', import.meta.url));

/**
 * A job whose worker died is seen as stalled once its lock expires, by the next stalled check
 * of any live worker: within LOCK_MS + STALLED_CHECK_MS it runs elsewhere. The lock is renewed
 * every LOCK_MS / 2 by this process, whose event loop the forward passes never block (they run in
 * the forked processor), so a short lock is safe; and were a lock lost anyway, the job would be
 * computed twice with identical counts. A job may stall MAX_STALLED times (its worker killed
 * each time) before it fails.
 */
const LOCK_MS = 10_000;
const STALLED_CHECK_MS = 5_000;
const MAX_STALLED = 5;

export interface WorkerOptions {
  url: string;
  /** Jobs run at once, each in its own forked process. */
  concurrency: number;
  /** This machine's copy of the model, used instead of the path the coordinator sent. */
  model?: string;
  /** This machine's dataset folder, used instead of the coordinator's. */
  dataDir?: string;
  /** The engine of the forked processes. */
  backend: BackendName;
}

/**
 * Serves counts jobs from the queue at `url` until `signal` aborts, then lets running jobs
 * finish (a second signal exits at once: the jobs of a killed worker are taken over). Each
 * finished or failed job is logged.
 */
export async function runWorker(o: WorkerOptions, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  // A worker that could serve no run refuses to start, rather than take jobs only to hand them back.
  if (o.model !== undefined && !existsSync(o.model))
    throw new UserError(`model ${o.model} does not exist on this machine; give the worker its copy of the runs' model`);
  if (o.dataDir !== undefined && !(existsSync(o.dataDir) && statSync(o.dataDir).isDirectory())) {
    throw new UserError(`data folder ${o.dataDir} does not exist on this machine; give the worker its copy of the dataset`);
  }
  // A first contact with a clear error when Redis is unreachable (the Worker would retry silently).
  await (await openQueue(o.url, log)).close();
  const env: NodeJS.ProcessEnv = { ...process.env, [BACKEND_ENV]: o.backend };
  if (o.model !== undefined) env[WORKER_ENV.model] = o.model;
  if (o.dataDir !== undefined) env[WORKER_ENV.dataDir] = o.dataDir;
  const worker = new Worker(QUEUE_NAME, PROCESSOR, {
    connection: redisOptions(o.url),
    concurrency: o.concurrency,
    name: `${hostname()}:${process.pid}`,
    lockDuration: LOCK_MS,
    stalledInterval: STALLED_CHECK_MS,
    maxStalledCount: MAX_STALLED,
    workerForkOptions: { env },
  });
  let outage = false;
  worker.on('error', (e) => {
    if (!outage) log(`lost the connection to Redis at ${displayUrl(o.url)} (${e.message}); waiting for it to come back`);
    outage = true;
  });
  worker.on('completed', (job: Job<CountsJob>) => {
    // A job stored as completed: the connection is back.
    if (outage) log(`reconnected to Redis at ${displayUrl(o.url)}`);
    outage = false;
    log(`done ${describeJob(job)} in ${seconds(job)}`);
  });
  worker.on('failed', (job: Job<CountsJob> | undefined, e: Error) => {
    const left = job && job.attemptsMade < (job.opts.attempts ?? 1) && e.name !== 'UnrecoverableError' ? '; it will be retried' : '';
    log(`failed ${job ? describeJob(job) : 'a job'}: ${e.message}${left}`);
  });
  await worker.waitUntilReady();
  log(`serving ${displayUrl(o.url)} with ${o.concurrency} process${o.concurrency > 1 ? 'es' : ''} on the ${o.backend} backend`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  log('stopping: finishing the running jobs (again to stop at once; their jobs go to other workers)');
  await worker.close();
}

/** A job in the log: its run, example, phase and range (whatever of it is well-formed). */
function describeJob(job: Job<CountsJob>): string {
  const d = job.data as Partial<CountsJob> | undefined;
  if (typeof d?.offset !== 'number' || typeof d.num !== 'number') return `job ${String(job.id)}`;
  const phase = SUBSTREAM_NAMES[d.substream ?? -1] ?? `substream ${String(d.substream)}`;
  return `run ${String(d.run)} example ${String(d.example)} ${phase} samples [${d.offset}, ${d.offset + d.num})`;
}

function seconds(job: Job): string {
  return job.finishedOn && job.processedOn ? `${((job.finishedOn - job.processedOn) / 1000).toFixed(2)} s` : '?';
}
