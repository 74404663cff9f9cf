import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32, randInt, uniform } from '../../src/data/rng.js';

test('same seed gives the same stream, different seeds differ', () => {
  const a = new Mulberry32(42);
  const b = new Mulberry32(42);
  const c = new Mulberry32(43);
  const xa = Array.from({ length: 20 }, () => a.next());
  const xb = Array.from({ length: 20 }, () => b.next());
  const xc = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

test('getState/setState resumes the stream exactly', () => {
  const rng = new Mulberry32(7);
  for (let i = 0; i < 5; i++) rng.next();
  const saved = JSON.parse(JSON.stringify(rng.getState())) as number;
  const expected = Array.from({ length: 10 }, () => rng.next());
  const resumed = new Mulberry32(0);
  resumed.setState(saved);
  assert.deepEqual(
    Array.from({ length: 10 }, () => resumed.next()),
    expected,
  );
  assert.throws(() => resumed.setState(-1), RangeError);
  assert.throws(() => resumed.setState(1.5), RangeError);
});

test('outputs are uniform on [0, 1): chi-square over 10 bins', () => {
  const rng = new Mulberry32(123);
  const n = 20000;
  const bins = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    bins[Math.floor(u * 10)]++;
  }
  const chi2 = bins.reduce((s, k) => s + (k - n / 10) ** 2 / (n / 10), 0);
  assert.ok(chi2 < 27.88, `chi2 = ${chi2} exceeds the 0.999 quantile of chi2(9)`);
});

test('randInt covers [0, n) and uniform stays in [a, b)', () => {
  const rng = new Mulberry32(5);
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const k = randInt(rng, 9);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 9);
    seen.add(k);
    const u = uniform(rng, -2, 3);
    assert.ok(u >= -2 && u < 3);
  }
  assert.equal(seen.size, 9);
});
