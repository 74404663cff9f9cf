/**
 * BullMQ's sandboxed processor for counts jobs: BullMQ forks a process that imports this file
 * and calls its default export per job, so the forward passes never block the worker's own
 * event loop, which renews the job locks (BullMQ's advice for CPU-bound jobs). The process is
 * kept between jobs, so the model and the data are loaded once per process.
 */
import '@tensorflow/tfjs-backend-cpu';
import { DelayedError, UnrecoverableError, type SandboxedJob } from 'bullmq';
import { resolve } from 'node:path';
import { initBackend } from '../backend/select.js';
import { dataFingerprint, loadDataset, type LoadedDataset } from '../loaders/registry.js';
import { loadClassifier, type LoadedClassifier } from '../loaders/classifier.js';
import { Smooth } from '../smoothing/smooth.js';
import { type CountsJob, type DataSource, inputValues, parseCountsJob, WORKER_ENV } from './job.js';

// A worker killed with SIGKILL cannot stop its processes; they notice the lost channel instead,
// or, in the middle of a job, that they were handed to another parent: checked every second
// (jobs yield between batches, so the check runs during long jobs too). The job goes to another
// worker when its lock expires.
process.on('disconnect', () => process.exit(1));
const parent = process.ppid;
/** The worker that forked this process is gone: its channel closed, or this process was handed to another parent. */
const orphaned = () => process.ppid !== parent || !process.connected;
setInterval(() => {
  if (orphaned()) process.exit(1);
}, 1000).unref();
// An error raised once the channel is gone (a send to the dead worker) reaches BullMQ's
// uncaughtException handler, whose report to the worker fails in turn: an unhandled rejection,
// the handler again, forever, in microtasks that starve the disconnect event and the timer above
// (measured: an orphan at 100 % of a core, 2.5 GB and growing, minutes after the kill). This
// listener runs right after BullMQ's and ends the loop at its first turn.
process.on('uncaughtException', () => {
  if (orphaned()) process.exit(1);
});
/** Given to Smooth so that sampling yields to the event loop between batches (the check above then runs). */
const running = new AbortController();

/** How long a job this worker cannot serve waits before any worker takes it again. */
const REFUSED_DELAY_MS = 1_000;

/** This worker cannot compute the job (another model or data than the run's): another worker should. */
class Refusal extends Error {}

let backend: Promise<unknown> | undefined;
/** The last data and model loaded, keyed by what they were loaded from (a worker serves one run at a time). */
let data: { key: string; set: LoadedDataset; fingerprint: string } | undefined;
let model: { key: string; loaded: LoadedClassifier } | undefined;

/** Counts the job's range of noise samples; throws to fail the job with a reason. */
export default async function countsProcessor(job: SandboxedJob, token?: string): Promise<number[]> {
  const parsed = parseCountsJob(job.data);
  // Retrying a malformed payload cannot help: fail it at once with the reason.
  if (typeof parsed === 'string') throw new UnrecoverableError(parsed);
  // A live request's input travels in the job: checked against its fingerprint before anything loads.
  const carried = parsed.input === undefined ? undefined : inputValues(parsed.input);
  if (typeof carried === 'string') throw new UnrecoverableError(carried);
  backend ??= initBackend({ warn: () => undefined });
  await backend;
  let set: LoadedDataset | undefined;
  let base: LoadedClassifier['base'];
  try {
    if (parsed.data !== undefined) set = await dataFor(parsed, parsed.data);
    base = (await modelFor(parsed, set?.shape ?? parsed.input!.shape, parsed.data?.dataset)).base;
  } catch (e) {
    // A worker without the run's model or data hands the job back without spending an attempt,
    // so a misconfigured worker cannot fail a run that good workers can finish. The reason is in
    // the job's log, where the coordinator reads it.
    const reason =
      e instanceof Refusal
        ? e.message
        : `refusing run ${parsed.run}: cannot load its model or data here (${(e as Error).message.split('\n')[0]})`;
    process.stderr.write(`${new Date().toISOString()} worker processor ${process.pid}: ${reason}; the job is left for another worker\n`);
    await job.log(reason);
    await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
    throw new DelayedError();
  }
  if (set !== undefined && parsed.example >= set.size)
    throw new UnrecoverableError(
      `example ${parsed.example} is beyond the ${set.size} examples of ${parsed.data!.dataset} ${parsed.data!.split}`,
    );
  const x = carried ?? (await set!.image(parsed.example));
  // The job's sigma is the run's (the coordinator's sigma setting or the model's record).
  const smooth = new Smooth(base, parsed.sigma, parsed.seed, { signal: running.signal });
  const key = { seed: parsed.seed, stream: parsed.example, substream: parsed.substream };
  return Array.from(await smooth.sampleCounts(x, parsed.num, parsed.batch, key, parsed.offset, parsed.whole === true));
}

async function dataFor(job: CountsJob, source: DataSource): Promise<LoadedDataset> {
  const dataDir = process.env[WORKER_ENV.dataDir] ?? source.dataDir;
  const key = JSON.stringify([source.dataset, source.split, dataDir]);
  if (data?.key !== key) {
    const set = await loadDataset(source.dataset, source.split, dataDir === undefined ? {} : { dataDir });
    data = { key, set, fingerprint: dataFingerprint(set) };
  }
  if (data.fingerprint !== source.fingerprint) {
    throw new Refusal(
      `refusing run ${job.run}: this worker's data (${data.set.source}) has fingerprint ${data.fingerprint}, ` +
        `the run's ${source.dataset} ${source.split} data has ${source.fingerprint}; start this worker with the run's data folder`,
    );
  }
  return data.set;
}

/** The run's model for inputs of `shape` (a dataset's, or a carried input's). */
async function modelFor(job: CountsJob, shape: [number, number, number], dataset: string | undefined): Promise<LoadedClassifier> {
  const path = resolve(process.env[WORKER_ENV.model] ?? job.model.path);
  const onnx = {
    ...(job.model.inputLayout ? { inputLayout: job.model.inputLayout } : {}),
    ...(job.model.output ? { output: job.model.output } : {}),
    ...(job.model.mean ? { mean: job.model.mean } : {}),
    ...(job.model.std ? { std: job.model.std } : {}),
    ...(job.model.precision ? { precision: job.model.precision } : {}),
    ...(job.model.engine ? { engine: job.model.engine } : {}),
  };
  const key = JSON.stringify([path, onnx, shape]);
  if (model?.key !== key) {
    model?.loaded.base.dispose?.();
    model = undefined;
    model = { key, loaded: await loadClassifier(path, shape, dataset, onnx) };
  }
  if (model.loaded.fingerprint !== job.model.fingerprint) {
    throw new Refusal(
      `refusing run ${job.run}: this worker's model ${path} has fingerprint ${model.loaded.fingerprint}, ` +
        `the run's model has fingerprint ${job.model.fingerprint}; start this worker with the run's model`,
    );
  }
  return model.loaded;
}
