// Models from the engine's ops, as a module tree the way PyTorch's nn.Module composes them: each
// module knows its parameters (named by its place in the tree, as state_dict names them), its output
// channels, and its forward. A definition is checked when it is made, and a bad one throws one line
// naming the layer (ModelDefinitionError). SeedNet (seednet.ts) is one such tree.
//
// The PyTorch module each one matches (so a checkpoint loads with load_state_dict(strict=True)):
//   conv2d(in, out, k)                 nn.Conv2d(in, out, k, padding=k // 2, bias=False)
//   block(in, out, k, norm)            conv -> norm -> ReLU, children 'conv' and 'norm' (the norm's
//                                      ReLU fused); norm 'none' is conv -> ReLU, with no 'norm' child
//   skip: true (block, conv2d)         x + f(x), no extra names
//   maxPool2d()                        nn.MaxPool2d(2)          globalAvgPool()  nn.AdaptiveAvgPool2d(1)
//   linear(in, out)                    nn.Linear(in, out) on the flattened [N, in] (bias starts at 0)
//   sequential({ name: module, ... })  nn.Sequential(OrderedDict(...)), or attributes of a Module
import type { Tensor } from '../engine/tensor.js';
import { UserError } from '../engine/errors.js';
import * as ops from '../engine/ops/index.js';
import { add as broadcastAdd } from '../engine/ops/primitives.js';
import type { Tap } from '../train/probes.js';
import { applyNorm, normParams, NORM_KINDS, type BnEvalStatistics, type NormKind } from './norms.js';

/** A parameter or buffer of a model: its state_dict name, shape and how it starts. */
export interface ParamSpec {
  /** PyTorch state_dict name, e.g. 'b1.conv.weight'. */
  name: string;
  shape: number[];
  init: 'kaiming' | 'ones' | 'zeros';
  /** Running statistics: state, not trained. */
  buffer: boolean;
}

/** A model definition that cannot work, named by its layer. */
export class ModelDefinitionError extends UserError {
  constructor(layer: string, message: string) {
    super(`model: ${layer}: ${message}`);
    this.name = 'ModelDefinitionError';
  }
}

/** What a forward pass carries down the tree. */
export interface ForwardContext {
  training: boolean;
  /** Batch norm: statistics in evaluation, momentum override, ghost sub-batches in training. */
  evalStatistics?: BnEvalStatistics;
  momentum?: number;
  ghostBatch?: number;
  /** Sees each convolution's output ('conv') and each layer's output ('out'), by layer name. */
  tap?: Tap;
  /** The model's tensor by state_dict name. */
  get(name: string): Tensor;
}

/** A module as data: what `normlab` writes in a model's checkpoint, and moduleFromSpec() rebuilds. */
export type ModuleSpec =
  | { type: 'conv2d'; in: number; out: number; kernel: 1 | 3; skip: boolean }
  | { type: 'block'; in: number; out: number; kernel: 1 | 3; norm: NormKind; groups: number; skip: boolean }
  | { type: 'maxpool' }
  | { type: 'gap' }
  | { type: 'linear'; in: number; out: number; bias: boolean }
  | { type: 'sequential'; children: [string, ModuleSpec][] };

export interface Module {
  readonly type: ModuleSpec['type'];
  /** The module as data (JSON). */
  readonly spec: ModuleSpec;
  /** Input channels (null: any, e.g. a pool). */
  readonly inChannels: number | null;
  /** Output channels for `inChannels` in. */
  outChannels(inChannels: number): number;
  /** Parameters and buffers, in state_dict order, under `prefix` ('' at the root). */
  params(prefix: string): ParamSpec[];
  forward(x: Tensor, ctx: ForwardContext, prefix: string): Tensor;
  /** Throws a ModelDefinitionError naming `layer` if the module cannot work (its container calls it). */
  check(layer: string): void;
}

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);
const positive = (layer: string, what: string, v: number): void => {
  if (!Number.isInteger(v) || v < 1) throw new ModelDefinitionError(layer, `${what} must be a positive integer (got ${v})`);
};

export interface ConvOptions {
  /** Add the layer's input to its output (input and output channels must match). */
  skip?: boolean;
}

function checkSkip(layer: string, skip: boolean | undefined, cin: number, cout: number): void {
  if (skip && cin !== cout) throw new ModelDefinitionError(layer, `a skip adds the input (${cin} channels) to the output (${cout} channels): different shapes`);
}

