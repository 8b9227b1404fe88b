// Float64 reference for one step of torch.optim.SGD with dampening 0, written as PyTorch's
// documentation states it, including the first step's b = g (no multiply by a zero buffer).

export interface SgdReferenceOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * Updates param (and, with momentum, buf) in place. `buf` null means no momentum buffer exists yet;
 * the returned buffer is the one to pass to the next step. A step with momentum 0 leaves the buffer
 * as it is (PyTorch's `if momentum != 0`), which matters when a schedule varies the momentum.
 */
export function sgdStepReference(
  param: Float64Array,
  grad: ArrayLike<number>,
  buf: Float64Array | null,
  o: SgdReferenceOptions,
): Float64Array | null {
  const useMomentum = o.momentum !== 0;
  const first = buf === null;
  const next = useMomentum && first ? new Float64Array(param.length) : buf;
  for (let i = 0; i < param.length; i++) {
    let g = grad[i]! + o.weightDecay * param[i]!;
    if (useMomentum && next) {
      next[i] = first ? g : o.momentum * next[i]! + g;
      g = o.nesterov ? g + o.momentum * next[i]! : next[i]!;
    }
    param[i] = param[i]! - o.lr * g;
  }
  return next;
}
