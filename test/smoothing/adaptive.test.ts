import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptiveEstimate, planAdaptive, type AdaptiveOptions, type CountSelected } from '../../src/smoothing/adaptive.js';
import { normalCdf, normalInverseCdf } from '../../src/smoothing/bounds.js';
import type { BaseClassifier } from '../../src/smoothing/classifier.js';
import { ABSTAIN, Smooth } from '../../src/smoothing/smooth.js';
import { fillGaussian } from '../../src/noise/gaussian.js';
import { mulberry } from '../helpers/rng.js';
import { LINEAR_SHAPE, linearClassifier, ZERO_MARGIN_IMAGE } from '../helpers/linear.js';

/**
 * The estimation samples of a class with P(f(x + δ) = ĉ) = p, as the certifier sees them. It also
 * checks that the certifier asks for consecutive stretches of one stream.
 */
function bernoulli(p: number, rand: () => number): CountSelected {
  let drawn = 0;
  return async (offset, num) => {
    assert.equal(offset, drawn, 'estimation must continue the stream where it stopped');
    let count = 0;
    for (let i = 0; i < num; i++) if (rand() < p) count++;
    drawn += num;
    return count;
  };
}

// Each coverage case runs 10,000 certifications at alpha = 0.05 (large enough for a broken bound to
// show); the allowed frequency is alpha plus three standard errors of a frequency whose true value is alpha.
const ALPHA = 0.05;
const TRIALS = 10_000;
const MARGIN = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / TRIALS);

test('radius mode: the certified radius exceeds σ·Φ⁻¹(p) at most alpha + 3 s.e. of the time', async (t) => {
  const sigma = 0.5;
  const cases = [
    ['union-cp', 0.6],
    ['union-cp', normalCdf(1) + 0.005],
    ['union-cp', 0.97],
    ['beta-mixture', normalCdf(1) + 0.005],
  ] as const;
  for (const [i, [sequence, p]] of cases.entries()) {
    const plan = planAdaptive({ alpha: ALPHA, maxN: 1000, tolerance: 0.05, sequence }, sigma);
    const rand = mulberry(300 + i);
    let over = 0;
    let samples = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = await adaptiveEstimate(plan, bernoulli(p, rand));
      samples += r.n;
      // The radius σ·Φ⁻¹(pABar) exceeds the true σ·Φ⁻¹(p) exactly when pABar > p.
      if (r.pABar > 0.5 && sigma * normalInverseCdf(r.pABar) > sigma * normalInverseCdf(p)) over++;
    }
    t.diagnostic(`${sequence}, p = ${p.toFixed(4)}: radius overstated in ${over / TRIALS} of runs, ${samples / TRIALS} samples on average`);
    assert.ok(over / TRIALS <= ALPHA + MARGIN, `p = ${p}: ${over} of ${TRIALS} radii exceed the truth`);
  }
});

test('decision mode: a radius just beyond reach is certified at most alpha + 3 s.e. of the time', async (t) => {
  // r = σ, threshold Φ(1) = 0.8413: p just below it must not be certified at r; p just above must
  // not have pABar > p. Radius 0 (threshold 1/2) is easy for both.
  const sigma = 0.5;
  const plan = planAdaptive({ alpha: ALPHA, maxN: 1000, radii: [0, sigma] }, sigma);
  for (const [i, p] of [normalCdf(1) - 0.005, normalCdf(1) + 0.005].entries()) {
    const rand = mulberry(400 + i);
    let wrong = 0;
    let atZero = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const r = await adaptiveEstimate(plan, bernoulli(p, rand));
      const [zero, atSigma] = r.decisions!.certified;
      if (zero) atZero++;
      if (p < normalCdf(1) ? atSigma : r.pABar > p) wrong++;
    }
    t.diagnostic(`p = ${p.toFixed(4)}: wrong in ${wrong / TRIALS} of runs; radius 0 certified in ${atZero / TRIALS}`);
    assert.ok(wrong / TRIALS <= ALPHA + MARGIN, `p = ${p}: wrong in ${wrong} of ${TRIALS} runs`);
    assert.ok(atZero / TRIALS > 0.99, 'radius 0 is not in doubt at p ≈ 0.84');
  }
});

