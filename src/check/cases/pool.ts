// Gradient-check cases for max-pool 2x2 and global average pool (src/engine/ops/pool.ts).
import type { GradCase, Rng } from '../types.js';
import { maxPool2d, globalAvgPool } from '../../engine/ops/pool.js';
import { maxPool2dBackward, maxPool2dForward, globalAvgPoolBackward, globalAvgPoolForward, type Shape4 } from '../../reference/pool.js';

/** Odd H and W: the last row and column of each plane belong to no window and must get 0. */
const POOL_SHAPE: Shape4 = [2, 3, 5, 7];
const POOL_SPACING = 0.05;

/**
 * Distinct values on a grid of POOL_SPACING, shuffled: any two elements of a window differ by at
 * least POOL_SPACING, so a step of eps < POOL_SPACING never changes a window's argmax (no tie, no
 * kink is crossed) and central differences see max-pool as exactly linear.
 */
function spacedShuffle(rng: Rng, size: number): number[] {
  const v = Array.from({ length: size }, (_, i) => (i - size / 2) * POOL_SPACING);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

export const poolCases: GradCase[] = [
  {
    op: 'maxPool2d',
    inputs: [{ name: 'x', shape: [...POOL_SHAPE], init: spacedShuffle }],
    wrt: ['x'],
    forward: (_engine, [x]) => maxPool2d(x!),
    reference: {
      forward: ([x]) => maxPool2dForward(x!, POOL_SHAPE),
      backward: ([x], dy) => [maxPool2dBackward(x!, POOL_SHAPE, dy)],
    },
    eps: 1e-2,
    atol: 1e-5,
    rtol: 1e-5,
    why:
      'Inputs are shuffled multiples of 0.05, so eps = 1e-2 never moves a window argmax and the op is exactly linear ' +
      'within the step: no truncation error. The output is a copy of an input (no arithmetic), and the runner divides by ' +
      'the float32 step actually taken, so the numeric derivative is r_i or 0 up to float64 rounding (~1e-16). Tolerances ' +
      'of 1e-5 only absorb that; a gradient routed to the wrong window element is off by |r_i| ~ 1.',
  },
  {
    op: 'globalAvgPool',
    inputs: [{ name: 'x', shape: [...POOL_SHAPE] }],
    wrt: ['x'],
    forward: (_engine, [x]) => globalAvgPool(x!),
    reference: {
      forward: ([x]) => globalAvgPoolForward(x!, POOL_SHAPE),
      backward: (_inputs, dy) => [globalAvgPoolBackward(POOL_SHAPE, dy)],
    },
    eps: 1e-1,
    atol: 2e-5,
    rtol: 2e-3,
    why:
      'Linear, so no truncation error at any eps and eps = 0.1 keeps the rounding term small. The error is the float32 ' +
      'rounding of the one plane sum the step changes: a few ulp of a sum of 35 normals (|S| <~ 6, ulp ~ 5e-7), i.e. ' +
      '~2e-6 in a difference of 2*eps = 0.2, ~1e-5 relative; the gradient is r/35 ~ 0.03, so ~3e-7 absolute. rtol 2e-3 ' +
      'and atol 2e-5 leave two orders of margin and still fail a wrong 1/(H*W) scale or a missed element.',
  },
];
