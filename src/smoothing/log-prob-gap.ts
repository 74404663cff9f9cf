/**
 * The log-probability gap of the paper's Figure 1: for each of `rows` logit rows of `k` classes,
 * log F_y − max_{c≠y} log F_c with F = softmax(logits). The softmax's normalizer cancels in the
 * difference, so the gap is z_y − max_{c≠y} z_c of the logits themselves: positive where the
 * base classifier picks y, and the wider its spread over noise draws, the less consistent the
 * classifier is under noise (what consistency regularization narrows).
 */
export function logProbGaps(logits: ArrayLike<number>, rows: number, k: number, y: number): Float64Array {
  if (!(Number.isInteger(y) && y >= 0 && y < k)) throw new RangeError(`class ${y} is not one of the ${k} classes`);
  if (logits.length !== rows * k) throw new RangeError(`expected ${rows}×${k} logits, got ${logits.length}`);
  const gaps = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let other = -Infinity;
    for (let c = 0; c < k; c++) if (c !== y) other = Math.max(other, logits[i * k + c]!);
    gaps[i] = logits[i * k + y]! - other;
  }
  return gaps;
}
