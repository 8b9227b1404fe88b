// Evaluation of SeedNet on a GPU-resident split, without gradients and in evaluation mode: the
// test images after every epoch, and a fixed set of training images (the first TRAIN_EVAL_IMAGES),
// so that train and test accuracy are measured alike. Also the batch tensors evaluation and
// training share.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { noGrad } from '../engine/autograd.js';
import * as ops from '../engine/ops/index.js';
import type { Model } from '../model/model.js';
import type { BnEvalStatistics } from '../model/norms.js';
import type { Dataset } from './data/dataset.js';
import type { GpuSplit } from './data/gpu-data.js';

/**
 * Training images evaluated after each epoch in evaluation mode (running statistics for batch norm,
 * no gradients), like the test images: the whole training set when it has at most this many
 * images, else its first TRAIN_EVAL_IMAGES. The same images for every norm, seed and epoch.
 */
export const TRAIN_EVAL_IMAGES = 10000;

/** How many training images the evaluation-mode pass covers for a training set of `trainCount`. */
export function trainEvalCount(trainCount: number): number {
  return Math.min(trainCount, TRAIN_EVAL_IMAGES);
}

export interface EvalResult {
  loss: number;
  accuracy: number;
  count: number;
  /** Predicted class per image, in file order, when asked for. */
  predictions?: Uint8Array;
}

/** Batch tensors reused every step (kept out of tidy), one pair per batch size seen. */
export class BatchBuffers {
  private readonly pairs = new Map<number, { x: Tensor; y: Tensor }>();
  constructor(
    private readonly engine: Engine,
    private readonly ds: Pick<Dataset, 'channels' | 'height' | 'width'>,
  ) {}
  get(batch: number): { x: Tensor; y: Tensor } {
    let p = this.pairs.get(batch);
    if (!p) {
      const { channels: C, height: H, width: W } = this.ds;
      p = {
        x: this.engine.keep(this.engine.empty([batch, C, H, W], 'f32', 'batch x')),
        y: this.engine.keep(this.engine.empty([batch], 'u32', 'batch labels')),
      };
      this.pairs.set(batch, p);
    }
    return p;
  }
  dispose(): void {
    for (const p of this.pairs.values()) {
      p.x.dispose();
      p.y.dispose();
    }
  }
}

/**
 * Loss and accuracy of a model on a GPU-resident split, in batches, without gradients; batch norm
 * uses its running statistics (or, with statistics 'batch', each batch's own: then the batch size
 * matters). With `predictions`, logits are collected on the GPU and read once.
 */
export async function evaluate(
  model: Model,
  split: GpuSplit,
  batches: BatchBuffers,
  batchSize: number,
  options: { predictions?: boolean; count?: number; statistics?: BnEvalStatistics } = {},
): Promise<EvalResult> {
  const engine = model.engine;
  const K = model.outputs;
  const total = Math.min(split.count, options.count ?? split.count);
  const lossSum = engine.zeros([1], 'f32', 'eval loss');
  const correct = engine.zeros([1], 'u32', 'eval correct');
  const logitsAll = options.predictions ? engine.empty([total, K], 'f32', 'eval logits') : null;
  try {
    for (let first = 0; first < total; first += batchSize) {
      const count = Math.min(batchSize, total - first);
      const indices = Uint32Array.from({ length: count }, (_, i) => first + i);
      const { x, y } = batches.get(count);
      engine.tidy(() =>
        noGrad(() => {
          split.gather(indices, x, y);
          const logits = model.forward(x, false, { evalStatistics: options.statistics });
          ops.logSoftmaxNll(logits, y, { lossSum, correct });
          if (logitsAll) engine.copy(logits, logitsAll, logits.bytes, 0, first * K * 4);
        }),
      );
      engine.flush();
    }
    const loss = (await lossSum.read())[0]! / total;
    const accuracy = (await correct.readU32())[0]! / total;
    let predictions: Uint8Array | undefined;
    if (logitsAll) {
      const l = await logitsAll.read();
      predictions = new Uint8Array(total);
      for (let i = 0; i < total; i++) {
        // First maximum on ties, as the loss kernel counts correct predictions.
        let best = 0;
        for (let k = 1; k < K; k++) if (l[i * K + k]! > l[i * K + best]!) best = k;
        predictions[i] = best;
      }
    }
    return { loss, accuracy, count: total, predictions };
  } finally {
    logitsAll?.dispose();
    lossSum.dispose();
    correct.dispose();
  }
}
