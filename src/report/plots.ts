// Line charts for the report: axes with "nice" ticks, tick labels, axis labels, a title, gridlines,
// shaded bands (the spread over seeds) and a legend that sits above the plot area (so it never
// covers the data). curves.ts draws the report's curves with them.
import { Raster, measureText, fitText, LINE_HEIGHT, type Rgb } from './raster.js';
import type { NormRun } from './types.js';
import { niceTicks, formatTick } from './ticks.js';

export { niceTicks, type Ticks } from './ticks.js';

export const NORM_COLORS: Record<NormRun['norm'], Rgb> = {
  batch: [31, 119, 180],
  group: [255, 127, 14],
  layer: [44, 160, 44],
  instance: [148, 103, 189],
  none: [127, 127, 127],
};
const TRAIN_COLOR: Rgb = [31, 119, 180];
const TEST_COLOR: Rgb = [214, 39, 40];
const BEST_COLOR: Rgb = [20, 20, 20];
const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [228, 228, 228];
const TEXT: Rgb = [25, 25, 25];
const MUTED: Rgb = [110, 110, 110];
const DASH: readonly [number, number] = [7, 5];

export type MarkerShape = 'circle' | 'square' | 'diamond';

export interface Series {
  name: string;
  color: Rgb;
  /** (x, y) points in data units; a non-finite y breaks the line. */
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Marker drawn at every point; 'auto' (default) draws them when there are few points. */
  marker?: MarkerShape | 'auto' | 'none';
  /** Line width in pixels (default 2). */
  width?: number;
  /** Draw only markers, no connecting line. */
  markersOnly?: boolean;
  /** Leave out of the legend. */
  noLegend?: boolean;
  /** A shaded band (x, low, high) drawn under the line: the spread over seeds. */
  band?: readonly (readonly [number, number, number])[];
  /** Vertical error bars (x, low, high) with caps: 95% intervals. */
  errorBars?: readonly (readonly [number, number, number])[];
  /** Shifts this series' points and bars sideways by this many pixels, so bars at one x do not hide each other. */
  dodgePx?: number;
}

