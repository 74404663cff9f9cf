import * as tf from '@tensorflow/tfjs-core';
import { yieldToEventLoop } from '../base/event-loop.js';
import { NativeBackend } from '../backend/native-backend.js';
import { noisyCopies, type NoiseKey } from '../noise/gaussian.js';
import type { BaseClassifier } from '../smoothing/classifier.js';

/** Samples [offset, offset + num) of one input's noise stream, waiting for their labels. */
interface Piece {
  x: Float32Array;
  key: NoiseKey;
  offset: number;
  num: number;
  /** Rows of this piece already put into a batch. */
  taken: number;
  /** Rows labelled so far. */
  done: number;
  labels: Int32Array;
  resolve: (labels: Int32Array) => void;
  reject: (e: unknown) => void;
}

/**
 * Shares forward batches among the samples of many inputs: every caller asks for the labels of a
 * range of its own noise stream, and the batcher packs the pending rows of all callers,
 * first come first served, into batches of at most `batch` rows, one batch at a time. Each row is
 * x + σ·z_j of its caller's stream, so a caller's counts are those it would get alone, provided
 * the engine computes a row the same in any batch (tested for the native backend's LeNet: the same
 * bits at any position and batch size).
 */
export class SampleBatcher {
  private readonly queue: Piece[] = [];
  private running = false;
  private readonly buffer: Float32Array;
  private readonly d: number;
  /** Rows classified since the batcher was made, padding included (forward passes). */
  forwardPasses = 0;
  /** Batches run. */
  batches = 0;

  constructor(
    private readonly base: BaseClassifier,
    private readonly sigma: number,
    readonly batch: number,
  ) {
    const [h, w, c] = base.inputShape;
    this.d = h * w * c;
    this.buffer = new Float32Array(batch * this.d);
    this.sizes = [...new Set([8, 4, 2, 1].map((k) => Math.max(1, Math.ceil(batch / k))))];
  }

  /** The batch sizes run: B/8, B/4, B/2 and B, rounded up. */
  private readonly sizes: number[];

  /** labels[j] = f(x + σ·z_(offset+j)) for the samples [offset, offset + num) of `key`'s stream. */
  labels(x: Float32Array, key: NoiseKey, offset: number, num: number): Promise<Int32Array> {
    if (x.length !== this.d) return Promise.reject(new RangeError(`an input has ${x.length} values, the model takes ${this.d}`));
    const labels = new Int32Array(num);
    if (num === 0) return Promise.resolve(labels);
    return new Promise((resolve, reject) => {
      this.queue.push({ x, key, offset, num, taken: 0, done: 0, labels, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Runs batches while rows are waiting; one at a time, yielding to the event loop between them. */
  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        await yieldToEventLoop();
        await this.runBatch();
      }
    } finally {
      this.running = false;
    }
  }

  private async runBatch(): Promise<void> {
    // Rows from the queue's head: whole pieces first come first served, a large one split.
    const parts: { piece: Piece; rows: number; at: number }[] = [];
    let rows = 0;
    for (const piece of this.queue) {
      if (rows === this.batch) break;
      const take = Math.min(piece.num - piece.taken, this.batch - rows);
      if (take === 0) continue;
      this.fill(this.buffer.subarray(rows * this.d, (rows + take) * this.d), piece.x, piece.key, piece.offset + piece.taken, take);
      parts.push({ piece, rows: take, at: rows });
      piece.taken += take;
      rows += take;
    }
    // A few batch shapes only: an engine prepares its kernels per shape (the native backend checks
    // each new one against a reference), so the rows are padded to the next of B/8, B/4, B/2 and B.
    // The padding holds earlier rows (finite inputs) and is not counted.
    const size = this.sizes.find((s) => s >= rows)!;
    let labels: Int32Array;
    try {
      labels = await this.base.classify(this.buffer.subarray(0, size * this.d), size);
    } catch (e) {
      // The batch failed (a broken model): every piece in it fails, the others go on.
      for (const { piece } of parts) this.settle(piece, e);
      return;
    }
    this.forwardPasses += size;
    this.batches++;
    for (const { piece, rows: n, at } of parts) {
      piece.labels.set(labels.subarray(at, at + n), piece.done);
      piece.done += n;
      if (piece.done === piece.num) this.settle(piece);
    }
  }

  private settle(piece: Piece, error?: unknown): void {
    const i = this.queue.indexOf(piece);
    if (i >= 0) this.queue.splice(i, 1);
    if (error === undefined) piece.resolve(piece.labels);
    else piece.reject(error);
  }

  /** x + σ·z for `num` samples from `first`: in the addon on the native backend (the same bits), else in JavaScript. */
  private fill(out: Float32Array, x: Float32Array, key: NoiseKey, first: number, num: number): void {
    const backend = tf.backend();
    if (backend instanceof NativeBackend) backend.addon.noisyCopies(out, x, num, key.seed, key.stream, key.substream, first, this.sigma);
    else noisyCopies(out, x, key, first, this.sigma);
  }
}
