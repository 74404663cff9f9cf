import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialTwoSidedPValue, lowerConfidenceBound, normalInverseCdf } from '../../src/smoothing/bounds.js';
import { mulberry } from '../helpers/rng.js';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('Clopper–Pearson lower bound: closed forms at nA = 0, 1 and n', () => {
  for (const [n, alpha] of [
    [10, 0.05],
    [1000, 0.001],
    [100_000, 0.001],
  ] as const) {
    assert.equal(lowerConfidenceBound(0, n, alpha), 0);
    // nA = n: P(Bin(n, p) ≥ n) = p^n = alpha  ⇒  p = alpha^(1/n).
    close(lowerConfidenceBound(n, n, alpha), alpha ** (1 / n), 1e-12, `nA = n = ${n}`);
    // nA = 1: P(Bin(n, p) ≥ 1) = 1 − (1 − p)^n = alpha  ⇒  p = 1 − (1 − alpha)^(1/n).
    close(lowerConfidenceBound(1, n, alpha), 1 - (1 - alpha) ** (1 / n), 1e-12, `nA = 1, n = ${n}`);
  }
});

test('Clopper–Pearson lower bound matches published exact intervals', () => {
  // Lower ends of two-sided 95% exact intervals (one-sided alpha = 0.025), as printed by R's binom.test.
  close(lowerConfidenceBound(5, 10, 0.025), 0.187086, 1e-6, '5/10');
  close(lowerConfidenceBound(10, 100, 0.025), 0.04900469, 1e-7, '10/100');
  close(lowerConfidenceBound(99, 100, 0.025), 0.9455406, 1e-6, '99/100');
});

test('the bound covers p with probability ≥ 1 − alpha over many binomial draws', () => {
  const rand = mulberry(12345);
  const trials = 4000;
  for (const [p, n, alpha] of [
    [0.7, 200, 0.05],
    [0.95, 500, 0.1],
    [0.5, 50, 0.2],
  ] as const) {
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      let nA = 0;
      for (let i = 0; i < n; i++) if (rand() < p) nA++;
      if (lowerConfidenceBound(nA, n, alpha) <= p) covered++;
    }
    // Allow three standard errors of the simulated coverage below the guaranteed level.
    const slack = 3 * Math.sqrt((alpha * (1 - alpha)) / trials);
    assert.ok(covered / trials >= 1 - alpha - slack, `p=${p} n=${n} alpha=${alpha}: coverage ${covered / trials}`);
  }
});

test('normal quantile and exact binomial test agree with reference values', () => {
  close(normalInverseCdf(0.975), 1.959963984540054, 1e-12, 'Φ⁻¹(0.975)');
  close(normalInverseCdf(0.5), 0, 1e-15, 'Φ⁻¹(0.5)');
  // Two-sided exact test, 60 of 100 at p = 1/2: 2·P(X ≥ 60) = 0.05688793 (R: binom.test(60, 100)).
  close(binomialTwoSidedPValue(60, 100), 0.05688793, 1e-7, '60/100');
  // 9 of 10: 2·(1 + 10)/1024.
  close(binomialTwoSidedPValue(9, 10), 22 / 1024, 1e-12, '9/10');
  assert.equal(binomialTwoSidedPValue(50, 100), 1);
});

test('the bounds refuse counts and levels outside their domain with a RangeError instead of returning NaN', () => {
  const bad: Array<[() => number, RegExp]> = [
    [() => lowerConfidenceBound(11, 10, 0.01), /nA must be at most n/],
    [() => lowerConfidenceBound(-1, 10, 0.01), /nA must be an integer ≥ 0/],
    [() => lowerConfidenceBound(2.5, 10, 0.01), /nA must be an integer ≥ 0/],
    [() => lowerConfidenceBound(1, 0, 0.01), /n must be an integer ≥ 1/],
    [() => lowerConfidenceBound(5, 10, 0), /alpha must lie in \(0, 1\)/],
    [() => lowerConfidenceBound(5, 10, 1), /alpha must lie in \(0, 1\)/],
    [() => lowerConfidenceBound(5, 10, NaN), /alpha must lie in \(0, 1\)/],
    [() => binomialTwoSidedPValue(11, 10), /successes must be at most trials/],
    [() => binomialTwoSidedPValue(-1, 10), /successes must be an integer ≥ 0/],
    [() => binomialTwoSidedPValue(1, 2.5), /trials must be an integer ≥ 0/],
  ];
  for (const [call, message] of bad) assert.throws(call, (e: unknown) => e instanceof RangeError && message.test(e.message));
  assert.equal(binomialTwoSidedPValue(0, 0), 1);
});
