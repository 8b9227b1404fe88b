// The comparison's statistics from its runs: per-run Wilson intervals from the predictions, per-norm
// t-intervals over seeds, paired differences and McNemar counts by brute force, image difficulty.
import { describe, it, expect } from 'vitest';
import { comparisonStats, imageDifficulty, formatP } from '../../src/report/comparison-stats.js';
import { mcnemarExact, pairedDifference, summarize, wilsonInterval } from '../../src/stats/stats.js';
import { syntheticResult } from './synthetic.js';
import type { NormRun } from '../../src/report/types.js';

const three = () =>
  syntheticResult(
    'fashion',
    3,
    {
      batch: [0.8, 0.82, 0.79].map((t) => ({ finalTest: t, finalTrain: t + 0.05 })),
      group: [0.7, 0.73, 0.71].map((t) => ({ finalTest: t, finalTrain: t + 0.01 })),
      layer: [0.72, 0.7, 0.69].map((t) => ({ finalTest: t, finalTrain: t + 0.012 })),
    },
    {},
    { seeds: [0, 1, 2], testCount: 1000 },
  );

describe('comparisonStats', () => {
  it('per run: accuracy and its Wilson interval from the predictions; the gap from the eval-mode train accuracy', () => {
    const r = three();
    const s = comparisonStats(r);
    expect(s.runs).toHaveLength(9);
    for (const run of s.runs) {
      const src = r.runs.find((x) => x.norm === run.norm && x.seed === run.seed)!;
      const correct = src.predictions.filter((p, i) => p === r.dataset.testLabels[i]).length;
      expect(run.testCorrect).toBe(correct);
      expect(run.testAccuracy).toBe(correct / 1000);
      expect(run.wilson95).toEqual(wilsonInterval(correct, 1000));
      expect(run.gap).toBeCloseTo(src.epochs.at(-1)!.trainEvalAccuracy - correct / 1000, 12);
      expect(run.gap95[0]).toBeLessThan(run.gap);
      expect(run.gap95[1]).toBeGreaterThan(run.gap);
    }
    expect(s.runs.find((x) => x.norm === 'batch' && x.seed === 1)!.testAccuracy).toBe(0.82);
  });

  it('per norm: mean, sd and t-interval over seeds; per pair: the paired difference and McNemar per seed', () => {
    const r = three();
    const s = comparisonStats(r);
    const batch = s.norms.find((n) => n.norm === 'batch')!;
    const want = summarize([0.8, 0.82, 0.79]);
    expect(batch.seeds).toEqual([0, 1, 2]);
    expect(batch.mean).toBeCloseTo(want.mean, 12);
    expect(batch.sd).toBeCloseTo(want.sd!, 12);
    expect(batch.ci95![0]).toBeCloseTo(want.ci95![0], 12);
    expect(s.pairs.map((p) => `${p.a}-${p.b}`)).toEqual(['batch-group', 'batch-layer', 'group-layer']);
    const bg = s.pairs[0]!;
    const d = pairedDifference([0.8, 0.82, 0.79], [0.7, 0.73, 0.71]);
    expect(bg.meanDiff).toBeCloseTo(d.mean, 12);
    expect(bg.ci95![1]).toBeCloseTo(d.ci95![1], 12);
    // McNemar's counts by brute force over the shared test images.
    const by = (norm: string, seed: number) => r.runs.find((x) => x.norm === norm && x.seed === seed)!.predictions;
    for (const m of bg.mcnemar) {
      const a = by('batch', m.seed);
      const b = by('group', m.seed);
      let b01 = 0;
      let b10 = 0;
      r.dataset.testLabels.forEach((l, i) => {
        if (a[i] === l && b[i] !== l) b01++;
        if (a[i] !== l && b[i] === l) b10++;
      });
      expect([m.b01, m.b10]).toEqual([b01, b10]);
      expect(m.p).toBe(mcnemarExact(b01, b10).p);
      // b01 - b10 is the difference in correct images.
      const right = (p: Uint8Array) => p.filter((x, i) => x === r.dataset.testLabels[i]).length;
      expect(b01 - b10).toBe(right(a) - right(b));
    }
    // Paired t separates batch from group; group and layer are not separated over these three seeds.
    expect(s.test[0]!.side).toBe(1);
    expect(s.test[2]!.side).toBe(0);
  });

  it('only pairs seeds both norms ran, and with one seed decides by McNemar', () => {
    const r = three();
    r.runs = r.runs.filter((x) => !(x.norm === 'group' && x.seed === 2));
    const s = comparisonStats(r);
    expect(s.pairs[0]!.seeds).toEqual([0, 1]);
    expect(s.norms.find((n) => n.norm === 'group')!.n).toBe(2);
    const one = syntheticResult('fashion', 2, { batch: { finalTest: 0.8, finalTrain: 0.85 }, group: { finalTest: 0.7, finalTrain: 0.71 }, layer: { finalTest: 0.795, finalTrain: 0.8 } }, {}, { testCount: 1000 });
    const s1 = comparisonStats(one);
    expect(s1.norms[0]!.ci95).toBeNull();
    expect(s1.pairs[0]!.ci95).toBeNull();
    expect(s1.test[0]!.side).toBe(1);
    expect(s1.test[0]!.method).toMatch(/^McNemar's exact test on seed 0 \(p (=|<) /);
    expect(s1.test[1]!.side).toBe(0); // 0.5 points on 1,000 images
    // One seed: the gap and train accuracy compare by whether the runs' intervals overlap.
    expect(s1.gaps.pairs[0]!.method).toMatch(/do not overlap/);
  });

  it('difficulty: the fraction of all runs that miss an image, and each run\'s mistakes by it', () => {
    const labels = new Uint8Array([0, 1, 2, 3]);
    const run = (p: number[]): NormRun => ({ norm: 'batch', groups: 4, seed: 0, params: 1, epochs: [], predictions: new Uint8Array(p), checkpoint: '' });
    const d = imageDifficulty(labels, [run([0, 1, 2, 0]), run([0, 1, 0, 0]), run([1, 1, 0, 3])]);
    expect([...d]).toEqual([1 / 3, 0, 2 / 3, 2 / 3]);
    const r = three();
    const s = comparisonStats(r);
    // The best runs miss only the hardest images, so batch norm's mistakes are the hardest here.
    const mean = (norm: string) => s.difficulty.norms.find((n) => n.norm === norm)!.mean;
    expect(mean('batch')).toBeGreaterThan(mean('group'));
    expect(s.difficulty.pairs[0]!.side).toBe(1);
  });

  it('formats p-values for reading', () => {
    expect(formatP(1)).toBe('1');
    expect(formatP(0.04321)).toBe('0.043');
    expect(formatP(2.5e-7)).toBe('2.5e-7');
    expect(formatP(1e-300)).toBe('< 1e-16');
  });
});
