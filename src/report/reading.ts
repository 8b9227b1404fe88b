// A short reading of a comparison, written from the measured numbers: every verdict comes from the
// statistics (comparison-stats.ts: intervals over seeds, McNemar's test with one seed), the curves'
// shapes from the per-epoch means over seeds, and caveats from the recipe. No fixed thresholds.
import type { ComparisonResult, EpochRow, NormName, NormRun } from './types.js';
import { normTitle } from './plots.js';
import { comparisonStats, noSpread, type ComparisonStats, type NormSummary, type RunStats } from './comparison-stats.js';
import { andList, cap, ciPoints, namer, percent, points, resolutionSentence, testVerdicts, type Namer } from './verdicts.js';
import { sideOfZero, type Interval } from '../stats/stats.js';

export function normName(run: Pick<NormRun, 'norm' | 'groups'>): string {
  return normTitle(run.norm, run.groups);
}

/** The epoch with the highest test accuracy (first of ties), ignoring non-finite values. */
export function bestTestEpoch(run: Pick<NormRun, 'epochs'>): EpochRow | undefined {
  let best: EpochRow | undefined;
  for (const e of run.epochs) if (Number.isFinite(e.testAccuracy) && (!best || e.testAccuracy > best.testAccuracy)) best = e;
  return best;
}

export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

/** Mean wall-clock seconds of an epoch's training. */
export function secondsPerEpoch(run: Pick<NormRun, 'epochs'>): number {
  return mean(run.epochs.map((e) => e.seconds));
}

/** The runs of one norm, seeds ascending. */
export function runsOf(result: Pick<ComparisonResult, 'runs'>, norm: NormName): NormRun[] {
  return result.runs.filter((r) => r.norm === norm).sort((a, b) => a.seed - b.seed);
}

const EPOCH_FIELDS = ['trainLoss', 'trainAccuracy', 'trainEvalLoss', 'trainEvalAccuracy', 'testLoss', 'testAccuracy', 'seconds', 'imagesPerSec', 'lr'] as const;

/** Per epoch, each field averaged over the runs that reached that epoch (a non-finite value stays non-finite). */
export function meanEpochs(runs: readonly NormRun[]): EpochRow[] {
  const n = Math.max(0, ...runs.map((r) => r.epochs.length));
  return Array.from({ length: n }, (_, i) => {
    const rows = runs.map((r) => r.epochs[i]).filter((e): e is EpochRow => e !== undefined);
    const row = { epoch: i + 1 } as EpochRow;
    for (const f of EPOCH_FIELDS) row[f] = rows.reduce((a, e) => a + e[f], 0) / rows.length;
    return row;
  });
}

function curveSentence(name: string, E: EpochRow[], seeds: number): string {
  const who = seeds > 1 ? `${cap(name)} (mean of ${seeds} seeds)` : cap(name);
  if (!E.length) return `${who} recorded no epochs.`;
  const bad = E.find((e) => !Number.isFinite(e.trainLoss) || !Number.isFinite(e.testLoss));
  if (bad) return `${who} diverged: its loss is not finite from epoch ${bad.epoch} on, so its other numbers are not meaningful.`;
  if (E.length === 1) return `${who} ran a single epoch, so its curves are single points and show no trend.`;
  const last = E.at(-1)!;
  let minI = 0;
  E.forEach((e, i) => {
    if (e.testLoss < E[minI]!.testLoss) minI = i;
  });
  const minE = E[minI]!;
  // "Rose" means the last epoch's test loss is above the lowest one, on the mean curve.
  if (minI < E.length - 1) {
    const trainFell = last.trainEvalLoss < minE.trainEvalLoss;
    return (
      `${who}: test loss was lowest at epoch ${minE.epoch} (${minE.testLoss.toFixed(4)}) and ended at ${last.testLoss.toFixed(4)}` +
      (trainFell ? `, while the evaluation-mode train loss kept falling (${minE.trainEvalLoss.toFixed(4)} to ${last.trainEvalLoss.toFixed(4)}): the shape of overfitting.` : '.')
    );
  }
  return `${who}: test loss fell from ${E[0]!.testLoss.toFixed(4)} to ${last.testLoss.toFixed(4)} and was still at its lowest at the last epoch, so training had not saturated.`;
}

