// A dataset split resident on the GPU as bytes, and the per-step gather of a batch from it
// (kernels: src/shaders/data.wgsl). Uploaded once; each step the host writes only the batch's
// indices (and augmentation draws), never reads anything back.
import dataWgsl from '../../shaders/data.wgsl';
import type { Engine, Kernel } from '../../engine/engine.js';
import { workgroups1d } from '../../engine/engine.js';
import type { Tensor } from '../../engine/tensor.js';
import { STORAGE_USAGE } from '../../engine/pool.js';
import { UserError } from '../../engine/errors.js';
import type { Dataset, Split } from './dataset.js';

const GATHER_IMAGES: Kernel = { name: 'data.gather_images', code: dataWgsl, entryPoint: 'gather_images' };
const GATHER_LABELS: Kernel = { name: 'data.gather_labels', code: dataWgsl, entryPoint: 'gather_labels' };
const WG = 256;

export interface Augmentation {
  /** Largest crop shift in pixels (4 for CIFAR-10's random crop with padding 4). */
  cropPad: number;
  flip: boolean;
}

interface Chunk {
  buffer: GPUBuffer;
  first: number;
  count: number;
}

export class GpuSplit {
  private readonly chunks: Chunk[] = [];
  private readonly labels: GPUBuffer;
  private readonly picks: GPUBuffer;
  readonly count: number;

  constructor(
    readonly engine: Engine,
    readonly ds: Pick<Dataset, 'channels' | 'height' | 'width' | 'mean' | 'std'>,
    split: Split,
    readonly maxBatch: number,
    /** Bytes per chunk; defaults to the adapter's binding limit (tests pass less to exercise the split). */
    chunkBytes?: number,
  ) {
    this.count = split.count;
    const per = ds.channels * ds.height * ds.width;
    // The binding limit (128 MiB on lavapipe) bounds one buffer; CIFAR-10's 150 MB of training bytes
    // are split into chunks of whole images, each gathered by its own dispatch.
    const limit = chunkBytes ?? Math.min(engine.limits.maxStorageBufferBindingSize, engine.limits.maxBufferSize);
    const imagesPerChunk = Math.max(1, Math.floor((limit - 4) / per));
    if (per > limit) throw new UserError(`one image (${per} bytes) exceeds this adapter's buffer binding limit (${limit} bytes)`);
    // Buffers are padded to 16 bytes, so one u32 read past an odd-sized chunk's end stays in bounds.
    for (let first = 0; first < split.count; first += imagesPerChunk) {
      const count = Math.min(imagesPerChunk, split.count - first);
      const bytes = split.images.subarray(first * per, (first + count) * per);
      this.chunks.push({ buffer: this.uploadBytes(bytes, `dataset images ${first}..${first + count - 1}`), first, count });
    }
    this.labels = this.uploadBytes(split.labels, 'dataset labels');
    this.picks = engine.device.createBuffer({ size: Math.max(16, maxBatch * 8), usage: STORAGE_USAGE, label: 'batch picks' });
  }

  get chunkCount(): number {
    return this.chunks.length;
  }

  private uploadBytes(bytes: Uint8Array, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes.length / 16) * 16);
    const buffer = this.engine.device.createBuffer({ size, usage: STORAGE_USAGE, label, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
    return buffer;
  }

  /**
   * Writes a batch of images and labels (indices into the split) into x [B,C,H,W] and y [B] (u32).
   * `augmentDraws`, when given, holds per image the crop shift and flip bits (see data.wgsl).
   */
  gather(indices: ArrayLike<number>, x: Tensor, y: Tensor, augmentDraws?: Uint32Array): void {
    const batch = indices.length;
    if (batch > this.maxBatch) throw new Error(`gather: batch ${batch} > ${this.maxBatch}`);
    const picks = new Uint32Array(2 * batch);
    for (let b = 0; b < batch; b++) {
      const idx = indices[b]!;
      if (idx < 0 || idx >= this.count) throw new Error(`gather: index ${idx} outside the split (${this.count})`);
      picks[2 * b] = idx;
      picks[2 * b + 1] = augmentDraws ? augmentDraws[b]! : 128 | (128 << 8);
    }
    this.engine.writeBuffer(this.picks, picks);
    const { channels: C, height: H, width: W, mean, std } = this.ds;
    const constants: Record<string, number> = { WG, C, H, W, BATCH: batch };
    for (let c = 0; c < Math.min(3, C); c++) {
      constants[`MEAN${c}`] = mean[c]!;
      constants[`INV_STD${c}`] = 1 / std[c]!;
    }
    for (const chunk of this.chunks) {
      this.engine.dispatch(GATHER_IMAGES, {
        constants: { ...constants, CHUNK_FIRST: chunk.first, CHUNK_COUNT: chunk.count },
        bindings: [chunk.buffer, this.picks, x],
        workgroups: workgroups1d(batch * C * H * W, WG),
        op: 'gather batch images',
      });
    }
    this.engine.dispatch(GATHER_LABELS, {
      constants: { WG, BATCH: batch },
      bindings: [null, this.picks, null, this.labels, y],
      workgroups: Math.ceil(batch / WG),
      op: 'gather batch labels',
    });
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.labels.destroy();
    this.picks.destroy();
  }
}

/** Per-image augmentation draws (crop shift in [-pad, pad], flip with probability 1/2). */
export function drawAugmentation(batch: number, aug: Augmentation, random: () => number): Uint32Array {
  const out = new Uint32Array(batch);
  for (let b = 0; b < batch; b++) {
    const dy = Math.floor(random() * (2 * aug.cropPad + 1)) - aug.cropPad;
    const dx = Math.floor(random() * (2 * aug.cropPad + 1)) - aug.cropPad;
    const flip = aug.flip && random() < 0.5 ? 1 : 0;
    out[b] = (dy + 128) | ((dx + 128) << 8) | (flip << 16);
  }
  return out;
}
