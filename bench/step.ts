// The whole SeedNet training step per norm (gather, forward, loss, backward, SGD), timed over
// repetitions after warm-up, on synthetic images of the dataset's shape (no dataset needed), and
// split by op family: GPU timestamps per dispatch where the adapter has them, else wall clock per
// phase (forward and loss, backward, SGD), each phase submitted and waited for on its own.
import type { Engine, ProfileEntry } from '../src/engine/engine.js';
import { Trainer, DEFAULT_TRAIN_CONFIG } from '../src/train/trainer.js';
import type { Dataset } from '../src/train/data/dataset.js';
import type { NormKind } from '../src/model/seednet.js';
import * as ops from '../src/engine/ops/index.js';

/** One op family's share of a step: `ms` is its median per step over the profiled steps. */
export interface StepBreakdownEntry {
  op: string;
  ms: number;
  share: number;
}

export interface StepBenchRow {
  norm: NormKind;
  batch: number;
  input: string;
  medianMs: number;
  imagesPerSec: number;
  /**
   * Host time per step (median): recording the step's dispatches and submitting them, before
   * waiting. The rest of medianMs is the queue draining (on lavapipe, the kernels on the CPU).
   */
  hostMs: number;
  dispatches: number;
  gpuBytesInUse: number;
  /** Op families, most expensive first; shares are of their sum (`breakdownTotalMs`). */
  breakdown: StepBreakdownEntry[];
  breakdownTotalMs: number;
  breakdownClock: 'gpu timestamps' | 'wall clock per phase';
}

/** Op families of a step, by the `op` names dispatches carry; first match wins. */
const FAMILIES: [string, RegExp][] = [
  ['conv forward', /^conv2d\.(forward|naive_forward)/],
  ['conv input grad', /^conv2d\.(input|naive_input)/],
  ['conv weight grad', /^conv2d\.(weight|naive_weight)/],
  ['conv pad/pack', /^conv2d\.(pad|pack)/],
  ['norm backward', /Norm backward/],
  ['norm forward', /Norm /],
  ['pooling', /^pool\./],
  ['skip add', /^elementwise\.add/],
  ['grad accumulate', /^accumulate/],
  ['loss', /^loss\./],
  ['batch gather', /^gather/],
  ['sgd', /^sgd/],
];

export function opFamily(op: string): string {
  return FAMILIES.find(([, re]) => re.test(op))?.[0] ?? op.split(/[. ]/)[0]!;
}

/** Per-family medians over profiled steps (each a list of dispatches), sorted by time. */
export function breakdownByFamily(steps: ProfileEntry[][]): { entries: StepBreakdownEntry[]; totalMs: number } {
  const perStep = steps.map((prof) => {
    const m = new Map<string, number>();
    for (const p of prof) {
      const family = opFamily(p.op);
      m.set(family, (m.get(family) ?? 0) + p.ns / 1e6);
    }
    return m;
  });
  const families = [...new Set(perStep.flatMap((m) => [...m.keys()]))];
  return shares(families.map((op) => ({ op, ms: median(perStep.map((m) => m.get(op) ?? 0)) })));
}

function shares(parts: { op: string; ms: number }[]): { entries: StepBreakdownEntry[]; totalMs: number } {
  const totalMs = parts.reduce((a, p) => a + p.ms, 0);
  const entries = parts.map((p) => ({ ...p, share: totalMs > 0 ? p.ms / totalMs : 0 })).sort((a, b) => b.ms - a.ms);
  return { entries, totalMs };
}

