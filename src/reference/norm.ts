// Float64 reference for batch (and ghost batch), group, layer and instance normalisation. Deliberately written differently from
// the GPU kernels: statistics by plain two-pass loops over explicit index lists, and the backward by
// the chain rule through the graph (dxhat -> dvar -> dmean -> dx), not by the compact form the
// kernels use, so agreement between the two checks both.
import type { Rng } from '../check/types.js';

export type NormKind = 'batch' | 'group' | 'layer' | 'instance';

export interface NormRefSpec {
  kind: NormKind;
  shape: readonly number[];
  /** Group norm only (default 4). */
  groups?: number;
  eps?: number;
  /** Batch norm: training (batch statistics) or evaluation (running statistics). Default true. */
  training?: boolean;
  momentum?: number;
  relu?: boolean;
  /** Batch norm in training: statistics over consecutive sub-batches of this many images. */
  ghostBatch?: number;
}

export interface NormRefForward {
  y: Float64Array;
  xhat: Float64Array;
  /** Per reduction set (batch: per channel; group/layer: per (sample, group)). */
  mean: Float64Array;
  /** Biased variance (what the normalisation divides by). */
  variance: Float64Array;
  rstd: Float64Array;
  /** Batch norm in training: the updated running statistics. */
  runningMean?: Float64Array;
  runningVar?: Float64Array;
}

/** Element indices of every reduction set, in memory order. */
export function reductionSets(spec: NormRefSpec): number[][] {
  const [n, c, h, w] = spec.shape as [number, number, number, number];
  const hw = h * w;
  const g = spec.kind === 'group' ? (spec.groups ?? 4) : spec.kind === 'instance' ? c : 1;
  if (c % g !== 0) throw new Error(`reference: ${c} channels are not divisible into ${g} groups`);
  const sets: number[][] = [];
  if (spec.kind === 'batch') {
    // Ghost batches (training only): sub-batch j's channel ch is set j*C + ch.
    const b = spec.training !== false ? (spec.ghostBatch ?? n) : n;
    if (n % b !== 0) throw new Error(`reference: a ghost batch of ${b} does not divide ${n}`);
    for (let j = 0; j < n / b; j++) {
      for (let ch = 0; ch < c; ch++) {
        const idx: number[] = [];
        for (let s = j * b; s < (j + 1) * b; s++) for (let k = 0; k < hw; k++) idx.push((s * c + ch) * hw + k);
        sets.push(idx);
      }
    }
  } else {
    const cg = c / g;
    for (let s = 0; s < n; s++) {
      for (let gi = 0; gi < g; gi++) {
        const idx: number[] = [];
        for (let ch = gi * cg; ch < (gi + 1) * cg; ch++) for (let k = 0; k < hw; k++) idx.push((s * c + ch) * hw + k);
        sets.push(idx);
      }
    }
  }
  return sets;
}

export function channelOf(i: number, shape: readonly number[]): number {
  return Math.floor(i / (shape[2]! * shape[3]!)) % shape[1]!;
}

export function normForwardRef(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  spec: NormRefSpec,
  running?: { mean: ArrayLike<number>; variance: ArrayLike<number> },
): NormRefForward {
  const eps = spec.eps ?? 1e-5;
  const sets = reductionSets(spec);
  const fixed = spec.kind === 'batch' && spec.training === false;
  const mean = new Float64Array(sets.length);
  const variance = new Float64Array(sets.length);
  const rstd = new Float64Array(sets.length);
  const xhat = new Float64Array(x.length);
  const y = new Float64Array(x.length);
  const out: NormRefForward = { y, xhat, mean, variance, rstd };
  const c = spec.shape[1]!;
  if (spec.kind === 'batch' && !fixed && running) {
    // Updated set after set, in order: each sub-batch moves the running statistics once.
    out.runningMean = Float64Array.from(running.mean);
    out.runningVar = Float64Array.from(running.variance);
  }
  const m = spec.momentum ?? 0.1;
  sets.forEach((idx, s) => {
    if (fixed) {
      mean[s] = running!.mean[s]!;
      variance[s] = running!.variance[s]!;
    } else {
      let sum = 0;
      for (const i of idx) sum += x[i]!;
      mean[s] = sum / idx.length;
      let sq = 0;
      for (const i of idx) sq += (x[i]! - mean[s]!) ** 2;
      variance[s] = sq / idx.length;
      if (out.runningMean && out.runningVar) {
        const ch = s % c;
        out.runningMean[ch] = (1 - m) * out.runningMean[ch]! + m * mean[s]!;
        out.runningVar[ch] = (1 - m) * out.runningVar[ch]! + m * (sq / (idx.length - 1));
      }
    }
    rstd[s] = 1 / Math.sqrt(variance[s]! + eps);
    for (const i of idx) {
      xhat[i] = (x[i]! - mean[s]!) * rstd[s]!;
      const c = channelOf(i, spec.shape);
      const z = gamma[c]! * xhat[i]! + beta[c]!;
      y[i] = spec.relu ? Math.max(z, 0) : z;
    }
  });
  return out;
}