test('easy cases stop far below maxN; a hopeless one stops early in decision mode', async () => {
  const run = async (p: number, options: AdaptiveOptions, seed: number) =>
    adaptiveEstimate(planAdaptive(options, 0.25), bernoulli(p, mulberry(seed)));
  // Decision mode, default radii 0, 0.25, 0.5, 0.75 (0.75 needs p_A > Φ(3) = 0.99865).
  const sure = await run(1, {}, 1);
  assert.deepEqual(sure.decisions, { radii: [0, 0.25, 0.5, 0.75], certified: [true, true, true, true] });
  assert.ok(sure.n < 15_000, `${sure.n} samples for p = 1`);
  // Radius mode: at p = 0.9 the radius is pinned down to 0.1σ well before the budget.
  const ninety = await run(0.9, { tolerance: 0.1 }, 2);
  assert.ok(ninety.n < 25_000, `${ninety.n} samples for p = 0.9`);
  assert.ok(normalInverseCdf(ninety.pABar) > normalInverseCdf(0.9) - 0.2, `radius ${normalInverseCdf(ninety.pABar)}σ`);
  // Hopeless: p_A = 0.45 < 1/2 cannot certify even radius 0.
  const hopeless = await run(0.45, {}, 3);
  assert.ok(hopeless.n < 5000, `${hopeless.n} samples for p = 0.45`);
  assert.ok(hopeless.decisions!.certified.every((c) => !c));
});

const shape = LINEAR_SHAPE;
const d = 16;
const image = ZERO_MARGIN_IMAGE;

/** The same classifier behind the countNoisy fast path, drawing the noise itself like an engine would. */
function countingClassifier(b: number): BaseClassifier {
  const plain = linearClassifier(b);
  return {
    ...plain,
    async countNoisy(x, sigma, key, offset, num, _batchSize, counts) {
      const batch = new Float32Array(num * d);
      fillGaussian(batch, key, offset * d, sigma);
      for (let i = 0; i < batch.length; i++) batch[i]! += x[i % d]!;
      for (const label of await plain.classify(batch, num)) counts[label]!++;
    },
  };
}

test('with a single look at maxN, adaptive CERTIFY (union bound) is fixed-n CERTIFY', async () => {
  const smooth = new Smooth(linearClassifier(0.2), 0.5, 3);
  const fixed = await smooth.certify(image, 100, 3000, 0.001, 256, 8);
  const adaptive = await smooth.certifyAdaptive(
    image,
    { n0: 100, maxN: 3000, alpha: 0.001, firstLook: 3000, tolerance: 0.01, sequence: 'union-cp', batchSize: 256 },
    8,
  );
  // The same answer; adaptive also says when the budget decided it (an upper bound above what maxN reached).
  const { unsettled: _, ...answer } = adaptive;
  assert.deepEqual(answer, { ...fixed, samples: 3100 });
});

test('estimation continues one noise stream, through classify and through countNoisy alike', async () => {
  const key = { seed: 4, stream: 2, substream: 1 };
  for (const base of [linearClassifier(0.05), countingClassifier(0.05)]) {
    const smooth = new Smooth(base, 0.5, 4);
    const whole = await smooth.sampleCounts(image, 1000, 128, key);
    const first = await smooth.sampleCounts(image, 370, 128, key);
    const rest = await smooth.sampleCounts(image, 630, 128, key, 370);
    assert.deepEqual(
      whole,
      first.map((c, k) => c + rest[k]!),
    );
  }
  const options = { maxN: 5000, tolerance: 0.05, alpha: 0.01, batchSize: 300 };
  const viaClassify = await new Smooth(linearClassifier(0.1), 0.5, 4).certifyAdaptive(image, options, 6);
  const viaCount = await new Smooth(countingClassifier(0.1), 0.5, 4).certifyAdaptive(image, options, 6);
  assert.deepEqual(viaCount, viaClassify);
  assert.ok(viaClassify.samples > 300, 'several looks were made');
});

test('adaptive CERTIFY returns a radius close to the true radius of a linear classifier', async () => {
  const sigma = 0.5;
  const margin = 0.3; // p_A = Φ(0.6) = 0.726
  const smooth = new Smooth(linearClassifier(margin), sigma, 1);
  const r = await smooth.certifyAdaptive(image, { maxN: 20_000, tolerance: 0.02, batchSize: 1000 });
  assert.equal(r.prediction, 1);
  assert.ok(r.radius <= margin, `radius ${r.radius} must not exceed the true radius ${margin}`);
  assert.ok(r.radius > margin - 0.06, `radius ${r.radius} too far below ${margin}`);
  assert.equal(r.radius, sigma * normalInverseCdf(r.pABar));
  assert.ok(r.samples <= 100 + 20_000);
});

