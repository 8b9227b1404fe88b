// The learning-rate sweep's verdicts and reading (src/report/lr-sweep-report.ts) on results written
// by hand: which runs "train", each norm's largest trained learning rate per seed, the geometric
// mean's interval on log2 lr, and batch norm against another norm paired by seed.
import { describe, it, expect } from 'vitest';
import { PNG } from 'pngjs';
import { largestTrained, lrRuns, lrSweepCsv, lrSweepPng, lrSweepReading, TRAINS_BELOW } from '../../src/report/lr-sweep-report.js';
import type { SweepReportInput } from '../../src/report/sweep-report.js';
import type { NormName } from '../../src/report/types.js';

const CLASSES = Array.from({ length: 10 }, (_, i) => `c${i}`);
const LRS = [0.1, 0.2, 0.4, 0.8];

/** final(norm, seed, lr): the last epoch's training loss, or null for a run that diverged. */
function input(final: (norm: NormName, seed: number, lr: number) => number | null): SweepReportInput {
  const norms: NormName[] = ['batch', 'none'];
  return {
    kind: 'lr',
    title: 'lr sweep',
    facts: [],
    norms,
    expectedRuns: norms.length * 3 * LRS.length,
    sizes: LRS.map((lr) => {
      const all = norms.flatMap((norm) => [0, 1, 2].map((seed) => ({ norm, seed, loss: final(norm, seed, lr) })));
      const ok = all.filter((r) => r.loss !== null);
      return {
        size: 128,
        lr,
        result: {
          dataset: { classes: CLASSES },
          runs: ok.map((r) => ({ norm: r.norm, seed: r.seed, groups: 1, epochs: [{ trainLoss: 2.3 }, { trainLoss: r.loss }] })),
          diverged: all.filter((r) => r.loss === null).map((r) => ({ norm: r.norm, seed: r.seed, epoch: 1, step: 3 })),
        },
        stats: { runs: ok.map((r) => ({ norm: r.norm, seed: r.seed, testAccuracy: 0.5 })) },
        bn: [],
      };
    }) as never,
  };
}

// Batch norm trains up to 0.8 for seeds 0 and 1 and 0.4 for seed 2; no norm up to 0.2 for seed 0
// and 0.1 for seeds 1 and 2 (above that its loss stays at chance, or it diverges at 0.8).
const limit: Record<string, number[]> = { batch: [0.8, 0.8, 0.4], none: [0.2, 0.1, 0.1] };
const sample = input((norm, seed, lr) => (norm === 'none' && lr === 0.8 ? null : lr <= limit[norm]![seed]! ? 0.6 : 2.31));

describe('the lr sweep report', () => {
  it('says a run trains when it did not diverge and its loss fell below 0.9 ln(classes)', () => {
    const runs = lrRuns(sample);
    expect(runs).toHaveLength(24);
    expect(runs.filter((r) => r.diverged)).toHaveLength(3);
    for (const r of runs) expect(r.trains).toBe(!r.diverged && r.finalLoss < TRAINS_BELOW * Math.log(10));
    expect([...largestTrained(runs, 'batch').entries()]).toEqual([[0, 0.8], [1, 0.8], [2, 0.4]]);
    expect([...largestTrained(runs, 'none').entries()]).toEqual([[0, 0.2], [1, 0.1], [2, 0.1]]);
  });

  it('reads each norm over seeds and batch norm against no norm, paired by seed', () => {
    const lines = lrSweepReading(sample);
    // Geometric mean of 0.8, 0.8, 0.4: 2^mean(log2) = 2^(-2/3 - ... ); t interval on log2 with df 2.
    const logs = [0.8, 0.8, 0.4].map(Math.log2);
    const m = logs.reduce((a, b) => a + b, 0) / 3;
    expect(lines[0]).toContain(`Batch norm: the largest learning rate at which every seed trains is 0.4; the largest per seed: seed 0: 0.8, seed 1: 0.8, seed 2: 0.4; geometric mean ${Number((2 ** m).toPrecision(3))}`);
    expect(lines[1]).toMatch(/^No norm: the largest learning rate at which every seed trains is 0\.1;/);
    // log2 ratios per seed: 2, 3, 2 -> mean 7/3, sd 0.577, t(2) = 4.303: [0.90, 3.77], beyond 0.
    expect(lines[2]).toMatch(/x5\.04 \(log2 difference 2\.33, 95% CI \[0\.90, 3\.77\] over 3 seeds\): larger, beyond the interval\./);
  });

  it('gives no interval where the seeds agree (a grid has no spread to estimate)', () => {
    const even = input((norm, _seed, lr) => (lr <= (norm === 'batch' ? 0.4 : 0.1) ? 0.6 : 2.31));
    const lines = lrSweepReading(even);
    expect(lines[0]).toBe('Batch norm: the largest learning rate at which every seed trains is 0.4; the largest per seed: seed 0: 0.4, seed 1: 0.4, seed 2: 0.4; the same for every seed (no spread between seeds, so no interval).');
    expect(lines[2]).toBe("Batch norm's largest trained learning rate over no norm's: x4 for each of 3 seeds (no spread between seeds, so no interval; the grid's step bounds it).");
  });

  it('writes a row per run and draws the figure', () => {
    const csv = lrSweepCsv(sample).trim().split('\n');
    expect(csv).toHaveLength(25);
    expect(csv).toContain('0.8,none,0,false,true,,');
    const png = PNG.sync.read(lrSweepPng(sample));
    expect([png.width, png.height]).toEqual([900, 560]);
  });
});
