// Gradient-check rows for the norms (batch norm in training mode, plain and with ghost batches),
// each with respect to x, gamma and beta, against the float64 reference of src/reference/norm.ts.
import type { GradCase, Rng } from '../types.js';
import { batchNorm, groupNorm, instanceNorm, layerNorm } from '../../engine/ops/norm.js';
import { normBackwardRef, normForwardRef, type NormRefSpec } from '../../reference/norm.js';

// Tolerances, shared by the rows. The output is O(1) (normalised, gamma near 1), so each float32
// output carries rounding of about 6e-8, and a central difference of a projected loss over one
// reduction set (a few dozen outputs) carries about 6e-8 * sqrt(36) / (2 * eps) ~ 2e-5 of noise at
// eps = 1e-2. The truncation error is eps^2 / 6 times a third derivative of order rstd^3 ~ 1 for unit
// variance inputs: ~2e-5 as well. eps = 1e-3 would make the noise ten times larger and eps = 1e-1
// the truncation a hundred times; 1e-2 balances them. atol 2e-3 + rtol 1e-2 leaves a tenfold margin
// while still catching any wrong term (every term of dx is O(rstd) ~ 1).
const EPS = 1e-2;
const ATOL = 2e-3;
const RTOL = 1e-2;
const WHY =
  'normalised outputs are O(1): float32 rounding gives ~2e-5 of central-difference noise at eps 1e-2 and ' +
  'truncation (eps^2/6 * rstd^3) is ~2e-5 too; atol 2e-3 + rtol 1e-2 keeps a tenfold margin.';

// Inputs with unit spread and per-channel offsets (so the mean matters), gamma away from 1 and beta
// away from 0 (so a missing gamma or beta term shows).
const xInit = (rng: Rng, size: number): number[] => Array.from({ length: size }, (_, i) => 0.5 * (i % 3) + rng.normal());
const gammaInit = (rng: Rng, size: number): number[] => Array.from({ length: size }, () => 0.5 + rng.next());
const betaInit = (rng: Rng, size: number): number[] => Array.from({ length: size }, () => rng.normal() * 0.5);

function refRows(spec: NormRefSpec): GradCase['reference'] {
  return {
    forward: ([x, gamma, beta, rm, rv]) =>
      normForwardRef(x!, gamma!, beta!, spec, rm && rv ? { mean: rm, variance: rv } : undefined).y,
    backward: ([x, gamma, beta, rm, rv], dy) => {
      const r = normBackwardRef(x!, gamma!, beta!, dy, spec, rm && rv ? { mean: rm, variance: rv } : undefined);
      return [r.dx, r.dgamma, r.dbeta, null, null];
    },
  };
}

const BN_SHAPE = [3, 4, 3, 2];
const GN_SHAPE = [2, 8, 3, 3];
const LN_SHAPE = [2, 3, 2, 3];
const IN_SHAPE = [2, 3, 3, 3];
const GHOST_SHAPE = [4, 3, 3, 2];
const GHOST = 2;

export const normCases: GradCase[] = [
  {
    op: 'batchnorm (train)',
    inputs: [
      { name: 'x', shape: BN_SHAPE, init: xInit },
      { name: 'gamma', shape: [4], init: gammaInit },
      { name: 'beta', shape: [4], init: betaInit },
      { name: 'running_mean', shape: [4], init: (_r, n) => new Array<number>(n).fill(0), differentiable: false },
      { name: 'running_var', shape: [4], init: (_r, n) => new Array<number>(n).fill(1), differentiable: false },
    ],
    wrt: ['x', 'gamma', 'beta'],
    forward: (_e, [x, gamma, beta, runningMean, runningVar]) =>
      batchNorm(x!, gamma!, beta!, { runningMean: runningMean!, runningVar: runningVar! }, { training: true }),
    reference: refRows({ kind: 'batch', shape: BN_SHAPE, training: true }),
    eps: EPS,
    atol: ATOL,
    rtol: RTOL,
    why: `${WHY} Sets of 18 elements per channel (N=3, 3x2); the running statistics change on every call but do not enter the output.`,
  },
  {
    op: 'groupnorm',
    inputs: [
      { name: 'x', shape: GN_SHAPE, init: xInit },
      { name: 'gamma', shape: [8], init: gammaInit },
      { name: 'beta', shape: [8], init: betaInit },
    ],
    wrt: ['x', 'gamma', 'beta'],
    forward: (_e, [x, gamma, beta]) => groupNorm(x!, gamma!, beta!, 4),
    reference: refRows({ kind: 'group', shape: GN_SHAPE, groups: 4 }),
    eps: EPS,
    atol: ATOL,
    rtol: RTOL,
    why: `${WHY} G=4 over 8 channels: sets of 2 channels x 3x3 = 18 elements, so gamma varies inside a set.`,
  },
  {
    op: 'layernorm',
    inputs: [
      { name: 'x', shape: LN_SHAPE, init: xInit },
      { name: 'gamma', shape: [3], init: gammaInit },
      { name: 'beta', shape: [3], init: betaInit },
    ],
    wrt: ['x', 'gamma', 'beta'],
    forward: (_e, [x, gamma, beta]) => layerNorm(x!, gamma!, beta!),
    reference: refRows({ kind: 'layer', shape: LN_SHAPE }),
    eps: EPS,
    atol: ATOL,
    rtol: RTOL,
    why: `${WHY} One set per sample: 3 channels x 2x3 = 18 elements.`,
  },
  {
    op: 'instancenorm',
    inputs: [
      { name: 'x', shape: IN_SHAPE, init: xInit },
      { name: 'gamma', shape: [3], init: gammaInit },
      { name: 'beta', shape: [3], init: betaInit },
    ],
    wrt: ['x', 'gamma', 'beta'],
    forward: (_e, [x, gamma, beta]) => instanceNorm(x!, gamma!, beta!),
    reference: refRows({ kind: 'instance', shape: IN_SHAPE }),
    eps: EPS,
    atol: ATOL,
    rtol: RTOL,
    why: `${WHY} One set per (sample, channel): 3x3 = 9 elements, the smallest sets of any row.`,
  },
  {
    op: `batchnorm (train, ghost ${GHOST})`,
    inputs: [
      { name: 'x', shape: GHOST_SHAPE, init: xInit },
      { name: 'gamma', shape: [3], init: gammaInit },
      { name: 'beta', shape: [3], init: betaInit },
      { name: 'running_mean', shape: [3], init: (_r, n) => new Array<number>(n).fill(0), differentiable: false },
      { name: 'running_var', shape: [3], init: (_r, n) => new Array<number>(n).fill(1), differentiable: false },
    ],
    wrt: ['x', 'gamma', 'beta'],
    forward: (_e, [x, gamma, beta, runningMean, runningVar]) =>
      batchNorm(x!, gamma!, beta!, { runningMean: runningMean!, runningVar: runningVar! }, { training: true, ghostBatch: GHOST }),
    reference: refRows({ kind: 'batch', shape: GHOST_SHAPE, training: true, ghostBatch: GHOST }),
    eps: EPS,
    atol: ATOL,
    rtol: RTOL,
    why: `${WHY} Two sub-batches of ${GHOST} images: sets of 2 x 3x2 = 12 elements per (sub-batch, channel); an image's gradient must not reach the other sub-batch.`,
  },
];
