// The first misclassified test images of a run, in test-file order, enlarged so they can be read,
// each captioned with its index, its true class and the predicted class.
import { Raster, fitText, measureText, LINE_HEIGHT, type Rgb } from './raster.js';
import type { NormRun, ReportDataset } from './types.js';
import { normTitle } from './plots.js';

const TEXT: Rgb = [25, 25, 25];
const MUTED: Rgb = [110, 110, 110];
const TRUE_COLOR: Rgb = [0, 120, 40];
const PRED_COLOR: Rgb = [200, 30, 30];
const FRAME: Rgb = [170, 170, 170];

export interface Mistake {
  /** Index of the image in the test file. */
  index: number;
  label: number;
  predicted: number;
}

export function className(classes: readonly string[], k: number): string {
  return classes[k] ?? `class ${k}`;
}

/** Every misclassified test image, in file order (over the images that have a prediction). */
export function mistakes(labels: Uint8Array, predictions: Uint8Array): Mistake[] {
  const n = Math.min(labels.length, predictions.length);
  const out: Mistake[] = [];
  for (let i = 0; i < n; i++) if (labels[i] !== predictions[i]) out.push({ index: i, label: labels[i]!, predicted: predictions[i]! });
  return out;
}

/** Integer enlargement that brings an image's longer side to about 90 pixels (28 → 84, 32 → 96). */
export function enlargement(height: number, width: number): number {
  return Math.max(1, Math.round(90 / Math.max(height, width)));
}

/** Each test image's difficulty (the fraction of `runs` runs that misclassify it), for the captions. */
export interface Difficulty {
  perImage: Float64Array;
  runs: number;
}

/**
 * A grid of the first `count` misclassified test images (file order), at most 10 per row, each
 * enlarged and captioned "#index", "true: X", "pred: Y" (class names cut to fit the cell) and,
 * when given, the image's difficulty. With no mistakes the PNG says so.
 */
export function misclassifiedPng(dataset: ReportDataset, run: NormRun, count = 20, difficulty?: Difficulty): Buffer {
  const all = mistakes(dataset.testLabels, run.predictions);
  const shown = all.slice(0, Math.max(0, count));
  const evaluated = Math.min(dataset.testLabels.length, run.predictions.length);
  const { channels: C, height: H, width: W } = dataset;
  const scale = enlargement(H, W);
  const imgW = W * scale;
  const imgH = H * scale;
  const cellW = Math.max(imgW, measureText('pred: T-shirt/top').width) + 14;
  const captionLines = difficulty ? 4 : 3;
  const cellH = imgH + 6 + captionLines * LINE_HEIGHT + 10;
  const cols = Math.max(1, Math.min(10, shown.length));
  const rows = Math.ceil(shown.length / cols);
  const margin = 16;

  const rate = evaluated ? ((100 * all.length) / evaluated).toFixed(2) : '0.00';
  const which = shown.length === all.length ? `all ${shown.length}` : `first ${shown.length}`;
  const who = `${normTitle(run.norm, run.groups)}, seed ${run.seed}`;
  const title = shown.length ? `${who}: ${which} misclassified test image${shown.length === 1 ? '' : 's'}` : `${who}: no misclassified test images`;
  const sub = `${dataset.name}: ${all.length} of ${evaluated} test images wrong (${rate}%)` + (shown.length ? `; test-file order, enlarged ${scale}x` : '');
  const legend =
    'green: true class   red: predicted class' + (difficulty ? `   difficulty: fraction of all ${difficulty.runs} runs (every norm and seed) that miss the image` : '');
  const headH = margin + 2 * LINE_HEIGHT + 4 + 2 * LINE_HEIGHT + 8;
  const why = evaluated ? `every one of the ${evaluated} test images is classified correctly` : 'no test predictions were recorded';
  const width = Math.max(
    shown.length ? cols * cellW + 2 * margin : measureText(why).width + 2 * margin,
    measureText(title, 2).width + 2 * margin + 2,
    measureText(sub).width + 2 * margin,
    measureText(legend).width + 2 * margin,
    480,
  );
  const height = headH + (shown.length ? rows * cellH : 2 * LINE_HEIGHT + 20) + margin;
  const r = new Raster(width, height);
  r.text(title, width / 2, margin, TEXT, { scale: 2, align: 'center', bold: true });
  r.text(sub, width / 2, margin + 2 * LINE_HEIGHT + 4, MUTED, { align: 'center' });
  if (!shown.length) {
    r.text(why, width / 2, headH + 10, TEXT, { align: 'center' });
    return r.toPng();
  }
  r.text(legend, width / 2, margin + 3 * LINE_HEIGHT + 4, MUTED, { align: 'center' });

  const left = Math.floor((width - cols * cellW) / 2);
  shown.forEach((m, i) => {
    const cx = left + (i % cols) * cellW;
    const cy = headH + Math.floor(i / cols) * cellH;
    const ix = cx + Math.floor((cellW - imgW) / 2);
    const iy = cy + 2;
    r.strokeRect(ix - 1, iy - 1, imgW + 2, imgH + 2, FRAME);
    r.blitImage({ data: dataset.testImages, offset: m.index * C * H * W, channels: C, height: H, width: W }, ix, iy, scale);
    const tx = cx + 7;
    const maxW = cellW - 10;
    let ty = iy + imgH + 5;
    r.text(fitText(`#${m.index}`, maxW), tx, ty, MUTED);
    ty += LINE_HEIGHT;
    r.text(fitText(`true: ${className(dataset.classes, m.label)}`, maxW), tx, ty, TRUE_COLOR);
    ty += LINE_HEIGHT;
    r.text(fitText(`pred: ${className(dataset.classes, m.predicted)}`, maxW), tx, ty, PRED_COLOR);
    if (difficulty) r.text(fitText(`difficulty ${difficulty.perImage[m.index]!.toFixed(2)}`, maxW), tx, ty + LINE_HEIGHT, MUTED);
  });
  return r.toPng();
}
