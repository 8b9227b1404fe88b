// The report's curves over epochs. With several seeds each curve is the per-epoch mean over them,
// with a band from the lowest to the highest seed, so the spread the statistics speak of is visible.
// curvesPng draws one norm as 2x2 panels (train and test, accuracy and loss), as the seed's figures
// do; overlayPng puts every norm on one accuracy panel and one loss panel.
import { Raster, LINE_HEIGHT } from './raster.js';
import type { EpochRow, NormRun } from './types.js';
import { CHART_COLORS, NORM_COLORS, drawLegend, drawLineChart, legendHeight, normTitle, type LegendEntry, type Series } from './plots.js';
import { meanEpochs } from './reading.js';

type Metric = 'trainAccuracy' | 'trainEvalAccuracy' | 'testAccuracy' | 'trainLoss' | 'trainEvalLoss' | 'testLoss';

const isAccuracy = (m: Metric) => m.endsWith('Accuracy');

export interface SeedCurve {
  /** (epoch, mean over seeds), accuracies in percent. */
  mean: [number, number][];
  /** (epoch, min, max) over seeds; empty with one seed. */
  band: [number, number, number][];
}

/** A metric's per-epoch mean over the runs (the seeds of one norm), and its min-max band. */
export function seedCurve(runs: readonly NormRun[], m: Metric): SeedCurve {
  const scale = isAccuracy(m) ? 100 : 1;
  // A non-finite value in one seed makes that epoch's mean non-finite, so the line breaks there.
  const mean = meanEpochs(runs).map((e): [number, number] => [e.epoch, scale * e[m]]);
  const band: [number, number, number][] = [];
  if (runs.length > 1) {
    mean.forEach(([epoch]) => {
      const v = runs.map((r) => r.epochs[epoch - 1]).filter((e): e is EpochRow => e !== undefined).map((e) => scale * e[m]);
      if (v.every(Number.isFinite)) band.push([epoch, Math.min(...v), Math.max(...v)]);
    });
  }
  return { mean, band };
}

/** Index of the best point of a curve (highest accuracy or lowest loss), -1 when none is finite. */
export function bestPoint(points: readonly [number, number][], higher: boolean): number {
  let best = -1;
  points.forEach(([, v], i) => {
    if (!Number.isFinite(v)) return;
    if (best < 0 || (higher ? v > points[best]![1] : v < points[best]![1])) best = i;
  });
  return best;
}

const PANEL_W = 470;
const PANEL_H = 330;

function seedsWord(runs: readonly NormRun[]): string {
  return runs.length > 1 ? `mean of ${runs.length} seeds, band min-max` : `seed ${runs[0]?.seed ?? 0}`;
}

/**
 * One norm's curves (all its seeds) as 2x2 panels: train accuracy (evaluation mode, and the running
 * training-mode average dashed), test accuracy, train loss, test loss. The best epoch of each solid
 * curve is marked and named in that panel's legend.
 */
