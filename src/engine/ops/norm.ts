// Batch (and ghost batch), group, layer and instance normalisation (optionally fused with the ReLU
// that follows), forward and backward. Kernels: src/shaders/norm.wgsl, where the maths is written
// out. The norms differ only in their reduction sets (which (n, c) planes share a mean and a
// variance), so one plan describes the geometry and one set of kernels serves them all.
import wgsl from '../../shaders/norm.wgsl';
import type { Constants, Engine, Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

export type NormKind = 'batch' | 'group' | 'layer' | 'instance';

export interface BatchNormState {
  runningMean: Tensor;
  runningVar: Tensor;
}

export interface BatchNormOptions {
  training: boolean;
  /** PyTorch's momentum: running = (1 - momentum) * running + momentum * batch statistic. Default 0.1. */
  momentum?: number;
  eps?: number;
  /** Fuse the ReLU that follows: y = max(norm(x), 0), forward and backward in the same passes. */
  relu?: boolean;
  /**
   * Ghost batch norm (Hoffer et al. 2017): in training, statistics over consecutive sub-batches of
   * this many images (it must divide N), and the running statistics updated once per sub-batch in
   * order, as BatchNorm2d would update them fed the sub-batches one after another. Default: N.
   */
  ghostBatch?: number;
  /**
   * Evaluation only: 'running' (PyTorch's eval mode, the default) or 'batch', each batch normalised
   * with its own statistics and the running ones left alone (`normlab eval --bn-stats batch`).
   */
  evalStatistics?: 'running' | 'batch';
}

export interface NormOptions {
  eps?: number;
  relu?: boolean;
}

const kernel = (entryPoint: string): Kernel => ({ name: `norm.${entryPoint}`, code: wgsl, entryPoint });
const K = {
  planeMoments: kernel('plane_moments'),
  planeMoments4: kernel('plane_moments_vec4'),
  setMoments: kernel('set_moments'),
  setMomentsTrain: kernel('set_moments_train'),
  evalStats: kernel('eval_stats'),
  apply: kernel('apply'),
  apply4: kernel('apply_vec4'),
  planeGradSums: kernel('plane_grad_sums'),
  planeGradSums4: kernel('plane_grad_sums_vec4'),
  reducePlanes: kernel('reduce_planes'),
  dx: kernel('dx'),
  dx4: kernel('dx_vec4'),
  dxFixedStats: kernel('dx_fixed_stats'),
  dxFixedStats4: kernel('dx_fixed_stats_vec4'),
};

/** Bindings of norm.wgsl, by name; an entry point gets only those it uses. */
const SLOT = {
  x: 0, dy: 1, gamma: 2, beta: 3, plane: 4, stats: 5, runningMean: 6, runningVar: 7, out: 8, redA: 9, redB: 10,
  x4: 11, dy4: 12, out4: 13,
} as const;
type Slots = Partial<Record<keyof typeof SLOT, Tensor>>;

function bind(slots: Slots): (Tensor | null)[] {
  const list: (Tensor | null)[] = new Array(14).fill(null);
  for (const [name, t] of Object.entries(slots)) list[SLOT[name as keyof typeof SLOT]] = t ?? null;
  return list;
}

import { WG, nextPow2, planNorm, type NormPlan } from './norm-plan.js';
export { planNorm, type NormPlan };

/**
 * Set-level kernels merge a handful of per-plane results (CG for group norm, N for batch norm): one
 * thread per plane up to 64, so a 4-plane group does not wait on a 64-thread tree.
 */
const setWorkgroup = (planesPerTarget: number): number => Math.min(64, nextPow2(planesPerTarget));

function checkAffine(op: string, x: Tensor, gamma: Tensor, beta: Tensor): void {
  const c = x.shape[1];
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t.size !== c) throw new Error(`${op}: ${name} has ${t.size} values for ${c} channels`);
  }
}

/** What the forward kernels produced: the output and, per set, (mean, rstd) saved for the backward. */
export interface NormForward {
  y: Tensor;
  stats: Tensor;
}

export interface NormForwardMode {
  /** Batch norm only. Training: batch statistics, running ones updated; otherwise running ones used. */
  training?: boolean;
  momentum?: number;
  running?: BatchNormState;
}

