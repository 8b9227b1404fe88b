// The reading and the claims section are computed: synthetic results on either side of their
// intervals flip the verdicts, and the seed's claims change with them.
import { describe, it, expect } from 'vitest';
import { readResults } from '../../src/report/reading.js';
import { comparisonStats } from '../../src/report/comparison-stats.js';
import { checkSeedClaims } from '../../src/report/claims.js';
import { namer } from '../../src/report/verdicts.js';
import { syntheticResult, type CurveShape } from './synthetic.js';
import type { ComparisonResult, NormName } from '../../src/report/types.js';

const text = (r: ComparisonResult) => readResults(r).join(' ');
const seeds3 = { seeds: [0, 1, 2], testCount: 1000 };
const shapes = (tests: number[], gap: number | number[] = 0.02): CurveShape[] =>
  tests.map((t, i) => ({ finalTest: t, finalTrain: t + (Array.isArray(gap) ? gap[i]! : gap) }));
const claims = (r: ComparisonResult) => checkSeedClaims(comparisonStats(r), namer(4));
const verdictOf = (r: ComparisonResult, i: number) => claims(r)[i]!.verdict;

describe('verdicts on test accuracy', () => {
  it('over seeds: a lead whose paired interval excludes zero, and none when it includes zero', () => {
    const apart = syntheticResult('fashion', 3, { batch: shapes([0.8, 0.81, 0.79]), group: shapes([0.7, 0.72, 0.71]), layer: shapes([0.69, 0.7, 0.72]) }, {}, seeds3);
    const a = text(apart);
    expect(a).toMatch(/Batch norm leads group norm \(G=4\) by 9\.00 points of test accuracy, 95% CI \[\d+\.\d\d, \d+\.\d\d\] \(paired over 3 seeds\); McNemar's test on the shared test images separates the two trained models on 3 of 3 seeds\./);
    expect(a).toMatch(/Group norm \(G=4\) and layer norm are not separated at this budget: group norm \(G=4\) is ahead by 0\.67 points on average, 95% CI \[-\d/);
    // Move group norm onto batch norm's level: the lead is gone.
    const close = syntheticResult('fashion', 3, { batch: shapes([0.8, 0.81, 0.79]), group: shapes([0.79, 0.82, 0.785]), layer: shapes([0.69, 0.7, 0.72]) }, {}, seeds3);
    const c = text(close);
    expect(c).not.toMatch(/Batch norm leads group norm/);
    expect(c).toMatch(/Batch norm and group norm \(G=4\) are not separated at this budget/);
    // And past it: group norm leads.
    const flipped = syntheticResult('fashion', 3, { batch: shapes([0.8, 0.81, 0.79]), group: shapes([0.86, 0.87, 0.855]), layer: shapes([0.69, 0.7, 0.72]) }, {}, seeds3);
    expect(text(flipped)).toMatch(/Group norm \(G=4\) leads batch norm by 6\.17 points/);
    expect(text(apart)).toMatch(/What this budget resolves: the paired 95% intervals of test accuracy have half-widths of \d+\.\d\d to \d+\.\d\d points \(t = 4\.30 for 3 seeds, times/);
  });

  it('with one seed: McNemar decides, and says that seed-to-seed variation is left out', () => {
    const one = syntheticResult('fashion', 3, { batch: { finalTest: 0.8, finalTrain: 0.85 }, group: { finalTest: 0.7, finalTrain: 0.71 }, layer: { finalTest: 0.797, finalTrain: 0.8 } }, {}, { testCount: 1000 });
    const t = text(one);
    expect(t).toMatch(/Batch norm leads group norm \(G=4\) by 10\.00 points on seed 0 \(McNemar's exact test: \d+ test images only batch norm got right, \d+ only group norm \(G=4\), of 1,000; p (=|<) [^)]+\); seed-to-seed variation is not included/);
    expect(t).toMatch(/Batch norm and layer norm are not separated on seed 0: 0\.30 points apart, McNemar's exact p = 0\.\d+/);
    expect(t).toMatch(/with one seed, McNemar's test on the 1,000 test images separates differences above about/);
    expect(t).not.toMatch(/run-to-run noise/);
  });

  it('seeds that all give the same difference have no spread to estimate: McNemar must separate every seed', () => {
    const same = syntheticResult('fashion', 3, { batch: shapes([0.8, 0.8]), group: shapes([0.7, 0.7]), layer: shapes([0.795, 0.795]) }, {}, { seeds: [0, 1], testCount: 1000 });
    const t = text(same);
    expect(t).toContain('Batch norm leads group norm (G=4) by 10.00 points of test accuracy: all 2 seeds gave the same difference, 10.00 points, so no interval over seeds can be estimated');
    expect(t).toMatch(/Batch norm and layer norm are not separated at this budget: all 2 seeds gave the same difference, 0\.50 points/);
    expect(t).toContain('batch norm 80.00% (the same on all 2 seeds)');
    expect(t).not.toMatch(/CI \[80\.00, 80\.00\]/);
    const s = comparisonStats(same);
    expect(s.test[0]!.side).toBe(1);
    expect(s.test[0]!.ci95).toBeNull();
    expect(s.test[1]!.side).toBe(0);
  });

  it('reads the gap from the eval-mode train accuracy, with intervals, and contrasts the running average', () => {
    const r = syntheticResult(
      'fashion',
      3,
      { batch: shapes([0.8, 0.81, 0.79], [0.06, 0.05, 0.07]), group: shapes([0.7, 0.72, 0.71], [0.0, 0.005, -0.004]), layer: shapes([0.69, 0.7, 0.72], [0.003, -0.002, 0.004]) },
      {},
      seeds3,
    );
    const t = text(r);
    expect(t).toMatch(/Train-test gap at the last epoch \(train accuracy in evaluation mode on 1,000 fixed training images, minus test accuracy\): batch norm 6\.00 points, 95% CI \[/);
    expect(t).toMatch(/Batch norm fits the training images better than the test images beyond the interval/);
    expect(t).toMatch(/Group norm \(G=4\) and layer norm: the gap is not separated from zero/);
    expect(t).toMatch(/Batch norm's gap is larger than group norm \(G=4\)'s by 5\.97 points \(paired t-interval over 3 seeds/);
    expect(t).toMatch(/The running training-mode average \(the seed's "train accuracy"\) minus the evaluation-mode figure is -1\.00 points for batch norm/);
  });

  it('reads the mean curves and keeps caveats from the recipe', () => {
    const over = text(syntheticResult('fashion', 8, { group: { finalTest: 0.89, finalTrain: 0.97, overfit: true } }));
    expect(over).toMatch(/Group norm \(G=4\): test loss was lowest at epoch \d \(0\.\d{4}\) and ended at 0\.5500, while the evaluation-mode train loss kept falling/);
    expect(over).toMatch(/Batch norm: test loss fell from 0\.9000 to 0\.4000 and was still at its lowest/);
    expect(text(syntheticResult('fashion', 3, {}, {}, seeds3))).toMatch(/Batch norm \(mean of 3 seeds\): test loss fell/);
    expect(text(syntheticResult('fashion', 3, {}, { subset: 2500 }))).toContain('Caveat: 3 epochs on 2500 training images is a short budget');
    expect(text(syntheticResult('fashion', 20))).not.toMatch(/Caveat/);
    expect(text(syntheticResult('fashion', 1))).toContain('ran a single epoch, so its curves are single points');
    const diverged = syntheticResult('fashion', 3);
    diverged.runs[1]!.epochs = diverged.runs[1]!.epochs.map((e, i) => (i >= 1 ? { ...e, trainLoss: NaN } : e));
    expect(text(diverged)).toContain('Group norm (G=4) diverged: its loss is not finite from epoch 2 on');
    expect(text(syntheticResult('cifar', 3))).toContain('The seed experiment also used CIFAR-10');
  });
});

describe("the seed's claims, tested", () => {
  // Gaps that differ a little from seed to seed, as real ones do.
  const jitter = (g: number, k: number) => [g, g + [0.004, -0.002, 0.001][k]!, g + [-0.003, 0.003, 0.005][k]!];
  const base = (batch: number[], group: number[], layer: number[], gaps: Partial<Record<NormName, number>> = {}) =>
    syntheticResult('cifar', 3, { batch: shapes(batch, jitter(gaps.batch ?? 0.05, 0)), group: shapes(group, jitter(gaps.group ?? 0.01, 1)), layer: shapes(layer, jitter(gaps.layer ?? 0.01, 2)) }, {}, seeds3);

  it('the ranking: supported, contradicted or not separated as the numbers cross', () => {
    expect(verdictOf(base([0.75, 0.763, 0.74], [0.85, 0.86, 0.84], [0.65, 0.668, 0.64]), 0)).toBe('supported');
    expect(verdictOf(base([0.85, 0.86, 0.84], [0.75, 0.763, 0.74], [0.65, 0.668, 0.64]), 0)).toBe('contradicted');
    expect(verdictOf(base([0.75, 0.77, 0.74], [0.76, 0.75, 0.755], [0.745, 0.76, 0.75]), 0)).toBe('not separated');
    const c = claims(base([0.85, 0.86, 0.84], [0.75, 0.763, 0.74], [0.65, 0.668, 0.64]))[0]!;
    expect(c.evidence[0]).toMatch(/^test accuracy, group norm \(G=4\) minus batch norm: -9\.90 points, 95% CI \[-\d+\.\d\d, -\d+\.\d\d\] \(paired t-interval over 3 seeds\): against the claim$/);
    expect(c.seedSays).toContain('GN 70.00%, BN 69.77%, LN 69.29%');
  });

  it('"only group norm did not overfit" follows the eval-mode gaps', () => {
    const acc = [0.75, 0.763, 0.74];
    expect(verdictOf(base(acc, acc, acc, { batch: 0.08, group: 0.0, layer: 0.06 }), 1)).toBe('supported');
    expect(verdictOf(base(acc, acc, acc, { batch: 0.08, group: 0.04, layer: 0.0 }), 1)).toBe('contradicted');
    expect(verdictOf(base(acc, acc, acc, { batch: 0.01, group: 0.01, layer: 0.01 }), 1)).toBe('not separated');
  });

  it('"batch norm gets better training as well as test accuracy"', () => {
    expect(verdictOf(base([0.85, 0.86, 0.84], [0.75, 0.763, 0.74], [0.65, 0.668, 0.64]), 2)).toBe('supported');
    expect(verdictOf(base([0.75, 0.763, 0.74], [0.85, 0.86, 0.84], [0.65, 0.668, 0.64]), 2)).toBe('contradicted');
  });

  it("the difficulty of each norm's mistakes: batch norm's hardest when it is the most accurate", () => {
    const good = base([0.85, 0.86, 0.84], [0.75, 0.763, 0.74], [0.65, 0.668, 0.64]);
    expect(verdictOf(good, 3)).toBe('supported');
    expect(verdictOf(good, 4)).toBe('supported');
    const bad = base([0.65, 0.668, 0.64], [0.75, 0.763, 0.74], [0.85, 0.86, 0.84]);
    expect(verdictOf(bad, 3)).toBe('contradicted');
    expect(verdictOf(bad, 4)).toBe('contradicted');
  });

  it('a claim whose norms did not run is not tested', () => {
    const r = syntheticResult('fashion', 3, {}, {}, { norms: ['batch', 'group'] });
    const c = claims(r);
    expect(c[0]!.verdict).toBe('not tested');
    expect(c[0]!.evidence).toContain('batch norm vs layer norm: not in this comparison');
    // A comparison separated against the claim contradicts it even when another part is untested.
    const against = syntheticResult('fashion', 3, { batch: { finalTest: 0.9, finalTrain: 0.92 }, group: { finalTest: 0.7, finalTrain: 0.71 } }, {}, { norms: ['batch', 'group'], testCount: 1000 });
    expect(claims(against)[0]!.verdict).toBe('contradicted');
  });
});
