/**
 * Plain float64 JavaScript versions of the training losses, written from the paper's formulas
 * and the authors' code, independent of the tfjs implementation under test.
 * Logit batches are number[][] (rows = examples); m copies are number[][][].
 */
import quantile from '@stdlib/stats-base-dists-normal-quantile';

export function softmax(row: number[], beta = 1): number[] {
  const max = Math.max(...row.map((v) => beta * v));
  const e = row.map((v) => Math.exp(beta * v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export const logSoftmax = (row: number[]) => softmax(row).map(Math.log);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function crossEntropyRef(logits: number[][], labels: number[]): number {
  return mean(logits.map((row, i) => -logSoftmax(row)[labels[i]!]!));
}

export function consistencyRef(copies: number[][][], lbd: number, eta: number, form: string): number {
  const m = copies.length;
  const b = copies[0]!.length;
  const perExample: number[] = [];
  for (let j = 0; j < b; j++) {
    const probs = copies.map((c) => softmax(c[j]!));
    if (form === 'mse') {
      perExample.push(lbd * probs[1]!.reduce((s, p2, k) => s + (p2 - probs[0]![k]!) ** 2, 0));
      continue;
    }
    const pbar = probs[0]!.map((_, k) => mean(probs.map((p) => p[k]!)));
    let kl = 0;
    for (const p of probs) kl += pbar.reduce((s, q, k) => s + q * Math.log(q / p[k]!), 0) / m;
    const h = -pbar.reduce((s, q) => s + q * Math.log(Math.max(q, 1e-20)), 0);
    perExample.push(form === 'default' ? lbd * kl + eta * h : form === 'xent' ? lbd * (kl + h) : lbd * kl);
  }
  return mean(perExample);
}

export function stabilityRef(clean: number[][], noisy: number[][], labels: number[], lbd: number): number {
  const soft = mean(
    clean.map((row, i) => {
      const target = softmax(row);
      return -logSoftmax(noisy[i]!).reduce((s, l, k) => s + target[k]! * l, 0);
    }),
  );
  return crossEntropyRef(clean, labels) + lbd * soft;
}

export interface MacerRefOptions {
  sigma: number;
  lbd: number;
  gamma: number;
  beta: number;
}

/** MACER as in the authors' macer.py, with an exact Φ⁻¹ (stdlib). */
export function macerRef(copies: number[][][], labels: number[], o: MacerRefOptions): number {
  const b = labels.length;
  let classification = 0;
  let robustness = 0;
  for (let j = 0; j < b; j++) {
    const probs = copies.map((c) => softmax(c[j]!));
    const pbar = probs[0]!.map((_, k) => mean(probs.map((p) => p[k]!)));
    classification -= Math.log(pbar[labels[j]!]! + 1e-10);
    const betaProbs = copies.map((c) => softmax(c[j]!, o.beta));
    const q = betaProbs[0]!.map((_, k) => mean(betaProbs.map((p) => p[k]!)));
    const order = q.map((v, k) => [v, k] as const).sort((a, c) => c[0] - a[0]);
    if (order[0]![1] !== labels[j]) continue;
    const xi = quantile(order[1]![0], 0, 1) - quantile(order[0]![0], 0, 1);
    if (Number.isFinite(xi) && Math.abs(xi) <= o.gamma) robustness += ((xi + o.gamma) * o.sigma) / 2;
  }
  return (classification + o.lbd * robustness) / b;
}

/** Central finite differences of f at x, in float64. */
export function finiteDifferences(f: (x: number[]) => number, x: number[], h = 1e-5): number[] {
  return x.map((_, i) => {
    const plus = [...x];
    const minus = [...x];
    plus[i]! += h;
    minus[i]! -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** Splits a flat row-major [m·b·k] vector into m copies of b×k logits. */
export function unflatten(x: number[], m: number, b: number, k: number): number[][][] {
  return Array.from({ length: m }, (_, i) => Array.from({ length: b }, (_, j) => x.slice((i * b + j) * k, (i * b + j + 1) * k)));
}
