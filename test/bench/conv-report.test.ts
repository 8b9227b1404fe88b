import { describe, expect, it } from 'vitest';
import { benchConv, lastConvBenchRun, speedChangeNote } from '../../bench/conv.js';
import type { Ceilings } from '../../bench/ceiling.js';
import { Engine, ops } from '../../src/engine/index.js';

describe('conv bench speed-change note', () => {
  const run = (perRound: number[]) => ({ probe: 'subgroup 32x4', ceilingGflops: 22, ceilingPerRound: perRound, rounds: perRound.length });
  it('stays silent while the probe agrees with itself within 1.5x', () => {
    expect(speedChangeNote(run([20, 22, 21.5, 15]))).toBeNull();
    expect(speedChangeNote(run([11]))).toBeNull();
  });
  it('says so when the machine changed speed during the run', () => {
    const note = speedChangeNote(run([11.3, 10.5, 22.0, 9.5]));
    expect(note).toMatch(/9\.5-22\.0 GFLOP\/s/);
    expect(note).toMatch(/rerun when it is quiet/);
  });
});

describe('conv bench rows', () => {
  it('times the selected rows against the probe and reports the median against it and the kernel-table row', async () => {
    const engine = await Engine.create();
    try {
      // A made-up up-front ceiling: the probe re-timed in every round must come out above it.
      const ceilings: Ceilings = {
        matmulGflops: 1e-3,
        copyGBps: 1,
        detail: { matmulShape: [512, 512, 512], matmul: [{ name: 'tiled 8x8', medianMs: 1, gflops: 1e-3 }], bufferCopyGBps: 1, kernelCopyGBps: 1, kernelCopy: [], copyBytes: 0, timing: 'gpu-timestamps' },
      };
      const rows = await benchConv(engine, { batch: 2, only: /^conv mnist c9 3x3 (forward|weight grad)$/, reps: 3, ceilings });
      expect(rows.map((r) => r.name)).toEqual(['conv mnist c9 3x3 forward', 'conv mnist c9 3x3 weight grad']);
      const run = lastConvBenchRun()!;
      expect(run.ceilingPerRound).toHaveLength(3);
      expect(run.ceilingGflops).toBeGreaterThan(1e-3);
      for (const r of rows) {
        expect(r.reps).toBe(3);
        expect(r.minMs).toBeLessThanOrEqual(r.medianMs);
        expect(r.gflops).toBeCloseTo((2 * 2 * 10 * 32 * 9 * 49) / r.medianMs / 1e6, 6);
        expect(r.pctOfProbe).toBeCloseTo((100 * r.gflops) / run.ceilingGflops, 6);
        // The row of the kernel table that ran, as normlab info --kernels names it.
        expect(r.row).toBe(ops.selectConv2d(engine, { n: 2, ci: 32, h: 7, w: 7, co: 10, kh: 3, kw: 3, pad: 1 }, r.name.endsWith('forward') ? 'forward' : 'weight').row.id);
      }
    } finally {
      engine.destroy();
    }
  });
});
