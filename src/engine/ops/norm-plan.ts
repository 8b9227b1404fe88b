// The geometry of one normalisation: its planes, its reduction sets and the kernels' constants
// (src/engine/ops/norm.ts records the kernels of a plan; src/shaders/norm.wgsl's header draws the sets).
import type { Constants } from '../engine.js';
import type { NormKind } from './norm.js';

/** Elementwise and plane kernels use 256 threads. */
export const WG = 256;
/**
 * Loads per thread aimed at in the plane kernels (elements, or vec4s in the vec4 kernels). Fewer
 * threads per plane mean fewer levels of the workgroup tree; on lavapipe, where each barrier costs a
 * pass over the workgroup, 32 ran plane_moments in 2.8 ms against 4.0 ms for 16 and 6.1 ms for 8
 * (128x16x32x32). A GPU may prefer more threads per plane: measure there before changing it.
 */
const LOADS_PER_THREAD = 32;
/** Counts are float32 in the kernels; they stay exact up to 2^24. */
const MAX_SET_SIZE = 2 ** 24;

/** The geometry of one normalisation: its planes, its reduction sets and the kernels' constants. */
export interface NormPlan {
  kind: NormKind;
  shape: readonly [number, number, number, number];
  groups: number;
  eps: number;
  relu: boolean;
  planes: number;
  hw: number;
  /** Number of reduction sets and elements per set (M). */
  sets: number;
  setSize: number;
  /** Four elements per invocation (HW % 4 == 0): the _vec4 kernels. */
  vec4: boolean;
  /** vec4s per invocation of the elementwise _vec4 kernels (apply, dx): 4, 2 or 1, dividing HW / 4. */
  per4: number;
  /** Threads per plane in the plane kernels. */
  tpp: number;
  /** Constants shared by every kernel of this plan. */
  constants: Constants;
  /** Constants that select the planes of each set (batch: a channel across the batch; group: CG planes). */
  setGather: Constants;
  /** Batch norm in training: sub-batches with their own statistics (1 unless ghost batch norm). */
  ghosts: number;
}

export function nextPow2(v: number): number {
  let p = 1;
  while (p < v) p *= 2;
  return p;
}

export function planNorm(
  kind: NormKind,
  shape: readonly number[],
  opts: { groups?: number; eps?: number; relu?: boolean; naive?: boolean; ghostBatch?: number } = {},
): NormPlan {
  const op = `${kind}Norm`;
  if (shape.length !== 4) throw new Error(`${op}: expected an N x C x H x W input, got shape [${shape}]`);
  const [n, c, h, w] = shape as [number, number, number, number];
  // Instance norm is group norm with one channel per group (PyTorch: InstanceNorm2d(C) = GroupNorm(C, C)).
  const groups = kind === 'group' ? (opts.groups ?? 4) : kind === 'instance' ? c : 1;
  if (kind === 'group' && (!Number.isInteger(groups) || groups < 1 || c % groups !== 0)) {
    throw new Error(`groupNorm: ${c} channels cannot be split into ${groups} equal groups (C must be divisible by G)`);
  }
  const ghost = kind === 'batch' ? (opts.ghostBatch ?? n) : n;
  if (!Number.isInteger(ghost) || ghost < 1 || n % ghost !== 0) {
    throw new Error(`batchNorm: a ghost batch of ${ghost} images does not divide the batch of ${n}`);
  }
  const ghosts = n / ghost;
  const hw = h * w;
  const planes = n * c;
  const cg = kind === 'batch' ? 1 : c / groups;
  // Batch norm's set g*C + c is channel c of sub-batch g (g = 0 without ghost batches).
  const sets = kind === 'batch' ? c * ghosts : n * groups;
  const setPlanes = kind === 'batch' ? ghost : cg;
  const setSize = setPlanes * hw;
  if (setSize > MAX_SET_SIZE) throw new Error(`${op}: ${setSize} elements per statistic exceeds the supported ${MAX_SET_SIZE}`);
  const vec4 = hw % 4 === 0 && !opts.naive;
  // Several vec4s per invocation share one load of the plane's statistics and gamma, beta (and
  // the set's two means for dx): over SeedNet's 24 norm bench rows at batch 128 on lavapipe, 4 per
  // invocation instead of 1 took 14% off the time on average (geometric mean, 4 alternating rounds).
  const per4 = !vec4 ? 1 : (hw / 4) % 4 === 0 ? 4 : (hw / 4) % 2 === 0 ? 2 : 1;
  const tpp = Math.min(WG, nextPow2(Math.ceil((vec4 ? hw / 4 : hw) / LOADS_PER_THREAD)));
  const eps = opts.eps ?? 1e-5;
  return {
    kind,
    shape: [n, c, h, w],
    groups,
    eps,
    relu: opts.relu ?? false,
    planes,
    hw,
    sets,
    setSize,
    vec4,
    per4,
    tpp,
    // GHOST_PLANES only when there are ghost batches, so plain batch norm keeps its pipelines.
    constants: {
      HW: hw, C: c, PLANES: planes, CG: cg, ACROSS_BATCH: kind === 'batch' ? 1 : 0, RELU: opts.relu ? 1 : 0,
      ...(ghosts > 1 ? { GHOST_PLANES: ghost * c } : {}),
    },
    setGather:
      kind === 'batch'
        ? { SET_BASE: 1, SET_STRIDE: c, SET_PLANES: ghost, TARGETS: sets, ...(ghosts > 1 ? { SET_WRAP: c, SET_JUMP: ghost * c } : {}) }
        : { SET_BASE: cg, SET_STRIDE: 1, SET_PLANES: cg, TARGETS: sets },
    ghosts,
  };
}
