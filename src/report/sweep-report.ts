// The batch-size sweep's report: test error against batch size per norm (log-2 axis, 95% error bars
// over seeds), the table, batch norm's three statistics per size, and a reading computed from the
// numbers: below which batch size, if any, batch norm falls behind group norm beyond the interval,
// and whether each norm's error changes between the largest and the smallest batch. Wu & He 2018
// (Fig. 1) is the figure it redraws for SeedNet.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairedDifference, type Interval } from '../stats/stats.js';
import { comparisonStats, type ComparisonStats, type Separation } from './comparison-stats.js';
import { drawLineChart, NORM_COLORS, normTitle, type Series } from './plots.js';
import { Raster } from './raster.js';
import { mdTable, mdTableToHtml, renderHtml, renderMarkdown, type Block } from './render.js';
import { ciPoints, points } from './verdicts.js';
import type { ComparisonResult, NormName } from './types.js';
import type { BnStatsAudit } from '../train/bn-stats.js';
import { lrSweepSummaryText, writeLrSweepReport } from './lr-sweep-report.js';

export interface SweepSize {
  size: number;
  lr: number;
  result: ComparisonResult;
  stats: ComparisonStats;
  /** Batch norm's statistics audit per seed, from the run records. */
  bn: (BnStatsAudit & { seed: number })[];
}

export interface SweepReportInput {
  /** batch-size: this file's report; lr: lr-sweep-report.ts's. */
  kind: 'batch-size' | 'lr';
  title: string;
  /** Facts about the sweep, one sentence each: recipe, learning-rate rule, seeds, time. */
  facts: string[];
  norms: NormName[];
  sizes: SweepSize[];
  /** Runs asked for against runs finished (a shard, or a sweep still running, has fewer). */
  expectedRuns: number;
}

export function sweepSize(size: number, lr: number, result: ComparisonResult, bn: SweepSize['bn']): SweepSize {
  return { size, lr, result, stats: comparisonStats(result), bn };
}

const pct = (v: number, d = 2) => `${(100 * v).toFixed(d)}`;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
/** An accuracy interval as an error interval, within [0, 100]% (a t interval over 2 seeds can pass either end). */
const errCi = (ci: Interval | null) => (ci ? `[${pct(clamp01(1 - ci[1]))}, ${pct(clamp01(1 - ci[0]))}]` : '-');
/** Group norm's G, for the titles ("group norm (G=4)"). */
const groupsOf = (input: SweepReportInput) => input.sizes.flatMap((s) => s.result.runs).find((x) => x.norm === 'group')?.groups;

function summary(s: SweepSize, norm: NormName) {
  return s.stats.norms.find((n) => n.norm === norm && n.n > 0);
}