/** Records the forward kernels of a plan (no autograd): statistics, then the normalised output. */
export function normForwardKernels(plan: NormPlan, x: Tensor, gamma: Tensor, beta: Tensor, mode: NormForwardMode = {}): NormForward {
  const e = x.engine;
  const op = `${plan.kind}Norm`;
  const base = { ...plan.constants, EPS: plan.eps };
  const stats = e.empty([plan.sets, 2], 'f32', `${op} stats`);
  const fixedStats = plan.kind === 'batch' && !mode.training;
  if (fixedStats) {
    const r = mode.running!;
    e.dispatch(K.evalStats, {
      constants: { WG, C: plan.shape[1], EPS: plan.eps },
      bindings: bind({ stats, runningMean: r.runningMean, runningVar: r.runningVar }),
      workgroups: workgroups1d(plan.shape[1], WG),
      op: `${op} eval stats`,
    });
  } else {
    const plane = e.empty([plan.planes, 2], 'f32', `${op} plane moments`);
    e.dispatch(plan.vec4 ? K.planeMoments4 : K.planeMoments, {
      constants: { ...base, WG, TPP: plan.tpp },
      bindings: bind(plan.vec4 ? { x4: x, plane } : { x, plane }),
      workgroups: workgroups1d(plan.planes * plan.tpp, WG),
      op: `${op} plane moments`,
    });
    // Batch norm without running statistics to update (--bn-stats batch) merges sets like group norm.
    const r = mode.running;
    const train = plan.kind === 'batch' && r !== undefined;
    const wgSet = setWorkgroup(plan.setGather.SET_PLANES!);
    // Training: one workgroup per channel walks its sub-batches in order (running statistics).
    const ghostConstants: Constants = plan.ghosts > 1 ? { GHOSTS: plan.ghosts } : {};
    e.dispatch(train ? K.setMomentsTrain : K.setMoments, {
      constants: { ...base, ...plan.setGather, WG: wgSet, ...(train ? { MOMENTUM: mode.momentum ?? 0.1, ...ghostConstants } : {}) },
      bindings: bind(train ? { plane, stats, runningMean: r.runningMean, runningVar: r.runningVar } : { plane, stats }),
      workgroups: workgroups1d((train ? plan.shape[1] : plan.sets) * wgSet, wgSet),
      op: `${op} set moments`,
    });
    plane.dispose();
  }
  const y = e.empty(x.shape, 'f32', plan.relu ? `${op}+relu` : op);
  e.dispatch(plan.vec4 ? K.apply4 : K.apply, {
    constants: plan.vec4 ? { ...base, WG, PER4: plan.per4 } : { ...base, WG },
    bindings: bind(plan.vec4 ? { x4: x, gamma, beta, stats, out4: y } : { x, gamma, beta, stats, out: y }),
    workgroups: workgroups1d(plan.vec4 ? y.size / 4 / plan.per4 : y.size, WG),
    op: `${op} apply`,
  });
  return { y, stats };
}

/** What the backward kernels produced, including the two per-set reductions dx is built from. */
export interface NormBackward {
  dx: Tensor | null;
  dgamma: Tensor;
  dbeta: Tensor;
  /** Per set: mean(g) and mean(g * xhat), g = dy * gamma (null when dx was not asked for or stats are fixed). */
  meanG: Tensor | null;
  meanGXhat: Tensor | null;
}

/**
 * Records the backward kernels. `fixedStats`: the statistics did not depend on x (batch norm in
 * evaluation), so dx has no mean terms. The four steps below are exported for the exercise
 * (src/explain/exercise-wgsl.ts), which runs them with a learner's expressions spliced in.
 */
export function normBackwardKernels(
  plan: NormPlan,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  stats: Tensor,
  dy: Tensor,
  opts: { needDx?: boolean; fixedStats?: boolean } = {},
): NormBackward {
  const e = x.engine;
  const op = `${plan.kind}Norm backward`;
  const plane = normPlaneGradSums(plan, x, gamma, beta, stats, dy);
  const { dbeta, dgamma } = normChannelSums(plan, plane, gamma);
  let dx: Tensor | null = null;
  let meanG: Tensor | null = null;
  let meanGXhat: Tensor | null = null;
  if (opts.needDx ?? true) {
    if (opts.fixedStats) {
      dx = e.empty(x.shape, 'f32', `${plan.kind}Norm dx`);
      e.dispatch(plan.vec4 ? K.dxFixedStats4 : K.dxFixedStats, {
        constants: plan.vec4 ? { ...plan.constants, WG, PER4: plan.per4 } : { ...plan.constants, WG },
        bindings: bind(plan.vec4 ? { x4: x, dy4: dy, gamma, beta, stats, out4: dx } : { x, dy, gamma, beta, stats, out: dx }),
        workgroups: workgroups1d(plan.vec4 ? dx.size / 4 / plan.per4 : dx.size, WG),
        op: `${op} dx`,
      });
    } else {
      ({ meanG, meanGXhat } = normSetMeans(plan, plane, gamma));
      dx = normDx(plan, x, gamma, beta, stats, dy, meanG, meanGXhat);
    }
  }
  plane.dispose();
  return { dx, dgamma, dbeta, meanG, meanGXhat };
}

