// Synthetic comparison results for the report tests: norms and seeds with chosen final accuracies, a
// test set of 1-channel 28x28 (Fashion-MNIST-like) or 3-channel 32x32 (CIFAR-10-like) images, and
// predictions whose accuracy is exactly the one asked for. Every run ranks the images by one shared
// "hardness" plus noise of its own, so better runs miss the harder images, as real ones do.
import type { ComparisonResult, EpochRow, NormName, NormRun, ReportDataset } from '../../src/report/types.js';

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Deterministic pseudo-random numbers in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function syntheticDataset(kind: 'fashion' | 'cifar', count = 600): ReportDataset {
  const [C, H, W] = kind === 'fashion' ? [1, 28, 28] : [3, 32, 32];
  const images = new Uint8Array(count * C * H * W);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 10;
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          // A blob whose position depends on the class; for RGB a red top-left square, green
          // centre and blue bottom stripe so channel order shows in the grid.
          let v = (x - 4 - (n % 10) * 2) ** 2 + (y - 14) ** 2 < 40 ? 230 : 20;
          if (C === 3) v = c === 0 ? (x < 10 && y < 10 ? 230 : 40) : c === 1 ? ((x - 16) ** 2 + (y - 16) ** 2 < 25 ? 220 : 30) : y > 26 ? 230 : 60;
          images[n * C * H * W + c * H * W + y * W + x] = v;
        }
      }
    }
  }
  return {
    name: kind === 'fashion' ? 'Fashion-MNIST' : 'CIFAR-10',
    source: kind === 'fashion' ? '/data/fashion-mnist' : '/data/cifar-10-batches-bin',
    classes: kind === 'fashion' ? FASHION_CLASSES : CIFAR_CLASSES,
    channels: C,
    height: H,
    width: W,
    trainCount: 1000,
    trainEvalCount: 1000,
    testImages: images,
    testLabels: labels,
  };
}

export interface CurveShape {
  /** Final test accuracy (the predictions get exactly round(finalTest * N) right). */
  finalTest: number;
  /** Final train accuracy in evaluation mode. */
  finalTrain: number;
  /** Final running training-mode average (default finalTrain - 0.01). */
  running?: number;
  seconds?: number;
  /** Test loss rises over the last epochs while train loss falls. */
  overfit?: boolean;
}

export function epochs(n: number, shape: CurveShape): EpochRow[] {
  return Array.from({ length: n }, (_, i) => {
    const t = n === 1 ? 1 : i / (n - 1);
    const testLoss = shape.overfit ? 0.5 - 0.3 * Math.min(t, 0.5) + (t > 0.5 ? 0.4 * (t - 0.5) : 0) : 0.9 - 0.5 * t;
    return {
      epoch: i + 1,
      trainLoss: 1.05 - 0.7 * t,
      trainAccuracy: (shape.running ?? shape.finalTrain - 0.01) - 0.2 * (1 - t),
      trainEvalLoss: 1.0 - 0.7 * t,
      trainEvalAccuracy: shape.finalTrain - 0.2 * (1 - t),
      testLoss,
      testAccuracy: shape.finalTest - 0.15 * (1 - t),
      seconds: shape.seconds ?? 10,
      imagesPerSec: 6000,
      lr: 0.05 * (1 - t) + 1e-5,
    };
  });
}

/** Each image's shared hardness in [0, 1). */
function hardness(count: number): Float64Array {
  const r = lcg(12345);
  return Float64Array.from({ length: count }, () => r());
}

/**
 * Predictions right on exactly round(accuracy * N) images: those with the lowest hardness plus
 * this run's noise (scaled by `noise`); a wrong prediction names the next class.
 */
export function predictionsWithAccuracy(ds: ReportDataset, accuracy: number, runSeed: number, noise = 0.3): Uint8Array {
  const n = ds.testLabels.length;
  const h = hardness(n);
  const r = lcg(runSeed * 7919 + 17);
  const order = Array.from({ length: n }, (_, i) => ({ i, score: h[i]! + noise * r() })).sort((a, b) => a.score - b.score);
  const right = Math.round(accuracy * n);
  const out = new Uint8Array(n);
  order.forEach(({ i }, rank) => (out[i] = rank < right ? ds.testLabels[i]! : (ds.testLabels[i]! + 1) % 10));
  return out;
}

const DEFAULTS: Record<NormName, CurveShape> = {
  batch: { finalTest: 0.91, finalTrain: 0.95, seconds: 10 },
  group: { finalTest: 0.89, finalTrain: 0.9, seconds: 13 },
  layer: { finalTest: 0.88, finalTrain: 0.885, seconds: 12 },
  instance: { finalTest: 0.87, finalTrain: 0.88, seconds: 12 },
  none: { finalTest: 0.84, finalTrain: 0.86, seconds: 8 },
};

export interface SyntheticOptions {
  seeds?: number[];
  testCount?: number;
  norms?: NormName[];
}

/**
 * A comparison of `norms` (default all three) for `seeds` (default [0]). A shape per norm, or one
 * per seed (an array in seed order); the final test accuracy in the epochs is the predictions' own.
 */
export function syntheticResult(
  kind: 'fashion' | 'cifar' = 'fashion',
  nEpochs = 3,
  shapes: Partial<Record<NormName, CurveShape | CurveShape[]>> = {},
  recipe: ComparisonResult['recipe'] = {},
  options: SyntheticOptions = {},
): ComparisonResult {
  const dataset = syntheticDataset(kind, options.testCount);
  const seeds = options.seeds ?? [0];
  const norms = options.norms ?? (['batch', 'group', 'layer'] as NormName[]);
  const runs: NormRun[] = norms.flatMap((norm, k) =>
    seeds.map((seed, j) => {
      const given = shapes[norm] ?? DEFAULTS[norm];
      const shape = Array.isArray(given) ? given[j]! : given;
      const predictions = predictionsWithAccuracy(dataset, shape.finalTest, 1000 * k + seed + 1);
      const exact = predictions.filter((p, i) => p === dataset.testLabels[i]).length / predictions.length;
      const rows = epochs(nEpochs, { ...shape, finalTest: exact });
      rows[rows.length - 1]!.testAccuracy = exact;
      return { norm, groups: norm === 'layer' ? 1 : 4, seed, params: dataset.channels === 3 ? 39668 : 39380, epochs: rows, predictions, checkpoint: `checkpoints/${norm}-seed${seed}.safetensors` };
    }),
  );
  return {
    dataset,
    runs,
    norms,
    seeds,
    adapters: [{ vendor: 'mesa', architecture: 'llvmpipe', device: 'lavapipe', description: 'llvmpipe (LLVM 17.0.6, 256 bits)', software: true, features: ['timestamp-query'] }],
    recipe: { epochs: nEpochs, batchSize: 128, lr: 0.05, schedule: 'onecycle', momentum: 0.9, weightDecay: 5e-4, groups: 4, augment: false, subset: 'all', ...recipe },
    preset: { name: 'quick', why: 'software adapter (no GPU found): 3 seeds of 2 epochs on the first 2500 training images' },
    startedAt: '2025-01-01T00:00:00.000Z',
    totalSeconds: 123.4,
    normlabVersion: '0.1.0',
    sources: ['runs/synthetic'],
    diverged: [],
  };
}
