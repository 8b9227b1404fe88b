// SeedNet, the CNN of ../shared/SEEDNET.md. One table (LAYERS) drives the forward pass, the
// parameter list (named as PyTorch's state_dict of the same module) and `normlab summary`, so the
// three cannot disagree.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { UserError } from '../engine/errors.js';
import * as ops from '../engine/ops/index.js';
import type { Tap } from '../train/probes.js';
import { applyNorm, ghostSubBatch, normParams, type BnEvalStatistics, type NormKind, NORM_KINDS } from './norms.js';

export { NORM_KINDS, type NormKind };

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

export interface ParamSpec {
  /** PyTorch state_dict name, e.g. 'b1.conv.weight'. */
  name: string;
  shape: number[];
  init: 'kaiming' | 'ones' | 'zeros';
  /** Running statistics: state, not trained. */
  buffer: boolean;
}

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

/** Every parameter and buffer in state_dict order. */
export function paramSpecs(cfg: SeedNetConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let channels = cfg.inChannels;
  for (const l of LAYERS) {
    if (l.kind !== 'block' && l.kind !== 'conv') continue;
    const out = l.out || cfg.classes;
    const weight = l.kind === 'block' ? `${l.name}.conv.weight` : `${l.name}.weight`;
    specs.push({ name: weight, shape: [out, channels, l.kernel, l.kernel], init: 'kaiming', buffer: false });
    if (l.kind === 'block') specs.push(...normParams(cfg.norm, `${l.name}.norm`, out));
    channels = out;
  }
  return specs;
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

export class SeedNet {
  /** Trainable parameters and state buffers by state_dict name. */
  readonly tensors = new Map<string, Tensor>();
  readonly specs: ParamSpec[];
  /** BatchNorm's num_batches_tracked (the same for every layer): training forwards so far. */
  batchesTracked = 0;

  constructor(
    readonly engine: Engine,
    readonly cfg: SeedNetConfig,
    init: (spec: ParamSpec) => Float32Array,
  ) {
    validateConfig(cfg);
    this.specs = paramSpecs(cfg);
    for (const s of this.specs) {
      const t = engine.keep(engine.tensor(init(s), s.shape, 'f32', s.name));
      if (!s.buffer) t.requireGrad();
      this.tensors.set(s.name, t);
    }
  }

  get parameters(): Tensor[] {
    return this.specs.filter((s) => !s.buffer).map((s) => this.tensors.get(s.name)!);
  }

  get parameterCount(): number {
    return this.parameters.reduce((a, t) => a + t.size, 0);
  }

  private t(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`SeedNet: no tensor '${name}'`);
    return t;
  }

  /**
   * Logits [N, classes] for standardised input x [N, C_in, H, W]. Batch norm only:
   * `evalStatistics` 'batch' normalises each evaluation batch with its own statistics instead of the
   * running ones; `momentum` replaces BN_MOMENTUM in training (1: the running buffers take each
   * batch's statistics, which precise statistics read). `tap` sees each layer's convolution output
   * and its block's output (the probes, src/train/probes.ts); it only reads them.
   */
  forward(x: Tensor, training: boolean, opts: { evalStatistics?: BnEvalStatistics; momentum?: number; tap?: Tap } = {}): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.cfg.inChannels) {
      throw new Error(`SeedNet expects [N, ${this.cfg.inChannels}, H, W], got [${x.shape}]`);
    }
    // BatchNorm2d counts its forwards: fed ghost sub-batches one by one it would count each.
    if (training) this.batchesTracked += x.shape[0]! / ghostSubBatch(this.cfg.ghostBatch ?? 0, x.shape[0]!);
    const { tap, ...normOpts } = opts;
    let h = x;
    for (const l of LAYERS) {
      if (l.kind === 'maxpool') h = ops.maxPool2d(h);
      else if (l.kind === 'gap') h = ops.globalAvgPool(h);
      else {
        const pad = l.kernel === 3 ? 1 : 0;
        const weight = this.t(l.kind === 'block' ? `${l.name}.conv.weight` : `${l.name}.weight`);
        let y = ops.conv2d(h, weight, { padding: pad });
        tap?.(l.name, 'conv', y);
        if (l.kind === 'block') {
          y = applyNorm(this.cfg.norm, y, (n) => this.t(`${l.name}.norm.${n}`), {
            training,
            groups: this.cfg.groups,
            relu: true,
            ghostBatch: this.cfg.ghostBatch,
            ...normOpts,
          });
        }
        h = l.skip ? ops.add(h, y) : y;
        tap?.(l.name, 'out', h);
      }
    }
    return ops.reshape(h, [x.shape[0]!, this.cfg.classes]);
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
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
