/** What one engine measured in one round: units (images or noisy samples) per second and memory. */
export interface Measurement {
  rate: number;
  /** Resident memory gained from the end of the warm-up to the end of the round: ~0 when memory stays flat across steps. */
  rssGrowthMB: number;
}

/**
 * Runs `step` `warmups` times (primitive creation, first allocations), then repeatedly for about
 * `seconds` (at least `minRuns` times); `step` returns the units it processed.
 */
export async function timeIt(step: () => Promise<number> | number, seconds: number, minRuns = 2, warmups = 1): Promise<Measurement> {
  for (let i = 0; i < warmups; i++) await step();
  const rssAfterWarmup = process.memoryUsage().rss;
  let units = 0,
    runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < seconds * 1000) {
    units += await step();
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { rate: units / elapsed, rssGrowthMB: (process.memoryUsage().rss - rssAfterWarmup) / 2 ** 20 };
}

/** Rounds to 3 significant digits for the JSON lines. */
export function round3(x: number): number {
  return Number(x.toPrecision(3));
}
