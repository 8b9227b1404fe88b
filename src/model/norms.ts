// The three norms as SeedNet uses them: their parameters (named as PyTorch's BatchNorm2d and
// GroupNorm) and the call into the fused kernels of src/engine/ops/norm.ts.
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';
import type { ParamSpec } from './seednet.js';

export const NORM_KINDS = ['batch', 'group', 'layer'] as const;
export type NormKind = (typeof NORM_KINDS)[number];

export const NORM_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export function normParams(kind: NormKind, prefix: string, channels: number): ParamSpec[] {
  const specs: ParamSpec[] = [
    { name: `${prefix}.weight`, shape: [channels], init: 'ones', buffer: false },
    { name: `${prefix}.bias`, shape: [channels], init: 'zeros', buffer: false },
  ];
  if (kind === 'batch') {
    specs.push({ name: `${prefix}.running_mean`, shape: [channels], init: 'zeros', buffer: true });
    specs.push({ name: `${prefix}.running_var`, shape: [channels], init: 'ones', buffer: true });
  }
  return specs;
}

/** norm(x) followed by ReLU, fused. `get` returns the layer's tensor by its last name part. */
export function applyNorm(
  kind: NormKind,
  x: Tensor,
  get: (name: string) => Tensor,
  o: { training: boolean; groups: number; relu: boolean },
): Tensor {
  const gamma = get('weight');
  const beta = get('bias');
  switch (kind) {
    case 'batch':
      return ops.batchNorm(x, gamma, beta, { runningMean: get('running_mean'), runningVar: get('running_var') }, {
        training: o.training,
        momentum: BN_MOMENTUM,
        eps: NORM_EPS,
        relu: o.relu,
      });
    case 'group':
      return ops.groupNorm(x, gamma, beta, o.groups, { eps: NORM_EPS, relu: o.relu });
    case 'layer':
      return ops.layerNorm(x, gamma, beta, { eps: NORM_EPS, relu: o.relu });
  }
}
