// Convolution benchmark: every SeedNet convolution layer (SEEDNET.md) at a given batch, for the
// 32x32x3 (CIFAR-10) and 28x28x1 (MNIST, Fashion-MNIST) inputs: forward pass, input gradient and
// weight gradient. Each row times the whole op (padding and weight-packing helpers and the
// partial-sum reduction included) by GPU timestamps, median of `reps` repetitions after a warm-up,
// and sets its GFLOP/s beside the matmul probe timed in the same rounds (bench/ceiling.ts). The
// probe is a reference point, not a ceiling: the 3x3 convolutions run at 90-170% of it on lavapipe.
// What a kernel is worth is its share of the training step (normlab bench prints both).
// Not a test: `normlab bench --only conv` runs it.
import type { Engine, Tensor } from '../src/engine/index.js';
import { ops } from '../src/engine/index.js';
import type { Conv2dDims, Conv2dPass, Conv2dPath } from '../src/engine/ops/conv2d.js';
import { convLayers } from '../src/model/seednet.js';
import { matmulProbe, measureCeilings, timeDispatches, type Ceilings } from './ceiling.js';

export interface ConvBenchRow {
  name: string;
  shape: string;
  medianMs: number;
  gflops: number;
  /** GFLOP/s over the probe's (the higher of its up-front figure and its median over rounds). */
  pctOfProbe: number;
  /** Kernel family that ran, and the row of the kernel table (src/engine/ops/conv2d-select.ts). */
  path: Conv2dPath;
  row: string;
  /** Milliseconds of the main kernel alone (without padding, packing, partial sums). */
  kernelMs: number;
  minMs: number;
  reps: number;
}

export interface ConvBenchOptions {
  batch: number;
  /** Only rows whose name matches. */
  only?: RegExp;
  /**
   * Ceilings of this run (measured first when absent). Their best matmul variant is timed again
   * in every round; the percentages compare with the higher of its median and matmulGflops.
   */
  ceilings?: Ceilings;
  /** Rounds (timed repetitions per row). Default 7. */
  reps?: number;
  /** Forces a kernel family (see Conv2dOptions.path). */
  path?: Conv2dPath;
}

interface Layer {
  name: string;
  ci: number;
  co: number;
  k: 1 | 3;
  hw: number;
}

/** SeedNet's convolutions for an input of `cin` channels and `size` x `size` pixels. */
export function seedNetConvLayers(cin: number, size: number): Layer[] {
  return convLayers({ classes: 10 }, [1, cin, size, size]).map((l) => ({ name: l.name, ci: l.ci, co: l.co, k: l.kh as 1 | 3, hw: l.h }));
}

export const DATASETS = [
  { name: 'cifar10', cin: 3, size: 32 },
  { name: 'mnist', cin: 1, size: 28 },
] as const;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A tensor of the bench's deterministic inputs: uniform in [-1, 1) from a linear congruential generator. */
export function filled(engine: Engine, shape: number[], seed: number, label: string): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return engine.tensor(data, shape, 'f32', label);
}

/** The main kernel of each pass, as named in its dispatches' `op`. */
const MAIN_OPS = /^conv2d\.(forward|input|weight3x3|weight1x1|naive_)/;

/** Per-round figures behind the last benchConv() call (for reports). */
export interface ConvBenchRun {
  /**
   * The matmul variant timed every round; the figure pctOfProbe used: the higher of the up-front
   * measurement and the median over rounds.
   */
  probe: string;
  ceilingGflops: number;
  ceilingPerRound: number[];
  rounds: number;
}
/**
 * A line for the report when the probe's per-round timings spread by more than 1.5x: the machine's
 * speed changed during the run (shared cores), and the percentages then mix fast and slow phases.
 */
export function speedChangeNote(run: ConvBenchRun): string | null {
  if (run.ceilingPerRound.length < 2) return null;
  const lo = Math.min(...run.ceilingPerRound);
  const hi = Math.max(...run.ceilingPerRound);
  if (hi <= 1.5 * lo) return null;
  return `note: ${run.probe} ran at ${lo.toFixed(1)}-${hi.toFixed(1)} GFLOP/s across the rounds: this machine's speed changed ` +
    `during the run (shared cores?), so rows timed in slow phases read low against the probe's ${run.ceilingGflops.toFixed(2)}; rerun when it is quiet`;
}

let lastRun: ConvBenchRun | null = null;
export function lastConvBenchRun(): ConvBenchRun | null {
  return lastRun;
}

interface Job {
  name: string;
  shape: string;
  flops: number;
  path: Conv2dPath;
  row: string;
  run: () => Tensor;
  totals: number[];
  mains: number[];
}

