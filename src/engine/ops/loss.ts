// Log-softmax + mean negative log-likelihood, with the batch's correct count computed on the GPU.
// Kernels: src/shaders/loss.wgsl (where the maths and the ignored-label rule are written out).
import wgsl from '../../shaders/loss.wgsl';
import type { Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
const kernel = (entryPoint: string): Kernel => ({ name: `loss.${entryPoint}`, code: wgsl, entryPoint });
const FORWARD = kernel('forward');
const FORWARD_ACCUMULATE = kernel('forward_accumulate');
const BACKWARD = kernel('backward');

/** Running sums across batches, on the GPU. The caller zeroes them (engine.clear) when it wants. */
export interface LossAccumulators {
  /** [1] f32: += the batch's summed (not mean) loss over its valid rows. */
  lossSum: Tensor;
  /** [1] u32: += the number of valid rows whose argmax (first of ties) equals the label. */
  correct: Tensor;
}

/**
 * Mean over rows of -log_softmax(logits)[label]: logits [N,K] f32, labels [N] u32 -> [1] f32.
 *
 * A label >= K marks a row to ignore: no loss, no gradient, not counted, and the mean is over the
 * valid rows only (PyTorch's ignore_index). If no row is valid the loss and gradient are 0, not NaN.
 * Backward: dlogits = (softmax(logits) - onehot(label)) * dloss / (valid rows).
 */
export function logSoftmaxNll(logits: Tensor, labels: Tensor, accum?: LossAccumulators): Tensor {
  if (logits.shape.length !== 2 || logits.dtype !== 'f32') {
    throw new Error(`logSoftmaxNll: logits must be [N,K] f32, got [${logits.shape}] ${logits.dtype}`);
  }
  const [n, k] = logits.shape as [number, number];
  if (n < 1 || k < 1) throw new Error(`logSoftmaxNll: empty logits [${logits.shape}]`);
  if (labels.dtype !== 'u32' || labels.size !== n) {
    throw new Error(`logSoftmaxNll: labels must be [${n}] u32, got [${labels.shape}] ${labels.dtype}`);
  }
  if (accum) {
    const { lossSum, correct } = accum;
    if (lossSum.size !== 1 || lossSum.dtype !== 'f32') throw new Error(`logSoftmaxNll: accum.lossSum must be [1] f32, got ${lossSum}`);
    if (correct.size !== 1 || correct.dtype !== 'u32') throw new Error(`logSoftmaxNll: accum.correct must be [1] u32, got ${correct}`);
  }
  const engine = logits.engine;
  const constants = { WG, N: n, K: k };
  const saved = engine.empty([n, 2], 'f32', 'logSoftmaxNll saved');
  const valid = engine.empty([1], 'u32', 'logSoftmaxNll valid rows');
  const loss = engine.empty([1], 'f32', 'logSoftmaxNll');
  engine.dispatch(accum ? FORWARD_ACCUMULATE : FORWARD, {
    constants: { N: n, K: k },
    bindings: [logits, labels, saved, loss, valid, accum?.lossSum ?? null, accum?.correct ?? null],
    workgroups: 1,
  });
  return record(loss, 'logSoftmaxNll', [logits], (dloss) => {
    const dlogits = engine.empty(logits.shape, 'f32', 'logSoftmaxNll grad');
    engine.dispatch(BACKWARD, {
      constants,
      bindings: [logits, labels, saved, null, valid, null, null, dloss, dlogits],
      workgroups: workgroups1d(dlogits.size, WG),
    });
    return [dlogits];
  });
}
