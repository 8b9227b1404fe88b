// Float64 reference for log-softmax + mean NLL over logits [N,K] with labels [N], forward and the
// vector-Jacobian product. A label >= K (or negative, or not an integer) marks a row to ignore:
// no loss, no gradient, not counted; the mean is over valid rows, and 0 when there are none.

export interface NllResult {
  /** Mean loss over valid rows (0 if none). */
  loss: number;
  /** Summed loss over valid rows. */
  lossSum: number;
  valid: number;
  /** Valid rows whose argmax (first index among equal maxima) equals the label. */
  correct: number;
}

function isValid(label: number, k: number): boolean {
  return Number.isInteger(label) && label >= 0 && label < k;
}

/** log(sum_k exp(x_k)) of row i, shifted by the row max so exp() cannot overflow. */
function logSumExp(logits: ArrayLike<number>, i: number, k: number): number {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, logits[i * k + j]!);
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.exp(logits[i * k + j]! - m);
  return m + Math.log(s);
}

export function logSoftmaxNllForward(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, k: number): NllResult {
  let lossSum = 0;
  let valid = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!isValid(y, k)) continue;
    lossSum += logSumExp(logits, i, k) - logits[i * k + y]!;
    valid += 1;
    let arg = 0;
    for (let j = 1; j < k; j++) if (logits[i * k + j]! > logits[i * k + arg]!) arg = j;
    if (arg === y) correct += 1;
  }
  return { loss: valid > 0 ? lossSum / valid : 0, lossSum, valid, correct };
}

/** dlogits for an upstream gradient dloss of the mean loss. */
export function logSoftmaxNllBackward(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  k: number,
  dloss: number,
): Float64Array {
  const dlogits = new Float64Array(n * k);
  let valid = 0;
  for (let i = 0; i < n; i++) if (isValid(labels[i]!, k)) valid += 1;
  if (valid === 0) return dlogits;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!isValid(y, k)) continue;
    const lse = logSumExp(logits, i, k);
    for (let j = 0; j < k; j++) {
      const softmax = Math.exp(logits[i * k + j]! - lse);
      dlogits[i * k + j] = ((softmax - (j === y ? 1 : 0)) * dloss) / valid;
    }
  }
  return dlogits;
}
