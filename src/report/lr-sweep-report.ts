// The learning-rate sweep's report (`normlab sweep lr`): per norm, the largest learning rate at
// which it still trains, per seed and over seeds; the final training loss against the learning rate
// (log-2 axis, 95% bars over seeds, diverged runs marked); the table; and a reading computed from
// the numbers. Bjorck et al. (Understanding Batch Normalization, NeurIPS 2018) tie batch norm's
// benefit to the larger learning rates it tolerates: this is that measurement for SeedNet.
//
// A run "trains" when no gradient became NaN or infinite and its last epoch's training loss (the
// running average, in training mode) is finite and below TRAINS_BELOW x ln(classes), the loss of a
// uniform guess: its loss fell.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairedDifference, summarize } from '../stats/stats.js';
import { drawLineChart, NORM_COLORS, normTitle, type Series } from './plots.js';
import { Raster } from './raster.js';
import { mdTable, mdTableToHtml, renderHtml, renderMarkdown, type Block } from './render.js';
import type { SweepReportInput, SweepSize } from './sweep-report.js';
import type { NormName } from './types.js';
import { cap } from './verdicts.js';
import { groupsOf } from './reading.js';

export const TRAINS_BELOW = 0.9;

export interface LrRun {
  norm: NormName;
  seed: number;
  lr: number;
  trains: boolean;
  diverged: boolean;
  /** The last epoch's running training loss (NaN when it diverged). */
  finalLoss: number;
  testAccuracy: number | null;
}

/** Every run of the sweep with its verdict. */
export function lrRuns(input: SweepReportInput): LrRun[] {
  const chance = (s: SweepSize) => Math.log(s.result.dataset.classes.length);
  return input.sizes.flatMap((s) => [
    ...s.result.runs.map((r) => {
      const last = r.epochs.at(-1);
      const finalLoss = last ? last.trainLoss : NaN;
      const fell = Number.isFinite(finalLoss) && finalLoss < TRAINS_BELOW * chance(s);
      return { norm: r.norm, seed: r.seed, lr: s.lr, trains: fell, diverged: false, finalLoss, testAccuracy: s.stats.runs.find((x) => x.norm === r.norm && x.seed === r.seed)?.testAccuracy ?? null };
    }),
    ...s.result.diverged.map((d) => ({ norm: d.norm, seed: d.seed, lr: s.lr, trains: false, diverged: true, finalLoss: NaN, testAccuracy: null })),
  ]);
}

/** Per norm and seed, the largest learning rate at which the run trained (null: none did). */
export function largestTrained(runs: readonly LrRun[], norm: NormName): Map<number, number | null> {
  const out = new Map<number, number | null>();
  for (const r of runs.filter((x) => x.norm === norm)) {
    const best = out.get(r.seed) ?? null;
    if (!out.has(r.seed)) out.set(r.seed, null);
    if (r.trains && (best === null || r.lr > best)) out.set(r.seed, r.lr);
  }
  return out;
}

