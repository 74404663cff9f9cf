/**
 * Lets pending events run (signal handlers, timers, I/O callbacks) between units of
 * synchronous work: a compute loop that never awaits one never sees Ctrl-C. setImmediate in
 * Node costs microseconds; browsers have no setImmediate, so they take a zero timeout.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