/** Kernels of a WGSL module other than norm.wgsl (the exercise's), one object per (code, entry point) so pipelines cache. */
const otherKernels = new Map<string, Kernel>();
function kernelIn(code: string | undefined, scalar: Kernel, vec4: Kernel, plan: NormPlan): Kernel {
  if (code === undefined) return plan.vec4 ? vec4 : scalar;
  if (plan.vec4) throw new Error(`${plan.kind}Norm: a replacement module runs the scalar kernels only (plan it with naive: true)`);
  const key = `${scalar.entryPoint}\n${code}`;
  let k = otherKernels.get(key);
  // Pipelines are cached by kernel name: each module gets its own.
  if (!k) otherKernels.set(key, (k = { name: `${scalar.name} (module ${otherKernels.size + 1})`, code, entryPoint: scalar.entryPoint }));
  return k;
}

/** Per plane (sum dy, sum dy * xhat): both reductions of the backward start here. `code`: a module to take the kernel from. */
export function normPlaneGradSums(plan: NormPlan, x: Tensor, gamma: Tensor, beta: Tensor, stats: Tensor, dy: Tensor, code?: string): Tensor {
  const e = x.engine;
  const plane = e.empty([plan.planes, 2], 'f32', `${plan.kind}Norm backward plane sums`);
  e.dispatch(kernelIn(code, K.planeGradSums, K.planeGradSums4, plan), {
    constants: { ...plan.constants, WG, TPP: plan.tpp },
    bindings: bind(plan.vec4 ? { x4: x, dy4: dy, gamma, beta, stats, plane } : { x, dy, gamma, beta, stats, plane }),
    workgroups: workgroups1d(plan.planes * plan.tpp, WG),
    op: `${plan.kind}Norm backward plane sums`,
  });
  return plane;
}

/** dbeta[c] = sum dy and dgamma[c] = sum dy * xhat over (n, h, w): the plane sums gathered per channel. */
export function normChannelSums(plan: NormPlan, plane: Tensor, gamma: Tensor): { dbeta: Tensor; dgamma: Tensor } {
  const e = plane.engine;
  const [n, c] = plan.shape;
  const dbeta = e.empty([c], 'f32', `${plan.kind}Norm dbeta`);
  const dgamma = e.empty([c], 'f32', `${plan.kind}Norm dgamma`);
  const wgChannel = setWorkgroup(n);
  e.dispatch(K.reducePlanes, {
    constants: { WG: wgChannel, C: c, SET_BASE: 1, SET_STRIDE: c, SET_PLANES: n, TARGETS: c, WEIGHTED: 0, SCALE: 1 },
    bindings: bind({ plane, gamma, redA: dbeta, redB: dgamma }),
    workgroups: workgroups1d(c * wgChannel, wgChannel),
    op: `${plan.kind}Norm backward channel sums`,
  });
  return { dbeta, dgamma };
}

/**
 * Per set of `plan`, mean(g) and mean(g * xhat), g = dy * gamma: the plane sums gathered per set.
 * The plane sums may come from another plan of the same shape (the exercise gathers one norm's sums
 * over every kind of set).
 */
export function normSetMeans(plan: NormPlan, plane: Tensor, gamma: Tensor): { meanG: Tensor; meanGXhat: Tensor } {
  const e = plane.engine;
  const op = `${plan.kind}Norm backward`;
  const meanG = e.empty([plan.sets], 'f32', `${op} mean(g)`);
  const meanGXhat = e.empty([plan.sets], 'f32', `${op} mean(g*xhat)`);
  const wgSet = setWorkgroup(plan.setGather.SET_PLANES!);
  e.dispatch(K.reducePlanes, {
    constants: { WG: wgSet, C: plan.shape[1], ...plan.setGather, WEIGHTED: 1, SCALE: 1 / plan.setSize },
    bindings: bind({ plane, gamma, redA: meanG, redB: meanGXhat }),
    workgroups: workgroups1d(plan.sets * wgSet, wgSet),
    op: `${op} set sums`,
  });
  return { meanG, meanGXhat };
}

/** dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). `code`: a module to take the kernel from (its redA, redB as it reads them). */
export function normDx(plan: NormPlan, x: Tensor, gamma: Tensor, beta: Tensor, stats: Tensor, dy: Tensor, redA: Tensor, redB: Tensor, code?: string): Tensor {
  const e = x.engine;
  const dx = e.empty(x.shape, 'f32', `${plan.kind}Norm dx`);
  const common = { gamma, beta, stats, redA, redB };
  e.dispatch(kernelIn(code, K.dx, K.dx4, plan), {
    constants: plan.vec4 ? { ...plan.constants, WG, PER4: plan.per4 } : { ...plan.constants, WG },
    bindings: bind(plan.vec4 ? { ...common, x4: x, dy4: dy, out4: dx } : { ...common, x, dy, out: dx }),
    workgroups: workgroups1d(plan.vec4 ? dx.size / 4 / plan.per4 : dx.size, WG),
    op: `${plan.kind}Norm backward dx`,
  });
  return dx;
}

