// Whether a batch fits the adapter: the largest buffer a SeedNet step binds, per image, against the
// adapter's binding and buffer limits, refused before anything is allocated.
import type { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import type { Dataset } from './data/dataset.js';

/**
 * Bytes per image of the largest buffer a SeedNet step binds: the 16-channel activations at full
 * resolution, bounded above by the zero-padded copy the 3x3 kernels may read (H + 2 rows, W + 2
 * rounded up to a vec4, plus a vec4 of slack), and the 12.5% rounding of the buffer pool's size classes.
 */
export function bytesPerImage(dataset: Pick<Dataset, 'height' | 'width'>): number {
  const paddedWidth = Math.ceil((dataset.width + 2) / 4) * 4 + 4;
  return Math.ceil(16 * (dataset.height + 2) * paddedWidth * 4 * 1.125);
}

/** The largest batch whose buffers fit this adapter's binding and buffer limits. */
export function largestBatch(limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>, dataset: Pick<Dataset, 'height' | 'width'>): number {
  return Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / bytesPerImage(dataset));
}

/** Refuses, before anything is allocated, a batch this adapter cannot bind; names the limit and what fits. */
export function checkBatchFits(engine: Engine, dataset: Dataset, batch: number, flag: string): void {
  const most = largestBatch(engine.limits, dataset);
  if (batch <= most) return;
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const limit = Math.min(engine.limits.maxStorageBufferBindingSize, engine.limits.maxBufferSize);
  throw new UserError(
    `${flag} ${batch} is too large for this adapter: a batch of ${dataset.height}x${dataset.width} images needs ` +
      `buffers of about ${mib(batch * bytesPerImage(dataset))} MiB, but it binds at most ${mib(limit)} MiB per buffer ` +
      `(maxStorageBufferBindingSize / maxBufferSize); the largest batch that fits is ${most}`,
  );
}