function checkKernel(layer: string, k: number): void {
  if (k !== 1 && k !== 3) throw new ModelDefinitionError(layer, `kernel size ${k}: the engine's convolutions are 1x1 and 3x3 (same padding)`);
}

/** A convolution without bias, 'same' padding. */
export function conv2d(inChannels: number, outChannels: number, kernel: 1 | 3, opts: ConvOptions = {}): Module {
  return {
    type: 'conv2d',
    spec: { type: 'conv2d', in: inChannels, out: outChannels, kernel, skip: opts.skip ?? false },
    inChannels,
    outChannels: () => outChannels,
    check(layer) {
      positive(layer, 'in channels', inChannels);
      positive(layer, 'out channels', outChannels);
      checkKernel(layer, kernel);
      checkSkip(layer, opts.skip, inChannels, outChannels);
    },
    params: (prefix) => [{ name: join(prefix, 'weight'), shape: [outChannels, inChannels, kernel, kernel], init: 'kaiming', buffer: false }],
    forward(x, ctx, prefix) {
      const y = ops.conv2d(x, ctx.get(join(prefix, 'weight')), { padding: (kernel - 1) / 2 });
      ctx.tap?.(prefix, 'conv', y);
      const h = opts.skip ? ops.add(x, y) : y;
      ctx.tap?.(prefix, 'out', h);
      return h;
    },
  };
}

export interface BlockOptions extends ConvOptions {
  /** Group norm's G (it must divide the output channels; layer norm is G = 1, instance norm G = C). */
  groups?: number;
}

/** conv -> norm -> ReLU (the norm and the ReLU fused in one kernel), optionally with a skip. */
export function block(inChannels: number, outChannels: number, kernel: 1 | 3, norm: NormKind, opts: BlockOptions = {}): Module {
  const conv = conv2d(inChannels, outChannels, kernel);
  const groups = opts.groups ?? 1;
  return {
    type: 'block',
    spec: { type: 'block', in: inChannels, out: outChannels, kernel, norm, groups, skip: opts.skip ?? false },
    inChannels,
    outChannels: () => outChannels,
    check(layer) {
      if (!NORM_KINDS.includes(norm)) throw new ModelDefinitionError(layer, `unknown norm '${norm}' (expected ${NORM_KINDS.join(', ')})`);
      conv.check(layer);
      checkSkip(layer, opts.skip, inChannels, outChannels);
      if (norm === 'group') {
        positive(layer, 'groups', groups);
        if (outChannels % groups !== 0) throw new ModelDefinitionError(layer, `group norm with ${groups} groups does not divide ${outChannels} channels`);
      }
    },
    params: (prefix) => [...conv.params(join(prefix, 'conv')), ...normParams(norm, join(prefix, 'norm'), outChannels)],
    forward(x, ctx, prefix) {
      const c = ops.conv2d(x, ctx.get(join(prefix, 'conv.weight')), { padding: (kernel - 1) / 2 });
      ctx.tap?.(prefix, 'conv', c);
      const y = applyNorm(norm, c, (n) => ctx.get(join(prefix, `norm.${n}`)), {
        training: ctx.training,
        groups,
        relu: true,
        ghostBatch: ctx.ghostBatch,
        evalStatistics: ctx.evalStatistics,
        momentum: ctx.momentum,
      });
      const h = opts.skip ? ops.add(x, y) : y;
      ctx.tap?.(prefix, 'out', h);
      return h;
    },
  };
}

/** 2 x 2 max pooling, stride 2. */
export function maxPool2d(): Module {
  return { type: 'maxpool', spec: { type: 'maxpool' }, inChannels: null, outChannels: (c) => c, check: () => {}, params: () => [], forward: (x) => ops.maxPool2d(x) };
}

