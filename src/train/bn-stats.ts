// Batch norm's statistics audited (`normlab eval --bn-stats`, and every batch-norm run of a
// comparison or sweep): test accuracy with the running averages (PyTorch's eval mode), with
// "precise" statistics recomputed over training images with the weights frozen (Wu & Johnson 2021,
// "Rethinking Batch in BatchNorm", section 3), and with each test batch's own statistics. The gap
// between the three is the train/test discrepancy of batch norm that small batches widen.
import { noGrad } from '../engine/autograd.js';
import type { Tensor } from '../engine/tensor.js';
import type { Model } from '../model/model.js';
import { ghostSubBatch, type BnEvalStatistics } from '../model/norms.js';
import type { GpuSplit } from './data/gpu-data.js';
import { evaluate, type BatchBuffers } from './evaluate.js';

export const BN_STATS_MODES = ['running', 'precise', 'batch'] as const;
export type BnStatsMode = (typeof BN_STATS_MODES)[number];

/** Training images precise statistics are computed over, unless told otherwise. */
export const PRECISE_IMAGES = 2000;

interface BnLayer {
  name: string;
  mean: Tensor;
  variance: Tensor;
}

function bnLayers(model: Model): BnLayer[] {
  return model.specs
    .filter((s) => s.name.endsWith('.running_mean'))
    .map((s) => {
      const prefix = s.name.slice(0, -'.running_mean'.length);
      return { name: prefix, mean: model.tensors.get(s.name)!, variance: model.tensors.get(`${prefix}.running_var`)! };
    });
}

export function hasBatchNorm(model: Model): boolean {
  return bnLayers(model).length > 0;
}

/**
 * Replaces every batch-norm layer's running statistics by population statistics of the first
 * `images` training images (file order), with the weights frozen. The images pass in batches of the
 * training batch size (and ghost sub-batches, if any) in training mode, so every layer sees the
 * features it saw in training, normalised by batch statistics; per layer and batch b (all of the
 * same size, the last short batch left out), with mu_b and var_b (biased) over its M values:
 *   mean = avg_b mu_b        var = avg_b (var_b + mu_b^2) - mean^2
 * i.e. the mean and variance of all the values together, computed in float64 on the host. The
 * running variance stored is var * T / (T - 1) over the T values, unbiased as BatchNorm2d keeps it.
 * Returns the number of images used.
 */
export async function setPreciseStatistics(
  model: Model,
  split: GpuSplit,
  batches: BatchBuffers,
  batchSize: number,
  images: number,
): Promise<number> {
  const engine = model.engine;
  const layers = bnLayers(model);
  const count = Math.floor(Math.min(images, split.count) / batchSize);
  if (count < 1) throw new Error(`precise statistics: fewer than one batch of ${batchSize} among ${Math.min(images, split.count)} training images`);
  // Per layer, [count, 2, C]: each batch's (mean, unbiased var) copied out of the running buffers,
  // which momentum 1 sets to exactly the batch's statistics (the last ghost sub-batch's, with ghost
  // batches: so ghost batches are taken one at a time, as separate batches).
  const ghost = ghostSubBatch(model.options.ghostBatch ?? 0, batchSize);
  const sub = ghost < batchSize ? ghost : batchSize;
  const subCount = count * (batchSize / sub);
  const saved = layers.map((l) => engine.empty([subCount, 2, l.mean.size], 'f32', `${l.name} precise batches`));
  const tracked = model.batchesTracked;
  // H * W of each block's output (its norm's values per image and channel), seen as it runs.
  const spatial = new Map<string, number>();
  try {
    for (let b = 0; b < subCount; b++) {
      const indices = Uint32Array.from({ length: sub }, (_, i) => b * sub + i);
      const { x, y } = batches.get(sub);
      engine.tidy(() =>
        noGrad(() => {
          split.gather(indices, x, y);
          model.forward(x, true, { momentum: 1, tap: (layer, kind, t) => kind === 'conv' && spatial.set(layer, t.shape[2]! * t.shape[3]!) });
          layers.forEach((l, k) => {
            const bytes = l.mean.bytes;
            engine.copy(l.mean, saved[k]!, bytes, 0, 2 * b * bytes);
            engine.copy(l.variance, saved[k]!, bytes, 0, (2 * b + 1) * bytes);
          });
        }),
      );
      engine.flush();
    }
    for (const [k, l] of layers.entries()) {
      const data = await saved[k]!.read();
      const c = l.mean.size;
      // Values per channel behind each batch's statistics: the sub-batch's images times H * W.
      const m = sub * spatial.get(l.name.replace(/\.norm$/, ''))!;
      const mean = new Float64Array(c);
      const second = new Float64Array(c);
      for (let b = 0; b < subCount; b++) {
        for (let ch = 0; ch < c; ch++) {
          const mu = data[2 * b * c + ch]!;
          const biased = (data[(2 * b + 1) * c + ch]! * (m - 1)) / m;
          mean[ch] += mu / subCount;
          second[ch] += (biased + mu * mu) / subCount;
        }
      }
      const total = m * subCount;
      const variance = Float32Array.from(mean, (mu, ch) => Math.max(0, second[ch]! - mu * mu) * (total / (total - 1)));
      engine.writeBuffer(l.mean.buffer, Float32Array.from(mean));
      engine.writeBuffer(l.variance.buffer, variance);
    }
  } finally {
    model.batchesTracked = tracked;
    for (const t of saved) t.dispose();
  }
  return subCount * sub;
}

export interface BnStatsAudit {
  running: number;
  precise: number;
  batch: number;
  /** Training images the precise statistics came from. */
  preciseImages: number;
  /** Images per batch for 'batch' (the training batch, or its ghost sub-batch) and for 'precise'. */
  batchSize: number;
}

/**
 * Test accuracy under the three statistics. The model's running statistics are restored after.
 * `evalBatchSize` serves 'running' and 'precise' (where it does not matter).
 */
export async function auditBatchNorm(
  model: Model,
  data: { train: GpuSplit; test: GpuSplit; batches: BatchBuffers },
  o: { trainBatchSize: number; evalBatchSize: number; preciseImages?: number; testCount?: number },
): Promise<BnStatsAudit> {
  const statsBatch = ghostSubBatch(model.options.ghostBatch ?? 0, o.trainBatchSize);
  const at = (statistics: BnEvalStatistics, batchSize: number) =>
    evaluate(model, data.test, data.batches, batchSize, { statistics, count: o.testCount }).then((r) => r.accuracy);
  const running = await at('running', o.evalBatchSize);
  const batch = await at('batch', statsBatch);
  const layers = bnLayers(model);
  const backup = await Promise.all(layers.map(async (l) => [await l.mean.read(), await l.variance.read()] as const));
  try {
    const preciseImages = await setPreciseStatistics(model, data.train, data.batches, o.trainBatchSize, o.preciseImages ?? PRECISE_IMAGES);
    const precise = await at('running', o.evalBatchSize);
    return { running, precise, batch, preciseImages, batchSize: statsBatch };
  } finally {
    layers.forEach((l, k) => {
      model.engine.writeBuffer(l.mean.buffer, backup[k]![0]);
      model.engine.writeBuffer(l.variance.buffer, backup[k]![1]);
    });
  }
}
