// The statistics of a comparison, computed from its runs alone (src/stats does the maths): per run
// the Wilson interval of test accuracy, per norm the mean, sd and t-interval over seeds, per pair of
// norms the paired per-seed difference and McNemar's exact test on the shared test images; the same
// for the train-test gap (evaluation-mode train accuracy minus test accuracy) and for the difficulty
// of each norm's mistakes. metrics.json stores the result under `stats` (README: "metrics.json").
import {
  CONFIDENCE,
  mcnemarCounts,
  pairedDifference,
  sideOfZero,
  summarize,
  twoProportionInterval,
  welchInterval,
  wilsonInterval,
  type Interval,
} from '../stats/stats.js';
import type { ComparisonResult, NormName, NormRun } from './types.js';

export interface RunStats {
  norm: NormName;
  seed: number;
  /** From the run's final predictions: correct / test images. */
  testAccuracy: number;
  testCorrect: number;
  wilson95: Interval;
  /** Last epoch, evaluation mode, on the fixed training images. */
  trainEvalAccuracy: number;
  trainEvalWilson95: Interval;
  /** Last epoch's running training-mode average (the seed experiment's "train accuracy"). */
  runningTrainAccuracy: number;
  /** trainEvalAccuracy - testAccuracy, and its interval from the two independent sets of images. */
  gap: number;
  gap95: Interval;
  mistakes: number;
  /** Mean difficulty of the run's misclassified test images (null without mistakes), with a t-interval over them. */
  mistakeDifficulty: number | null;
  mistakeDifficulty95: Interval | null;
}

export interface NormSummary {
  norm: NormName;
  seeds: number[];
  n: number;
  mean: number;
  /** Over seeds; null with one seed. */
  sd: number | null;
  ci95: Interval | null;
}

export interface McNemarRow {
  seed: number;
  b01: number;
  b10: number;
  p: number;
}

export interface PairSummary {
  a: NormName;
  b: NormName;
  seeds: number[];
  n: number;
  /** Mean over the shared seeds of testAccuracy(a) - testAccuracy(b). */
  meanDiff: number;
  sd: number | null;
  ci95: Interval | null;
  mcnemar: McNemarRow[];
}

/** Whether a pair of norms is told apart on one measure, and by what. */
export interface Separation {
  a: NormName;
  b: NormName;
  seeds: number[];
  /** a minus b, averaged over the shared seeds. */
  meanDiff: number;
  ci95: Interval | null;
  /** 1: a above b beyond the interval or test; -1: below; 0: not separated. */
  side: -1 | 0 | 1;
  method: string;
}

export interface MeasureStats {
  norms: NormSummary[];
  pairs: Separation[];
}

export interface ComparisonStats {
  confidence: number;
  testCount: number;
  trainEvalCount: number;
  /** Runs the difficulty of an image is counted over (every norm and seed). */
  runCount: number;
  runs: RunStats[];
  norms: NormSummary[];
  pairs: PairSummary[];
  /** The verdict on test accuracy per pair: paired t over seeds, or McNemar with one seed. */
  test: Separation[];
  trainEval: MeasureStats;
  gaps: MeasureStats;
  difficulty: MeasureStats;
}

/** p below which McNemar's test separates two runs (two-sided, at the report's confidence). */
export const ALPHA = 1 - CONFIDENCE;

/** Per test image, the fraction of all runs that misclassify it. */
export function imageDifficulty(labels: Uint8Array, runs: readonly NormRun[]): Float64Array {
  const d = new Float64Array(labels.length);
  if (!runs.length) return d;
  for (const r of runs) for (let i = 0; i < labels.length; i++) if (r.predictions[i] !== labels[i]) d[i]! += 1;
  for (let i = 0; i < d.length; i++) d[i]! /= runs.length;
  return d;
}

function correctness(labels: Uint8Array, predictions: Uint8Array): boolean[] {
  return Array.from(labels, (l, i) => predictions[i] === l);
}

/** The difficulty of each image a run misclassifies, in file order. */
function mistakeDifficulties(labels: Uint8Array, run: NormRun, difficulty: Float64Array): number[] {
  if (run.predictions.length !== labels.length) throw new Error(`${run.norm} seed ${run.seed}: ${run.predictions.length} predictions for ${labels.length} test images`);
  const hard: number[] = [];
  for (let i = 0; i < labels.length; i++) if (run.predictions[i] !== labels[i]) hard.push(difficulty[i]!);
  return hard;
}

