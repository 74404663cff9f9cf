/**
 * The one kind of job on smoothcert's queue: count the base classifier's classes over a range of
 * noise samples of one example. Its payload names everything the counts depend on, so any
 * worker that has the model and the data computes them, and computes the same ones every time.
 */
import type { JobsOptions } from 'bullmq';
import { createHash } from 'node:crypto';
import { isNoiseLevel, SUBSTREAM } from '../noise/gaussian.js';

/** The BullMQ queue every smoothcert run and worker shares; runs are told apart by their fingerprint. */
export const QUEUE_NAME = 'smoothcert';

/** BullMQ's name for the job kind (one kind only; the name shows in Redis tools). */
export const JOB_NAME = 'counts';

/**
 * Bounds on a job's work, checked by the coordinator before it adds jobs and by the worker before
 * it runs one: a job of 2^53 samples would hold the only worker for ever, a batch of 2^31 noisy
 * images would ask one process for terabytes. 10^7 samples are minutes on the largest model here.
 */
export const MAX_JOB_SAMPLES = 10_000_000;
export const MAX_BATCH = 100_000;

/** Version of the payload layout; a worker refuses any other. */
export const PAYLOAD_VERSION = 1;

/**
 * How a worker's own model and data folder reach the processes BullMQ forks for it
 * (processor.ts): the worker machine's own copies, used instead of the coordinator's paths.
 */
export const WORKER_ENV = { model: 'SMOOTHCERT_WORKER_MODEL', dataDir: 'SMOOTHCERT_WORKER_DATA_DIR' } as const;

/** Where the model comes from, as the coordinator loaded it. */
export interface ModelSource {
  /** A smoothcert model folder or an .onnx file (a worker may use its own copy). */
  path: string;
  /** The content fingerprint of loaders/classifier.ts: a worker refuses the job when its copy differs. */
  fingerprint: string;
  /** ONNX only: how the graph is fed. */
  inputLayout?: 'nchw' | 'nhwc';
  /** ONNX only: the output with the class scores, when the graph has several. */
  output?: string;
  mean?: number[];
  std?: number[];
  /** Model folders: convolutions in bf16 (precision bf16); absent for fp32. */
  precision?: 'bf16';
  /** The engine the run's own process uses when not auto, so workers count with the same arithmetic. */
  engine?: 'plan' | 'tfjs' | 'onnxruntime';
}

/** Where the data comes from: dataset, split, folder, and the fingerprint of loaders/registry.ts. */
export interface DataSource {
  dataset: string;
  split: 'train' | 'test';
  dataDir?: string;
  fingerprint: string;
}

/**
 * An input carried in the job itself (a live request of the API service, service/): its H·W·C values as
 * little-endian float32 in base64, and their sha256, which the worker checks.
 */
export interface InputSource {
  shape: [number, number, number];
  values: string;
  fingerprint: string;
}

/** The largest input a job carries: an ImageNet image is 224·224·3 values. */
export const MAX_INPUT_VALUES = 1 << 20;

/** An input as a job carries it. */
export function inputSource(x: Float32Array, shape: [number, number, number]): InputSource {
  const bytes = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return { shape, values: bytes.toString('base64'), fingerprint: createHash('sha256').update(bytes).digest('hex') };
}

/** The input's values, or why they are not what the job says. */
export function inputValues(input: InputSource): Float32Array | string {
  const bytes = Buffer.from(input.values, 'base64');
  const d = input.shape[0] * input.shape[1] * input.shape[2];
  if (bytes.length !== 4 * d) return `input holds ${bytes.length} bytes, not the ${4 * d} of ${input.shape.join('×')} float32 values`;
  if (createHash('sha256').update(bytes).digest('hex') !== input.fingerprint) return 'input values do not match their fingerprint';
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = bytes.readFloatLE(4 * i);
  if (!x.every(Number.isFinite)) return 'input values must be finite';
  return x;
}

/**
 * counts[k] = #{ offset ≤ j < offset + num : f(x + σ z_j) = k }, x = example `example` of the
 * data (or the job's own input), z the noise stream (seed, stream = example, substream): the
 * job's result.
 */
export interface CountsJob {
  v: typeof PAYLOAD_VERSION;
  /** The run's fingerprint (its settings line): part of the job id, shown in the logs. */
  run: string;
  model: ModelSource;
  /** Where x comes from: example `example` of a dataset, or the input itself (exactly one of the two). */
  data?: DataSource;
  input?: InputSource;
  sigma: number;
  seed: number;
  example: number;
  substream: number;
  offset: number;
  num: number;
  /** Noisy samples per forward pass on the worker; batches start at multiples of it in the stream. */
  batch: number;
  /** Adaptive runs: every batch is computed whole (Smooth.wholeBatches), as the single process does. */
  whole?: true;
}

/** Phase names by substream number, for logs: select, estimate, predict. */
export const SUBSTREAM_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(SUBSTREAM).map(([name, k]) => [k, name]),
);

