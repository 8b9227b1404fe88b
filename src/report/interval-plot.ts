// Final test accuracy per norm as points with 95% error bars: each seed's run as a small open
// circle, the mean over seeds as a diamond with its t-interval (the Wilson interval of the one run
// when there is a single seed). Overlapping bars are what "not separated" looks like.
import { Raster, LINE_HEIGHT, measureText } from './raster.js';
import { CHART_COLORS, NORM_COLORS } from './plots.js';
import { niceTicks, formatTick } from './ticks.js';
import type { ComparisonStats } from './comparison-stats.js';
import type { Namer } from './verdicts.js';
import type { Interval } from '../stats/stats.js';

interface Column {
  label: string;
  color: readonly [number, number, number];
  seeds: number[];
  values: number[];
  mean: number;
  ci: Interval | null;
  how: string;
}

function columns(stats: ComparisonStats, name: Namer): Column[] {
  return stats.norms
    .filter((s) => s.n > 0)
    .map((s) => {
      const runs = stats.runs.filter((r) => r.norm === s.norm);
      const ci = s.n >= 2 ? s.ci95 : (runs[0]?.wilson95 ?? null);
      return {
        label: name(s.norm),
        color: NORM_COLORS[s.norm],
        seeds: runs.map((r) => r.seed),
        values: runs.map((r) => r.testAccuracy),
        mean: s.mean,
        ci,
        how: s.n >= 2 ? `${s.n} seeds, t-interval` : 'one seed, Wilson interval',
      };
    });
}

export function accuracyIntervalsPng(stats: ComparisonStats, name: Namer, title = 'Final test accuracy per norm, with 95% intervals'): Buffer {
  const cols = columns(stats, name);
  const colW = 230;
  const width = Math.max(560, 110 + cols.length * colW);
  const height = 430;
  const r = new Raster(width, height);
  const { text, muted, axis, grid } = CHART_COLORS;
  r.text(title, width / 2, 10, text, { scale: 2, align: 'center', bold: true });
  r.text('open circles: one run each; diamond: mean over seeds; bar: its 95% interval', width / 2, 10 + 2 * LINE_HEIGHT + 4, muted, { align: 'center' });
  const ys = cols.flatMap((c) => [...c.values, ...(c.ci ?? [])]).map((v) => 100 * v).filter(Number.isFinite);
  const t = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 100, 6);
  const lo = Math.max(0, t.lo);
  const hi = Math.min(100, t.hi);
  const left = 80;
  const right = width - 20;
  const top = 10 + 4 * LINE_HEIGHT + 6;
  const bottom = height - 3 * LINE_HEIGHT - 16;
  const Y = (v: number) => bottom - 8 - ((100 * v - lo) / (hi - lo || 1)) * (bottom - top - 16);
  for (const v of t.values.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9)) {
    const y = Math.round(Y(v / 100));
    r.line(left + 1, y, right - 1, y, grid);
    r.line(left - 4, y, left, y, axis);
    r.text(`${formatTick(v, t.decimals)}%`, left - 7, y, text, { align: 'right', baseline: 'middle' });
  }
  r.strokeRect(left, top, right - left + 1, bottom - top + 1, axis);
  r.text('test accuracy (%)', 12, (top + bottom) / 2, text, { rotate: 'up', align: 'center' });
  if (!cols.length) {
    r.text('no runs to plot', (left + right) / 2, (top + bottom) / 2, muted, { align: 'center', baseline: 'middle' });
    return r.toPng();
  }
  const slot = (right - left) / cols.length;
  cols.forEach((c, i) => {
    const cx = Math.round(left + slot * (i + 0.5));
    // Seeds spread across a narrow strip left of the bar, so equal values stay visible.
    c.values.forEach((v, k) => {
      const dx = c.values.length > 1 ? -34 + (k * 24) / (c.values.length - 1) : -22;
      r.circle(cx + dx, Y(v), 4, c.color, false);
    });
    if (c.ci) {
      const [y0, y1] = [Y(c.ci[1]), Y(c.ci[0])];
      r.line(cx, y0, cx, y1, c.color, 2);
      r.line(cx - 8, y0, cx + 8, y0, c.color, 2);
      r.line(cx - 8, y1, cx + 8, y1, c.color, 2);
    }
    r.marker(cx, Y(c.mean), c.color, 'diamond', 11);
    const label = `${(100 * c.mean).toFixed(2)}%` + (c.ci ? ` [${(100 * c.ci[0]).toFixed(2)}, ${(100 * c.ci[1]).toFixed(2)}]` : '');
    // Above the bar (or the diamond without one), centred, kept inside the frame.
    const ly = Math.max(top + 4, (c.ci ? Y(c.ci[1]) : Y(c.mean)) - 8 - LINE_HEIGHT);
    const lw = measureText(label).width;
    r.text(label, Math.max(left + 4, Math.min(cx - lw / 2, right - lw - 4)), ly, text);
    r.text(c.label, cx, bottom + 8, text, { align: 'center', bold: true });
    r.text(c.how, cx, bottom + 8 + LINE_HEIGHT + 2, muted, { align: 'center' });
  });
  return r.toPng();
}
