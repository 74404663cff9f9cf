import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lowerConfidenceBound, normalCdf } from '../../src/smoothing/bounds.js';
import {
  betaMixtureLower,
  betaMixtureSequence,
  confidenceSequence,
  geometricLooks,
  unionBoundSequence,
  type ConfidenceSequence,
} from '../../src/smoothing/confidence-sequence.js';
import { mulberry } from '../helpers/rng.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('geometric looks grow by the ratio, never repeat and end at maxN', () => {
  assert.deepEqual(geometricLooks(100, 1.5, 500), [100, 150, 225, 338, 500]);
  assert.deepEqual(geometricLooks(1, 1.1, 5), [1, 2, 3, 4, 5]); // ⌈1.1^k⌉ repeats are dropped
  assert.deepEqual(geometricLooks(7, 2, 7), [7]);
  assert.throws(() => geometricLooks(0, 2, 10), RangeError);
  assert.throws(() => geometricLooks(11, 2, 10), /first look must be an integer in \[1, maxN = 10\]/);
  assert.throws(() => geometricLooks(1, 1, 10), /look ratio must be a finite number > 1/);
});

test('union bound: Clopper–Pearson at alpha/2 at the last look and alpha/(2(K − 1)) before, readable only at the looks', () => {
  const looks = geometricLooks(100, 2, 1000); // 100, 200, 400, 800, 1000
  const seq = unionBoundSequence(0.05, looks);
  assert.equal(looks.length, 5);
  assert.equal(seq.lower(90, 200), lowerConfidenceBound(90, 200, 0.025 / 4));
  assert.equal(seq.upper(90, 200), 1 - lowerConfidenceBound(110, 200, 0.025 / 4));
  assert.equal(seq.lower(800, 1000), lowerConfidenceBound(800, 1000, 0.025));
  assert.throws(() => seq.lower(90, 150), /holds only at its looks, and 150 is not one/);
  // Not vacuous: 800 of 1000 bound p above 0.77 at alpha / 2.
  assert.ok(seq.lower(800, 1000) > 0.77);
  // A single look is fixed-n Clopper–Pearson at alpha.
  assert.equal(unionBoundSequence(0.05, [1000]).lower(800, 1000), lowerConfidenceBound(800, 1000, 0.05));
});

test('Beta mixture: closed form when every trial succeeds, and the bound sits on the edge of the set', () => {
  // S = t, prior Beta(1, 1): M_t(p0) = B(t + 1, 1) / p0^t = 1 / ((t + 1) p0^t), so M_t = 1/alpha at p0 = (alpha / (t + 1))^(1/t).
  for (const [t, alpha] of [
    [10, 0.05],
    [1000, 0.001],
    [100_000, 0.001],
  ] as const) {
    close(betaMixtureLower(t, t, alpha), (alpha / (t + 1)) ** (1 / t), 1e-11, `t = ${t}`);
  }
  assert.equal(betaMixtureLower(0, 50, 0.05), 0);
  // Lower ends lie below the point estimate, and upper ends above it.
  const seq = betaMixtureSequence(0.05, [100]);
  assert.ok(seq.lower(60, 100) < 0.6 && seq.upper(60, 100) > 0.6);
  assert.ok(betaMixtureLower(800, 1000, 0.05) > 0.75);
  close(seq.upper(60, 100), 1 - betaMixtureLower(40, 100, 0.05), 0, 'mirror image');
});

/**
 * Fraction of `trials` Bernoulli(p) streams of length maxN along which lower(S_t, t) > p at some
 * t in `checks`. lower is increasing in S_t, so the crossing counts s*(t) = min{S : lower(S, t) > p}
 * are found once by bisection and each stream is compared with them.
 */
function exceedance(lower: (s: number, t: number) => number, p: number, checks: readonly number[], trials: number, seed: number): number {
  const maxN = checks.at(-1)!;
  const crossing = new Float64Array(maxN + 1).fill(Infinity);
  for (const t of checks) {
    let lo = 0;
    let hi = t + 1; // lower(t + 1, t) would be out of range: treat as "never crosses"
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lower(mid, t) > p) hi = mid;
      else lo = mid + 1;
    }
    crossing[t] = lo;
  }
  const rand = mulberry(seed);
  let exceeded = 0;
  for (let trial = 0; trial < trials; trial++) {
    let s = 0;
    for (let t = 1; t <= maxN; t++) {
      if (rand() < p) s++;
      if (s >= crossing[t]!) {
        exceeded++;
        break;
      }
    }
  }
  return exceeded / trials;
}

// alpha = 0.05 is large enough for a broken bound to show within 10,000 streams. The margin is three
// standard errors of a frequency whose true value is alpha: under a valid sequence the test fails
// with probability about 0.1 % per case.
const ALPHA = 0.05;
const TRIALS = 10_000;
const MARGIN = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / TRIALS);
const MAX_N = 1000;
const LOOKS = geometricLooks(20, 1.1, MAX_N);
// Decision thresholds Φ(r/σ) for r/σ = 0.5 and 1, with p a little on either side; and p near 1.
const PS = [normalCdf(0.5) - 0.01, normalCdf(0.5) + 0.01, normalCdf(1) - 0.005, normalCdf(1) + 0.005, 0.6, 0.97];

test('a naive bound (Clopper–Pearson at the full alpha at every look) exceeds p too often: the coverage test can fail', (t) => {
  const naive = (s: number, n: number): number => lowerConfidenceBound(s, n, ALPHA);
  const rate = exceedance(naive, normalCdf(1) + 0.005, LOOKS, TRIALS, 99);
  t.diagnostic(`naive per-look bound over ${LOOKS.length} looks: P(ever > p) ≈ ${rate}`);
  assert.ok(rate > ALPHA + MARGIN, `naive exceedance ${rate} is not above ${ALPHA + MARGIN}`);
});

for (const name of ['union-cp', 'beta-mixture'] as const) {
  test(`${name}: over ${TRIALS} streams the lower sequence ever exceeds p at most alpha + 3 s.e. of the time`, (t) => {
    const seq: ConfidenceSequence = confidenceSequence(name, ALPHA, LOOKS);
    // The union bound holds at its looks; the mixture at every t, so it is checked after every trial.
    const checks = name === 'union-cp' ? LOOKS : Array.from({ length: MAX_N }, (_, i) => i + 1);
    PS.forEach((p, i) => {
      const rate = exceedance((s, n) => seq.lower(s, n), p, checks, TRIALS, 1000 + i);
      t.diagnostic(`p = ${p.toFixed(4)}: P(ever > p) ≈ ${rate}`);
      assert.ok(rate <= ALPHA + MARGIN, `p = ${p}: the lower sequence exceeded p in ${rate} of streams (allowed ${ALPHA + MARGIN})`);
    });
  });
}