export function syntheticDataset(channels: number, size: number, count: number): Dataset {
  const per = channels * size * size;
  const images = new Uint8Array(count * per);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const split = { images, labels, count };
  return {
    name: 'synthetic',
    source: 'bench',
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    channels,
    height: size,
    width: size,
    mean: Array(channels).fill(0.5),
    std: Array(channels).fill(0.25),
    train: split,
    test: split,
  };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Steps profiled after the timed ones (profiling puts each dispatch in its own pass: not timed). */
const PROFILED_STEPS = 3;
/** Dispatches a step may record while profiled (a SeedNet step records under 200). */
const MAX_PROFILED_DISPATCHES = 2000;

async function profileSteps(engine: Engine, t: Trainer, idx: Uint32Array, steps: number) {
  const profiles: ProfileEntry[][] = [];
  for (let i = 0; i < steps; i++) {
    engine.startProfile(MAX_PROFILED_DISPATCHES);
    t.step(idx, undefined);
    profiles.push([...(await engine.endProfile())]);
  }
  return breakdownByFamily(profiles);
}

/**
 * Without timestamps: the step's phases by wall clock, from three runs that each stop one phase
 * later (forward and loss; then backward; then SGD), each submitted and waited for alone; a phase
 * is the difference of consecutive medians. The batch is already on the GPU (no gather).
 */
export async function phaseBreakdown(engine: Engine, t: Trainer, input: { channels: number; size: number }, batch: number, steps: number) {
  const { channels: c, size } = input;
  const x = engine.keep(engine.tensor(Float32Array.from({ length: batch * c * size * size }, (_, i) => ((i * 2654435761) >>> 24) / 128 - 1), [batch, c, size, size]));
  const y = engine.keep(engine.tensor(Uint32Array.from({ length: batch }, (_, i) => i % 10), [batch], 'u32'));
  const upTo = (phases: number) => () =>
    engine.tidy(() => {
      const loss = ops.logSoftmaxNll(t.model.forward(x, true), y);
      if (phases >= 2) loss.backward();
      if (phases >= 3) t.optimizer.step();
      t.optimizer.zeroGrad();
    });
  const cumulative: number[] = [];
  try {
    for (const phases of [1, 2, 3]) {
      const run = upTo(phases);
      run();
      await engine.sync();
      const times: number[] = [];
      for (let i = 0; i < steps; i++) {
        const start = performance.now();
        run();
        await engine.sync();
        times.push(performance.now() - start);
      }
      cumulative.push(median(times));
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  const names = ['forward and loss', 'backward', 'sgd'];
  return shares(names.map((op, i) => ({ op, ms: Math.max(0, cumulative[i]! - (cumulative[i - 1] ?? 0)) })));
}

export async function benchStep(
  engine: Engine,
  opts: { batch: number; norms: NormKind[]; inputs: { channels: number; size: number }[]; reps?: number },
): Promise<StepBenchRow[]> {
  const rows: StepBenchRow[] = [];
  const reps = opts.reps ?? 5;
  for (const input of opts.inputs) {
    const ds = syntheticDataset(input.channels, input.size, opts.batch);
    for (const norm of opts.norms) {
      const t = new Trainer(engine, ds, { ...DEFAULT_TRAIN_CONFIG, norm, batchSize: opts.batch, evalBatchSize: opts.batch });
      try {
        const idx = Uint32Array.from({ length: opts.batch }, (_, i) => i);
        // Two warm-up steps: the first compiles pipelines, the second settles pooled buffers.
        for (let i = 0; i < 2; i++) t.step(idx, undefined);
        await engine.sync();
        const before = engine.counters.dispatches;
        const times: number[] = [];
        const hostTimes: number[] = [];
        for (let r = 0; r < reps; r++) {
          const start = performance.now();
          t.step(idx, undefined);
          hostTimes.push(performance.now() - start);
          await engine.sync();
          times.push(performance.now() - start);
        }
        const ms = median(times);
        // Counted before the breakdown's own steps.
        const dispatches = (engine.counters.dispatches - before) / reps;
        const gpuBytesInUse = engine.pool.snapshot().bytesInUse;
        const split = engine.hasTimestamps ? await profileSteps(engine, t, idx, PROFILED_STEPS) : await phaseBreakdown(engine, t, input, opts.batch, PROFILED_STEPS);
        rows.push({
          norm,
          batch: opts.batch,
          input: `${input.channels}x${input.size}x${input.size}`,
          medianMs: ms,
          imagesPerSec: opts.batch / (ms / 1000),
          hostMs: median(hostTimes),
          dispatches,
          gpuBytesInUse,
          breakdown: split.entries,
          breakdownTotalMs: split.totalMs,
          breakdownClock: engine.hasTimestamps ? 'gpu timestamps' : 'wall clock per phase',
        });
      } finally {
        t.dispose();
      }
    }
  }
  return rows;
}
