// A short reading of a comparison, written from the measured numbers: every sentence is computed
// from the runs (ranking, train-test gap, curve shapes, speed) or the recipe (caveats).
import type { ComparisonResult, EpochRow, NormRun } from './types.js';
import { normTitle } from './plots.js';

/** Lead (in accuracy points) under which two single-seed runs are called indistinguishable. */
export const NOISE_POINTS = 0.3;
/** Train-test gap (points) from which a norm is said to overfit noticeably. */
export const OVERFIT_POINTS = 1.0;

const pts = (x: number) => (100 * x).toFixed(2);
const pct = (x: number) => `${pts(x)}%`;
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function normName(run: Pick<NormRun, 'norm' | 'groups'>): string {
  return normTitle(run.norm, run.groups);
}

function finalRow(run: NormRun): EpochRow | undefined {
  return run.epochs.at(-1);
}

/** The epoch with the highest test accuracy (first of ties), ignoring non-finite values. */
export function bestTestEpoch(run: NormRun): EpochRow | undefined {
  let best: EpochRow | undefined;
  for (const e of run.epochs) if (Number.isFinite(e.testAccuracy) && (!best || e.testAccuracy > best.testAccuracy)) best = e;
  return best;
}

export function mean(xs: readonly number[]): number {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

/** Mean wall-clock seconds of an epoch's training. */
export function secondsPerEpoch(run: NormRun): number {
  return mean(run.epochs.map((e) => e.seconds));
}

/** Final train accuracy minus final test accuracy (fractions); NaN without epochs. */
export function trainTestGap(run: NormRun): number {
  const f = finalRow(run);
  return f ? f.trainAccuracy - f.testAccuracy : NaN;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

function rankingSentences(runs: NormRun[]): string[] {
  const ranked = runs.filter((r) => finalRow(r) && Number.isFinite(finalRow(r)!.testAccuracy)).sort((a, b) => finalRow(b)!.testAccuracy - finalRow(a)!.testAccuracy);
  if (!ranked.length) return ['No norm recorded a finite test accuracy, so there is nothing to rank.'];
  const top = ranked[0]!;
  const topAcc = finalRow(top)!.testAccuracy;
  if (ranked.length === 1) return [`Only ${normName(top)} ran; its final test accuracy is ${pct(topAcc)}.`];
  const others = ranked.slice(1).map((r) => {
    const acc = finalRow(r)!.testAccuracy;
    return `${(100 * (topAcc - acc)).toFixed(2)} points ahead of ${normName(r)} at ${pct(acc)}`;
  });
  const out = [`${cap(normName(top))} has the best final test accuracy, ${pct(topAcc)}: ${list(others)}.`];
  const lead = 100 * (topAcc - finalRow(ranked[1]!)!.testAccuracy);
  if (lead < NOISE_POINTS) {
    out.push(
      `A lead of ${lead.toFixed(2)} points over ${normName(ranked[1]!)} is within the run-to-run noise of a single seed ` +
        `(about ${NOISE_POINTS} points), so these two are not separated by this run.`,
    );
  }
  // The ranking by each norm's best epoch, when it differs from the final one.
  const byBest = runs.filter((r) => bestTestEpoch(r)).sort((a, b) => bestTestEpoch(b)!.testAccuracy - bestTestEpoch(a)!.testAccuracy);
  const bestTop = byBest[0];
  if (bestTop && bestTop !== top) {
    const e = bestTestEpoch(bestTop)!;
    out.push(
      `Ranked by each norm's best epoch instead, ${normName(bestTop)} leads with ${pct(e.testAccuracy)} at epoch ${e.epoch} ` +
        `(${normName(top)}'s best is ${pct(bestTestEpoch(top)!.testAccuracy)}).`,
    );
  }
  const worst = ranked.at(-1)!;
  const spread = 100 * (topAcc - finalRow(worst)!.testAccuracy);
  if (ranked.length > 2) out.push(`The spread between the best and the worst norm is ${spread.toFixed(2)} points.`);
  return out;
}

function gapSentences(runs: NormRun[], augment: boolean): string[] {
  const withGap = runs.filter((r) => Number.isFinite(trainTestGap(r)));
  if (!withGap.length) return [];
  const parts = withGap.map((r) => `${normName(r)} ${(100 * trainTestGap(r)).toFixed(2)}`);
  const out = [`Train-test gap at the last epoch (train minus test accuracy, in points; the seed's overfitting reading): ${list(parts)}.`];
  const most = [...withGap].sort((a, b) => trainTestGap(b) - trainTestGap(a))[0]!;
  const g = 100 * trainTestGap(most);
  if (g >= OVERFIT_POINTS) {
    const least = [...withGap].sort((a, b) => trainTestGap(a) - trainTestGap(b))[0]!;
    out.push(
      withGap.length > 1
        ? `${cap(normName(most))} overfits most (gap ${g.toFixed(2)} points); ${normName(least)} least (${(100 * trainTestGap(least)).toFixed(2)}).`
        : `${cap(normName(most))} overfits: its gap is ${g.toFixed(2)} points.`,
    );
  } else {
    out.push(`No norm's train accuracy exceeds its test accuracy by more than ${OVERFIT_POINTS} point, so no norm overfits noticeably in this run.`);
  }
  const negative = withGap.filter((r) => trainTestGap(r) < 0);
  if (negative.length) {
    out.push(
      `${cap(list(negative.map(normName)))} ${negative.length === 1 ? 'has' : 'have'} a negative gap: test accuracy above train accuracy, ` +
        'which happens when training accuracy is averaged over an epoch while the weights were still improving' +
        (augment ? ', and because augmented training images are harder than the plain test images.' : '.'),
    );
  }
  return out;
}

function curveSentence(run: NormRun): string {
  const E = run.epochs;
  const name = cap(normName(run));
  if (!E.length) return `${name} recorded no epochs.`;
  const bad = E.find((e) => !Number.isFinite(e.trainLoss) || !Number.isFinite(e.testLoss));
  if (bad) return `${name} diverged: its loss is not finite from epoch ${bad.epoch} on, so its other numbers are not meaningful.`;
  if (E.length === 1) return `${name} ran a single epoch, so its curves are single points and show no trend.`;
  const last = E.at(-1)!;
  const first = E[0]!;
  let minI = 0;
  E.forEach((e, i) => {
    if (e.testLoss < E[minI]!.testLoss) minI = i;
  });
  const minE = E[minI]!;
  const parts: string[] = [];
  const rose = minI < E.length - 1 && last.testLoss > minE.testLoss * 1.02;
  if (rose && last.trainLoss < minE.trainLoss) {
    parts.push(
      `test loss bottomed at ${minE.testLoss.toFixed(4)} (epoch ${minE.epoch}) and rose to ${last.testLoss.toFixed(4)} by epoch ${last.epoch} ` +
        `while train loss kept falling (${minE.trainLoss.toFixed(4)} to ${last.trainLoss.toFixed(4)}): an overfitting signal`,
    );
  } else if (rose) {
    parts.push(`test loss bottomed at ${minE.testLoss.toFixed(4)} (epoch ${minE.epoch}) and ended at ${last.testLoss.toFixed(4)}, with train loss not falling either`);
  } else if (minI === E.length - 1) {
    parts.push(`test loss fell from ${first.testLoss.toFixed(4)} to ${last.testLoss.toFixed(4)} and was still at its lowest at the last epoch, so training had not yet saturated`);
  } else {
    parts.push(`test loss levelled off: lowest ${minE.testLoss.toFixed(4)} at epoch ${minE.epoch}, ${last.testLoss.toFixed(4)} at the end`);
  }
  const best = bestTestEpoch(run)!;
  if (best.epoch === last.epoch) parts.push(`its best test accuracy is at the last epoch (${pct(last.testAccuracy)})`);
  else parts.push(`its best test accuracy, ${pct(best.testAccuracy)} at epoch ${best.epoch}, is ${(100 * (best.testAccuracy - last.testAccuracy)).toFixed(2)} points above the final`);
  // Test-accuracy drops between consecutive epochs: evaluation instability.
  let drop = 0;
  let dropAt = 0;
  for (let i = 1; i < E.length; i++) {
    const d = E[i - 1]!.testAccuracy - E[i]!.testAccuracy;
    if (d > drop) {
      drop = d;
      dropAt = E[i]!.epoch;
    }
  }
  if (100 * drop >= 1) parts.push(`test accuracy fell by ${(100 * drop).toFixed(2)} points at epoch ${dropAt}, a bumpy curve`);
  return `${name}: ${parts.join('; ')}.`;
}

function speedSentences(runs: NormRun[]): string[] {
  const timed = runs.filter((r) => Number.isFinite(secondsPerEpoch(r)) && secondsPerEpoch(r) > 0);
  if (!timed.length) return [];
  const parts = timed.map((r) => `${normName(r)} ${secondsPerEpoch(r).toFixed(2)} s`);
  const out: string[] = [];
  if (timed.length === 1) out.push(`Training took ${parts[0]} per epoch on average.`);
  else {
    const sorted = [...timed].sort((a, b) => secondsPerEpoch(a) - secondsPerEpoch(b));
    const fast = sorted[0]!;
    const slow = sorted.at(-1)!;
    const ratio = secondsPerEpoch(slow) / secondsPerEpoch(fast);
    const tail =
      ratio < 1.05
        ? 'all within 5% of each other, so the norm barely changes the cost of an epoch'
        : `${normName(slow)} is the slowest, ${(100 * (ratio - 1)).toFixed(0)}% slower than ${normName(fast)}, the fastest`;
    out.push(`Mean seconds per training epoch: ${list(parts)}; ${tail}.`);
  }
  // First epoch much slower than the rest: pipeline compilation and warm-up.
  const warm = timed.filter((r) => r.epochs.length >= 3).map((r) => ({ r, k: r.epochs[0]!.seconds / mean(r.epochs.slice(1).map((e) => e.seconds)) }));
  const slowStart = warm.filter((w) => w.k >= 1.3);
  if (slowStart.length) {
    out.push(
      `The first epoch was slower than the later ones (${list(slowStart.map((w) => `${normName(w.r)} ${w.k.toFixed(1)}x`))}): ` +
        'shader compilation and warm-up, which the per-epoch means include.',
    );
  }
  return out;
}

function caveatSentences(result: ComparisonResult): string[] {
  const out: string[] = [];
  const epochs = Math.max(0, ...result.runs.map((r) => r.epochs.length));
  const subsetEntry = Object.entries(result.recipe).find(([k]) => /subset/i.test(k) && !/test/i.test(k));
  const subset = subsetEntry && typeof subsetEntry[1] === 'number' ? subsetEntry[1] : undefined;
  const short = epochs > 0 && epochs < 5;
  if (short && subset !== undefined) {
    out.push(
      `Caveat: this is a short run (${epochs} epoch${epochs === 1 ? '' : 's'} on ${subset} training images), ` +
        'so accuracies are below what the full recipe reaches and the ranking may change with full training.',
    );
  } else if (short) {
    out.push(`Caveat: only ${epochs} epoch${epochs === 1 ? '' : 's'}, so the curves are short and the ranking may change with longer training.`);
  } else if (subset !== undefined) {
    out.push(`Caveat: trained on a subset of ${subset} training images, so accuracies are below what the full training set gives.`);
  }
  const evaluated = Math.min(...result.runs.map((r) => r.predictions.length));
  if (result.runs.length && evaluated < result.dataset.testLabels.length) {
    out.push(`Only ${evaluated} of the ${result.dataset.testLabels.length} test images have predictions; the matrices and grids cover those.`);
  }
  const seed = result.recipe.seed;
  out.push(`Each norm was trained once${seed !== undefined ? ` (seed ${seed})` : ''}; differences of a few tenths of a point are within seed-to-seed variation.`);
  // The seed's scale for its own recipe (SEEDNET.md): Fashion-MNIST, 5 epochs, full data.
  const ref: Partial<Record<NormRun['norm'], number>> = { batch: 0.92, group: 0.9, layer: 0.89 };
  if (/fashion/i.test(result.dataset.name) && epochs === 5 && subset === undefined && result.recipe.augment !== true) {
    const cmp = result.runs
      .filter((r) => ref[r.norm] !== undefined && finalRow(r))
      .map((r) => `${r.norm} ${pct(finalRow(r)!.testAccuracy)} vs about ${(100 * ref[r.norm]!).toFixed(0)}%`);
    if (cmp.length) out.push(`For scale, PyTorch with the same 5-epoch recipe reaches (SEEDNET.md): ${list(cmp)}.`);
  }
  return out;
}

/**
 * A few sentences reading the comparison, each computed from the numbers: ranking by final test
 * accuracy (and by best epoch when that differs), the train-test gap and which norm overfits
 * most, the shape of each norm's curves, speed, and caveats from the recipe.
 */
export function readResults(result: ComparisonResult): string[] {
  const runs = result.runs;
  if (!runs.length) return ['No norm was trained, so there are no results to read.'];
  return [...rankingSentences(runs), ...gapSentences(runs, result.recipe.augment === true), ...runs.map(curveSentence), ...speedSentences(runs), ...caveatSentences(result)];
}