/** The mean over each plane: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool(): Module {
  return { type: 'gap', spec: { type: 'gap' }, inChannels: null, outChannels: (c) => c, check: () => {}, params: () => [], forward: (x) => ops.globalAvgPool(x) };
}

/** A fully connected layer on the flattened input (after a global pool: [N, C, 1, 1] -> [N, out]). */
export function linear(inFeatures: number, outFeatures: number, opts: { bias?: boolean } = {}): Module {
  const bias = opts.bias ?? true;
  return {
    type: 'linear',
    spec: { type: 'linear', in: inFeatures, out: outFeatures, bias },
    inChannels: inFeatures,
    outChannels: () => outFeatures,
    check(layer) {
      positive(layer, 'in features', inFeatures);
      positive(layer, 'out features', outFeatures);
    },
    params: (prefix) => [
      { name: join(prefix, 'weight'), shape: [outFeatures, inFeatures], init: 'kaiming', buffer: false },
      ...(bias ? [{ name: join(prefix, 'bias'), shape: [outFeatures], init: 'zeros' as const, buffer: false }] : []),
    ],
    forward(x, ctx, prefix) {
      const n = x.shape[0]!;
      const features = x.size / n;
      if (features !== inFeatures) throw new ModelDefinitionError(prefix || 'linear', `expects ${inFeatures} input features, got ${features} (shape [${x.shape}]): a global pool before it?`);
      // As a 1x1 convolution on [N, in, 1, 1]: the engine's matrix product.
      const w = ops.reshape(ctx.get(join(prefix, 'weight')), [outFeatures, inFeatures, 1, 1]);
      let y = ops.reshape(ops.conv2d(ops.reshape(x, [n, inFeatures, 1, 1]), w, { padding: 0 }), [n, outFeatures]);
      if (bias) y = broadcastAdd(y, ctx.get(join(prefix, 'bias')));
      ctx.tap?.(prefix, 'out', y);
      return y;
    },
  };
}

/**
 * Children in order, each named: the names are the state_dict's path components. Checks each child
 * (naming it) and that each takes the channels the one before it gives.
 */
export function sequential(children: Record<string, Module>): Module {
  const entries = Object.entries(children);
  const within = (layer: string, name: string) => (layer ? `${layer}.${name}` : name);
  let inChannels: number | null = null;
  const check = (layer: string): void => {
    if (entries.length === 0) throw new ModelDefinitionError(layer || 'sequential', 'has no layers');
    let channels: number | null = null;
    let previous = 'the input';
    for (const [name, m] of entries) {
      const path = within(layer, name);
      if (!/^([A-Za-z_][A-Za-z0-9_]*|\d+)$/.test(name)) throw new ModelDefinitionError(path, "a layer name must be an identifier (letters, digits, _) or a number, as PyTorch's module names are");
      m.check(path);
      if (m.inChannels !== null) {
        if (channels !== null && m.inChannels !== channels) throw new ModelDefinitionError(path, `expects ${m.inChannels} input channels, but ${previous} gives ${channels}`);
        inChannels ??= m.inChannels;
        channels = m.inChannels;
      }
      if (channels !== null) channels = m.outChannels(channels);
      previous = path;
    }
    if (inChannels === null) throw new ModelDefinitionError(layer || 'sequential', 'no layer says how many input channels it takes');
  };
  // The root is checked here, at definition; a nested one again by its parent, with its path.
  check('');
  return {
    type: 'sequential',
    spec: { type: 'sequential', children: entries.map(([name, m]) => [name, m.spec]) },
    inChannels,
    outChannels: (c) => entries.reduce((acc, [, m]) => m.outChannels(acc), c),
    check,
    params: (prefix) => entries.flatMap(([name, m]) => m.params(join(prefix, name))),
    forward: (x, ctx, prefix) => entries.reduce((h, [name, m]) => m.forward(h, ctx, join(prefix, name)), x),
  };
}

/** The module a spec describes (a checkpoint's definition), checked as when written by hand. */
export function moduleFromSpec(spec: ModuleSpec): Module {
  switch (spec.type) {
    case 'conv2d':
      return conv2d(spec.in, spec.out, spec.kernel, { skip: spec.skip });
    case 'block':
      return block(spec.in, spec.out, spec.kernel, spec.norm, { groups: spec.groups, skip: spec.skip });
    case 'maxpool':
      return maxPool2d();
    case 'gap':
      return globalAvgPool();
    case 'linear':
      return linear(spec.in, spec.out, { bias: spec.bias });
    case 'sequential':
      return sequential(Object.fromEntries(spec.children.map(([name, child]) => [name, moduleFromSpec(child)])));
    default:
      throw new ModelDefinitionError('model', `unknown module type '${(spec as { type: unknown }).type}'`);
  }
}