test('adaptive CERTIFY overstates the true radius of a linear classifier no more often than alpha allows', async () => {
  // As the fixed-n test in smooth.test.ts: σ = 0.25, margin 0.1, p_A = Φ(0.4) = 0.655, 300 runs.
  const sigma = 0.25;
  const margin = 0.1;
  const alpha = 0.05;
  const trials = 300;
  const smooth = new Smooth(linearClassifier(margin), sigma, 7);
  let over = 0,
    abstained = 0,
    sum = 0;
  for (let t = 0; t < trials; t++) {
    const r = await smooth.certifyAdaptive(image, { maxN: 500, alpha, tolerance: 0.1, batchSize: 500 }, t);
    if (r.prediction === ABSTAIN) {
      abstained++;
      continue;
    }
    assert.equal(r.prediction, 1, 'a wrong class would be certified');
    sum += r.radius;
    if (r.radius > margin) over++;
  }
  const slack = 3 * Math.sqrt(trials * alpha * (1 - alpha));
  assert.ok(over <= trials * alpha + slack, `${over} of ${trials} radii exceed the truth`);
  assert.ok(abstained < trials / 10, `${abstained} abstentions although p_A = 0.655`);
  assert.ok(sum / (trials - abstained) > margin / 3, 'radii are not vacuous');
});

test('decision mode on a linear classifier: certified exactly below the true radius, early when p_A ≈ 1', async () => {
  const sigma = 0.25;
  // Margin 0.3 = 1.2σ: p_A = Φ(1.2) = 0.885. Radii 0.1 and 0.2 lie inside, 0.4 outside.
  const r = await new Smooth(linearClassifier(0.3), sigma, 5).certifyAdaptive(image, { radii: [0.1, 0.2, 0.4], batchSize: 1000 });
  assert.deepEqual(r.decisions, { radii: [0.1, 0.2, 0.4], certified: [true, true, false] });
  assert.ok(r.samples < 20_000, `${r.samples} samples`);
  // Margin 1 = 4σ: p_A = Φ(4) ≈ 0.99997; the default radii go up to 0.75 (threshold Φ(3)).
  const easy = await new Smooth(linearClassifier(1), sigma, 5).certifyAdaptive(image, { batchSize: 1000 });
  assert.deepEqual(easy.decisions, { radii: [0, 0.25, 0.5, 0.75], certified: [true, true, true, true] });
  assert.ok(easy.samples < 20_000, `${easy.samples} samples of 100,100`);
});

test('a diffuse classifier (p_A = 1/3) abstains after few samples in decision mode', async () => {
  const three: BaseClassifier = {
    inputShape: shape,
    numClasses: 3,
    async classify(batch, batchSize) {
      return Int32Array.from({ length: batchSize }, (_, i) => {
        const z = batch[i * d]! - 0.5;
        return z < -0.4307 * 0.5 ? 0 : z < 0.4307 * 0.5 ? 1 : 2; // Φ(±0.4307) = 1/3, 2/3
      });
    },
  };
  const r = await new Smooth(three, 0.5, 3).certifyAdaptive(image, { batchSize: 1000 });
  assert.deepEqual([r.prediction, r.radius], [ABSTAIN, 0]);
  assert.ok(r.decisions!.certified.every((c) => !c));
  assert.ok(r.samples <= 1000, `${r.samples} samples`);
});

test('bad options are refused with a RangeError naming the reason', async () => {
  const bad = (options: AdaptiveOptions, pattern: RegExp): void => {
    assert.throws(
      () => planAdaptive(options, 0.5),
      (err: unknown) => err instanceof RangeError && pattern.test(err.message),
    );
  };
  bad({ tolerance: 0 }, /tolerance must be a finite number > 0 \(got 0\)/);
  bad({ tolerance: -0.1 }, /tolerance must be a finite number > 0/);
  bad({ n0: 200, maxN: 100 }, /maxN must be an integer ≥ n0 = 200 \(got 100\)/);
  bad({ radii: [0, -0.25] }, /radii must be finite numbers ≥ 0 \(got -0.25\)/);
  bad({ radii: [] }, /radii must list at least one radius/);
  bad({ radii: [0.5], tolerance: 0.1 }, /give radii \(decision mode\) or tolerance \(radius mode\), not both/);
  bad({ n0: 0 }, /n0 must be an integer ≥ 1/);
  bad({ alpha: 0 }, /alpha must lie in \(0, 1\)/);
  bad({ sequence: 'hoeffding' as never }, /unknown confidence sequence 'hoeffding'; use one of union-cp, beta-mixture/);
  bad({ lookRatio: 1 }, /look ratio must be a finite number > 1/);
  bad({ firstLook: 0 }, /first look must be an integer/);
  assert.throws(() => planAdaptive({}, 0), /sigma must be > 0/);
  const smooth = new Smooth(linearClassifier(0.1), 0.5);
  await assert.rejects(smooth.certifyAdaptive(image, { tolerance: 0, batchSize: 10 }), RangeError);
  await assert.rejects(smooth.certifyAdaptive(image, { batchSize: 0 }), /batch size must be an integer ≥ 1/);
});
