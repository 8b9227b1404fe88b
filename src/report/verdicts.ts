// Verdicts in words, each computed from comparison-stats: which norm leads which and by how much,
// with the interval or test behind it, or that the budget does not separate them. No thresholds of
// its own: "separated" means the 95% interval excludes zero, or McNemar's p < 0.05 with one seed.
import { tCritical, type Interval } from '../stats/stats.js';
import { normTitle } from './plots.js';
import { noSpread, pText, type ComparisonStats, type PairSummary, type Separation } from './comparison-stats.js';
import type { NormName } from './types.js';

export const points = (x: number) => (100 * x).toFixed(2);
export const percent = (x: number) => `${points(x)}%`;
export const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "[l, u]" in points (accuracy fractions scaled by 100). */
export function ciPoints(ci: Interval | null): string {
  return ci ? `[${points(ci[0])}, ${points(ci[1])}]` : '-';
}

/** The list "a, b and c". */
export function andList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

export type Namer = (norm: NormName) => string;

export function namer(groups: number): Namer {
  return (norm) => normTitle(norm, norm === 'layer' ? 1 : groups);
}

function mcnemarTally(p: PairSummary, name: Namer): string {
  const sig = p.mcnemar.filter((m) => m.p < 0.05);
  const dir = (m: { b01: number; b10: number }) => Math.sign(m.b01 - m.b10);
  const forA = sig.filter((m) => dir(m) > 0).length;
  const forB = sig.filter((m) => dir(m) < 0).length;
  const tail = forA && forB ? `, ${forA} in favour of ${name(p.a)} and ${forB} of ${name(p.b)}` : '';
  return `McNemar's test on the shared test images separates the two trained models on ${sig.length} of ${p.mcnemar.length} seed${p.mcnemar.length === 1 ? '' : 's'}${tail}`;
}

/** The test-accuracy verdict for one pair of norms, leader first. */
export function pairVerdict(p: PairSummary, sep: Separation, name: Namer, testCount: number): string {
  if (!p.n) return `${cap(name(p.a))} and ${name(p.b)} share no seed, so they are not compared.`;
  const flip = p.meanDiff < 0;
  const [hi, lo] = flip ? [p.b, p.a] : [p.a, p.b];
  const diff = Math.abs(p.meanDiff);
  const ci = p.ci95 && flip ? ([-p.ci95[1], -p.ci95[0]] as Interval) : p.ci95;
  if (p.n >= 2) {
    const over = `paired over ${p.n} seeds`;
    if (noSpread(p)) {
      const same = `all ${p.n} seeds gave the same difference, ${points(diff)} points, so no interval over seeds can be estimated`;
      if (sep.side !== 0) return `${cap(name(hi))} leads ${name(lo)} by ${points(diff)} points of test accuracy: ${same}, and ${mcnemarTally(p, name)}.`;
      return `${cap(name(p.a))} and ${name(p.b)} are not separated at this budget: ${same}, and ${mcnemarTally(p, name)}, which is not every seed in one direction.`;
    }
    if (sep.side !== 0) return `${cap(name(hi))} leads ${name(lo)} by ${points(diff)} points of test accuracy, 95% CI ${ciPoints(ci)} (${over}); ${mcnemarTally(p, name)}.`;
    return (
      `${cap(name(p.a))} and ${name(p.b)} are not separated at this budget: ${name(hi)} is ahead by ${points(diff)} points on average, ` +
      `95% CI ${ciPoints(ci)} (${over}), which includes zero; ${mcnemarTally(p, name)}.`
    );
  }
  const m = p.mcnemar[0]!;
  const [onlyHi, onlyLo] = flip ? [m.b10, m.b01] : [m.b01, m.b10];
  const counts = `${onlyHi.toLocaleString('en-US')} test images only ${name(hi)} got right, ${onlyLo.toLocaleString('en-US')} only ${name(lo)}, of ${testCount.toLocaleString('en-US')}`;
  const caveat = 'seed-to-seed variation is not included, since the comparison has one seed';
  if (sep.side !== 0) return `${cap(name(hi))} leads ${name(lo)} by ${points(diff)} points on seed ${m.seed} (McNemar's exact test: ${counts}; ${pText(m.p)}); ${caveat}.`;
  return `${cap(name(p.a))} and ${name(p.b)} are not separated on seed ${m.seed}: ${points(diff)} points apart, McNemar's exact ${pText(m.p)} (${counts}); ${caveat}.`;
}

/** One sentence per pair of norms on test accuracy. */
export function testVerdicts(stats: ComparisonStats, name: Namer): string[] {
  return stats.pairs.map((p, i) => pairVerdict(p, stats.test[i]!, name, stats.testCount));
}

/**
 * What the runs could resolve: with seeds, the half-widths of the pairs' paired intervals; with one
 * seed, the difference McNemar's test needs given the observed disagreements (about z·√(b01+b10)/n).
 */
export function resolutionSentence(stats: ComparisonStats): string | null {
  const withCi = stats.pairs.filter((p) => p.ci95 && !noSpread(p));
  const halves = withCi.map((p) => (p.ci95![1] - p.ci95![0]) / 2);
  if (halves.length) {
    const ns = [...new Set(withCi.map((p) => p.n))].sort((a, b) => a - b);
    const range = halves.length > 1 ? `${points(Math.min(...halves))} to ${points(Math.max(...halves))}` : points(halves[0]!);
    const t = ns.map((n) => `t = ${tCritical(n - 1).toFixed(2)} for ${n} seeds`).join(', ');
    return (
      `What this budget resolves: the paired 95% intervals of test accuracy have half-widths of ${range} points (${t}, ` +
      'times the seed-to-seed sd of the difference over the square root of the seeds); a smaller difference reads as not separated. ' +
      'Each pair is tested at 95% on its own, without a correction for testing several pairs.'
    );
  }
  const singles = stats.pairs.filter((p) => p.n >= 1);
  if (!singles.length) return null;
  const need = singles.map((p) => (1.96 * Math.sqrt(p.mcnemar[0]!.b01 + p.mcnemar[0]!.b10)) / stats.testCount);
  return (
    `What this budget resolves: ${singles.some((p) => p.n > 1) ? 'with no spread between seeds to estimate' : 'with one seed'}, McNemar's test on the ${stats.testCount.toLocaleString('en-US')} test images separates differences above about ` +
    `${points(Math.min(...need))}-${points(Math.max(...need))} points here (1.96·√(disagreements)/images), but says nothing about another seed: ` +
    'run several (--seeds) to include seed-to-seed variation.'
  );
}

/** Before the runs: how large a difference the chosen number of seeds can separate, in units of the seed-to-seed sd. */
export function budgetNote(seeds: number, testCount: number): string {
  if (seeds === 1) {
    return (
      `with 1 seed, verdicts rest on McNemar's test on the ${testCount.toLocaleString('en-US')} test images and leave out seed-to-seed variation; ` +
      'use --seeds 3 or more for intervals that include it'
    );
  }
  const k = tCritical(seeds - 1) / Math.sqrt(seeds);
  return (
    `with ${seeds} seeds, a paired difference reads as separated only when it exceeds ${k.toFixed(2)} times its seed-to-seed standard deviation ` +
    `(t = ${tCritical(seeds - 1).toFixed(2)} over √${seeds})`
  );
}
