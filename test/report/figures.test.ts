import { describe, it, expect } from 'vitest';
import { PNG } from 'pngjs';
import { niceTicks } from '../../src/report/plots.js';
import { curvesPng, overlayPng, seedCurve } from '../../src/report/curves.js';
import { accuracyIntervalsPng } from '../../src/report/interval-plot.js';
import { comparisonStats, imageDifficulty } from '../../src/report/comparison-stats.js';
import { namer } from '../../src/report/verdicts.js';
import { misclassifiedPng, mistakes } from '../../src/report/grid.js';
import { confusionMatrix, confusionPng, confusionMarkdown, recalls } from '../../src/report/confusion.js';
import { syntheticResult, syntheticDataset, epochs, CIFAR_CLASSES } from './synthetic.js';
import type { NormRun } from '../../src/report/types.js';

function decode(buf: Buffer): PNG {
  expect(buf.subarray(1, 4).toString('latin1')).toBe('PNG');
  return PNG.sync.read(buf);
}

/** Number of pixels whose colour is close to c. */
function countColour(png: PNG, c: readonly number[], tol = 30): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (Math.abs(png.data[i]! - c[0]!) <= tol && Math.abs(png.data[i + 1]! - c[1]!) <= tol && Math.abs(png.data[i + 2]! - c[2]!) <= tol) n++;
  }
  return n;
}

describe('plots: nice ticks', () => {
  it('covers the data with steps of 1, 2 or 5 times a power of ten', () => {
    const t = niceTicks(0.31, 1.27);
    expect(t.lo).toBeLessThanOrEqual(0.31);
    expect(t.hi).toBeGreaterThanOrEqual(1.27);
    expect(t.step).toBeCloseTo(0.2);
    expect(t.values.map((v) => v.toFixed(t.decimals))).toEqual(['0.2', '0.4', '0.6', '0.8', '1.0', '1.2', '1.4']);
    const p = niceTicks(58.2, 91.7);
    expect(p.step).toBe(10);
    expect(p.values).toEqual([50, 60, 70, 80, 90, 100]);
    expect(p.decimals).toBe(0);
  });

  it('widens a flat range and keeps epochs integer', () => {
    const flat = niceTicks(0.5, 0.5);
    expect(flat.lo).toBeLessThan(0.5);
    expect(flat.hi).toBeGreaterThan(0.5);
    expect(niceTicks(1, 5, 6, true).values).toEqual([1, 2, 3, 4, 5]);
    expect(niceTicks(1, 1, 6, true).values).toEqual([1]);
    const long = niceTicks(1, 120, 6, true);
    expect(long.step).toBe(20);
    expect(long.values).toEqual([1, 20, 40, 60, 80, 100, 120]);
  });
});

describe('plots: curves and overlay PNGs', () => {
  const result = syntheticResult('fashion', 5);

  it('curvesPng draws four panels that decode with the expected size and the run colours', () => {
    const png = decode(curvesPng([result.runs[0]!]));
    expect([png.width, png.height]).toEqual([940, 694]);
    expect(countColour(png, [31, 119, 180], 10)).toBeGreaterThan(200); // train curves
    expect(countColour(png, [214, 39, 40], 10)).toBeGreaterThan(200); // test curves
  });

  it('overlayPng draws one colour per norm', () => {
    const png = decode(overlayPng(result.runs));
    expect(png.width).toBe(1120);
    expect(png.height).toBeGreaterThan(400);
    for (const c of [
      [31, 119, 180],
      [255, 127, 14],
      [44, 160, 44],
    ]) {
      expect(countColour(png, c, 10)).toBeGreaterThan(200);
    }
  });

  it('handles a single epoch, 150 epochs and non-finite losses', () => {
    const one: NormRun = { ...result.runs[1]!, epochs: epochs(1, { finalTest: 0.8, finalTrain: 0.82 }) };
    expect(decode(curvesPng([one])).width).toBe(940);
    // The lone point is drawn as a marker.
    expect(countColour(decode(curvesPng([one])), [214, 39, 40], 10)).toBeGreaterThan(60);
    const long: NormRun = { ...result.runs[1]!, epochs: epochs(150, { finalTest: 0.9, finalTrain: 0.97, overfit: true }) };
    expect(decode(overlayPng([long, one])).width).toBe(1120);
    const nan: NormRun = { ...one, epochs: epochs(3, { finalTest: 0.5, finalTrain: 0.5 }).map((e, i) => (i ? { ...e, trainLoss: NaN, testLoss: Infinity } : e)) };
    expect(decode(curvesPng([nan])).height).toBe(694);
  });
});