/**
 * Times every selected row `reps` times in interleaved rounds: each round runs each row once and
 * the best matmul variant of `ceilings` once, and every figure is a median over rounds. The cores
 * behind lavapipe are shared, so load comes and goes during a run; interleaving exposes rows and
 * ceiling to the same load, which one burst of consecutive repetitions per row did not (identical
 * layers then differed by 2x). pctOfProbe divides by the higher of ceilings.matmulGflops and the
 * per-round median (lastConvBenchRun().ceilingGflops).
 */
export async function benchConv(engine: Engine, opts: ConvBenchOptions): Promise<ConvBenchRow[]> {
  const reps = opts.reps ?? 7;
  const ceilings = opts.ceilings ?? (await measureCeilings(engine));
  const best = [...ceilings.detail.matmul].sort((a, b) => b.gflops - a.gflops)[0]!;
  const probe = matmulProbe(engine, best.name);
  const owned: Tensor[] = [];
  const jobs: Job[] = [];
  for (const ds of DATASETS) {
    for (const l of seedNetConvLayers(ds.cin, ds.size)) {
      const passes: Conv2dPass[] = ['forward', 'input', 'weight'];
      const wanted = passes.filter((p) => !opts.only || opts.only.test(rowName(ds.name, l, p)));
      if (wanted.length === 0) continue;
      const n = opts.batch;
      const pad = (l.k - 1) / 2;
      const x = filled(engine, [n, l.ci, l.hw, l.hw], 1, 'bench x');
      const w = filled(engine, [l.co, l.ci, l.k, l.k], 2, 'bench w');
      const dy = filled(engine, [n, l.co, l.hw, l.hw], 3, 'bench dy');
      owned.push(x, w, dy);
      const dims: Conv2dDims = { n, ci: l.ci, h: l.hw, w: l.hw, co: l.co, kh: l.k, kw: l.k, pad };
      for (const pass of wanted) {
        const o = { padding: pad, path: opts.path };
        jobs.push({
          name: rowName(ds.name, l, pass),
          shape: `N${n} ${l.ci}->${l.co} ${l.hw}x${l.hw} k${l.k}`,
          flops: 2 * n * l.co * l.ci * l.k * l.k * l.hw * l.hw,
          path: ops.planConv2d(engine, dims, pass, opts.path),
          row: ops.selectConv2d(engine, dims, pass, opts.path).row.id,
          run: () =>
            pass === 'forward'
              ? ops.conv2d(x, w, o)
              : pass === 'input'
                ? ops.conv2dBackwardInput(dy, w, [l.hw, l.hw], o)
                : ops.conv2dBackwardWeight(x, dy, [l.k, l.k], o),
          totals: [],
          mains: [],
        });
      }
    }
  }
  // Warm-up: compiles every pipeline and fills the buffer pool.
  probe.record();
  for (const j of jobs) j.run().dispose();
  await engine.sync();
  const ceilingPerRound: number[] = [];
  for (let r = 0; r < reps; r++) {
    const [probeMs] = await timeDispatches(engine, probe.record, 1, false);
    ceilingPerRound.push(probe.flops / probeMs! / 1e6);
    for (const j of jobs) {
      if (engine.hasTimestamps) {
        engine.startProfile();
        const out = j.run();
        const prof = await engine.endProfile();
        out.dispose();
        j.totals.push(prof.reduce((s, p) => s + p.ns, 0) / 1e6);
        j.mains.push(prof.filter((p) => MAIN_OPS.test(p.op)).reduce((s, p) => s + p.ns, 0) / 1e6);
      } else {
        const [ms] = await timeDispatches(engine, () => j.run().dispose(), 1, false);
        j.totals.push(ms!);
        j.mains.push(ms!);
      }
    }
  }
  probe.dispose();
  for (const t of owned) t.dispose();
  // The higher of the up-front ceiling and the median over rounds: a quiet moment during the
  // up-front measurement then cannot inflate the percentages (conservative).
  const ceiling = Math.max(ceilings.matmulGflops, median(ceilingPerRound));
  lastRun = { probe: best.name, ceilingGflops: ceiling, ceilingPerRound, rounds: reps };
  return jobs.map((j) => {
    const medianMs = median(j.totals);
    const gflops = j.flops / medianMs / 1e6;
    return {
      name: j.name,
      shape: j.shape,
      medianMs,
      gflops,
      pctOfProbe: (100 * gflops) / ceiling,
      path: j.path,
      row: j.row,
      kernelMs: median(j.mains),
      minMs: Math.min(...j.totals),
      reps,
    };
  });
}

/** e.g. 'conv cifar10 b2 3x3 forward': `only` can select by family, dataset, layer, kernel or pass. */
function rowName(dataset: string, l: Layer, pass: Conv2dPass): string {
  const what = pass === 'forward' ? 'forward' : pass === 'input' ? 'input grad' : 'weight grad';
  return `conv ${dataset} ${l.name} ${l.k}x${l.k} ${what}`;
}
