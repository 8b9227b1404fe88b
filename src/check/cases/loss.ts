// Gradient-check cases for log-softmax + mean NLL (src/engine/ops/loss.ts).
import type { GradCase, Rng } from '../types.js';
import { logSoftmaxNll } from '../../engine/ops/loss.js';
import { logSoftmaxNllBackward, logSoftmaxNllForward } from '../../reference/loss.js';

function lossCase(op: string, n: number, k: number, labels: (rng: Rng, size: number) => number[]): GradCase {
  return {
    op,
    inputs: [
      // Scaled normals: logits of a trained classifier spread over a few units, so softmax is not uniform.
      { name: 'logits', shape: [n, k], init: (rng, size) => Array.from({ length: size }, () => 2 * rng.normal()) },
      { name: 'labels', shape: [n], dtype: 'u32', differentiable: false, init: labels },
    ],
    wrt: ['logits'],
    forward: (_engine, [logits, y]) => logSoftmaxNll(logits!, y!),
    reference: {
      forward: ([logits, y]) => Float64Array.of(logSoftmaxNllForward(logits!, y!, n, k).loss),
      backward: ([logits, y], dloss) => [logSoftmaxNllBackward(logits!, y!, n, k, dloss[0]!), null],
    },
    eps: 2e-2,
    atol: 2e-4,
    rtol: 1e-3,
    why:
      'Smooth, so eps trades truncation eps^2/6*|L\'\'\'| against rounding. |L\'\'\'| = |p(1-p)(1-2p)|/V <= 0.1/V, so ' +
      `truncation <= 4e-4*0.1/6/V ~ 1e-6. Rounding: the step changes one row loss (~2, exp/log a few ulp) and the tree ` +
      'sum of row losses (|sum| ~ 2V, ulp ~ 1e-6), divided by V: ~1e-6 of error in L over a 2*eps = 0.04 step, ~3e-5 ' +
      'in the quotient. eps = 2e-2 sits near the optimum (rounding/truncation balance is at ~(3e-7/0.02)^(1/3) ~ 2e-2). ' +
      'atol 2e-4 is ~6x that estimate; gradients are up to ~1/V ~ 0.2, and a missing 1/V or a wrong softmax is off by >1e-2.',
  };
}

export const lossCases: GradCase[] = [
  lossCase('logSoftmaxNll', 6, 10, (rng, size) => Array.from({ length: size }, () => rng.int(10))),
  // The last row's label is K: ignored, so it must get zero gradient and the mean must be over 3 rows.
  lossCase('logSoftmaxNll (ignored label)', 4, 5, (rng, size) => Array.from({ length: size }, (_, i) => (i === size - 1 ? 5 : rng.int(5)))),
];