export interface LegendEntry {
  label: string;
  color: Rgb;
  dashed?: boolean;
  marker?: MarkerShape;
  /** No line sample, only the marker. */
  markerOnly?: boolean;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Legend entries; default: one per series. An empty array draws no legend row. */
  legend?: readonly LegendEntry[];
  /** Ticks on the x axis at integers only (epochs). Default true. */
  xInteger?: boolean;
  /** Appended to y tick labels, e.g. '%'. */
  ySuffix?: string;
  /** Clamp the y axis to these bounds when the nice range would exceed them (e.g. 0-100 %). */
  yClamp?: readonly [number, number];
  /** x tick labels (default: the value), e.g. 2^v for a log-2 axis. */
  xTickLabel?: (v: number) => string;
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function legendSample(r: Raster, x: number, yMid: number, e: LegendEntry): void {
  if (!e.markerOnly) r.line(x, yMid, x + 24, yMid, e.color, 2, e.dashed ? [5, 3] : undefined);
  if (e.marker || e.markerOnly) r.marker(x + 12, yMid, e.color, e.marker ?? 'circle', 7);
}

/** Lays legend entries out in rows that fit `maxWidth`; returns the rows of (entry, x offset). */
function layoutLegend(entries: readonly LegendEntry[], maxWidth: number): { entry: LegendEntry; dx: number }[][] {
  const rows: { entry: LegendEntry; dx: number }[][] = [];
  let row: { entry: LegendEntry; dx: number }[] = [];
  let x = 0;
  for (const e of entries) {
    const w = 30 + measureText(e.label).width + 16;
    if (row.length && x + w - 16 > maxWidth) {
      rows.push(row);
      row = [];
      x = 0;
    }
    row.push({ entry: e, dx: x });
    x += w;
  }
  if (row.length) rows.push(row);
  return rows;
}

function rowWidth(row: { entry: LegendEntry; dx: number }[]): number {
  const last = row.at(-1)!;
  return last.dx + 30 + measureText(last.entry.label).width;
}

/** Draws a legend centred in [x, x + w) starting at y; returns its height. */
export function drawLegend(r: Raster, entries: readonly LegendEntry[], x: number, y: number, w: number): number {
  const rows = layoutLegend(entries, w);
  rows.forEach((row, i) => {
    const left = x + Math.max(0, Math.floor((w - rowWidth(row)) / 2));
    const yMid = y + i * 16 + 7;
    for (const { entry, dx } of row) {
      legendSample(r, left + dx, yMid, entry);
      r.text(entry.label, left + dx + 30, yMid, TEXT, { baseline: 'middle' });
    }
  });
  return rows.length * 16;
}

export function legendHeight(entries: readonly LegendEntry[], w: number): number {
  return entries.length ? layoutLegend(entries, w).length * 16 : 0;
}

/** Draws a complete line chart (title, legend, axes, ticks, gridlines, series) inside `box`. */
export function drawLineChart(r: Raster, box: Box, spec: ChartSpec): void {
  const bandPoints = spec.series.flatMap((s) => [...(s.band ?? []), ...(s.errorBars ?? [])].flatMap(([x, lo, hi]) => [[x, lo] as const, [x, hi] as const]));
  const finite = [...spec.series.flatMap((s) => s.points), ...bandPoints].filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const xInteger = spec.xInteger ?? true;
  const xt = niceTicks(xs.length ? Math.min(...xs) : 1, xs.length ? Math.max(...xs) : 1, 6, xInteger);
  let yt = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 6);
  if (spec.yClamp && ys.length) {
    const [cl, ch] = spec.yClamp;
    if (yt.lo < cl || yt.hi > ch) {
      const lo = Math.max(yt.lo, cl);
      const hi = Math.min(yt.hi, ch);
      yt = { ...yt, lo, hi, values: yt.values.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9) };
    }
  }
  const suffix = spec.ySuffix ?? '';
  const yLabels = yt.values.map((v) => formatTick(v, yt.decimals) + suffix);
  const yLabelW = Math.max(...yLabels.map((s) => measureText(s).width), 0);

  // Vertical layout: title, legend, plot, tick labels, x label.
  const pad = 8;
  let top = box.y + pad;
  r.text(fitText(spec.title, box.w - 2 * pad, 2), box.x + box.w / 2, top, TEXT, { scale: 2, align: 'center' });
  top += 2 * LINE_HEIGHT + 4;
  const legend: readonly LegendEntry[] =
    spec.legend ??
    spec.series
      .filter((s) => !s.noLegend)
      .map((s) => ({
        label: s.name,
        color: s.color,
        dashed: s.dashed,
        markerOnly: s.markersOnly,
        marker: s.marker && s.marker !== 'auto' && s.marker !== 'none' ? s.marker : undefined,
      }));
  const plotLeft = box.x + pad + LINE_HEIGHT + 6 + yLabelW + 6;
  const plotRight = box.x + box.w - pad - 10;
  if (legend.length) top += drawLegend(r, legend, plotLeft, top, plotRight - plotLeft) + 6;
  const plotTop = top + 4;
  const plotBottom = box.y + box.h - pad - LINE_HEIGHT - 4 - LINE_HEIGHT - 6;
  const pw = plotRight - plotLeft;
  const ph = plotBottom - plotTop;
  if (pw < 20 || ph < 20) throw new Error(`drawLineChart: box ${box.w}x${box.h} too small`);

  // Data inset from the frame so markers and lines at the extremes stay clear of the axes.
  const inset = 8;
  const X0 = (v: number) => plotLeft + inset + ((v - xt.lo) / (xt.hi - xt.lo)) * (pw - 2 * inset);
  let X = X0;
  const Y = (v: number) => plotBottom - inset - ((v - yt.lo) / (yt.hi - yt.lo)) * (ph - 2 * inset);

  // Gridlines and ticks.
  yt.values.forEach((v, i) => {
    const y = Math.round(Y(v));
    r.line(plotLeft + 1, y, plotRight - 1, y, GRID);
    r.line(plotLeft - 4, y, plotLeft, y, AXIS);
    r.text(yLabels[i]!, plotLeft - 7, y, TEXT, { align: 'right', baseline: 'middle' });
  });
  for (const v of xt.values) {
    const x = Math.round(X(v));
    r.line(x, plotTop + 1, x, plotBottom - 1, GRID);
    r.line(x, plotBottom, x, plotBottom + 4, AXIS);
    r.text(spec.xTickLabel ? spec.xTickLabel(v) : formatTick(v, xt.decimals), x + 1, plotBottom + 7, TEXT, { align: 'center' });
  }
  r.strokeRect(plotLeft, plotTop, pw + 1, ph + 1, AXIS);

  // Axis labels.
  r.text(spec.xLabel, (plotLeft + plotRight) / 2, plotBottom + 7 + LINE_HEIGHT + 3, TEXT, { align: 'center' });
  r.text(spec.yLabel, box.x + pad, (plotTop + plotBottom) / 2, TEXT, { rotate: 'up', align: 'center' });

  if (!finite.length) {
    r.text('no finite values to plot', (plotLeft + plotRight) / 2, (plotTop + plotBottom) / 2, MUTED, { align: 'center', baseline: 'middle' });
    return;
  }

  // Bands under everything, then lines, then markers on top.
  for (const s of spec.series) if (s.band) fillBand(r, s.band, s.color, X, Y, plotTop, plotBottom);
  for (const s of spec.series) {
    X = (v: number) => X0(v) + (s.dodgePx ?? 0);
    for (const [x, lo, hi] of s.errorBars ?? []) {
      if (![x, lo, hi].every(Number.isFinite)) continue;
      const px = Math.round(X(x));
      r.line(px, Y(lo), px, Y(hi), s.color, 2);
      r.line(px - 4, Y(lo), px + 4, Y(lo), s.color, 2);
      r.line(px - 4, Y(hi), px + 4, Y(hi), s.color, 2);
    }
    if (s.markersOnly) continue;
    let run: [number, number][] = [];
    const flush = () => {
      if (run.length > 1) r.polyline(run, s.color, s.width ?? 2, s.dashed ? DASH : undefined);
      run = [];
    };
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) run.push([X(x), Y(y)]);
      else flush();
    }
    flush();
  }
  for (const s of spec.series) {
    X = (v: number) => X0(v) + (s.dodgePx ?? 0);
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    let shape: MarkerShape | undefined;
    if (s.marker === undefined || s.marker === 'auto') shape = pts.length <= 30 || s.markersOnly ? 'circle' : undefined;
    else if (s.marker !== 'none') shape = s.marker;
    // A lone point (one epoch, or isolated between non-finite values) always gets a marker.
    const isolated = (i: number) => {
      const ok = (j: number) => j >= 0 && j < s.points.length && Number.isFinite(s.points[j]![1]);
      return ok(i) && !ok(i - 1) && !ok(i + 1);
    };
    s.points.forEach(([x, y], i) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      const sh = shape ?? (isolated(i) ? 'circle' : undefined);
      if (sh) r.marker(X(x), Y(y), s.color, sh, s.markersOnly ? 9 : pts.length > 15 ? 5 : 7);
    });
  }
}

