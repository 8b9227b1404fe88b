// src/stats against SciPy's values (test/fixtures/stats.json, written by scripts/fixtures/stats.py):
// the intervals and tests a comparison reports, and the special functions underneath.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { medianInterval, mcnemarCounts, mcnemarExact, pairedDifference, sideOfZero, summarize, twoProportionInterval, welchInterval, wilsonInterval } from '../../src/stats/stats.js';
import { binomialCdf, logGamma, normalQuantile, regularizedBeta, studentTCdf, studentTQuantile } from '../../src/stats/special.js';

interface Fixture {
  wilson: { k: number; n: number; ci95: [number, number] }[];
  tIntervals: { values: number[]; mean: number; sd: number; ci95: [number, number] }[];
  paired: { a: number[]; b: number[]; meanDiff: number; sd: number; ci95: [number, number] }[];
  mcnemar: { b01: number; b10: number; p: number; convention?: boolean }[];
  welch: { a: number[]; b: number[]; diff: number; df: number; ci95: [number, number] }[];
  tPpf: { p: number; df: number; x: number }[];
  tCdf: { t: number; df: number; p: number }[];
  normPpf: { p: number; x: number }[];
  binomCdf: { k: number; n: number; p: number; cdf: number }[];
  betainc: { a: number; b: number; x: number; value: number }[];
}
const F = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'stats.json'), 'utf8')) as Fixture;

/** |a - b| within rel of |b| (or within abs near zero). */
function close(a: number, b: number, rel = 1e-9, abs = 1e-12): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(Math.max(abs, rel * Math.abs(b)));
}

describe('special functions against SciPy', () => {
  it('logGamma at integers and halves', () => {
    close(logGamma(1), 0);
    close(logGamma(5), Math.log(24));
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)));
    close(logGamma(101), 363.73937555556347, 1e-13);
  });
  it('regularized incomplete beta (scipy.special.betainc)', () => {
    for (const c of F.betainc) close(regularizedBeta(c.x, c.a, c.b), c.value, 1e-9);
  });
  it('Student t quantiles and CDF, integer and fractional df', () => {
    // SciPy's t.ppf itself is good to about 2e-9 in the far tail: at df 3, p 0.995 its quantile has
    // an upper tail of 0.005000000024 by the closed form of the t CDF for 3 degrees of freedom.
    for (const c of F.tPpf) close(studentTQuantile(c.p, c.df), c.x, 5e-9);
    const t3 = studentTQuantile(0.995, 3);
    const u = t3 / Math.sqrt(3);
    close(0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI, 0.995, 1e-13);
    for (const c of F.tCdf) close(studentTCdf(c.t, c.df), c.p, 1e-9);
  });
  it('normal quantiles, out to 1e-10', () => {
    for (const c of F.normPpf) close(normalQuantile(c.p), c.x, 1e-9);
  });
  it('binomial CDF, small and large n', () => {
    for (const c of F.binomCdf) close(binomialCdf(c.k, c.n, c.p), c.cdf, 1e-9);
  });
});

describe('intervals and tests against SciPy', () => {
  it('Wilson 95% intervals, including 0 and n successes', () => {
    for (const c of F.wilson) {
      const [lo, hi] = wilsonInterval(c.k, c.n);
      close(lo, c.ci95[0]);
      close(hi, c.ci95[1]);
    }
    expect(() => wilsonInterval(1, 0)).toThrow(RangeError);
  });
  it('mean, sd and the t-interval over seeds', () => {
    for (const c of F.tIntervals) {
      const s = summarize(c.values);
      close(s.mean, c.mean);
      close(s.sd!, c.sd);
      close(s.ci95![0], c.ci95[0]);
      close(s.ci95![1], c.ci95[1]);
    }
    // One seed: a mean but no spread, so no interval.
    expect(summarize([0.7])).toEqual({ n: 1, mean: 0.7, sd: null, ci95: null });
  });
  it('the paired per-seed difference', () => {
    for (const c of F.paired) {
      const d = pairedDifference(c.a, c.b);
      close(d.mean, c.meanDiff);
      close(d.sd!, c.sd);
      close(d.ci95![0], c.ci95[0]);
      close(d.ci95![1], c.ci95[1]);
    }
    expect(() => pairedDifference([1, 2], [1])).toThrow(RangeError);
  });
  it("McNemar's exact test, from no disagreements to thousands", () => {
    for (const c of F.mcnemar) close(mcnemarExact(c.b01, c.b10).p, c.p, 1e-8, 1e-300);
    expect(F.mcnemar.find((c) => c.b01 + c.b10 === 0)).toBeDefined();
    expect(F.mcnemar.some((c) => c.b01 + c.b10 > 5000 && c.p < 1e-20)).toBe(true);
  });
  it('McNemar counts from per-image correctness', () => {
    const a = [true, true, false, false, true, false];
    const b = [true, false, true, false, false, false];
    const m = mcnemarCounts(a, b);
    expect([m.b01, m.b10]).toEqual([2, 1]);
    expect(m.p).toBe(mcnemarExact(2, 1).p);
  });
  it("Welch's interval for independent samples", () => {
    for (const c of F.welch) {
      const w = welchInterval(c.a, c.b)!;
      close(w.diff, c.diff);
      close(w.df, c.df, 1e-9);
      close(w.ci95[0], c.ci95[0]);
      close(w.ci95[1], c.ci95[1]);
    }
    expect(welchInterval([1], [1, 2])).toBeNull();
  });
  it('the two-proportion interval and the side of zero', () => {
    const [lo, hi] = twoProportionInterval(900, 1000, 800, 1000);
    const half = normalQuantile(0.975) * Math.sqrt((0.9 * 0.1) / 1000 + (0.8 * 0.2) / 1000);
    close(lo, 0.1 - half);
    close(hi, 0.1 + half);
    expect(sideOfZero([0.01, 0.02])).toBe(1);
    expect(sideOfZero([-0.02, -0.01])).toBe(-1);
    expect(sideOfZero([-0.01, 0.02])).toBe(0);
    expect(sideOfZero(null)).toBe(0);
  });
});

describe('the median and its order-statistic interval', () => {
  it('takes x_(4) .. x_(12) of 15 values (coverage 1 - 2 P(X <= 3), X ~ B(15, 1/2)), none for 5 or fewer', () => {
    const xs = [9, 1, 14, 3, 12, 5, 7, 2, 15, 4, 6, 13, 8, 11, 10, 100].slice(0, 15);
    const m = medianInterval(xs);
    expect(m.median).toBe(8);
    expect(m.ci).toEqual([4, 12]);
    expect(m.coverage!).toBeCloseTo(1 - 2 * (1 + 15 + 105 + 455) / 2 ** 15, 12);
    // An outlier moves neither the median nor the interval much, unlike the t interval.
    expect(medianInterval([...xs.slice(0, 14), 1e6]).ci).toEqual([4, 13]);
    // n = 6: 2 P(X = 0) = 1/32 <= 0.05, so [x_(1), x_(6)]; n = 5: 2/32 > 0.05, no interval.
    expect(medianInterval([1, 2, 3, 4, 5, 6]).ci).toEqual([1, 6]);
    expect(medianInterval([1, 2, 3, 4, 5]).ci).toBeNull();
    expect(() => medianInterval([])).toThrow(/no values/);
  });
});
