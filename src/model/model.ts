// A model: a module tree (modules.ts) with its tensors on the GPU, named as PyTorch's state_dict of
// the matching module. The trainer, the evaluator and the checkpoints work on this; SeedNet is one.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';
import { UserError } from '../engine/errors.js';
import type { Tap } from '../train/probes.js';
import { ModelDefinitionError, type Module, type ParamSpec } from './modules.js';
import { ghostSubBatch, type BnEvalStatistics } from './norms.js';
import type { StTensor } from './safetensors.js';

export interface ForwardOptions {
  /** Batch norm in evaluation: the running statistics (default) or each batch's own. */
  evalStatistics?: BnEvalStatistics;
  /** Batch norm in training: replaces the momentum (1: the running buffers take each batch's statistics). */
  momentum?: number;
  /** Sees each layer's convolution output and its output; it only reads them. */
  tap?: Tap;
}

export interface ModelOptions {
  /** Batch norm: ghost batch norm's sub-batch in training (0 or absent: the whole batch). */
  ghostBatch?: number;
}

export class Model {
  /** Trainable parameters and state buffers by state_dict name. */
  readonly tensors = new Map<string, Tensor>();
  readonly specs: ParamSpec[];
  /** BatchNorm's num_batches_tracked (the same for every layer): training forwards so far. */
  batchesTracked = 0;

  constructor(
    readonly engine: Engine,
    readonly module: Module,
    init: (spec: ParamSpec) => Float32Array,
    readonly options: ModelOptions = {},
  ) {
    module.check('model');
    this.specs = module.params('');
    const seen = new Set<string>();
    for (const s of this.specs) {
      if (seen.has(s.name)) throw new ModelDefinitionError(s.name, 'two parameters have this name');
      seen.add(s.name);
      const t = engine.keep(engine.tensor(init(s), s.shape, 'f32', s.name));
      if (!s.buffer) t.requireGrad();
      this.tensors.set(s.name, t);
    }
  }

  /** Input channels the model takes. */
  get inChannels(): number {
    return this.module.inChannels!;
  }

  /** Output channels (the classes, for a classifier). */
  get outputs(): number {
    return this.module.outChannels(this.inChannels);
  }

  get parameters(): Tensor[] {
    return this.specs.filter((s) => !s.buffer).map((s) => this.tensors.get(s.name)!);
  }

  get parameterCount(): number {
    return this.parameters.reduce((a, t) => a + t.size, 0);
  }

  /** The tensor of a state_dict name. */
  tensor(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`model: no tensor '${name}'`);
    return t;
  }

  /**
   * The output for a batch x [N, C_in, H, W]: logits [N, classes] when the tree ends in a global
   * pool (or a linear layer after one).
   */
  forward(x: Tensor, training: boolean, opts: ForwardOptions = {}): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.inChannels) throw new Error(`the model expects [N, ${this.inChannels}, H, W], got [${x.shape}]`);
    const ghostBatch = this.options.ghostBatch || undefined;
    // BatchNorm2d counts its forwards: fed ghost sub-batches one by one it would count each.
    if (training) this.batchesTracked += x.shape[0]! / ghostSubBatch(ghostBatch ?? 0, x.shape[0]!);
    const h = this.module.forward(x, { training, ghostBatch, ...opts, get: (name) => this.tensor(name) }, '');
    return h.shape.length === 4 && h.shape[2] === 1 && h.shape[3] === 1 ? ops.reshape(h, [h.shape[0]!, h.shape[1]!]) : h;
  }

  /**
   * The state_dict, as PyTorch's module would have it: every parameter and buffer by name, and
   * BatchNorm's num_batches_tracked after each batch norm's running_var.
   */
  async stateDict(): Promise<Map<string, StTensor>> {
    const out = new Map<string, StTensor>();
    for (const s of this.specs) {
      out.set(s.name, { dtype: 'F32', shape: s.shape, data: await this.tensor(s.name).read() });
      if (s.name.endsWith('.running_var')) {
        out.set(`${s.name.slice(0, -'.running_var'.length)}.num_batches_tracked`, { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(this.batchesTracked)) });
      }
    }
    return out;
  }

  /**
   * Writes tensors by state_dict name into the model. strict (the default, as PyTorch's): every
   * parameter and buffer present, no name the model lacks; shapes must match either way.
   */
  loadStateDict(state: ReadonlyMap<string, StTensor>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const known = new Set(this.specs.map((s) => s.name));
    if (strict) {
      const missing = this.specs.filter((s) => !state.has(s.name)).map((s) => s.name);
      const unexpected = [...state.keys()].filter((k) => !known.has(k) && !k.endsWith('.num_batches_tracked'));
      if (missing.length || unexpected.length) throw new UserError(`loadStateDict: ${[missing.length ? `missing ${missing.join(', ')}` : '', unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''].filter(Boolean).join('; ')}`);
    }
    for (const s of this.specs) {
      const t = state.get(s.name);
      if (!t) continue;
      if (t.dtype !== 'F32' || t.shape.join(',') !== s.shape.join(',')) throw new UserError(`loadStateDict: '${s.name}' is ${t.dtype} [${t.shape}], the model has F32 [${s.shape}]`);
      this.engine.writeBuffer(this.tensor(s.name).buffer, t.data as Float32Array);
    }
    const tracked = [...state.entries()].find(([name]) => name.endsWith('.num_batches_tracked'));
    if (tracked) this.batchesTracked = Number((tracked[1].data as BigInt64Array)[0]);
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
