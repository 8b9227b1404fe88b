// Line charts on a 2D canvas for the training page: axes with the report's "nice" ticks, a title,
// a legend above the plot, lines with optional markers. Redrawn whole on every update (a few
// hundred points at most).
import { formatTick, niceTicks } from '../report/ticks.js';

export interface CanvasSeries {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
  markers?: boolean;
}

export interface CanvasChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: CanvasSeries[];
  /** Fixed y range (e.g. 0-100 %); default: from the data. */
  yRange?: [number, number];
  /** The x axis spans at least this (e.g. the epochs planned), so the curve grows across it. */
  xMax?: number;
  ySuffix?: string;
}

export function drawChart(canvas: HTMLCanvasElement, spec: CanvasChart): void {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || 420;
  const cssH = canvas.clientHeight || 260;
  if (canvas.width !== Math.round(cssW * dpr)) canvas.width = Math.round(cssW * dpr);
  if (canvas.height !== Math.round(cssH * dpr)) canvas.height = Math.round(cssH * dpr);
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cssW, cssH);
  g.font = '12px system-ui, sans-serif';

  const all = spec.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xt = niceTicks(0, Math.max(spec.xMax ?? 1, ...xs, 1), 6, true);
  const yt = spec.yRange ? niceTicks(spec.yRange[0], spec.yRange[1], 5) : niceTicks(Math.min(...ys, 0), Math.max(...ys, 0.1), 5);

  // Legend row under the title, then the plot box.
  const box = { x: 56, y: 46, w: cssW - 72, h: cssH - 46 - 40 };
  g.fillStyle = '#222';
  g.textAlign = 'center';
  g.font = 'bold 13px system-ui, sans-serif';
  g.fillText(spec.title, cssW / 2, 16);
  g.font = '12px system-ui, sans-serif';
  let lx = box.x;
  g.textAlign = 'left';
  for (const s of spec.series) {
    line(g, s, [
      [lx, 32],
      [lx + 22, 32],
    ]);
    g.fillStyle = '#333';
    g.fillText(s.name, lx + 27, 36);
    lx += 27 + g.measureText(s.name).width + 16;
  }

  const px = (x: number): number => box.x + ((x - xt.lo) / (xt.hi - xt.lo)) * box.w;
  const py = (y: number): number => box.y + box.h - ((y - yt.lo) / (yt.hi - yt.lo)) * box.h;
  g.strokeStyle = '#e4e4e4';
  g.lineWidth = 1;
  g.fillStyle = '#555';
  g.textAlign = 'right';
  for (const v of yt.values) {
    g.beginPath();
    g.moveTo(box.x, py(v));
    g.lineTo(box.x + box.w, py(v));
    g.stroke();
    g.fillText(`${formatTick(v, yt.decimals)}${spec.ySuffix ?? ''}`, box.x - 6, py(v) + 4);
  }
  g.textAlign = 'center';
  for (const v of xt.values) g.fillText(formatTick(v, 0), px(v), box.y + box.h + 16);
  g.strokeStyle = '#444';
  g.strokeRect(box.x, box.y, box.w, box.h);
  g.fillStyle = '#333';
  g.fillText(spec.xLabel, box.x + box.w / 2, cssH - 6);
  g.save();
  g.translate(14, box.y + box.h / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(spec.yLabel, 0, 0);
  g.restore();

  g.save();
  g.beginPath();
  g.rect(box.x, box.y, box.w, box.h);
  g.clip();
  for (const s of spec.series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y)).map(([x, y]) => [px(x), py(y)] as [number, number]);
    line(g, s, pts);
    if (s.markers) {
      g.fillStyle = s.color;
      for (const [x, y] of pts) {
        g.beginPath();
        g.arc(x, y, 3.5, 0, 2 * Math.PI);
        g.fill();
      }
    }
  }
  g.restore();
}

function line(g: CanvasRenderingContext2D, s: CanvasSeries, pts: [number, number][]): void {
  if (pts.length < 2) return;
  g.strokeStyle = s.color;
  g.lineWidth = 2;
  g.setLineDash(s.dashed ? [6, 4] : []);
  g.beginPath();
  pts.forEach(([x, y], i) => (i === 0 ? g.moveTo(x, y) : g.lineTo(x, y)));
  g.stroke();
  g.setLineDash([]);
}
