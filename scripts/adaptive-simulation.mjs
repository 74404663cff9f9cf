// Mean estimation samples of adaptive CERTIFY on simulated Bernoulli(p) streams (no model): the table
// behind DEFAULT_SEQUENCE in src/smoothing/adaptive.ts. alpha = 0.001, maxN = 100,000, default looks.
//   node scripts/adaptive-simulation.mjs [streams per cell, default 100]
import { planAdaptive, adaptiveEstimate } from '../dist/src/smoothing/adaptive.js';
let state = 12345; // Mulberry32, seeded: the table is reproducible
const rand = () => {
  state |= 0;
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const binom = (n, p) => {
  let s = 0;
  for (let i = 0; i < n; i++) if (rand() < p) s++;
  return s;
};
const ps = [0.6, 0.9, 0.99, 0.999, 0.9999, 1];
const streams = Number(process.argv[2] ?? 100);
for (const [mode, opts, sigma] of [
  ['decision σ=0.25', {}, 0.25],
  ['decision σ=0.5', {}, 0.5],
  ['radius t=0.1', { tolerance: 0.1 }, 0.5],
]) {
  for (const sequence of ['union-cp', 'beta-mixture']) {
    const plan = planAdaptive({ ...opts, sequence }, sigma);
    const row = [];
    for (const p of ps) {
      let total = 0;
      for (let k = 0; k < streams; k++) total += (await adaptiveEstimate(plan, async (_o, n) => binom(n, p))).n;
      row.push(Math.round(total / streams));
    }
    console.log(`${mode.padEnd(16)} ${sequence.padEnd(13)} ${row.join('  ')}`);
  }
}
