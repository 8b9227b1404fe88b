// Gradient-check cases for add and ReLU (src/engine/ops/elementwise.ts).
import type { GradCase } from '../types.js';
import { add, relu } from '../../engine/ops/elementwise.js';
import { normalAwayFromZero } from '../rng.js';

const RELU_MARGIN = 0.1;

export const elementwiseCases: GradCase[] = [
  {
    op: 'add',
    // 2*3*5*7 = 210 elements: not a multiple of the 256-wide workgroup.
    inputs: [
      { name: 'a', shape: [2, 3, 5, 7] },
      { name: 'b', shape: [2, 3, 5, 7] },
    ],
    wrt: ['a', 'b'],
    forward: (_engine, [a, b]) => add(a!, b!),
    reference: {
      forward: ([a, b]) => a!.map((v, i) => v + b![i]!),
      backward: (_inputs, dy) => [dy.slice(), dy.slice()],
    },
    eps: 1e-1,
    atol: 1e-5,
    rtol: 1e-4,
    why:
      'Linear: no truncation error, so eps = 0.1 only shrinks the rounding term. The step changes one output a+b, ' +
      'rounded to float32 on each side: error <= ulp(|a+b| <~ 8) ~ 1e-6 in a 0.2 difference, 5e-6 relative to r_i. ' +
      'rtol 1e-4 / atol 1e-5 give 20x margin; a wrong gradient (0 or 2 r_i) is off by |r_i| ~ 1.',
    maxElements: 64,
  },
  {
    op: 'relu',
    inputs: [{ name: 'x', shape: [3, 1, 5, 7], init: normalAwayFromZero(RELU_MARGIN) }],
    wrt: ['x'],
    forward: (_engine, [x]) => relu(x!),
    reference: {
      forward: ([x]) => x!.map((v) => Math.max(v, 0)),
      backward: ([x], dy) => [dy.map((g, i) => (x![i]! > 0 ? g : 0))],
    },
    eps: 1e-2,
    atol: 1e-6,
    rtol: 1e-6,
    why:
      'Inputs are at least 0.1 away from the kink at 0, so eps = 1e-2 never crosses it and ReLU is exactly linear ' +
      '(identity or zero) within the step. The output is a copy of the input or 0, no arithmetic, and the runner divides ' +
      'by the float32 step actually taken, so the quotient is r_i or 0 up to float64 rounding; tolerances of 1e-6 are slack ' +
      'for that alone, while a gradient leaking through negative inputs is off by |r_i| ~ 1.',
  },
];
