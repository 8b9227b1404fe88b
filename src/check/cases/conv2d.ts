// Gradient-check cases for conv2d (src/engine/ops/conv2d.ts): a 3x3 "same" convolution and a 1x1
// convolution, each checked with respect to the input and the weights. Both go through the kernels
// conv2d picks by itself (the subgroup fast paths where the adapter has subgroups).
import type { GradCase } from '../types.js';
import { conv2d } from '../../engine/ops/conv2d.js';
import { conv2dForwardRef, conv2dInputGradRef, conv2dWeightGradRef, type ConvShape } from '../../reference/conv2d.js';

// Odd sizes: 5 x 6 is not a multiple of the 8-wide tiles, 4 and 3 output channels are not a
// multiple of the 8 lanes, and the 1x1 plane (4 x 6 = 24 pixels) is not a multiple of its 64-pixel tile.
const C3: ConvShape = { n: 2, ci: 3, h: 5, w: 6, co: 4, kh: 3, kw: 3, pad: 1 };
const C1: ConvShape = { n: 2, ci: 5, h: 4, w: 6, co: 3, kh: 1, kw: 1, pad: 0 };

function convCase(op: string, s: ConvShape, why: string): GradCase {
  return {
    op,
    inputs: [
      { name: 'x', shape: [s.n, s.ci, s.h, s.w] },
      { name: 'w', shape: [s.co, s.ci, s.kh, s.kw] },
    ],
    wrt: ['x', 'w'],
    forward: (_engine, [x, w]) => conv2d(x!, w!, { padding: s.pad }),
    reference: {
      forward: ([x, w]) => conv2dForwardRef(x!, w!, s),
      backward: ([x, w], dy) => [conv2dInputGradRef(dy, w!, s), conv2dWeightGradRef(x!, dy, s)],
    },
    eps: 1e-1,
    atol: 1e-4,
    rtol: 1e-3,
    why,
    maxElements: 64,
  };
}

export const convCases: GradCase[] = [
  convCase(
    'conv3x3',
    C3,
    'Bilinear: y is linear in x and in w, so central differences have no truncation error at any eps and eps = 0.1 ' +
      'only shrinks the rounding term. A step in one x element changes <= 4*9 = 36 outputs, a step in one w element ' +
      '<= 2*5*6 = 60; each is a float32 sum of <= 27 products of O(1) normals (|y| <~ 10, ulp ~ 1e-6), so the projected ' +
      'difference errs by ~ sqrt(60) * 1e-6 ~ 1e-5 in a step of 0.2: ~5e-5 absolute on gradients of size ~5 (1e-5 ' +
      'relative). atol 1e-4 / rtol 1e-3 leave an order of magnitude; a wrong tap, flip or channel swap is off by O(1).',
  ),
  convCase(
    'conv1x1',
    C1,
    'Bilinear, so no truncation error at eps = 0.1. A step in one x element changes 3 outputs, in one w element ' +
      '2*4*6 = 48; outputs are float32 sums of 5 products (|y| <~ 6, ulp ~ 5e-7): the projected difference errs by ' +
      '~ sqrt(48) * 5e-7 ~ 4e-6 over a step of 0.2, ~2e-5 absolute on gradients of size ~1-7. atol 1e-4 / rtol 1e-3 ' +
      'leave 5x margin; a transposed weight or a missed pixel is off by O(1).',
  ),
];
