// The statistics of a comparison, in one place: the Wilson interval of one run's accuracy, the mean,
// standard deviation and Student-t interval over seeds, the paired difference of two norms over the
// same seeds, McNemar's exact test on the test images two runs share, and Welch's interval for two
// independent samples. Every interval is two-sided at `confidence` (0.95 unless asked otherwise).
// Checked against SciPy (scripts/fixtures/stats.py writes test/fixtures/stats.json).
import { binomialCdf, normalQuantile, studentTQuantile } from './special.js';

export const CONFIDENCE = 0.95;

/** [lower, upper]. */
export type Interval = [number, number];

/**
 * Wilson's score interval for a proportion (successes of n): the set of p that a two-sided score
 * test at this confidence does not reject. Unlike p ± z·√(p(1-p)/n) it stays inside [0, 1] and
 * keeps its coverage near 0 and 1.
 */
export function wilsonInterval(successes: number, n: number, confidence = CONFIDENCE): Interval {
  if (!(n > 0) || successes < 0 || successes > n) throw new RangeError(`wilsonInterval: need 0 <= successes <= n, n > 0 (got ${successes} of ${n})`);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + z2n);
  // At 0 or n successes the bound is exactly 0 or 1; rounding would leave a hair (2.8e-17) off it.
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)];
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); null for n < 2. */
  sd: number | null;
  /** mean ± t(n-1) · sd / √n; null for n < 2, where no spread can be estimated. */
  ci95: Interval | null;
}

/** The t quantile that scales a standard error into a two-sided interval with `df` degrees of freedom. */
export function tCritical(df: number, confidence = CONFIDENCE): number {
  return studentTQuantile(1 - (1 - confidence) / 2, df);
}

/** Mean, sample standard deviation and the Student-t interval of the mean. */
export function summarize(xs: readonly number[], confidence = CONFIDENCE): Summary {
  const n = xs.length;
  if (n === 0) throw new RangeError('summarize: no values');
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null, ci95: null };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tCritical(n - 1, confidence) * sd) / Math.sqrt(n);
  return { n, mean, sd, ci95: [mean - half, mean + half] };
}

export interface MedianInterval {
  n: number;
  median: number;
  /** [x_(k), x_(n+1-k)] of the sorted values: covers the population median with at least `confidence`; null when n is too small for any. */
  ci: Interval | null;
  /** Its actual coverage, 1 - 2 P(X < k) for X ~ Binomial(n, 1/2). */
  coverage: number | null;
}

/**
 * The median and its distribution-free interval from order statistics (the sign test's): the
 * largest k with 2 P(X <= k - 1) <= 1 - confidence, X ~ Binomial(n, 1/2). Needs no normality, so
 * a few outliers (a shared machine's slow moments) move it little. n = 15 at 0.95: x_(4) .. x_(12).
 */
export function medianInterval(xs: readonly number[], confidence = CONFIDENCE): MedianInterval {
  const n = xs.length;
  if (n === 0) throw new RangeError('medianInterval: no values');
  const s = [...xs].sort((a, b) => a - b);
  const median = n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  let k = 0;
  while (k + 1 <= n / 2 && 2 * binomialCdf(k, n, 0.5) <= 1 - confidence) k++;
  if (k === 0) return { n, median, ci: null, coverage: null };
  return { n, median, ci: [s[k - 1]!, s[n - k]!], coverage: 1 - 2 * binomialCdf(k - 1, n, 0.5) };
}

/** The per-seed differences a[i] - b[i] (the same seeds, in the same order), summarized. */
export function pairedDifference(a: readonly number[], b: readonly number[], confidence = CONFIDENCE): Summary {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} values against ${b.length}`);
  return summarize(
    a.map((x, i) => x - b[i]!),
    confidence,
  );
}

export interface McNemar {
  /** Items the first classifier got right and the second wrong. */
  b01: number;
  /** Items the first got wrong and the second right. */
  b10: number;
  /** Two-sided exact p: 2 · P(X <= min(b01, b10)) for X ~ Binomial(b01 + b10, 1/2), at most 1. */
  p: number;
}

/**
 * McNemar's exact test: under "both classifiers are equally accurate", each disagreement is equally
 * likely to go either way. Images both get right, or both wrong, say nothing about the difference.
 * With no disagreements at all there is no evidence either way: p = 1.
 */
export function mcnemarExact(b01: number, b10: number): McNemar {
  const n = b01 + b10;
  if (n === 0) return { b01, b10, p: 1 };
  return { b01, b10, p: Math.min(1, 2 * binomialCdf(Math.min(b01, b10), n, 0.5)) };
}

/** McNemar's counts from two runs' per-item correctness (equal lengths). */
export function mcnemarCounts(correctA: ArrayLike<boolean>, correctB: ArrayLike<boolean>): McNemar {
  if (correctA.length !== correctB.length) throw new RangeError(`mcnemarCounts: ${correctA.length} items against ${correctB.length}`);
  let b01 = 0;
  let b10 = 0;
  for (let i = 0; i < correctA.length; i++) {
    if (correctA[i] && !correctB[i]) b01++;
    else if (!correctA[i] && correctB[i]) b10++;
  }
  return mcnemarExact(b01, b10);
}

export interface Welch {
  /** mean(a) - mean(b). */
  diff: number;
  /** Welch-Satterthwaite degrees of freedom. */
  df: number;
  ci95: Interval;
}

/**
 * Welch's interval for the difference of two means from independent samples with unequal variances
 * (each sample needs at least 2 values); null when either has fewer or both have no spread.
 */
export function welchInterval(a: readonly number[], b: readonly number[], confidence = CONFIDENCE): Welch | null {
  if (a.length < 2 || b.length < 2) return null;
  const sa = summarize(a);
  const sb = summarize(b);
  const va = sa.sd! ** 2 / a.length;
  const vb = sb.sd! ** 2 / b.length;
  const se = Math.sqrt(va + vb);
  if (!(se > 0)) return null;
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const diff = sa.mean - sb.mean;
  const half = tCritical(df, confidence) * se;
  return { diff, df, ci95: [diff - half, diff + half] };
}

/**
 * The normal-approximation interval of p1 - p2 for two independent proportions (k1 of n1, k2 of
 * n2): one run's train-test gap, whose train and test images are different sets.
 */
export function twoProportionInterval(k1: number, n1: number, k2: number, n2: number, confidence = CONFIDENCE): Interval {
  const p1 = k1 / n1;
  const p2 = k2 / n2;
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const half = z * Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return [p1 - p2 - half, p1 - p2 + half];
}

/** Which side of zero an interval lies on: 1 above, -1 below, 0 when it contains zero (or is null). */
export function sideOfZero(ci: Interval | null): -1 | 0 | 1 {
  if (!ci) return 0;
  if (ci[0] > 0) return 1;
  if (ci[1] < 0) return -1;
  return 0;
}
