// Confusion matrices: counts (rows = true class, columns = predicted class), a heat-map PNG whose
// cell colour is the cell's share of its row, and a markdown table.
import { Raster, measureText, measureTextBold, fitText, LINE_HEIGHT, type Rgb } from './raster.js';
import { className } from './grid.js';

const TEXT: Rgb = [25, 25, 25];
const MUTED: Rgb = [110, 110, 110];
const ZERO: Rgb = [175, 175, 175];
const LOW: Rgb = [247, 251, 255];
const HIGH: Rgb = [8, 48, 107];

/**
 * counts[t][p] = number of test images of true class t predicted as p, over the first
 * min(labels, predictions) images. Throws on a class index outside [0, K).
 */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, K: number): number[][] {
  const m = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  const n = Math.min(labels.length, predictions.length);
  for (let i = 0; i < n; i++) {
    const t = labels[i]!;
    const p = predictions[i]!;
    if (!(t >= 0 && t < K && p >= 0 && p < K)) throw new RangeError(`confusionMatrix: image ${i} has label ${t}, prediction ${p}; classes are 0..${K - 1}`);
    m[t]![p]!++;
  }
  return m;
}

/** Per true class: correct / total (NaN for a class with no images). */
export function recalls(m: readonly (readonly number[])[]): number[] {
  return m.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[t]! / total : NaN;
  });
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [Math.round(a[0] + (b[0] - a[0]) * t), Math.round(a[1] + (b[1] - a[1]) * t), Math.round(a[2] + (b[2] - a[2]) * t)];
}

/** Colour of a cell holding `share` of its row: square root so that small error shares show. */
function heat(share: number): Rgb {
  return mix(LOW, HIGH, Math.sqrt(Math.max(0, Math.min(1, share))));
}

function pctText(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '-';
}

/**
 * Heat map of a confusion matrix: one cell per (true, predicted) pair with its count, coloured by
 * its share of the true class's images; class names on both axes (predicted ones rotated), and a
 * last column with each class's recall.
 */
export function confusionPng(m: readonly (readonly number[])[], classes: readonly string[], title = 'Confusion matrix'): Buffer {
  const K = m.length;
  const names = Array.from({ length: K }, (_, k) => className(classes, k));
  const maxCount = Math.max(0, ...m.flat());
  const cell = Math.max(40, measureText(String(maxCount)).width + 12);
  const rowLabelW = Math.max(...names.map((s) => measureText(s).width), measureText('recall').width);
  const colLabelH = rowLabelW;
  const margin = 16;
  const axisTitle = LINE_HEIGHT + 6;
  const gridLeft = margin + axisTitle + rowLabelW + 8;
  const titleH = margin + 2 * LINE_HEIGHT + 4 + LINE_HEIGHT + 10;
  const gridTop = titleH;
  const recallW = Math.max(cell, measureText('100.0%').width + 12);
  const gridW = K * cell;
  const barH = 10;
  const width = Math.max(gridLeft + gridW + 6 + recallW + margin, measureTextBold(title, 2).width + 2 * margin);
  const height = gridTop + K * cell + 6 + colLabelH + 6 + LINE_HEIGHT + 14 + barH + LINE_HEIGHT + margin;
  const r = new Raster(width, height);

  r.text(fitText(title, width - 2 * margin, 2), width / 2, margin, TEXT, { scale: 2, align: 'center', bold: true });
  r.text('rows: true class, columns: predicted class; colour: share of the row', width / 2, margin + 2 * LINE_HEIGHT + 4, MUTED, { align: 'center' });

  const rec = recalls(m);
  for (let t = 0; t < K; t++) {
    const total = m[t]!.reduce((a, b) => a + b, 0);
    const y = gridTop + t * cell;
    r.text(names[t]!, gridLeft - 8, y + cell / 2, TEXT, { align: 'right', baseline: 'middle' });
    for (let p = 0; p < K; p++) {
      const x = gridLeft + p * cell;
      const v = m[t]![p]!;
      const share = total ? v / total : 0;
      const bg = heat(share);
      r.fillRect(x, y, cell, cell, bg);
      const dark = Math.sqrt(share) > 0.55;
      r.text(String(v), x + cell / 2 + 1, y + cell / 2, v === 0 ? ZERO : dark ? [255, 255, 255] : TEXT, { align: 'center', baseline: 'middle' });
    }
    r.text(pctText(rec[t]!), gridLeft + gridW + 6 + recallW / 2, y + cell / 2, TEXT, { align: 'center', baseline: 'middle' });
  }
  // Cell borders, then the grid frame.
  for (let k = 1; k < K; k++) {
    r.line(gridLeft + k * cell, gridTop, gridLeft + k * cell, gridTop + K * cell - 1, [255, 255, 255]);
    r.line(gridLeft, gridTop + k * cell, gridLeft + gridW - 1, gridTop + k * cell, [255, 255, 255]);
  }
  r.strokeRect(gridLeft - 1, gridTop - 1, gridW + 2, K * cell + 2, MUTED);

  // Column labels, rotated to read upwards, right-aligned against the grid's bottom edge.
  const below = gridTop + K * cell + 6;
  for (let p = 0; p < K; p++) {
    r.text(names[p]!, gridLeft + p * cell + cell / 2, below, TEXT, { rotate: 'up', align: 'right', baseline: 'middle' });
  }
  r.text('recall', gridLeft + gridW + 6 + recallW / 2, below, TEXT, { rotate: 'up', align: 'right', baseline: 'middle' });

  // Axis titles.
  r.text('predicted class', gridLeft + gridW / 2, below + colLabelH + 6, TEXT, { align: 'center', bold: true });
  r.text('true class', margin, gridTop + (K * cell) / 2, TEXT, { rotate: 'up', align: 'center', bold: true });

  // Colour scale.
  const barY = below + colLabelH + 6 + LINE_HEIGHT + 10;
  const barW = Math.min(240, gridW);
  const barX = gridLeft + Math.floor((gridW - barW) / 2);
  for (let i = 0; i < barW; i++) r.fillRect(barX + i, barY, 1, barH, heat(i / (barW - 1)));
  r.strokeRect(barX - 1, barY - 1, barW + 2, barH + 2, MUTED);
  r.text('0%', barX - 6, barY + barH / 2, MUTED, { align: 'right', baseline: 'middle' });
  r.text('100% of the row', barX + barW + 6, barY + barH / 2, MUTED, { baseline: 'middle' });
  return r.toPng();
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

/** The matrix as a markdown table, diagonal in bold, with each class's recall. */
export function confusionMarkdown(m: readonly (readonly number[])[], classes: readonly string[]): string {
  const K = m.length;
  const names = Array.from({ length: K }, (_, k) => mdCell(className(classes, k)));
  const rec = recalls(m);
  const lines = [
    `| true \\ predicted | ${names.join(' | ')} | recall |`,
    `|---|${names.map(() => '---:').join('|')}|---:|`,
    ...m.map((row, t) => `| **${names[t]}** | ${row.map((v, p) => (p === t ? `**${v}**` : String(v))).join(' | ')} | ${pctText(rec[t]!)} |`),
  ];
  return lines.join('\n');
}