/** A norm's final measure with its interval: over seeds (t) when there are several, else the one run's. */
function withInterval(s: NormSummary, single: Interval | undefined): string {
  const ci = s.n >= 2 ? s.ci95 : single ?? null;
  const how = noSpread(s) ? `the same for all ${s.n} seeds, so no spread to estimate` : s.n >= 2 ? `over ${s.n} seeds` : 'one seed, from its images';
  return `${points(s.mean)} points, 95% CI ${ciPoints(ci)} (${how})`;
}

function gapSentences(stats: ComparisonStats, name: Namer): string[] {
  const rows = stats.gaps.norms.filter((s) => s.n > 0);
  if (!rows.length) return [];
  // The run a one-seed norm rests on: the one its summary counted (a finite gap).
  const runsOf = (s: NormSummary) => stats.runs.filter((r) => r.norm === s.norm && s.seeds.includes(r.seed));
  const single = (norm: NormName) => runsOf(rows.find((s) => s.norm === norm)!)[0]?.gap95;
  const parts = rows.map((s) => `${name(s.norm)} ${withInterval(s, single(s.norm))}`);
  const out = [
    `Train-test gap at the last epoch (train accuracy in evaluation mode on ${stats.trainEvalCount.toLocaleString('en-US')} fixed training images, minus test accuracy): ${andList(parts)}.`,
  ];
  // Over seeds by the t-interval; with one seed, or seeds that all gave the same gap, every run's own interval must agree.
  const side = (s: NormSummary) => {
    if (s.n >= 2 && !noSpread(s)) return sideOfZero(s.ci95);
    const sides = runsOf(s).map((r) => sideOfZero(r.gap95));
    return sides.every((x) => x === sides[0]) ? sides[0]! : 0;
  };
  const over = rows.filter((s) => side(s) > 0).map((s) => name(s.norm));
  const under = rows.filter((s) => side(s) < 0).map((s) => name(s.norm));
  const none = rows.filter((s) => side(s) === 0).map((s) => name(s.norm));
  if (over.length) out.push(`${cap(andList(over))} ${over.length === 1 ? 'fits' : 'fit'} the training images better than the test images beyond the interval: overfitting at this budget.`);
  if (none.length) out.push(`${cap(andList(none))}: the gap is not separated from zero, so no overfitting is shown.`);
  if (under.length) out.push(`${cap(andList(under))}: test accuracy is above train accuracy beyond the interval.`);
  const sepd = stats.gaps.pairs.filter((p) => p.side !== 0);
  for (const p of sepd) {
    const [hi, lo] = p.side > 0 ? [p.a, p.b] : [p.b, p.a];
    out.push(`${cap(name(hi))}'s gap is larger than ${name(lo)}'s by ${points(Math.abs(p.meanDiff))} points (${p.method}${p.ci95 ? `, 95% CI ${ciPoints(p.side > 0 ? p.ci95 : [-p.ci95[1], -p.ci95[0]])}` : ''}).`);
  }
  // The seed's figure, for contrast: the running training-mode average taken while the weights moved.
  const diffs = stats.runs.filter((r) => Number.isFinite(r.runningTrainAccuracy) && Number.isFinite(r.trainEvalAccuracy));
  if (diffs.length) {
    const by = (norm: NormName) => mean(diffs.filter((r) => r.norm === norm).map((r) => r.trainEvalAccuracy - r.runningTrainAccuracy));
    const norms = [...new Set(diffs.map((r) => r.norm))];
    out.push(
      `The running training-mode average (the seed's "train accuracy") minus the evaluation-mode figure is ` +
        `${andList(norms.map((n) => `${by(n) > 0 ? '-' : '+'}${points(Math.abs(by(n)))} points for ${name(n)}`))} (mean over seeds), ` +
        'so gaps computed from it are not like-for-like with the test figures.',
    );
  }
  return out;
}

function speedSentence(result: ComparisonResult, name: Namer): string | null {
  const per = result.norms
    .map((norm) => ({ norm, s: runsOf(result, norm).map(secondsPerEpoch).filter((x) => Number.isFinite(x) && x > 0) }))
    .filter((x) => x.s.length);
  if (!per.length) return null;
  const range = (s: number[]) => (s.length > 1 ? ` (${Math.min(...s).toFixed(2)}-${Math.max(...s).toFixed(2)} over ${s.length} seeds)` : '');
  return (
    `Mean seconds per training epoch: ${andList(per.map((p) => `${name(p.norm)} ${mean(p.s).toFixed(2)} s${range(p.s)}`))}. ` +
    'Software adapters change speed from minute to minute, so compare speeds with the bench (interleaved rounds), not from these.'
  );
}