export function curvesPng(runs: readonly NormRun[], title?: string): Buffer {
  if (!runs.length) throw new Error('curvesPng: no runs');
  const headH = 34;
  const r = new Raster(2 * PANEL_W, headH + 2 * PANEL_H);
  const first = runs[0]!;
  r.text(title ?? `${normTitle(first.norm, first.groups)} per epoch (${seedsWord(runs)})`, r.width / 2, 10, CHART_COLORS.text, {
    scale: 2,
    align: 'center',
    bold: true,
  });
  const panels: { m: Metric; running?: Metric; title: string; color: typeof CHART_COLORS.train }[] = [
    { m: 'trainEvalAccuracy', running: 'trainAccuracy', title: 'Train accuracy', color: CHART_COLORS.train },
    { m: 'testAccuracy', title: 'Test accuracy', color: CHART_COLORS.test },
    { m: 'trainEvalLoss', running: 'trainLoss', title: 'Train loss', color: CHART_COLORS.train },
    { m: 'testLoss', title: 'Test loss', color: CHART_COLORS.test },
  ];
  panels.forEach((p, i) => {
    const accuracy = isAccuracy(p.m);
    const curve = seedCurve(runs, p.m);
    const what = accuracy ? 'accuracy' : 'loss';
    const series: Series[] = [{ name: p.running ? `train ${what}, evaluation mode` : `test ${what}`, color: p.color, points: curve.mean, band: curve.band }];
    if (p.running) series.push({ name: `running average in training mode`, color: p.color, points: seedCurve(runs, p.running).mean, dashed: true });
    const b = bestPoint(curve.mean, accuracy);
    if (b >= 0 && curve.mean.length > 1) {
      const [epoch, v] = curve.mean[b]!;
      series.push({
        name: `${accuracy ? 'best' : 'lowest'}: ${accuracy ? `${v.toFixed(2)}%` : v.toFixed(4)} (epoch ${epoch})`,
        color: CHART_COLORS.best,
        points: [[epoch, v]],
        markersOnly: true,
        marker: 'diamond',
      });
    }
    drawLineChart(r, { x: (i % 2) * PANEL_W, y: headH + Math.floor(i / 2) * PANEL_H, w: PANEL_W, h: PANEL_H }, {
      title: p.title,
      xLabel: 'epoch',
      yLabel: accuracy ? 'accuracy (%)' : 'loss (mean NLL)',
      series,
      ySuffix: accuracy ? '%' : '',
      yClamp: accuracy ? [0, 100] : undefined,
    });
  });
  return r.toPng();
}

/** Runs grouped by norm, in order of first appearance. */
function byNorm(runs: readonly NormRun[]): NormRun[][] {
  const groups = new Map<string, NormRun[]>();
  for (const run of runs) groups.set(`${run.norm}/${run.groups}`, [...(groups.get(`${run.norm}/${run.groups}`) ?? []), run]);
  return [...groups.values()];
}

/**
 * Every norm on two panels, accuracy and loss: test solid with its band over seeds, train in
 * evaluation mode dashed, one colour per norm, with one shared legend under the title.
 */
export function overlayPng(runs: readonly NormRun[], title = 'Batch vs Group vs Layer norm'): Buffer {
  const w = 560;
  const h = 400;
  const norms = byNorm(runs);
  const several = norms.some((g) => g.length > 1);
  const entries: LegendEntry[] = [
    ...norms.map((g) => ({ label: normTitle(g[0]!.norm, g[0]!.groups), color: NORM_COLORS[g[0]!.norm] })),
    { label: 'train, evaluation mode (dashed)', color: CHART_COLORS.muted, dashed: true },
    { label: several ? 'test (solid; band: min-max over seeds)' : 'test (solid)', color: CHART_COLORS.muted },
  ];
  const legendH = legendHeight(entries, 2 * w - 40);
  const headH = 10 + 2 * LINE_HEIGHT + 6 + legendH + 4;
  const r = new Raster(2 * w, headH + h);
  r.text(title, r.width / 2, 10, CHART_COLORS.text, { scale: 2, align: 'center', bold: true });
  drawLegend(r, entries, 20, 10 + 2 * LINE_HEIGHT + 6, 2 * w - 40);
  const panel = (i: number, accuracy: boolean) => {
    const series: Series[] = [];
    for (const g of norms) {
      const color = NORM_COLORS[g[0]!.norm];
      const test = seedCurve(g, accuracy ? 'testAccuracy' : 'testLoss');
      series.push({ name: `${g[0]!.norm} train`, color, dashed: true, points: seedCurve(g, accuracy ? 'trainEvalAccuracy' : 'trainEvalLoss').mean });
      series.push({ name: `${g[0]!.norm} test`, color, points: test.mean, band: test.band });
    }
    drawLineChart(r, { x: i * w, y: headH - 8, w, h }, {
      title: accuracy ? 'Accuracy' : 'Loss',
      xLabel: 'epoch',
      yLabel: accuracy ? 'accuracy (%)' : 'loss (mean NLL)',
      series,
      legend: [],
      ySuffix: accuracy ? '%' : '',
      yClamp: accuracy ? [0, 100] : undefined,
    });
  };
  panel(0, true);
  panel(1, false);
  return r.toPng();
}
