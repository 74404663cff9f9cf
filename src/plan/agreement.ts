import type { BaseClassifier } from '../smoothing/classifier.js';
import { UnsupportedGraphError } from './compile.js';

/** Images compared when a graph is compiled. */
const IMAGES = 4;

/**
 * A guard against a graph the compiler reads differently from onnxruntime: the plan's logits and
 * the reference's on a few seeded images in [0, 1], each row centred (a dropped softmax shifts
 * a row of log-probabilities by a constant), must agree within `tolerance` of the row's largest
 * magnitude. Two float32 engines differ by summation order only, far below 10⁻³ of the logits;
 * bf16 rounds every layer's operands to 8 bits, hence 0.1 there. A misread op (a wrong padding,
 * transpose or fold) moves the logits by their own size.
 */
export async function checkPlanAgrees(plan: BaseClassifier, reference: BaseClassifier, bf16: boolean): Promise<void> {
  const [h, w, c] = plan.inputShape;
  const d = h * w * c;
  const images = new Float32Array(IMAGES * d);
  let state = 12345;
  for (let i = 0; i < images.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    images[i] = state / 2 ** 32;
  }
  const a = await plan.logits!(images, IMAGES);
  const b = await reference.logits!(images, IMAGES);
  const k = plan.numClasses;
  const tolerance = bf16 ? 0.1 : 1e-3;
  for (let r = 0; r < IMAGES; r++) {
    const rowA = centred(a.subarray(r * k, (r + 1) * k));
    const rowB = centred(b.subarray(r * k, (r + 1) * k));
    const scale = Math.max(1e-6, ...rowB.map(Math.abs));
    const worst = Math.max(...rowA.map((v, j) => Math.abs(v - rowB[j]!)));
    if (!(worst <= tolerance * scale)) {
      throw new UnsupportedGraphError(
        `the native plan's logits differ from onnxruntime's by ${worst.toPrecision(3)} (of ${scale.toPrecision(3)}) on a test image`,
      );
    }
  }
}

function centred(row: Float32Array): number[] {
  const mean = row.reduce((s, v) => s + v, 0) / row.length;
  return Array.from(row, (v) => v - mean);
}