function caveatSentences(result: ComparisonResult): string[] {
  const out: string[] = [];
  if (result.diverged.length) {
    const name = namer(groupsOf(result));
    const list = result.diverged.map((d) => `${name(d.norm)} seed ${d.seed} (epoch ${d.epoch}, step ${d.step})`);
    out.push(
      `${result.diverged.length} run${result.diverged.length === 1 ? '' : 's'} diverged (a gradient became NaN or infinite) and ${result.diverged.length === 1 ? 'is' : 'are'} left out of every statistic: ${andList(list)}. ` +
        'A norm that diverges where others do not is less stable at this learning rate; the intervals describe only the runs that trained.',
    );
  }
  const epochs = Math.max(0, ...result.runs.map((r) => r.epochs.length));
  const subset = typeof result.recipe.subset === 'number' ? result.recipe.subset : undefined;
  if (epochs > 0 && epochs < 5) {
    out.push(
      `Caveat: ${epochs} epoch${epochs === 1 ? '' : 's'}${subset !== undefined ? ` on ${subset} training images` : ''} is a short budget: ` +
        'the verdicts hold for this budget, and the ranking may change with longer training.',
    );
  } else if (subset !== undefined) {
    out.push(`Caveat: trained on a subset of ${subset} training images; the verdicts hold for that budget.`);
  }
  if (typeof result.recipe.testSubset === 'number') {
    out.push(`Test figures are on the first ${result.recipe.testSubset} test images, not all of them; the intervals account for that sample, the seed-to-seed intervals for the seeds.`);
  }
  if (/cifar/i.test(result.dataset.name)) out.push('The seed experiment also used CIFAR-10, so its figures below are on the same dataset, though not the same recipe.');
  else out.push(`The seed experiment's figures are on CIFAR-10; this comparison is on ${result.dataset.name}, so only the direction of its claims carries over.`);
  return out;
}

export interface Reading {
  verdicts: string[];
  resolution: string | null;
  gaps: string[];
  curves: string[];
  other: string[];
}

/** The reading, in parts the report places under their headings. */
export function readComparison(result: ComparisonResult, stats: ComparisonStats = comparisonStats(result)): Reading {
  const name = namer(groupsOf(result));
  if (!result.runs.length) {
    return { verdicts: ['No norm was trained, so there are no results to read.'], resolution: null, gaps: [], curves: [], other: result.diverged.length ? caveatSentences(result).slice(0, 1) : [] };
  }
  const top = [...stats.norms].filter((s) => s.n).sort((a, b) => b.mean - a.mean);
  const lead = top.length
    ? [`Mean final test accuracy: ${andList(top.map((s) => `${name(s.norm)} ${percent(s.mean)}${noSpread(s) ? ` (the same on all ${s.n} seeds)` : s.n >= 2 ? ` (95% CI ${ciPoints(s.ci95)}, ${s.n} seeds)` : ` (Wilson 95% CI ${ciPoints(single(stats.runs, s.norm))}, one seed)`}`))}.`]
    : [];
  return {
    verdicts: [...lead, ...testVerdicts(stats, name)],
    resolution: resolutionSentence(stats),
    gaps: gapSentences(stats, name),
    curves: result.norms.map((n) => curveSentence(name(n), meanEpochs(runsOf(result, n)), runsOf(result, n).length)),
    other: [speedSentence(result, name), ...caveatSentences(result)].filter((s): s is string => s !== null),
  };
}

function single(runs: RunStats[], norm: NormName): Interval | null {
  return runs.find((r) => r.norm === norm && Number.isFinite(r.testAccuracy))?.wilson95 ?? null;
}

/** GroupNorm's G in this comparison (4 when group norm did not run). */
export function groupsOf(result: Pick<ComparisonResult, 'runs'>): number {
  return result.runs.find((r) => r.norm === 'group')?.groups ?? 4;
}

/** Every sentence of the reading, in order (metrics.json's `reading`). */
export function readResults(result: ComparisonResult, stats?: ComparisonStats): string[] {
  const r = readComparison(result, stats);
  return [...r.verdicts, ...(r.resolution ? [r.resolution] : []), ...r.gaps, ...r.curves, ...r.other];
}
