// SeedNet, the CNN of ../shared/SEEDNET.md. One table (LAYERS) drives the module tree (so the
// forward pass and the parameters, named as PyTorch's state_dict of the same module) and `normlab
// summary`, so they cannot disagree. SeedNet is a Model (model.ts) like any other built from
// modules.ts; what it adds is its configuration, recorded in checkpoints.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { UserError } from '../engine/errors.js';
import * as ops from '../engine/ops/index.js';
import { Model } from './model.js';
import { block, conv2d, globalAvgPool, maxPool2d, sequential, type Module, type ParamSpec } from './modules.js';
import { type NormKind, NORM_KINDS } from './norms.js';

export { NORM_KINDS, type NormKind, type ParamSpec };

export interface SeedNetConfig {
  inChannels: number;
  norm: NormKind;
  /** GroupNorm's G (SEEDNET.md: 4); LayerNorm is G = 1 whatever this says. */
  groups: number;
  classes: number;
  /** Batch norm only: ghost batch norm's sub-batch in training (0 or absent: the whole batch). */
  ghostBatch?: number;
}

type Layer =
  | { name: string; kind: 'block'; kernel: 3 | 1; out: number; skip: boolean }
  | { name: string; kind: 'conv'; kernel: 3 | 1; out: number; skip: boolean }
  | { name: string; kind: 'maxpool' }
  | { name: string; kind: 'gap' };

/** SEEDNET.md's layer table; `out: 0` means the number of classes. */
export const LAYERS: readonly Layer[] = [
  { name: 'b1', kind: 'block', kernel: 3, out: 16, skip: false },
  { name: 'b2', kind: 'block', kernel: 3, out: 16, skip: false },
  { name: 'b3', kind: 'block', kernel: 1, out: 16, skip: true },
  { name: 'pool1', kind: 'maxpool' },
  { name: 'b4', kind: 'block', kernel: 3, out: 32, skip: false },
  { name: 'b5', kind: 'block', kernel: 3, out: 32, skip: false },
  { name: 'b6', kind: 'block', kernel: 1, out: 32, skip: true },
  { name: 'pool2', kind: 'maxpool' },
  { name: 'b7', kind: 'block', kernel: 3, out: 32, skip: false },
  { name: 'b8', kind: 'block', kernel: 3, out: 32, skip: false },
  { name: 'c9', kind: 'conv', kernel: 3, out: 0, skip: false },
  { name: 'gap', kind: 'gap' },
  { name: 'c10', kind: 'conv', kernel: 1, out: 0, skip: true },
];

export function validateConfig(cfg: SeedNetConfig): void {
  if (!NORM_KINDS.includes(cfg.norm)) throw new UserError(`unknown norm '${cfg.norm}' (expected ${NORM_KINDS.join(', ')})`);
  if (cfg.ghostBatch && cfg.norm !== 'batch') throw new UserError(`--ghost-batch is batch norm's; the norm here is ${cfg.norm}`);
  if (cfg.norm === 'group') {
    for (const l of LAYERS) {
      if (l.kind === 'block' && l.out % cfg.groups !== 0) {
        throw new UserError(`--groups ${cfg.groups} does not divide ${l.name}'s ${l.out} channels (SeedNet's blocks have 16 and 32)`);
      }
    }
  }
}

/** SeedNet as a module tree: LAYERS in order, each block conv -> norm -> ReLU. */
export function seedNetModule(cfg: SeedNetConfig): Module {
  const children: Record<string, Module> = {};
  let channels = cfg.inChannels;
  for (const l of LAYERS) {
    if (l.kind === 'maxpool') children[l.name] = maxPool2d();
    else if (l.kind === 'gap') children[l.name] = globalAvgPool();
    else {
      const out = l.out || cfg.classes;
      children[l.name] = l.kind === 'block' ? block(channels, out, l.kernel, cfg.norm, { skip: l.skip, groups: cfg.norm === 'group' ? cfg.groups : 1 }) : conv2d(channels, out, l.kernel, { skip: l.skip });
      channels = out;
    }
  }
  return sequential(children);
}

/** Every parameter and buffer in state_dict order. */
export function paramSpecs(cfg: SeedNetConfig): ParamSpec[] {
  return seedNetModule(cfg).params('');
}

export interface SummaryRow {
  name: string;
  op: string;
  outShape: number[];
  params: number;
}

/** Output shape and parameter count per layer, like torchsummary, for an input of [N, C, H, W]. */
export function summary(cfg: SeedNetConfig, input: [number, number, number, number]): { rows: SummaryRow[]; total: number } {
  const specs = paramSpecs(cfg);
  const count = (prefix: string) =>
    specs.filter((s) => !s.buffer && s.name.startsWith(`${prefix}.`)).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  let [n, c, h, w] = input;
  const rows: SummaryRow[] = [];
  for (const l of LAYERS) {
    if (l.kind === 'maxpool') {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      rows.push({ name: l.name, op: 'max-pool 2x2', outShape: [n, c, h, w], params: 0 });
    } else if (l.kind === 'gap') {
      h = 1;
      w = 1;
      rows.push({ name: l.name, op: 'global avg pool', outShape: [n, c, 1, 1], params: 0 });
    } else {
      c = l.out || cfg.classes;
      const conv = `conv ${l.kernel}x${l.kernel}`;
      const op = l.kind === 'block' ? (cfg.norm === 'none' ? `${conv} + relu` : `${conv} + ${cfg.norm}norm + relu`) : conv;
      rows.push({ name: l.name, op: l.skip ? `${op}, skip add` : op, outShape: [n, c, h, w], params: count(l.name) });
    }
  }
  return { rows, total: rows.reduce((a, r) => a + r.params, 0) };
}

/** One convolution of SeedNet: its layer name and its dimensions as conv2d sees them. */
export interface ConvLayer extends ops.Conv2dDims {
  name: string;
  /** The training step computes its input gradient (every convolution but the first: images need none). */
  inputGrad: boolean;
}

/** SeedNet's convolutions for a batch of [N, C, H, W] inputs, in order (from LAYERS). */
export function convLayers(cfg: Pick<SeedNetConfig, 'classes'>, input: [number, number, number, number]): ConvLayer[] {
  let [n, c, h, w] = input;
  const convs: ConvLayer[] = [];
  for (const l of LAYERS) {
    if (l.kind === 'maxpool') [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    else if (l.kind === 'gap') [h, w] = [1, 1];
    else {
      const co = l.out || cfg.classes;
      convs.push({ name: l.name, n, ci: c, h, w, co, kh: l.kernel, kw: l.kernel, pad: (l.kernel - 1) / 2, inputGrad: convs.length > 0 });
      c = co;
    }
  }
  return convs;
}

export class SeedNet extends Model {
  constructor(
    engine: Engine,
    readonly cfg: SeedNetConfig,
    init: (spec: ParamSpec) => Float32Array,
  ) {
    validateConfig(cfg);
    super(engine, seedNetModule(cfg), init, { ghostBatch: cfg.ghostBatch });
  }
}

/** SeedNet's convolutions with their parameters, in forward order: the layers the probes measure. */
export function probeLayers(model: SeedNet): { name: string; weight: Tensor; params: Tensor[] }[] {
  return LAYERS.filter((l) => l.kind === 'block' || l.kind === 'conv').map((l) => {
    const prefix = `${l.name}.`;
    const params = model.specs.filter((s) => !s.buffer && s.name.startsWith(prefix)).map((s) => model.tensors.get(s.name)!);
    return { name: l.name, weight: model.tensors.get(l.kind === 'block' ? `${l.name}.conv.weight` : `${l.name}.weight`)!, params };
  });
}