const fmtLr = (v: number) => String(Number(v.toPrecision(3)));
const seedsOf = (runs: readonly LrRun[]) => [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
/** Group norm's G, for the titles ("group norm (G=4)"). */
const groupsIn = (input: SweepReportInput) => groupsOf({ runs: input.sizes.flatMap((s) => s.result.runs) });

/** The reading: each norm's largest tolerated learning rate over seeds, and batch norm against the others, paired by seed. */
export function lrSweepReading(input: SweepReportInput): string[] {
  const runs = lrRuns(input);
  const name = (n: NormName) => normTitle(n, groupsIn(input));
  const lines: string[] = [];
  const lrs = [...new Set(runs.map((r) => r.lr))].sort((a, b) => a - b);
  for (const norm of input.norms) {
    const best = largestTrained(runs, norm);
    if (!best.size) continue;
    const values = [...best.values()];
    const per = [...best.entries()].map(([s, v]) => `seed ${s}: ${v === null ? 'none' : fmtLr(v)}`).join(', ');
    const everyTrained = lrs.filter((lr) => runs.filter((r) => r.norm === norm && r.lr === lr).every((r) => r.trains) && runs.some((r) => r.norm === norm && r.lr === lr));
    const allUpTo = everyTrained.length ? fmtLr(Math.max(...everyTrained)) : 'none of those tried';
    const logs = values.filter((v): v is number => v !== null).map(Math.log2);
    const summary = logs.length === values.length && logs.length >= 2 ? summarize(logs) : null;
    const spread = summary?.sd !== null && summary?.sd !== undefined && summary.sd > 0;
    const geo = !summary
      ? ''
      : spread
        ? `; geometric mean ${fmtLr(2 ** summary.mean)}, 95% CI [${fmtLr(2 ** summary.ci95![0])}, ${fmtLr(2 ** summary.ci95![1])}] (t interval on log2 lr, over seeds)`
        : '; the same for every seed (no spread between seeds, so no interval)';
    const top = lrs.at(-1)!;
    const capped = values.some((v) => v === top) ? ` (${fmtLr(top)} is the largest tried: the limit may lie above it)` : '';
    lines.push(`${cap(name(norm))}: the largest learning rate at which every seed trains is ${allUpTo}; the largest per seed: ${per}${geo}${capped}.`);
  }
  // Batch norm against each other norm: log2 of the ratio of the largest trained learning rates, paired by seed.
  if (input.norms.includes('batch')) {
    const bn = largestTrained(runs, 'batch');
    for (const other of input.norms.filter((n) => n !== 'batch')) {
      const o = largestTrained(runs, other);
      const seeds = [...bn.keys()].filter((s) => o.has(s) && bn.get(s) !== null && o.get(s) !== null);
      if (seeds.length < 2) continue;
      const d = pairedDifference(seeds.map((s) => Math.log2(bn.get(s)!)), seeds.map((s) => Math.log2(o.get(s)!)));
      const ratio = `Batch norm's largest trained learning rate over ${name(other)}'s: x${fmtLr(2 ** d.mean)}`;
      if (!d.sd) {
        lines.push(`${ratio} for each of ${seeds.length} seeds (no spread between seeds, so no interval; the grid's step bounds it).`);
        continue;
      }
      const ci = d.ci95!;
      const verdict = ci[0] > 0 ? 'larger, beyond the interval' : ci[1] < 0 ? 'smaller, beyond the interval' : 'not different beyond the interval';
      lines.push(`${ratio} (log2 difference ${d.mean.toFixed(2)}, 95% CI [${ci[0].toFixed(2)}, ${ci[1].toFixed(2)}] over ${seeds.length} seeds): ${verdict}.`);
    }
  }
  lines.push(
    `A run trains when no gradient became NaN or infinite and its last epoch's training loss is below ${TRAINS_BELOW} x ln(classes) (the loss of a uniform guess). ` +
      "A limit is known only to within the grid's step; and in a short run a norm that learns slowly per step reads as not training at a learning rate it would survive, so the limit mixes stability with speed.",
  );
  return lines;
}

function tableRows(input: SweepReportInput, runs: readonly LrRun[]): string[][] {
  return [...input.sizes].sort((a, b) => a.lr - b.lr).map((s) => [
    fmtLr(s.lr),
    ...input.norms.map((norm) => {
      const rs = runs.filter((r) => r.norm === norm && r.lr === s.lr);
      if (!rs.length) return '-';
      const trained = rs.filter((r) => r.trains).length;
      const losses = rs.filter((r) => Number.isFinite(r.finalLoss)).map((r) => r.finalLoss);
      const acc = rs.filter((r) => r.testAccuracy !== null).map((r) => r.testAccuracy!);
      const div = rs.filter((r) => r.diverged).length;
      const lossText = (v: number) => (Math.abs(v) < 1000 ? v.toFixed(3) : v.toPrecision(3));
      return `${trained}/${rs.length} train; loss ${losses.length ? lossText(summarize(losses).mean) : '-'}; test ${acc.length ? (100 * summarize(acc).mean).toFixed(1) + '%' : '-'}${div ? `; ${div} diverged` : ''}`;
    }),
  ]);
}

/**
 * Final training loss against log2(lr) per norm, 95% bars over seeds, on a scale up to 1.5 ln(classes);
 * a learning rate where a seed diverged, or whose mean loss is beyond that, is a diamond at the top.
 */
export function lrSweepPng(input: SweepReportInput): Buffer {
  const runs = lrRuns(input);
  const r = new Raster(900, 560);
  const lrs = [...new Set(runs.map((x) => x.lr))].sort((a, b) => a - b);
  const classes = input.sizes[0]?.result.dataset.classes.length ?? 10;
  const top = 1.5 * Math.log(classes);
  const series: Series[] = input.norms.flatMap((norm, i) => {
    const pts = lrs.map((lr) => {
      const mine = runs.filter((x) => x.norm === norm && x.lr === lr);
      const losses = mine.filter((x) => Number.isFinite(x.finalLoss)).map((x) => x.finalLoss);
      const s = losses.length ? summarize(losses) : null;
      const off = mine.length > 0 && (losses.length < mine.length || (s !== null && s.mean > top));
      return { lr, s: off ? null : s, off };
    });
    const dodge = (i - (input.norms.length - 1) / 2) * 5;
    const main: Series = {
      name: normTitle(norm, groupsIn(input)),
      color: NORM_COLORS[norm],
      points: pts.map((p) => [Math.log2(p.lr), p.s ? p.s.mean : NaN] as const),
      errorBars: pts.filter((p) => p.s?.ci95).map((p) => [Math.log2(p.lr), Math.max(0, p.s!.ci95![0]), Math.min(top, p.s!.ci95![1])] as const),
      dodgePx: dodge,
    };
    const off = pts.filter((p) => p.off);
    const marks: Series = { name: `${norm} off the scale`, color: NORM_COLORS[norm], points: off.map((p) => [Math.log2(p.lr), top * 0.97] as const), markersOnly: true, marker: 'diamond', noLegend: true, dodgePx: dodge };
    return off.length ? [main, marks] : [main];
  });
  drawLineChart(r, { x: 0, y: 0, w: 900, h: 560 }, {
    title: input.title,
    xLabel: "learning rate (the schedule's maximum; log-2 axis); diamonds at the top: a seed diverged or the loss is off the scale",
    yLabel: "last epoch's training loss, mean over seeds, 95% interval",
    series,
    xInteger: true,
    xTickLabel: (v) => fmtLr(2 ** v),
    yClamp: [0, top],
  });
  return r.toPng();
}

export function lrSweepCsv(input: SweepReportInput): string {
  const lines = ['lr,norm,seed,trains,diverged,final_train_loss,test_accuracy'];
  for (const x of lrRuns(input).sort((a, b) => a.lr - b.lr || a.norm.localeCompare(b.norm) || a.seed - b.seed)) {
    lines.push([x.lr, x.norm, x.seed, x.trains, x.diverged, Number.isFinite(x.finalLoss) ? x.finalLoss : '', x.testAccuracy ?? ''].join(','));
  }
  return `${lines.join('\n')}\n`;
}

function table(input: SweepReportInput): string {
  const runs = lrRuns(input);
  return mdTable(['lr', ...input.norms.map((n) => `${normTitle(n, groupsIn(input))} (${seedsOf(runs.filter((r) => r.norm === n)).length} seeds)`)], tableRows(input, runs));
}

export function lrSweepSummaryText(input: SweepReportInput): string {
  return [table(input), '', ...lrSweepReading(input).map((l) => `- ${l}`)].join('\n');
}

export function writeLrSweepReport(dir: string, input: SweepReportInput): string[] {
  mkdirSync(dir, { recursive: true });
  const runs = input.sizes.reduce((a, s) => a + s.stats.runs.length + s.result.diverged.length, 0);
  const t = table(input);
  const blocks: Block[] = [
    { kind: 'h1', text: input.title },
    { kind: 'ul', items: [...input.facts, `${runs} of ${input.expectedRuns} runs finished.`] },
    { kind: 'h2', text: 'Reading' },
    { kind: 'ul', items: lrSweepReading(input) },
    { kind: 'img', file: 'sweep.png', alt: 'final training loss against learning rate per norm' },
    { kind: 'h2', text: 'Per learning rate' },
    { kind: 'raw', md: t, html: mdTableToHtml(t) },
    { kind: 'p', text: 'Per cell: seeds that trained of those run, the mean final training loss and test accuracy of the runs that did not diverge. Per-run figures: sweep.csv.' },
  ];
  const png = lrSweepPng(input);
  const files: Record<string, string | Buffer> = { 'sweep.png': png, 'sweep.csv': lrSweepCsv(input), 'report.md': renderMarkdown(blocks) };
  files['report.html'] = renderHtml(blocks, new Map([['sweep.png', png]]), input.title);
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  return Object.keys(files).map((f) => join(dir, f));
}