export interface NormRefBackward {
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
}

export function normBackwardRef(
  x: ArrayLike<number>,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  dy: ArrayLike<number>,
  spec: NormRefSpec,
  running?: { mean: ArrayLike<number>; variance: ArrayLike<number> },
): NormRefBackward {
  const eps = spec.eps ?? 1e-5;
  const fwd = normForwardRef(x, gamma, beta, spec, running);
  const c = spec.shape[1]!;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  // Upstream gradient through the ReLU (0 where the output was clamped).
  const dz = Float64Array.from(dy, (d, i) => (spec.relu && fwd.y[i]! <= 0 ? 0 : d));
  for (let i = 0; i < x.length; i++) {
    const ch = channelOf(i, spec.shape);
    dgamma[ch] += dz[i]! * fwd.xhat[i]!;
    dbeta[ch] += dz[i]!;
  }
  const fixed = spec.kind === 'batch' && spec.training === false;
  reductionSets(spec).forEach((idx, s) => {
    const mu = fwd.mean[s]!;
    const v = fwd.variance[s]!;
    const r = fwd.rstd[s]!;
    const M = idx.length;
    if (fixed) {
      for (const i of idx) dx[i] = dz[i]! * gamma[channelOf(i, spec.shape)]! * r;
      return;
    }
    // Graph: xhat = (x - mu) * (var + eps)^(-1/2), var = (1/M) sum (x - mu)^2, mu = (1/M) sum x.
    let dvar = 0;
    let dmu = 0;
    let sumCentered = 0;
    for (const i of idx) {
      const dxhat = dz[i]! * gamma[channelOf(i, spec.shape)]!;
      dvar += dxhat * (x[i]! - mu) * -0.5 * (v + eps) ** -1.5;
      dmu += -dxhat * r;
      sumCentered += x[i]! - mu;
    }
    dmu += dvar * ((-2 * sumCentered) / M);
    for (const i of idx) {
      const dxhat = dz[i]! * gamma[channelOf(i, spec.shape)]!;
      dx[i] = dxhat * r + (dvar * 2 * (x[i]! - mu)) / M + dmu / M;
    }
  });
  void beta;
  return { dx, dgamma, dbeta };
}

// ---- deterministic inputs shared with scripts/fixtures/norm.py --------------------------------

/** A 32-bit integer hash (xor-shift-multiply rounds); the same integer arithmetic runs in Python. */
export function hash32(v: number): number {
  let h = v >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [-1, 1), exactly representable in float32 (24 bits), element i of stream `seed`. */
export function hashUniform(seed: number, i: number): number {
  const h = hash32((i + Math.imul(seed, 0x9e3779b9)) >>> 0);
  return (h >>> 8) / 2 ** 23 - 1;
}

/**
 * The fixture generator: `offset[c] + scale * u` rounded to float32, u = hashUniform(seed, i),
 * c the channel of element i. Python computes the same double then rounds with numpy.float32.
 */
export function fixtureTensor(seed: number, shape: readonly number[], scale: number, offsets?: (c: number) => number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const hw = shape.length === 4 ? shape[2]! * shape[3]! : 1;
  const c = shape.length === 4 ? shape[1]! : 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const off = offsets ? offsets(Math.floor(i / hw) % c) : 0;
    out[i] = off + scale * hashUniform(seed, i);
  }
  return out;
}

/** An Rng (src/check/types.ts) on top of hashUniform: reproducible from its seed alone. */
export function hashRng(seed: number): Rng {
  let k = 0;
  const next = (): number => (hashUniform(seed, k++) + 1) / 2;
  return {
    next,
    normal: () => {
      const u = Math.max(next(), 2 ** -30);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    int: (n) => Math.floor(next() * n),
  };
}