/** Shades between a band's low and high edges, linearly interpolated per pixel column. */
function fillBand(
  r: Raster,
  band: readonly (readonly [number, number, number])[],
  color: Rgb,
  X: (v: number) => number,
  Y: (v: number) => number,
  top: number,
  bottom: number,
): void {
  const pts = band.filter(([x, lo, hi]) => [x, lo, hi].every(Number.isFinite)).map(([x, lo, hi]) => [X(x), Y(hi), Y(lo)] as const);
  const span = (px: number, y0: number, y1: number) => {
    for (let y = Math.max(top + 1, Math.round(y0)); y <= Math.min(bottom - 1, Math.round(y1)); y++) r.blendPixel(px, y, color, 0.18);
  };
  if (pts.length === 1) {
    const [x, y0, y1] = pts[0]!;
    for (let dx = -2; dx <= 2; dx++) span(Math.round(x) + dx, y0, y1);
    return;
  }
  for (let i = 1; i < pts.length; i++) {
    const [xa, ta, ba] = pts[i - 1]!;
    const [xb, tb, bb] = pts[i]!;
    const first = Math.round(xa);
    const last = Math.round(xb) - (i < pts.length - 1 ? 1 : 0);
    for (let px = first; px <= last; px++) {
      const t = xb === xa ? 0 : (px - xa) / (xb - xa);
      span(px, ta + t * (tb - ta), ba + t * (bb - ba));
    }
  }
}

export function normTitle(norm: NormRun['norm'], groups?: number): string {
  if (norm === 'group') return `group norm (G=${groups ?? '?'})`;
  if (norm === 'none') return 'no norm';
  return `${norm} norm`;
}

/** Colours the charts share with curves.ts: train and test series, the best-epoch marker, muted text. */
export const CHART_COLORS = { train: TRAIN_COLOR, test: TEST_COLOR, best: BEST_COLOR, text: TEXT, muted: MUTED, axis: AXIS, grid: GRID } as const;
