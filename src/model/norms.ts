// The norms as SeedNet uses them: their parameters (named as PyTorch's state_dict of the matching
// module: BatchNorm2d, GroupNorm, InstanceNorm2d(affine=True); `none` has none, like nn.Identity)
// and the call into the fused kernels of src/engine/ops/norm.ts.
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';
import type { ParamSpec } from './modules.js';

/** Every norm a SeedNet block can have; `none` is the block without one (conv -> ReLU). */
export const NORM_KINDS = ['batch', 'group', 'layer', 'instance', 'none'] as const;
export type NormKind = (typeof NORM_KINDS)[number];
/** What `compare` runs unless told otherwise: the seed's three. */
export const DEFAULT_COMPARED: readonly NormKind[] = ['batch', 'group', 'layer'];

export const NORM_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export function normParams(kind: NormKind, prefix: string, channels: number): ParamSpec[] {
  if (kind === 'none') return [];
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

/** How batch norm gets its statistics in evaluation (`normlab eval --bn-stats`). */
export type BnEvalStatistics = 'running' | 'batch';

/**
 * Batch norm's sub-batch in training: `ghostBatch` images, or for a batch it does not divide (an
 * epoch's last, short batch) the largest divisor of that batch not above it. 0: the whole batch.
 */
export function ghostSubBatch(ghostBatch: number, n: number): number {
  if (!ghostBatch || ghostBatch >= n) return n;
  for (let b = ghostBatch; b > 1; b--) if (n % b === 0) return b;
  return 1;
}

/** norm(x) followed by ReLU, fused (`none`: the ReLU alone). `get` returns the layer's tensor by its last name part. */
export function applyNorm(
  kind: NormKind,
  x: Tensor,
  get: (name: string) => Tensor,
  o: { training: boolean; groups: number; relu: boolean; ghostBatch?: number; evalStatistics?: BnEvalStatistics; momentum?: number },
): Tensor {
  if (kind === 'none') return o.relu ? ops.relu(x) : x;
  const gamma = get('weight');
  const beta = get('bias');
  switch (kind) {
    case 'batch':
      return ops.batchNorm(x, gamma, beta, { runningMean: get('running_mean'), runningVar: get('running_var') }, {
        training: o.training,
        momentum: o.momentum ?? BN_MOMENTUM,
        eps: NORM_EPS,
        relu: o.relu,
        ghostBatch: o.training && o.ghostBatch ? ghostSubBatch(o.ghostBatch, x.shape[0]!) : undefined,
        evalStatistics: o.evalStatistics,
      });
    case 'group':
      return ops.groupNorm(x, gamma, beta, o.groups, { eps: NORM_EPS, relu: o.relu });
    case 'layer':
      return ops.layerNorm(x, gamma, beta, { eps: NORM_EPS, relu: o.relu });
    case 'instance':
      return ops.instanceNorm(x, gamma, beta, { eps: NORM_EPS, relu: o.relu });
  }
}
