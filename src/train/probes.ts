// Measurements inside the network while it trains (`--probe-every N`). Every N steps, after the
// step has been recorded, a probe phase records more passes over the same batch into the same
// queue, on copies of the weights, and writes what it measures into one row of a GPU buffer that
// the trainer reads with its progress readback:
//   at the weights w before the step: the loss; per layer the mean and std of the convolution's
//     output and of the block's output; per parameter ||grad||, ||w|| and ||w_after - w|| (the
//     update's size, from the step that was just taken);
//   the landscape along g = grad L(w) (Santurkar et al. 2018, section 3.2): for each eta in ETAS x
//     lr, L(w - eta g) (the loss band) and ||grad L(w - eta g) - g|| (gradient predictiveness);
//   internal covariate shift (their Definition 2.1): for each layer i > 1, G'_i, the gradient of
//     layer i's weight on the same batch with the layers below i at their updated weights and
//     i and above at w; ||G_i - G'_i|| and ||G'_i|| (with ||G_i|| this gives the cosine).
// Then every state tensor gets its post-step value back, so training is unchanged by the probes
// (tested: weights bit-identical). The host turns the row into a ProbeRecord (probe-records.ts).
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';

/** Step sizes of the landscape, as multiples of the run's learning rate: 8 from lr/4 to 4 lr, geometric. */
export const ETA_MULTIPLES: readonly number[] = Array.from({ length: 8 }, (_, k) => 4 ** (-1 + (2 * k) / 7));

/** Where an activation is tapped: the convolution's output, or the block's (after norm, ReLU and skip). */
export type TapPoint = 'conv' | 'out';
export type Tap = (layer: string, point: TapPoint, t: Tensor) => void;

/** A layer as internal covariate shift sees it: the unit updated together, in forward order. */
export interface ProbeLayer {
  name: string;
  /** The tensor whose gradient G is compared (the convolution's weight). */
  weight: Tensor;
  /** Every parameter of the layer (weight, the norm's gamma and beta). */
  params: Tensor[];
}

/** What the probes need of a model: its layers, parameters, state, and a training-mode loss on the step's batch. */
export interface ProbeTarget {
  layers: ProbeLayer[];
  /** Every trainable parameter, named (state_dict names). */
  params: { name: string; tensor: Tensor }[];
  /** Every tensor the forward reads or writes (parameters and running statistics): restored after the probes. */
  state: Tensor[];
  /** The mean loss of the step's batch in training mode, recorded with its graph; `tap` sees the activations. */
  loss(tap: Tap | undefined): Tensor;
  /** Host-side state a training forward changes (batch norm's batch counter), kept and given back. */
  hostState?: { save(): unknown; restore(saved: unknown): void };
}

/** The slot layout of one probe row; probe-records.ts decodes it. */
export interface ProbeLayout {
  width: number;
  layers: string[];
  params: string[];
  /** layer index -> the index of its weight (ProbeLayer.weight) among the parameters. */
  weights: number[];
  etas: number[];
  loss: number;
  /** layer index -> 4 slots: conv mean, conv std, out mean, out std. */
  tap: (layer: number) => number;
  /** param index -> 3 slots: ||grad||, ||w||, ||w_after - w||. */
  param: (param: number) => number;
  /** layer index (>= 1) -> 2 slots: ||G - G'||, ||G'||. */
  ics: (layer: number) => number;
  /** eta index -> 1 + params slots: the loss there, then per parameter ||grad(w - eta g) - g||. */
  eta: (k: number) => number;
}

export function probeLayout(layers: string[], params: string[], weights: number[], etas: number[]): ProbeLayout {
  const L = layers.length;
  const P = params.length;
  const tap0 = 1;
  const param0 = tap0 + 4 * L;
  const ics0 = param0 + 3 * P;
  const eta0 = ics0 + 2 * L;
  return {
    width: eta0 + etas.length * (1 + P),
    layers,
    params,
    weights,
    etas,
    loss: 0,
    tap: (l) => tap0 + 4 * l,
    param: (p) => param0 + 3 * p,
    ics: (l) => ics0 + 2 * l,
    eta: (k) => eta0 + k * (1 + P),
  };
}

export class ProbeRecorder {
  readonly layout: ProbeLayout;
  /** rows x layout.width floats on the GPU; NaN until a probe step writes its row. */
  readonly rows: Tensor;
  private readonly wBefore: Tensor[];
  private readonly wAfter: Tensor[];
  private readonly g: Tensor[];
  private readonly stateIndex: Map<Tensor, number>;

