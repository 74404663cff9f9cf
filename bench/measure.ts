/** Runs `step` once to warm up, then repeatedly for about `seconds` (at least `minRuns` times). */
export async function timeIt(step: () => Promise<number> | number, seconds: number, minRuns = 2): Promise<{ units: number; seconds: number }> {
  await step();
  let units = 0, runs = 0;
  const start = performance.now();
  while (runs < minRuns || performance.now() - start < seconds * 1000) {
    units += await step();
    runs++;
  }
  return { units, seconds: (performance.now() - start) / 1000 };
}

/** Rounds to 3 significant digits for the JSON lines. */
export function round3(x: number): number {
  return Number(x.toPrecision(3));
}