/**
 * The job id: a pure function of what the counts depend on, so adding a job twice (a restarted
 * coordinator) is a no-op, and a redelivered job recomputes the same counts. BullMQ refuses ':'
 * in custom ids.
 */
export function jobId(run: string, example: number, substream: number, offset: number, num: number): string {
  return `${run}-${example}-${substream}-${offset}-${num}`;
}

/**
 * What happens when a job fails. A worker killed mid-job leaves it "stalled": another worker's
 * stalled check (worker.ts) takes it back, up to maxStalledCount times, without using an attempt.
 * A job that throws (a worker refusing another model, a transient error) is retried with backoff;
 * a malformed one fails at once (UnrecoverableError). Finished jobs stay a week so that a
 * restarted coordinator reuses their counts; it removes them itself once their row is written.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** The payload checked field by field: the job, or why it is malformed. */
export function parseCountsJob(data: unknown): CountsJob | string {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'malformed payload: not an object';
  const d = data as Record<string, unknown>;
  if (d.v !== PAYLOAD_VERSION)
    return `payload version ${JSON.stringify(d.v)} is not ${PAYLOAD_VERSION} (coordinator and worker run different smoothcert versions)`;
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const isText = (v: unknown) => typeof v === 'string' && v.length > 0;
  const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const isList = (v: unknown) => v === undefined || (Array.isArray(v) && v.length > 0 && v.every((x) => Number.isFinite(x)));
  need(isText(d.run), 'run must be a non-empty string');
  const model = d.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null) problems.push('model must be an object');
  else {
    need(isText(model.path), 'model.path must be a non-empty string');
    need(isText(model.fingerprint), 'model.fingerprint must be a non-empty string');
    need(
      model.inputLayout === undefined || model.inputLayout === 'nchw' || model.inputLayout === 'nhwc',
      'model.inputLayout must be nchw or nhwc',
    );
    need(model.output === undefined || isText(model.output), 'model.output must be a non-empty string');
    need(isList(model.mean) && isList(model.std), 'model.mean and model.std must be lists of numbers');
    need(model.precision === undefined || model.precision === 'bf16', 'model.precision must be bf16 or absent');
    need(
      model.engine === undefined || model.engine === 'plan' || model.engine === 'tfjs' || model.engine === 'onnxruntime',
      'model.engine must be plan, tfjs, onnxruntime or absent',
    );
  }
  const source = d.data as Record<string, unknown> | undefined;
  const input = d.input as Record<string, unknown> | undefined;
  if ((source === undefined) === (input === undefined)) problems.push('a job takes its x from data or from input, exactly one');
  else if (input !== undefined) {
    const shape = input.shape;
    need(
      typeof input === 'object' &&
        input !== null &&
        Array.isArray(shape) &&
        shape.length === 3 &&
        shape.every((v) => isCount(v, 1)) &&
        (shape as number[]).reduce((a, b) => a * b, 1) <= MAX_INPUT_VALUES,
      `input.shape must be [H, W, C] of at most ${MAX_INPUT_VALUES} values`,
    );
    need(isText(input.values) && isText(input.fingerprint), 'input.values and input.fingerprint must be non-empty strings');
  } else if (typeof source !== 'object' || source === null) problems.push('data must be an object');
  else {
    need(isText(source.dataset), 'data.dataset must be a non-empty string');
    need(source.split === 'train' || source.split === 'test', 'data.split must be train or test');
    need(source.dataDir === undefined || isText(source.dataDir), 'data.dataDir must be a non-empty string');
    need(isText(source.fingerprint), 'data.fingerprint must be a non-empty string');
  }
  need(isNoiseLevel(d.sigma), 'sigma must be a number > 0 and ≤ 2^125'); // x + σz finite in float32
  need(isCount(d.seed, 0), 'seed must be an integer ≥ 0');
  // Philox takes the stream and substream as 32-bit words.
  need(isCount(d.example, 0) && (d.example as number) < 2 ** 32, 'example must be an integer in [0, 2^32)');
  need(isCount(d.substream, 0) && (d.substream as number) < 2 ** 32, 'substream must be an integer in [0, 2^32)');
  need(isCount(d.offset, 0), 'offset must be an integer ≥ 0');
  need(isCount(d.num, 1) && (d.num as number) <= MAX_JOB_SAMPLES, `num must be an integer in [1, ${MAX_JOB_SAMPLES}]`);
  need(isCount(d.batch, 1) && (d.batch as number) <= MAX_BATCH, `batch must be an integer in [1, ${MAX_BATCH}]`);
  need(d.whole === undefined || d.whole === true, 'whole must be true or absent');
  need(
    !isCount(d.offset, 0) || !isCount(d.num, 1) || Number.isSafeInteger((d.offset as number) + (d.num as number)),
    'offset + num must be below 2^53',
  );
  return problems.length > 0 ? `malformed payload: ${problems.join('; ')}` : (d as unknown as CountsJob);
}