function runStats(result: ComparisonResult, run: NormRun, hard: readonly number[]): RunStats {
  const n = result.dataset.testLabels.length;
  const correct = n - hard.length;
  const last = run.epochs.at(-1);
  const m = result.dataset.trainEvalCount;
  const trainEval = last?.trainEvalAccuracy ?? NaN;
  const trainCorrect = Math.round(trainEval * m);
  const finite = Number.isFinite(trainEval) && m > 0;
  const hardSummary = hard.length ? summarize(hard) : null;
  return {
    norm: run.norm,
    seed: run.seed,
    testAccuracy: correct / n,
    testCorrect: correct,
    wilson95: wilsonInterval(correct, n),
    trainEvalAccuracy: trainEval,
    trainEvalWilson95: finite ? wilsonInterval(trainCorrect, m) : [NaN, NaN],
    runningTrainAccuracy: last?.trainAccuracy ?? NaN,
    gap: trainEval - correct / n,
    gap95: finite ? twoProportionInterval(trainCorrect, m, correct, n) : [NaN, NaN],
    mistakes: hard.length,
    mistakeDifficulty: hardSummary ? hardSummary.mean : null,
    mistakeDifficulty95: hardSummary?.ci95 ?? null,
  };
}

function normSummaries(result: ComparisonResult, runs: RunStats[], value: (r: RunStats) => number | null): NormSummary[] {
  return result.norms.map((norm) => {
    const mine = runs.filter((r) => r.norm === norm && value(r) !== null && Number.isFinite(value(r)!));
    if (!mine.length) return { norm, seeds: [], n: 0, mean: NaN, sd: null, ci95: null };
    const s = summarize(mine.map((r) => value(r)!));
    return { norm, seeds: mine.map((r) => r.seed), n: s.n, mean: s.mean, sd: s.sd, ci95: s.ci95 };
  });
}

/** The (a, b) pairs of norms in report order, each with its runs matched by seed. */
function matchedPairs(result: ComparisonResult, runs: RunStats[], value: (r: RunStats) => number | null) {
  const out: { a: NormName; b: NormName; ra: RunStats[]; rb: RunStats[] }[] = [];
  const ok = (r: RunStats | undefined) => r !== undefined && value(r) !== null && Number.isFinite(value(r)!);
  result.norms.forEach((a, i) => {
    for (const b of result.norms.slice(i + 1)) {
      const ra: RunStats[] = [];
      const rb: RunStats[] = [];
      for (const x of runs.filter((r) => r.norm === a)) {
        const y = runs.find((r) => r.norm === b && r.seed === x.seed);
        if (ok(x) && ok(y)) {
          ra.push(x);
          rb.push(y!);
        }
      }
      out.push({ a, b, ra, rb });
    }
  });
  return out;
}

function overlapSide(ia: Interval, ib: Interval): -1 | 0 | 1 {
  if (ia[0] > ib[1]) return 1;
  if (ia[1] < ib[0]) return -1;
  return 0;
}

/** True when several seeds gave exactly the same value, so the t-interval has no width to speak of. */
export function noSpread(s: { n: number; sd: number | null }): boolean {
  return s.n >= 2 && s.sd !== null && s.sd <= 1e-12;
}

/**
 * A measure compared between norms: with two or more shared seeds, the paired t-interval of the
 * per-seed differences; with one, `single` decides (an interval from the images of the one seed).
 * When the seeds' differences are identical (accuracies are counts over images, so two seeds can
 * tie exactly), the t-interval has zero width and says nothing: then `single` must separate every
 * seed in the same direction.
 */
function separations(
  result: ComparisonResult,
  runs: RunStats[],
  value: (r: RunStats) => number | null,
  single: (a: RunStats, b: RunStats) => Pick<Separation, 'ci95' | 'side' | 'method'>,
): Separation[] {
  return matchedPairs(result, runs, value).map(({ a, b, ra, rb }) => {
    const seeds = ra.map((r) => r.seed);
    if (!seeds.length) return { a, b, seeds, meanDiff: NaN, ci95: null, side: 0, method: 'no shared seed' };
    const d = pairedDifference(
      ra.map((r) => value(r)!),
      rb.map((r) => value(r)!),
    );
    if (noSpread(d)) {
      const each = ra.map((x, i) => single(x, rb[i]!));
      const side = each.every((e) => e.side === each[0]!.side) ? each[0]!.side : 0;
      const how = each[0]!.method.replace(/^one seed: /, '').replace(/ on seed \d+ \(p = [^)]*\)/, '');
      return { a, b, seeds, meanDiff: d.mean, ci95: null, side, method: `the ${seeds.length} seeds gave the same difference, so no spread can be estimated; decided seed by seed (${how})` };
    }
    if (seeds.length >= 2) return { a, b, seeds, meanDiff: d.mean, ci95: d.ci95, side: sideOfZero(d.ci95), method: `paired t-interval over ${seeds.length} seeds` };
    return { a, b, seeds, meanDiff: d.mean, ...single(ra[0]!, rb[0]!) };
  });
}

