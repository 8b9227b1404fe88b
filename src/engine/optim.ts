// Optimizers. SGD matches torch.optim.SGD (dampening 0) and keeps everything a run of steps needs on
// the GPU: the momentum buffers, the learning-rate schedule and the step counter that indexes it.
// step() only records dispatches into the current encoder; nothing is written or read by the host,
// so a training step stays one command buffer (see STYLE.md, "What we do", 8).
import type { Engine } from './engine.js';
import type { Tensor } from './tensor.js';
import { advanceStep, sgdUpdate, type SgdHyper, type SgdSchedule } from './ops/sgd.js';

export interface SGDOptions {
  /** A constant learning rate (a schedule of length 1). Omit it to call setSchedule() instead. */
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export interface SGDState {
  /** Steps taken so far: the index of the next step's learning rate in the schedule. */
  step: number;
  /** One momentum buffer per parameter, in the order given to the constructor; null with momentum 0. */
  momentum: (Float32Array | null)[];
}

const NO_NON_FINITE = 0xffffffff;

export class SGD {
  readonly params: readonly Tensor[];
  readonly hyper: Readonly<SgdHyper>;
  private readonly velocity: (Tensor | null)[];
  private readonly counter: Tensor;
  private schedule: SgdSchedule | null = null;

  constructor(
    readonly engine: Engine,
    params: Tensor[],
    options: SGDOptions = {},
  ) {
    const { lr, momentum = 0, weightDecay = 0, nesterov = false } = options;
    if (momentum < 0 || weightDecay < 0) throw new Error(`SGD: momentum (${momentum}) and weightDecay (${weightDecay}) must be >= 0`);
    // PyTorch refuses this too: with no momentum, Nesterov's look-ahead is plain SGD.
    if (nesterov && momentum === 0) throw new Error('SGD: nesterov needs momentum > 0');
    for (const p of params) if (p.dtype !== 'f32') throw new Error(`SGD: parameter ${p} is not f32`);
    this.params = [...params];
    this.hyper = { momentum, weightDecay, nesterov };
    // keep(): optimizer state must outlive whatever tidy() the optimizer was created in.
    this.velocity = params.map((p) => (momentum !== 0 ? engine.keep(engine.zeros(p.shape, 'f32', `${p.label} momentum`)) : null));
    // [steps taken, first step with a non-finite gradient (NO_NON_FINITE: none)]; see sgd.wgsl.
    this.counter = engine.keep(engine.tensor(Uint32Array.of(0, NO_NON_FINITE), [2], 'u32', 'sgd step'));
    if (lr !== undefined) this.setSchedule([lr]);
  }

  /**
   * Uploads the learning rate of every step of the run (step s uses lrs[min(s, length - 1)]) and,
   * optionally, a momentum per step indexed the same way, which then replaces the constructor's
   * (PyTorch's OneCycleLR cycles momentum by default). A host write: call it before training, not
   * inside a step.
   */
  setSchedule(lrs: ArrayLike<number>, momentums?: ArrayLike<number>): void {
    if (lrs.length === 0) throw new Error('SGD.setSchedule: empty schedule');
    checkNonNegative('learning rate', lrs);
    if (momentums) {
      if (momentums.length !== lrs.length) throw new Error(`SGD.setSchedule: ${momentums.length} momentum values for ${lrs.length} learning rates`);
      if (this.hyper.momentum === 0) throw new Error('SGD.setSchedule: a momentum schedule needs momentum buffers; construct with momentum > 0');
      checkNonNegative('momentum', momentums);
    }
    const values = new Float32Array(momentums ? 2 * lrs.length : lrs.length);
    values.set(Array.from(lrs));
    if (momentums) values.set(Array.from(momentums), lrs.length);
    this.schedule?.values.dispose();
    this.schedule = {
      values: this.engine.keep(this.engine.tensor(values, [values.length], 'f32', 'sgd schedule')),
      length: lrs.length,
      momentumScheduled: momentums !== undefined,
    };
  }

  /** Records the update of every parameter that has a gradient, then the step counter's increment. */
  step(): void {
    const schedule = this.schedule;
    if (!schedule) throw new Error('SGD.step: no learning rate (pass lr or call setSchedule)');
    this.params.forEach((p, i) => {
      // As PyTorch: a parameter without a gradient is skipped, momentum included.
      if (p.grad) sgdUpdate(p, p.grad, this.velocity[i] ?? null, schedule, this.counter, this.hyper);
    });
    advanceStep(this.counter);
  }

  /**
   * Drops the gradients (PyTorch's zero_grad(set_to_none=True)) instead of clearing them: the next
   * backward() then hands its gradient over as .grad with no clear pass and no accumulate pass
   * (two dispatches per parameter per step saved), and between steps the gradient memory is back in
   * the pool for the forward's activations. Reading p.grad after zeroGrad() gives null.
   * Call it right after step(), inside the step's command buffer: the gradients then return to the
   * pool with that submit. Called first thing in the next step instead, they stay pending through
   * that step's recording and the pool holds a second set of gradient buffers.
   */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Steps taken so far, read from the GPU (a sync point). */
  async stepCount(): Promise<number> {
    return (await this.counter.readU32())[0]!;
  }

  /**
   * The first step (0-based, as counted by stepCount) whose gradient, weight decay included, held a
   * NaN or an infinity, or null. Read it with the progress readback: it costs one sync.
   */
  async firstNonFiniteStep(): Promise<number | null> {
    const v = (await this.counter.readU32())[1]!;
    return v === NO_NON_FINITE ? null : v;
  }

  /** Sets the step counter, to resume a run where its schedule left off. A host write. */
  setStepCount(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`SGD.setStepCount: ${n} is not a u32`);
    this.engine.writeBuffer(this.counter.buffer, Uint32Array.of(n, NO_NON_FINITE));
  }

  /** The step counter and momentum buffers, read back for a checkpoint. */
  async state(): Promise<SGDState> {
    const momentum: (Float32Array | null)[] = [];
    for (const v of this.velocity) momentum.push(v ? await v.read() : null);
    return { step: await this.stepCount(), momentum };
  }

  loadState(state: SGDState): void {
    if (state.momentum.length !== this.params.length) {
      throw new Error(`SGD.loadState: ${state.momentum.length} momentum buffers for ${this.params.length} parameters`);
    }
    this.velocity.forEach((v, i) => {
      const m = state.momentum[i];
      if (!v) {
        if (m) throw new Error(`SGD.loadState: a momentum buffer for parameter ${i}, but momentum is 0`);
        return;
      }
      // A missing buffer is PyTorch's state before the parameter's first step: zeros.
      if (m && m.length !== v.size) throw new Error(`SGD.loadState: momentum ${i} has ${m.length} values, expected ${v.size}`);
      this.engine.writeBuffer(v.buffer, m ?? new Float32Array(v.size));
    });
    this.setStepCount(state.step);
  }

  /** Frees the optimizer's GPU state (not the parameters or their gradients). */
  dispose(): void {
    for (const v of this.velocity) v?.dispose();
    this.counter.dispose();
    this.schedule?.values.dispose();
    this.schedule = null;
  }
}

function checkNonNegative(what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!) || values[i]! < 0) throw new Error(`SGD.setSchedule: ${what} ${values[i]} at step ${i}`);
  }
}
