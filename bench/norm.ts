// Norm kernels at SeedNet shapes: GPU time (timestamp queries around each dispatch) of one forward
// and one backward of each norm, fused with the ReLU as SeedNet runs them, and, for the largest
// layer, the unfused norm-then-ReLU pair to show what fusing saves. Norms are memory-bound, so each
// row reports the bytes its kernels move divided by the time, against the copy bandwidth.
import type { Engine } from '../src/engine/engine.js';
import { relu } from '../src/engine/ops/elementwise.js';
import { planNorm, normForwardKernels, normBackwardKernels, initBatchNormState, type NormKind } from '../src/engine/ops/norm.js';
import { measureKernelCopy } from './ceiling.js';

export interface NormBenchRow {
  /** e.g. 'batch fwd+relu b1-b3' */
  name: string;
  shape: number[];
  medianMs: number;
  /** Bytes the row's kernels read and write (see `traffic`), over the median time. */
  gbps: number;
  /** gbps as a percentage of the copy bandwidth (read + write bytes of a copy over its time). */
  pctOfCeiling: number;
  bytes: number;
  dispatches: number;
}

export interface NormBenchOptions {
  batch: number;
  only?: RegExp;
  /** Copy bandwidth in GB/s (read + write). When absent: the best of the storage copy kernel's variants (ceiling.ts). */
  copyGBps?: number;
  /** Timed repetitions per row (median reported); default 10. */
  reps?: number;
}

/** SeedNet's normalised layers: (C, H, W) of b1..b3, b4..b6, b7..b8. */
const LAYERS: { name: string; chw: [number, number, number] }[] = [
  { name: 'b1-b3', chw: [16, 32, 32] },
  { name: 'b4-b6', chw: [32, 16, 16] },
  { name: 'b7-b8', chw: [32, 8, 8] },
];

/**
 * Bytes per pass, X = one activation tensor. Forward: plane_moments reads x, apply reads x and
 * writes y (3X). Backward: plane_grad_sums reads x and dy, dx reads x and dy and writes dx (5X).
 * The unfused ReLU adds 2X forward (read, write) and 3X backward (read y and dy, write).
 * Per-plane and per-set vectors are under 0.1% of X and not counted.
 */
const traffic = { fwd: 3, bwd: 5, reluFwd: 2, reluBwd: 3 };

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** GPU milliseconds per call of `record` (which records dispatches and returns what to free). */
async function timeGpu(engine: Engine, reps: number, record: () => void): Promise<{ ms: number; dispatches: number }> {
  engine.tidy(record); // compile pipelines, fill the pool
  await engine.sync();
  const before = engine.counters.dispatches;
  engine.tidy(record);
  const perCall = engine.counters.dispatches - before;
  await engine.sync();
  engine.startProfile(perCall * reps + 8);
  // A submit per repetition lets the pool hand the same buffers back, as in a training step; without
  // it every repetition writes freshly allocated memory (page faults on a CPU adapter).
  for (let r = 0; r < reps; r++) {
    engine.tidy(record);
    engine.flush();
  }
  const entries = await engine.endProfile();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    let ns = 0;
    for (let k = 0; k < perCall; k++) ns += entries[r * perCall + k]!.ns;
    times.push(ns / 1e6);
  }
  return { ms: median(times), dispatches: perCall };
}

export async function benchNorm(engine: Engine, opts: NormBenchOptions): Promise<NormBenchRow[]> {
  if (!engine.hasTimestamps) throw new Error('benchNorm: this adapter has no timestamp-query feature');
  const reps = opts.reps ?? 10;
  // A ceiling is the best the adapter attains: the best of the copy kernel's variants, each a
  // median (a shared CPU adapter varies by 2x between measurements).
  const ceiling = opts.copyGBps ?? Math.max(...(await measureKernelCopy(engine)).map((k) => k.GBps));
  const rows: NormBenchRow[] = [];
  const kinds: NormKind[] = ['batch', 'group', 'layer'];
  for (const kind of kinds) {
    for (const [li, layer] of LAYERS.entries()) {
      const shape = [opts.batch, ...layer.chw];
      const c = layer.chw[0];
      const size = shape.reduce((a, b) => a * b, 1);
      const X = size * 4;
      const variants: { name: string; unfused: boolean }[] = [{ name: `${kind} %s+relu ${layer.name}`, unfused: false }];
      if (li === 0) variants.push({ name: `${kind} %s,relu unfused ${layer.name}`, unfused: true });
      for (const v of variants) {
        const fwdName = v.name.replace('%s', 'fwd');
        const bwdName = v.name.replace('%s', 'bwd');
        if (opts.only && !opts.only.test(fwdName) && !opts.only.test(bwdName)) continue;
        const plan = planNorm(kind, shape, { groups: 4, relu: !v.unfused });
        const x = engine.tensor(Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 2 + (i % 7) * 0.1), shape);
        const dy = engine.tensor(Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.11)), shape);
        const gamma = engine.tensor(new Array<number>(c).fill(1.25), [c]);
        const beta = engine.tensor(new Array<number>(c).fill(0.1), [c]);
        const state = initBatchNormState(engine, c);
        const mode = { training: true, momentum: 0.1, running: state };
        const saved = engine.keep(normForwardKernels(plan, x, gamma, beta, mode).stats);
        const forward = (): void => {
          const { y } = normForwardKernels(plan, x, gamma, beta, mode);
          if (v.unfused) relu(y);
        };
        // The unfused backward first runs the ReLU's backward rule (a kernel reading y and dy).
        const reluIn = v.unfused ? engine.tensor(Float32Array.from({ length: size }, (_, i) => Math.sin(i)), shape).requireGrad() : null;
        const reluNode = reluIn ? relu(reluIn).node! : null;
        const backward = (): void => {
          const g = reluNode ? reluNode.backward!(dy)[0]! : dy;
          normBackwardKernels(plan, x, gamma, beta, saved, g, { needDx: true });
        };
        for (const [name, run, factor] of [
          [fwdName, forward, traffic.fwd + (v.unfused ? traffic.reluFwd : 0)],
          [bwdName, backward, traffic.bwd + (v.unfused ? traffic.reluBwd : 0)],
        ] as const) {
          if (opts.only && !opts.only.test(name)) continue;
          const { ms, dispatches } = await timeGpu(engine, reps, run);
          const bytes = factor * X;
          const gbps = bytes / (ms * 1e6);
          rows.push({ name, shape, medianMs: ms, gbps, pctOfCeiling: (100 * gbps) / ceiling, bytes, dispatches });
        }
        for (const t of [x, dy, gamma, beta, saved, state.runningMean, state.runningVar, reluIn]) t?.dispose();
      }
    }
  }
  return rows;
}

/** Rows as an aligned text table. */
export function formatNormBench(rows: NormBenchRow[], copyGBps?: number): string {
  const lines = [`${'row'.padEnd(30)} ${'shape'.padEnd(16)} ${'ms'.padStart(8)} ${'GB/s'.padStart(7)} ${'% copy'.padStart(7)}`];
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(30)} ${r.shape.join('x').padEnd(16)} ${r.medianMs.toFixed(3).padStart(8)} ${r.gbps.toFixed(1).padStart(7)} ${r.pctOfCeiling.toFixed(0).padStart(6)}%`,
    );
  }
  if (copyGBps !== undefined) lines.push(`copy bandwidth (read + write): ${copyGBps.toFixed(1)} GB/s`);
  return lines.join('\n');
}