function separation(s: SweepSize, a: NormName, b: NormName): Separation | undefined {
  return s.stats.test.find((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
}

/** batch minus group, signed so that -1 means batch norm behind. */
function batchVsGroup(s: SweepSize): { side: number; meanDiff: number; ci95: Interval | null; method: string } | null {
  const sep = separation(s, 'batch', 'group');
  if (!sep) return null;
  const flip = sep.a === 'batch' ? 1 : -1;
  const ci = sep.ci95 ? ((flip === 1 ? sep.ci95 : [-sep.ci95[1], -sep.ci95[0]]) as Interval) : null;
  return { side: sep.side * flip, meanDiff: sep.meanDiff * flip, ci95: ci, method: sep.method };
}

/** The reading, computed from the numbers: where batch norm falls behind group norm, and how each norm's error moves. */
export function sweepReading(input: SweepReportInput): string[] {
  const lines: string[] = [];
  const sizes = [...input.sizes].sort((a, b) => a.size - b.size);
  const compared = sizes.map((s) => ({ s, d: batchVsGroup(s) })).filter((x) => x.d);
  if (compared.length) {
    const behind = compared.filter((x) => x.d!.side < 0).map((x) => x.s.size);
    const ahead = compared.filter((x) => x.d!.side > 0).map((x) => x.s.size);
    const detail = (x: (typeof compared)[number]) => `${x.s.size}: ${points(x.d!.meanDiff)} points ${ciPoints(x.d!.ci95)}`;
    if (!behind.length) {
      lines.push(`At no batch size from ${sizes[0]!.size} to ${sizes.at(-1)!.size} does batch norm fall behind group norm beyond the 95% interval (batch minus group norm test accuracy per size, ${compared.map(detail).join('; ')}).`);
    } else {
      const below = Math.max(...behind);
      const contiguous = compared.filter((x) => x.s.size <= below).every((x) => x.d!.side < 0);
      lines.push(
        contiguous
          ? `Batch norm falls behind group norm beyond the 95% interval at batch ${below} and below (${compared.filter((x) => x.s.size <= below).map(detail).join('; ')}).`
          : `Batch norm falls behind group norm beyond the 95% interval at batch sizes ${behind.join(', ')}, not at every smaller size (${compared.map(detail).join('; ')}).`,
      );
    }
    if (ahead.length) lines.push(`Batch norm is ahead of group norm beyond the interval at batch sizes ${ahead.join(', ')}.`);
  } else {
    lines.push('Batch and group norm were not both trained at any size with matching seeds: no comparison between them.');
  }
  // Each norm from the largest to the smallest batch, paired by seed (seed s starts from the same weights at every size).
  if (sizes.length >= 2) {
    const lo = sizes[0]!;
    const hi = sizes.at(-1)!;
    for (const norm of input.norms) {
      const acc = (s: SweepSize) => new Map(s.stats.runs.filter((r) => r.norm === norm).map((r) => [r.seed, r.testAccuracy]));
      const a = acc(lo);
      const b = acc(hi);
      const seeds = [...a.keys()].filter((k) => b.has(k));
      if (seeds.length < 2) continue;
      const d = pairedDifference(seeds.map((k) => 1 - a.get(k)!), seeds.map((k) => 1 - b.get(k)!));
      const ci = d.ci95!;
      const verdict = ci[0] > 0 ? 'higher' : ci[1] < 0 ? 'lower' : 'not different beyond the interval';
      lines.push(`${normTitle(norm, groupsOf(input))}: test error at batch ${lo.size} minus at batch ${hi.size}: ${points(d.mean)} points ${ciPoints(ci)} over ${seeds.length} seeds, ${verdict}${verdict === 'higher' || verdict === 'lower' ? ' at the small batch' : ''}.`);
    }
  }
  return lines;
}

function tableRows(input: SweepReportInput): string[][] {
  return [...input.sizes]
    .sort((a, b) => a.size - b.size)
    .map((s) => [
      String(s.size),
      s.lr.toPrecision(3),
      ...input.norms.map((n) => {
        const m = summary(s, n);
        return m ? `${pct(1 - m.mean)} ${errCi(m.ci95)} (${m.n})` : '-';
      }),
    ]);
}

function bnRows(input: SweepReportInput): string[][] {
  return [...input.sizes]
    .sort((a, b) => a.size - b.size)
    .filter((s) => s.bn.length)
    .map((s) => {
      const avg = (k: 'running' | 'precise' | 'batch') => s.bn.reduce((a, r) => a + r[k], 0) / s.bn.length;
      return [String(s.size), pct(avg('running')), pct(avg('precise')), pct(avg('batch')), String(s.bn.length), String(s.bn[0]!.preciseImages)];
    });
}

/** Test error (%) against log2(batch size), one series per norm, mean over seeds with 95% bars. */
export function sweepPng(input: SweepReportInput): Buffer {
  const r = new Raster(900, 560);
  const sizes = [...input.sizes].sort((a, b) => a.size - b.size);
  const series: Series[] = input.norms.map((norm, i) => {
    const pts = sizes.map((s) => [Math.log2(s.size), summary(s, norm)] as const).filter(([, m]) => m);
    return {
      name: normTitle(norm, groupsOf(input)),
      color: NORM_COLORS[norm],
      points: pts.map(([x, m]) => [x, 100 * (1 - m!.mean)] as const),
      errorBars: pts.filter(([, m]) => m!.ci95).map(([x, m]) => [x, 100 * clamp01(1 - m!.ci95![1]), 100 * clamp01(1 - m!.ci95![0])] as const),
      dodgePx: (i - (input.norms.length - 1) / 2) * 5,
    };
  });
  drawLineChart(r, { x: 0, y: 0, w: 900, h: 560 }, {
    title: input.title,
    xLabel: 'images per batch (log-2 axis; learning rate scaled with it unless said otherwise)',
    yLabel: 'test error (%), mean over seeds, 95% interval',
    series,
    xInteger: true,
    xTickLabel: (v) => String(2 ** v),
    ySuffix: '%',
    yClamp: [0, 100],
  });
  return r.toPng();
}

export function sweepCsv(input: SweepReportInput): string {
  const lines = ['batch_size,lr,norm,seed,test_accuracy,bn_running,bn_precise,bn_batch'];
  for (const s of [...input.sizes].sort((a, b) => a.size - b.size)) {
    for (const run of s.stats.runs) {
      const bn = run.norm === 'batch' ? s.bn.find((b) => b.seed === run.seed) : undefined;
      lines.push([s.size, s.lr, run.norm, run.seed, run.testAccuracy, bn?.running ?? '', bn?.precise ?? '', bn?.batch ?? ''].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

function errorTable(input: SweepReportInput): string {
  return mdTable(['batch', 'lr', ...input.norms.map((n) => `${normTitle(n, groupsOf(input))}: test error % [95% CI] (seeds)`)], tableRows(input));
}

/** The table and the reading, for the terminal. */
export function sweepSummaryText(input: SweepReportInput): string {
  if (input.kind === 'lr') return lrSweepSummaryText(input);
  return [errorTable(input), '', ...sweepReading(input).map((l) => `- ${l}`)].join('\n');
}

export function writeSweepReport(dir: string, input: SweepReportInput): string[] {
  if (input.kind === 'lr') return writeLrSweepReport(dir, input);
  mkdirSync(dir, { recursive: true });
  const runs = input.sizes.reduce((a, s) => a + s.stats.runs.length, 0);
  const table = errorTable(input);
  const bn = bnRows(input);
  const blocks: Block[] = [
    { kind: 'h1', text: input.title },
    { kind: 'ul', items: [...input.facts, `${runs} of ${input.expectedRuns} runs finished.`] },
    { kind: 'h2', text: 'Reading' },
    { kind: 'ul', items: sweepReading(input) },
    { kind: 'img', file: 'sweep.png', alt: 'test error against batch size per norm' },
    { kind: 'h2', text: 'Test error by batch size' },
    { kind: 'raw', md: table, html: mdTableToHtml(table) },
    { kind: 'p', text: 'Intervals: Student t over seeds (none with one seed). Per-run figures: sweep.csv.' },
  ];
  if (bn.length) {
    const t = mdTable(['batch', 'running %', 'precise %', 'batch statistics %', 'seeds', 'precise: training images'], bn);
    blocks.push(
      { kind: 'h2', text: "Batch norm's test accuracy under its three statistics" },
      { kind: 'p', text: 'running: the running averages (eval mode); precise: population statistics recomputed over training images with the weights frozen; batch statistics: each test batch (of the training batch size) normalised with its own. Means over seeds.' },
      { kind: 'raw', md: t, html: mdTableToHtml(t) },
    );
  }
  const files: Record<string, string | Buffer> = {
    'sweep.png': sweepPng(input),
    'sweep.csv': sweepCsv(input),
    'report.md': renderMarkdown(blocks),
  };
  files['report.html'] = renderHtml(blocks, new Map([['sweep.png', files['sweep.png'] as Buffer]]), input.title);
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data);
  return Object.keys(files).map((f) => join(dir, f));
}
