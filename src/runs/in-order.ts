import { yieldToEventLoop } from '../base/event-loop.js';

/**
 * Computes `compute(item)` for the items in order, up to `most` at a time, and hands each result to
 * `write` in the items' order, whatever finishes first: a queue keeps its workers busy that way
 * and the file is the single-process file. Stops at the next safe point (every finished item
 * written) once `signal` aborts; a computation rejected by the abort is redone on resume.
 * Returns whether it was interrupted.
 */
export async function computeInOrder<T, R>(
  items: readonly T[],
  most: number,
  compute: (item: T) => Promise<R>,
  write: (result: R) => void,
  signal?: AbortSignal,
): Promise<{ interrupted: boolean }> {
  const inFlight: Promise<R>[] = [];
  let next = 0;
  while (next < items.length || inFlight.length > 0) {
    // A safe point: every finished item is written.
    await yieldToEventLoop();
    if (signal?.aborted) return { interrupted: true };
    while (inFlight.length < most && next < items.length) {
      const started = compute(items[next++]!);
      started.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
      inFlight.push(started);
    }
    let done: R;
    try {
      done = await inFlight.shift()!;
    } catch (e) {
      if (signal?.aborted) return { interrupted: true };
      throw e;
    }
    write(done);
  }
  return { interrupted: false };
}
