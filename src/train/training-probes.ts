// The probes of one SeedNet training run: the recorder (probes.ts) over the model's layers, the
// rows written since the last readback, and what the probe phases cost. The trainer calls
// beforeStep / afterStep around a probe step and read() with its progress readback.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { probeLayers, type SeedNet } from '../model/seednet.js';
import { ProbeRecorder, type Tap } from './probes.js';
import { decodeRow, type ProbeRecord } from './probe-records.js';

export interface ProbeCost {
  every: number;
  /** Probe steps taken. */
  steps: number;
  /** Wall time of the probe phases, each timed between two queue drains. */
  seconds: number;
}

export class TrainingProbes {
  private readonly recorder: ProbeRecorder;
  private pending: { step: number; epoch: number }[] = [];
  readonly cost: ProbeCost;

  constructor(
    private readonly engine: Engine,
    model: SeedNet,
    readonly every: number,
    lr: number,
    stepsPerEpoch: number,
    /** The training-mode mean loss of the batch the step just used. */
    loss: (tap: Tap | undefined) => Tensor,
  ) {
    const layers = probeLayers(model);
    const params = model.specs.filter((s) => !s.buffer).map((s) => ({ name: s.name, tensor: model.tensors.get(s.name)! }));
    // Rows are read at the latest at an epoch's end: one epoch's probe steps fit.
    this.recorder = new ProbeRecorder(engine, {
      layers,
      params,
      state: [...model.tensors.values()],
      loss,
      hostState: { save: () => model.batchesTracked, restore: (v) => (model.batchesTracked = v as number) },
    }, lr, Math.ceil(stepsPerEpoch / every) + 1);
    this.cost = { every, steps: 0, seconds: 0 };
  }

  /** Whether step `step` (0-based over the run) is a probe step: 0, every, 2 every, ... */
  due(step: number): boolean {
    return step % this.every === 0;
  }

  beforeStep(): void {
    this.recorder.beforeStep();
  }

  /** The probe phase after step `step`, timed between a drain of the queue before and after it. */
  async afterStep(step: number, epoch: number): Promise<void> {
    await this.engine.sync();
    const t0 = performance.now();
    this.recorder.afterStep(this.pending.length);
    this.pending.push({ step, epoch });
    await this.engine.sync();
    this.cost.seconds += (performance.now() - t0) / 1000;
    this.cost.steps += 1;
  }

  /** Reads the rows written since the last read and hands their records to `sink`. */
  async read(sink: ((records: ProbeRecord[]) => void | Promise<void>) | undefined): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = await this.recorder.read(this.pending.length);
    const { layout } = this.recorder;
    const w = layout.width;
    const records = this.pending.map((at, i) => decodeRow(layout, rows.subarray(i * w, (i + 1) * w), at.step, at.epoch));
    this.pending = [];
    await sink?.(records);
  }

  dispose(): void {
    this.recorder.dispose();
  }
}