  constructor(
    readonly engine: Engine,
    readonly target: ProbeTarget,
    /** The learning rate the landscape's etas are multiples of. */
    lr: number,
    readonly capacity: number,
  ) {
    if (!(capacity >= 1)) throw new Error(`ProbeRecorder: capacity ${capacity}`);
    const names = new Map(target.params.map((p) => [p.tensor, p.name]));
    for (const l of target.layers) for (const t of l.params) if (!names.has(t)) throw new Error(`ProbeRecorder: layer ${l.name} has a parameter not in params`);
    const weights = target.layers.map((l) => target.params.findIndex((p) => p.tensor === l.weight));
    if (weights.includes(-1)) throw new Error('ProbeRecorder: a layer\'s weight is not among the parameters');
    this.layout = probeLayout(target.layers.map((l) => l.name), target.params.map((p) => p.name), weights, ETA_MULTIPLES.map((m) => m * lr));
    this.rows = engine.keep(engine.tensor(new Float32Array(capacity * this.layout.width).fill(NaN), [capacity, this.layout.width], 'f32', 'probe rows'));
    const copyOf = (t: Tensor, what: string) => engine.keep(engine.empty(t.shape, 'f32', `${t.label} ${what}`));
    this.wBefore = target.state.map((t) => copyOf(t, 'before step'));
    this.wAfter = target.state.map((t) => copyOf(t, 'after step'));
    this.g = target.params.map((p) => copyOf(p.tensor, 'probe gradient'));
    this.stateIndex = new Map(target.state.map((t, i) => [t, i]));
    for (const p of target.params) if (!this.stateIndex.has(p.tensor)) throw new Error(`ProbeRecorder: parameter ${p.name} is not in state`);
  }

  /** Records copies of the state before the step (call right before recording the step). */
  beforeStep(): void {
    this.target.state.forEach((t, i) => this.engine.copy(t, this.wBefore[i]!));
  }

  private copyState(from: Tensor[], only?: Tensor[]): void {
    for (const t of only ?? this.target.state) this.engine.copy(from[this.stateIndex.get(t)!]!, t);
  }

  /**
   * One forward and backward at the current weights; `grads` sees each parameter's gradient (by
   * index), which is freed after. The loss goes to `lossSlot` when given.
   */
  private pass(tap: Tap | undefined, lossSlot: number | undefined, grads: (i: number, g: Tensor) => void): void {
    const host = this.target.hostState?.save();
    this.engine.tidy(() => {
      const loss = this.target.loss(tap);
      if (lossSlot !== undefined) this.engine.copy(loss, this.rows, 4, 0, 4 * lossSlot);
      loss.backward();
      this.target.params.forEach((p, i) => {
        const g = p.tensor.grad;
        if (!g) throw new Error(`probes: ${p.name} got no gradient`);
        grads(i, g);
        g.dispose();
        p.tensor.grad = null;
      });
    });
    this.target.hostState?.restore(host);
  }

  /** Records the probe phase into row `row` (call after the step has been recorded). */
  afterStep(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.capacity) throw new Error(`ProbeRecorder: row ${row} of ${this.capacity}`);
    const { engine, layout, target } = this;
    const base = row * layout.width;
    const slot = (s: number) => base + s;
    target.state.forEach((t, i) => engine.copy(t, this.wAfter[i]!));
    this.copyState(this.wBefore);
    const layerOf = new Map(target.layers.map((l, i) => [l.name, i]));
    const tap: Tap = (layer, point, t) => {
      const l = layerOf.get(layer);
      if (l === undefined) throw new Error(`probes: a tap on unknown layer '${layer}'`);
      ops.probeMoments(t, this.rows, slot(layout.tap(l) + (point === 'conv' ? 0 : 2)));
    };
    // At w: activations, loss, gradients (kept as g), and the update the step made.
    this.pass(tap, slot(layout.loss), (i, g) => {
      ops.probeNorm(g, this.rows, slot(layout.param(i)));
      engine.copy(g, this.g[i]!);
    });
    target.params.forEach((p, i) => {
      const s = this.stateIndex.get(p.tensor)!;
      ops.probeNorm(this.wBefore[s]!, this.rows, slot(layout.param(i) + 1));
      ops.probeDistance(this.wAfter[s]!, this.wBefore[s]!, this.rows, slot(layout.param(i) + 2));
    });
    // The landscape along g.
    layout.etas.forEach((eta, k) => {
      target.params.forEach((p, i) => ops.probeStepAlong(this.wBefore[this.stateIndex.get(p.tensor)!]!, this.g[i]!, eta, p.tensor));
      this.pass(undefined, slot(layout.eta(k)), (i, g) => ops.probeDistance(g, this.g[i]!, this.rows, slot(layout.eta(k) + 1 + i)));
    });
    // Internal covariate shift: the layers below i updated, i and above as before the step.
    this.copyState(this.wBefore);
    target.layers.forEach((layer, l) => {
      if (l === 0) return;
      this.copyState(this.wAfter, target.layers[l - 1]!.params);
      const w = layout.weights[l]!;
      this.pass(undefined, undefined, (i, g) => {
        if (i !== w) return;
        ops.probeDistance(this.g[w]!, g, this.rows, slot(layout.ics(l)));
        ops.probeNorm(g, this.rows, slot(layout.ics(l) + 1));
      });
    });
    this.copyState(this.wAfter);
  }

  /** The first `count` rows, read back (a sync: call it with the progress readback). */
  async read(count: number): Promise<Float32Array> {
    if (count === 0) return new Float32Array(0);
    return (await this.rows.read()).slice(0, count * this.layout.width);
  }

  dispose(): void {
    for (const t of [this.rows, ...this.wBefore, ...this.wAfter, ...this.g]) t.dispose();
  }
}