const NON_OVERLAP = 'one seed: separated only if the two runs\' 95% intervals do not overlap';

export function comparisonStats(result: ComparisonResult): ComparisonStats {
  const labels = result.dataset.testLabels;
  const difficulty = imageDifficulty(labels, result.runs);
  const hardByKey = new Map(result.runs.map((r) => [`${r.norm}/${r.seed}`, mistakeDifficulties(labels, r, difficulty)]));
  const runs = result.runs.map((r) => runStats(result, r, hardByKey.get(`${r.norm}/${r.seed}`)!));
  const byKey = new Map(result.runs.map((r) => [`${r.norm}/${r.seed}`, r]));

  const pairs: PairSummary[] = matchedPairs(result, runs, (r) => r.testAccuracy).map(({ a, b, ra, rb }) => {
    const seeds = ra.map((r) => r.seed);
    const d = seeds.length ? pairedDifference(ra.map((r) => r.testAccuracy), rb.map((r) => r.testAccuracy)) : null;
    const mcnemar = seeds.map((seed) => {
      const pa = byKey.get(`${a}/${seed}`)!.predictions;
      const pb = byKey.get(`${b}/${seed}`)!.predictions;
      return { seed, ...mcnemarCounts(correctness(labels, pa), correctness(labels, pb)) };
    });
    return { a, b, seeds, n: seeds.length, meanDiff: d?.mean ?? NaN, sd: d?.sd ?? null, ci95: d?.ci95 ?? null, mcnemar };
  });

  const test = separations(result, runs, (r) => r.testAccuracy, (x, y) => {
    const m = pairs.find((p) => p.a === x.norm && p.b === y.norm)!.mcnemar.find((r) => r.seed === x.seed)!;
    const side = m.p < ALPHA ? (Math.sign(m.b01 - m.b10) as -1 | 1) : 0;
    return { ci95: null, side, method: `McNemar's exact test on seed ${x.seed} (${pText(m.p)})` };
  });
  const trainEval = separations(result, runs, (r) => r.trainEvalAccuracy, (x, y) => ({
    ci95: null,
    side: overlapSide(x.trainEvalWilson95, y.trainEvalWilson95),
    method: NON_OVERLAP,
  }));
  const gaps = separations(result, runs, (r) => r.gap, (x, y) => ({ ci95: null, side: overlapSide(x.gap95, y.gap95), method: NON_OVERLAP }));
  const hardOf = (r: RunStats) => hardByKey.get(`${r.norm}/${r.seed}`)!;
  const hard = separations(result, runs, (r) => r.mistakeDifficulty, (x, y) => {
    const w = welchInterval(hardOf(x), hardOf(y));
    return { ci95: w?.ci95 ?? null, side: sideOfZero(w?.ci95 ?? null), method: `one seed: Welch's interval over the two runs' misclassified images` };
  });

  return {
    confidence: CONFIDENCE,
    testCount: labels.length,
    trainEvalCount: result.dataset.trainEvalCount,
    runCount: result.runs.length,
    runs,
    norms: normSummaries(result, runs, (r) => r.testAccuracy),
    pairs,
    test,
    trainEval: { norms: normSummaries(result, runs, (r) => r.trainEvalAccuracy), pairs: trainEval },
    gaps: { norms: normSummaries(result, runs, (r) => r.gap), pairs: gaps },
    difficulty: { norms: normSummaries(result, runs, (r) => r.mistakeDifficulty), pairs: hard },
  };
}

/** "p = 0.043", or "p < 1e-16". */
export function pText(p: number): string {
  const f = formatP(p);
  return f.startsWith('<') ? `p ${f}` : `p = ${f}`;
}

/** A p-value as a reader wants it: two significant digits, or "< 1e-16" at the floor of float64 sums. */
export function formatP(p: number): string {
  if (p < 1e-16) return '< 1e-16';
  if (p < 0.001) return p.toExponential(1);
  return p.toPrecision(2).replace(/^1\.0$/, '1');
}
