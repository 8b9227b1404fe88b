// The three norms built from primitive ops through the autograd, exactly as the textbook graph
// reads: mean, subtract, square, mean, add eps, rsqrt, multiply, affine. The autograd derives their
// backward from the primitives' rules; tests compare both directions with the fused kernels of
// src/engine/ops/norm.ts, so the teaching version and the fast version check each other.
import { noGrad } from '../engine/autograd.js';
import { reshape } from '../engine/ops/shape.js';
import * as P from '../engine/ops/primitives.js';
import type { Tensor } from '../engine/tensor.js';
import type { BatchNormState } from '../engine/ops/norm.js';

/** (x - mean) * rsqrt(var + eps) over `axes`, var biased: the normalisation every norm shares. */
function standardize(x: Tensor, axes: number[], eps: number): Tensor {
  const mu = P.mean(x, axes);
  const centered = P.sub(x, mu);
  const variance = P.mean(P.mul(centered, centered), axes);
  return P.mul(centered, P.rsqrt(P.addScalar(variance, eps)));
}

/** gamma[c] * xhat + beta[c], the per-channel affine, with gamma and beta seen as 1 x C x 1 x 1. */
function affine(xhat: Tensor, gamma: Tensor, beta: Tensor): Tensor {
  const c = xhat.shape[1]!;
  return P.add(P.mul(xhat, reshape(gamma, [1, c, 1, 1])), reshape(beta, [1, c, 1, 1]));
}

export function batchNormComposed(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  state: BatchNormState,
  opts: { training: boolean; momentum?: number; eps?: number },
): Tensor {
  const eps = opts.eps ?? 1e-5;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (!opts.training) {
    const rm = reshape(state.runningMean, [1, c, 1, 1]);
    const rv = reshape(state.runningVar, [1, c, 1, 1]);
    return affine(P.mul(P.sub(x, rm), P.rsqrt(P.addScalar(rv, eps))), gamma, beta);
  }
  const y = affine(standardize(x, [0, 2, 3], eps), gamma, beta);
  // Running statistics, outside the graph: running = (1 - m) * running + m * batch statistic, with
  // the unbiased variance M / (M - 1) * var.
  noGrad(() => {
    const m = opts.momentum ?? 0.1;
    const count = n * h * w;
    const e = x.engine;
    e.tidy(() => {
      const mu = P.mean(x, [0, 2, 3], false);
      const centered = P.sub(x, P.mean(x, [0, 2, 3]));
      const unbiased = P.mulScalar(P.mean(P.mul(centered, centered), [0, 2, 3], false), count / (count - 1));
      const newMean = P.add(P.mulScalar(state.runningMean, 1 - m), P.mulScalar(mu, m));
      const newVar = P.add(P.mulScalar(state.runningVar, 1 - m), P.mulScalar(unbiased, m));
      e.copy(newMean, state.runningMean, newMean.bytes);
      e.copy(newVar, state.runningVar, newVar.bytes);
    });
  });
  return y;
}

/** GroupNorm(groups, C): x seen as N x G x (C/G * H * W), standardised over the last axis. */
export function groupNormComposed(x: Tensor, gamma: Tensor, beta: Tensor, groups: number, opts: { eps?: number } = {}): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (c % groups !== 0) throw new Error(`groupNormComposed: ${c} channels cannot be split into ${groups} equal groups`);
  const grouped = reshape(x, [n, groups, (c / groups) * h * w]);
  const xhat = reshape(standardize(grouped, [2], opts.eps ?? 1e-5), [n, c, h, w]);
  return affine(xhat, gamma, beta);
}

/** GroupNorm(1, C): per sample over (C, H, W). */
export function layerNormComposed(x: Tensor, gamma: Tensor, beta: Tensor, opts: { eps?: number } = {}): Tensor {
  return groupNormComposed(x, gamma, beta, 1, opts);
}