describe('seed bands, intervals and difficulty captions', () => {
  const r = syntheticResult(
    'fashion',
    4,
    { batch: [0.8, 0.84, 0.78].map((t) => ({ finalTest: t, finalTrain: t + 0.02 })), group: [0.7, 0.72, 0.71].map((t) => ({ finalTest: t, finalTrain: t })), layer: [0.69, 0.73, 0.7].map((t) => ({ finalTest: t, finalTrain: t })) },
    {},
    { seeds: [0, 1, 2], testCount: 600 },
  );
  const batch = r.runs.filter((x) => x.norm === 'batch');

  it('seedCurve: the per-epoch mean over seeds, and a min-max band only with several seeds', () => {
    const c = seedCurve(batch, 'testAccuracy');
    const last = batch.map((x) => 100 * x.epochs.at(-1)!.testAccuracy);
    expect(c.mean.at(-1)![1]).toBeCloseTo(last.reduce((a, b) => a + b) / 3, 10);
    expect(c.band.at(-1)).toEqual([4, Math.min(...last), Math.max(...last)]);
    expect(seedCurve([batch[0]!], 'testAccuracy').band).toEqual([]);
  });

  it('curvesPng shades the band between the seeds', () => {
    const three = decode(curvesPng(batch));
    const one = decode(curvesPng([batch[0]!]));
    // The test colour blended at 18% over white: (255 - 0.18 * (255 - c)).
    const tint = [214, 39, 40].map((c) => Math.round(255 - 0.18 * (255 - c)));
    expect(countColour(three, tint, 6)).toBeGreaterThan(countColour(one, tint, 6) + 500);
  });

  it('accuracyIntervalsPng draws each norm in its colour', () => {
    const png = decode(accuracyIntervalsPng(comparisonStats(r), namer(4)));
    expect(png.width).toBeGreaterThanOrEqual(560);
    for (const c of [
      [31, 119, 180],
      [255, 127, 14],
      [44, 160, 44],
    ]) expect(countColour(png, c, 10)).toBeGreaterThan(80);
  });

  it('the misclassified grid captions each image with its difficulty', () => {
    const d = { perImage: imageDifficulty(r.dataset.testLabels, r.runs), runs: r.runs.length };
    const plain = decode(misclassifiedPng(r.dataset, batch[0]!));
    const captioned = decode(misclassifiedPng(r.dataset, batch[0]!, 20, d));
    expect(captioned.height).toBeGreaterThan(plain.height);
  });
});