/** Forward kernels plus the autograd record; the saved statistics live as long as the graph. */
function normalize(
  plan: NormPlan,
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  mode: NormForwardMode,
): Tensor {
  const fixedStats = plan.kind === 'batch' && !mode.training;
  const { y, stats } = normForwardKernels(plan, x, gamma, beta, mode);
  const phase = !mode.training ? ' (eval)' : mode.running ? ' (train)' : ' (batch statistics)';
  const opName = `${plan.kind}Norm${plan.relu ? '+relu' : ''}${plan.kind === 'batch' ? phase : ''}`;
  record(y, opName, [x, gamma, beta], (dyT) => {
    const r = normBackwardKernels(plan, x, gamma, beta, stats, dyT, { needDx: x.requiresGrad, fixedStats });
    r.meanG?.dispose();
    r.meanGXhat?.dispose();
    return [r.dx, r.dgamma, r.dbeta];
  });
  // Without a graph nothing reads the statistics again (the pool reuses the buffer only after the submit).
  if (!y.node) stats.dispose();
  return y;
}

/**
 * PyTorch's BatchNorm2d: statistics per channel over (N, H, W). Training normalises with the batch's
 * biased variance and updates state.runningMean and state.runningVar (unbiased) in place on the GPU,
 * in the same step; evaluation normalises with the running statistics (or, with evalStatistics
 * 'batch', with the batch's own). opts.ghostBatch: ghost batch norm, in training only.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, opts: BatchNormOptions): Tensor {
  const ownStats = !opts.training && opts.evalStatistics === 'batch';
  const plan = planNorm('batch', x.shape, {
    eps: opts.eps,
    relu: opts.relu,
    ghostBatch: opts.training ? opts.ghostBatch : undefined,
    naive: x.engine.debug.naive,
  });
  checkAffine('batchNorm', x, gamma, beta);
  const c = plan.shape[1];
  if (state.runningMean.size !== c || state.runningVar.size !== c) {
    throw new Error(`batchNorm: running statistics must have ${c} values`);
  }
  if ((opts.training || ownStats) && plan.setSize < 2) {
    throw new Error(`batchNorm: batch statistics need more than one value per channel (input [${x.shape}]${plan.ghosts > 1 ? `, ghost batches of ${x.shape[0]! / plan.ghosts}` : ''})`);
  }
  if (ownStats) return normalize(plan, x, gamma, beta, { training: true });
  return normalize(plan, x, gamma, beta, { training: opts.training, momentum: opts.momentum ?? 0.1, running: state });
}

/** PyTorch's GroupNorm(groups, C): statistics per sample over each group of C/G channels and (H, W). */
export function groupNorm(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, opts: NormOptions = {}): Tensor {
  const plan = planNorm('group', x.shape, { ...opts, groups, naive: x.engine.debug.naive });
  checkAffine('groupNorm', x, gamma, beta);
  return normalize(plan, x, gamma, beta, {});
}

/** GroupNorm with one group (PyTorch's GroupNorm(1, C)): statistics per sample over (C, H, W). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, opts: NormOptions = {}): Tensor {
  const plan = planNorm('layer', x.shape, { ...opts, naive: x.engine.debug.naive });
  checkAffine('layerNorm', x, gamma, beta);
  return normalize(plan, x, gamma, beta, {});
}

/** PyTorch's InstanceNorm2d(C, affine=True), i.e. GroupNorm(C, C): statistics per sample and channel over (H, W). */
export function instanceNorm(x: Tensor, gamma: Tensor, beta: Tensor, opts: NormOptions = {}): Tensor {
  const plan = planNorm('instance', x.shape, { ...opts, naive: x.engine.debug.naive });
  checkAffine('instanceNorm', x, gamma, beta);
  if (plan.setSize < 2) throw new Error(`instanceNorm: needs more than one value per plane (input [${x.shape}])`);
  return normalize(plan, x, gamma, beta, {});
}

/** Helper for callers holding an Engine: fresh running statistics as BatchNorm2d initialises them. */
export function initBatchNormState(engine: Engine, channels: number): BatchNormState {
  return {
    runningMean: engine.keep(engine.zeros([channels], 'f32', 'running mean')),
    runningVar: engine.keep(engine.tensor(new Float32Array(channels).fill(1), [channels], 'f32', 'running var')),
  };
}
