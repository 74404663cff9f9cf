import { Job, type Queue } from 'bullmq';
import { UserError } from '../base/errors.js';
import type { SampleCounts } from '../smoothing/smooth.js';
import { displayUrl, openQueue } from './connection.js';
import { JOB_NAME, JOB_OPTIONS, jobId, MAX_BATCH, MAX_JOB_SAMPLES, type CountsJob } from './job.js';

/** What every job of a run shares: all of the payload but the example and the range. */
export type RunJobs = Omit<CountsJob, 'example' | 'substream' | 'offset' | 'num'>;

/**
 * Jobs are cut at multiples of the batch (at least one batch per job), so every batch a worker
 * runs is a batch the single process runs (smooth.ts aligns batches to the stream): queued and
 * single-process counts agree exactly, not only up to the rounding of another batch shape.
 */
export function alignedChunk(chunk: number, batch: number): number {
  return Math.max(batch, chunk - (chunk % batch));
}

/** How often the coordinator asks Redis about the jobs it waits for, and about live workers. */
const POLL_MS = 200;
const WORKERS_POLL_MS = 5000;
/** With no worker for this long, say how to start one. */
const NO_WORKER_WARNING_MS = 10_000;

interface Waiting {
  job: CountsJob;
  /** Checked at least once by this process: a failure seen on the first check predates it. */
  seen: boolean;
  resolve: (counts: Float64Array) => void;
  reject: (e: Error) => void;
}

/**
 * The coordinator's side of the queue: a SampleCounts per example whose ranges become jobs, so
 * smoothing/smooth.ts decides from counts computed on any number of machines. A range is cut at
 * multiples of `chunk`, so the same request always makes the same jobs, and their ids (job.ts)
 * make adding them again a no-op: a restarted coordinator picks up the jobs, and the finished
 * counts, of the one before it.
 *
 * Waiting is by polling job states rather than by BullMQ's event stream, which is not kept
 * across a Redis restart: a job Redis lost (a restart from an AOF that missed its last second)
 * is added again, and a job that failed before this coordinator started is retried once.
 */
export class QueueCounts {
  /** Noise samples counted so far by the workers for this process. */
  samples = 0;
  /** Workers connected to the queue, as of the last check. */
  workers = 0;
  private readonly waiting = new Map<string, Waiting>();
  /** The ids of the jobs made for each example (or request, by its run): removed once its answer is kept. */
  private readonly ids = new Map<string, string[]>();
  private readonly removals: Promise<unknown>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private workersTimer: NodeJS.Timeout | undefined;
  private lastWorkerSeen = Date.now();
  private warnedNoWorker = false;
  /** Reasons workers gave for handing jobs back, each said once. */
  private readonly refusals = new Set<string>();
  private closed = false;

  private constructor(
    private readonly queue: Queue,
    private readonly run: RunJobs,
    private readonly chunk: number,
    private readonly numClasses: number,
    private readonly url: string,
    private readonly notify: (m: string) => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', () => this.rejectAll(signal.reason as Error), { once: true });
  }

  /** Connects to the queue at `url` (a clear UserError within seconds when Redis is unreachable). */
  static async open(
    url: string,
    run: RunJobs,
    o: { chunk: number; numClasses: number; notify: (m: string) => void; signal?: AbortSignal },
  ): Promise<QueueCounts> {
    if (!(Number.isSafeInteger(o.chunk) && o.chunk >= 1 && o.chunk <= MAX_JOB_SAMPLES))
      throw new RangeError(`chunk must be an integer in [1, ${MAX_JOB_SAMPLES}] (got ${o.chunk})`);
    if (!(Number.isSafeInteger(run.batch) && run.batch >= 1 && run.batch <= MAX_BATCH))
      throw new RangeError(`batch must be an integer in [1, ${MAX_BATCH}] (got ${run.batch})`);
    const queue = await openQueue(url, o.notify);
    const counts = new QueueCounts(queue, run, alignedChunk(o.chunk, run.batch), o.numClasses, url, o.notify, o.signal);
    await counts.checkWorkers();
    counts.schedulePoll();
    return counts;
  }

  /**
   * The counts of example `example`, summed over the jobs of its ranges. `request` overrides the
   * run's payload for one live input (service/: its own run id, seed and input).
   */
  sampler(example: number, request?: Partial<RunJobs>): SampleCounts {
    const tag = `${request?.run ?? this.run.run}:${example}`;
    return async (key, offset, num) => {
      const jobs: CountsJob[] = [];
      for (let start = offset; start < offset + num; ) {
        const end = Math.min(offset + num, (Math.floor(start / this.chunk) + 1) * this.chunk);
        jobs.push({ ...this.run, ...request, example, substream: key.substream, offset: start, num: end - start });
        start = end;
      }
      const ids = jobs.map((j) => jobId(j.run, j.example, j.substream, j.offset, j.num));
      this.ids.set(tag, [...(this.ids.get(tag) ?? []), ...ids]);
      await this.queue.addBulk(jobs.map((job, k) => ({ name: JOB_NAME, data: job, opts: { ...JOB_OPTIONS, jobId: ids[k]! } })));
      const results = await Promise.all(jobs.map((job, k) => this.wait(ids[k]!, job)));
      const total = new Float64Array(this.numClasses);
      for (const counts of results)
        counts.forEach((c, k) => {
          total[k]! += c;
        });
      return total;
    };
  }