describe('misclassified grid', () => {
  it('lists mistakes in file order', () => {
    expect(mistakes(new Uint8Array([1, 2, 3, 4]), new Uint8Array([1, 0, 3, 0]))).toEqual([
      { index: 1, label: 2, predicted: 0 },
      { index: 3, label: 4, predicted: 0 },
    ]);
  });

  it('draws 20 enlarged 28x28 images in two rows of ten', () => {
    const r = syntheticResult('fashion', 3, { batch: { finalTest: 1 - 20 / 600, finalTrain: 1 } });
    const run = r.runs[0]!; // exactly 20 mistakes
    expect(mistakes(r.dataset.testLabels, run.predictions)).toHaveLength(20);
    const png = decode(misclassifiedPng(r.dataset, run));
    expect(png.width).toBe(10 * 115 + 32);
    expect(png.height).toBeGreaterThan(2 * 84);
    // The synthetic blobs are 230-grey: enlarged 3x they cover many pixels.
    expect(countColour(png, [230, 230, 230], 0)).toBeGreaterThan(20 * 9 * 100);
  });

  it('draws fewer than `count` mistakes, and says so when there are none', () => {
    const r = syntheticResult('fashion');
    const first7 = r.runs[0]!.predictions.slice(0, 7).map((p, i) => (i % 3 === 0 ? (r.dataset.testLabels[i]! + 1) % 10 : r.dataset.testLabels[i]!));
    const few = decode(misclassifiedPng(r.dataset, { ...r.runs[0]!, predictions: first7 }));
    // Three mistakes in the first 7 images: one row of three cells (the title sets the width).
    expect(few.width).toBeGreaterThanOrEqual(3 * 115 + 32);
    expect(few.width).toBeLessThan(10 * 115);
    expect(few.height).toBeLessThan(decode(misclassifiedPng(r.dataset, r.runs[0]!)).height - 84);
    const none = decode(misclassifiedPng(r.dataset, { ...r.runs[0]!, predictions: r.dataset.testLabels.slice() }));
    expect(none.width).toBeGreaterThanOrEqual(480);
    expect(none.height).toBeLessThan(150);
    // Five cells, or the title's width when that is wider.
    const five = decode(misclassifiedPng(r.dataset, r.runs[0]!, 5)).width;
    expect(five).toBeGreaterThanOrEqual(5 * 115 + 32);
    expect(five).toBeLessThan(6 * 115 + 32);
  });

  it('shows 3-channel 32x32 images in colour, 96x96', () => {
    const ds = syntheticDataset('cifar');
    const r = syntheticResult('cifar');
    const png = decode(misclassifiedPng(ds, r.runs[0]!));
    // Red square (10x10 source pixels), green disc, blue stripe: channel planes in CHW order.
    expect(countColour(png, [230, 30, 60], 12)).toBeGreaterThan(20 * 900 * 0.9);
    expect(countColour(png, [40, 220, 60], 12)).toBeGreaterThan(20 * 9 * 60);
    expect(countColour(png, [40, 30, 230], 12)).toBeGreaterThan(20 * 9 * 100);
  });
});

describe('confusion matrix', () => {
  it('counts (true, predicted) pairs with rows = true class', () => {
    const m = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 2],
    ]);
    expect(recalls(m)).toEqual([0.5, 1, 2 / 3]);
    expect(m.flat().reduce((a, b) => a + b)).toBe(6);
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(RangeError);
    // Only images with a prediction are counted.
    expect(confusionMatrix([0, 1, 2], [0], 3).flat().reduce((a, b) => a + b)).toBe(1);
  });

  it('renders a markdown table with class names, bold diagonal and recall', () => {
    const md = confusionMarkdown(
      [
        [5, 1],
        [2, 3],
      ],
      ['T-shirt/top', 'a|b'],
    );
    const lines = md.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('| true \\ predicted | T-shirt/top | a\\|b | recall |');
    expect(lines[2]).toBe('| **T-shirt/top** | **5** | 1 | 83.3% |');
    expect(lines[3]).toBe('| **a\\|b** | 2 | **3** | 60.0% |');
  });

  it('renders a heat map PNG whose size follows K', () => {
    const r = syntheticResult('cifar');
    const m = confusionMatrix(r.dataset.testLabels, r.runs[0]!.predictions, 10);
    const png = decode(confusionPng(m, CIFAR_CLASSES, 'batch norm: confusion matrix'));
    const small = decode(confusionPng(confusionMatrix([0, 1], [1, 1], 2), ['x', 'y']));
    expect(png.width).toBeGreaterThan(10 * 40);
    expect(png.height).toBeGreaterThan(10 * 40);
    expect(small.width).toBeLessThan(png.width);
    // The darkest cells (diagonal, most of each row) use the heat map's dark end.
    expect(countColour(png, [30, 70, 130], 30)).toBeGreaterThan(10 * 40 * 20);
  });
});