  /** Example `example`'s row is on disk: its jobs are no longer needed (removed in the background). */
  forget(example: number, run = this.run.run): void {
    const tag = `${run}:${example}`;
    for (const id of this.ids.get(tag) ?? []) this.removals.push(this.queue.remove(id).catch(() => undefined));
    this.ids.delete(tag);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.workersTimer);
    await Promise.all(this.removals);
    await this.queue.close();
  }

  private wait(id: string, job: CountsJob): Promise<Float64Array> {
    return new Promise((resolve, reject) => {
      if (this.signal?.aborted) reject(this.signal.reason as Error);
      else this.waiting.set(id, { job, seen: false, resolve, reject });
    });
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      // Commands wait while Redis is away (connection.ts), so an error here is not an outage: say it, keep polling.
      this.poll()
        .catch((e: Error) => this.notify(`smoothcert: warning: checking jobs failed (${e.message}); retrying`))
        .finally(() => this.schedulePoll());
    }, POLL_MS);
  }

  private async poll(): Promise<void> {
    await Promise.all(
      [...this.waiting].map(async ([id, w]) => {
        const state = await this.queue.getJobState(id);
        const first = !w.seen;
        w.seen = true;
        if (state === 'completed') {
          const job = await Job.fromId(this.queue, id);
          if (job === undefined) return; // removed in between: added again on the next check
          this.settle(id, w, () => w.resolve(this.checkCounts(id, w.job, job.returnvalue)));
        } else if (state === 'failed') {
          const job = await Job.fromId(this.queue, id);
          if (first && job) {
            // Failed in an earlier run (e.g. while only a misconfigured worker was up): try again.
            await job.retry('failed').catch(() => undefined);
            return;
          }
          this.settle(id, w, () =>
            w.reject(
              new UserError(
                `job ${id} (example ${w.job.example}) failed on the workers: ${job?.failedReason ?? 'no reason recorded'}; ` +
                  'fix the cause and rerun the same command to resume',
              ),
            ),
          );
        } else if (state === 'unknown') {
          await this.queue.add(JOB_NAME, w.job, { ...JOB_OPTIONS, jobId: id });
        } else if (state === 'delayed') {
          // Handed back by a worker that cannot serve this run (processor.ts): say why, once per reason.
          const { logs } = await this.queue.getJobLogs(id, -1, -1);
          const reason = logs.at(-1);
          if (reason !== undefined && !this.refusals.has(reason)) {
            this.refusals.add(reason);
            this.notify(`smoothcert: a worker handed back job ${id}: ${reason}; waiting for a worker that has the run's model and data`);
          }
        }
      }),
    );
  }

  private settle(id: string, w: Waiting, action: () => void): void {
    if (this.waiting.get(id) !== w) return;
    this.waiting.delete(id);
    try {
      action();
    } catch (e) {
      w.reject(e as Error);
    }
  }

  /** A worker's result, checked: one count per class, adding up to the range's size. */
  private checkCounts(id: string, job: CountsJob, value: unknown): Float64Array {
    const ok =
      Array.isArray(value) &&
      value.length === this.numClasses &&
      value.every((c) => Number.isSafeInteger(c) && c >= 0) &&
      (value as number[]).reduce((a, b) => a + b, 0) === job.num;
    if (!ok) throw new Error(`job ${id} returned ${JSON.stringify(value)}, not ${this.numClasses} class counts adding up to ${job.num}`);
    this.samples += job.num;
    return Float64Array.from(value as number[]);
  }

  private rejectAll(e: Error): void {
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(e);
    }
  }

  private async checkWorkers(): Promise<void> {
    this.workers = await this.queue.getWorkersCount();
    const now = Date.now();
    if (this.workers > 0) this.lastWorkerSeen = now;
    else if (!this.warnedNoWorker && now - this.lastWorkerSeen > NO_WORKER_WARNING_MS) {
      this.warnedNoWorker = true;
      this.notify(
        `smoothcert: no worker is connected to ${displayUrl(this.url)}; start some on that queue (smoothcert worker, given this URL)`,
      );
    }
    if (!this.closed)
      this.workersTimer = setTimeout(() => {
        this.checkWorkers().catch(() => undefined);
      }, WORKERS_POLL_MS);
  }
}
