// GPU memory, explicitly managed: buffers are pooled by (size class, usage) and a released buffer
// becomes reusable only after the submit that last used it, because queue.writeBuffer runs ahead of
// any command still being recorded and would clobber data a pending command has yet to read.

/** Storage buffers that kernels read and write, and that can be copied in and out. */
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/**
 * Rounds a request up to a size class with three significant bits (so at most 12.5% waste above
 * 128 bytes) and a whole number of 16 bytes, so buffers of nearly equal size share a free list and
 * every buffer can be read as vec4s to its end (the subgroup convolutions read planes that way at any width).
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 64) return Math.ceil(b / 16) * 16;
  const shift = Math.max(0, Math.floor(Math.log2(b)) - 3);
  const unit = Math.max(16, 2 ** shift);
  return Math.ceil(b / unit) * unit;
}

export interface PoolStats {
  /** Bytes of buffers handed out and not yet released. */
  bytesInUse: number;
  /** Bytes of all live GPUBuffers the pool created (in use, pending and free). */
  bytesAllocated: number;
  /** Bytes released but waiting for the next submit before they can be reused. */
  bytesPending: number;
  buffersAllocated: number;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly inUse = new Set<GPUBuffer>();
  private readonly usageOf = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { bytesInUse: 0, bytesAllocated: 0, bytesPending: 0, buffersAllocated: 0 };
  /** Called before a buffer is destroyed, so caches holding it (bind groups) can drop it. */
  onDestroy: (buffer: GPUBuffer) => void = () => {};

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, usage = STORAGE_USAGE, label = 'normlab'): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(`${size}:${usage}`);
    // Last in, first out: a training loop that asks for the same sizes in the same order gets the
    // same buffers back every step, so bind groups keyed by buffer identity keep hitting.
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage, label });
      this.usageOf.set(buffer, usage);
      this.stats.bytesAllocated += size;
      this.stats.buffersAllocated += 1;
    }
    this.inUse.add(buffer);
    this.stats.bytesInUse += size;
    return buffer;
  }

  /** Gives a buffer back; it is reused only after the next submit. */
  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) throw new Error(`BufferPool.release: buffer '${buffer.label}' is not in use (released twice?)`);
    this.stats.bytesInUse -= buffer.size;
    this.stats.bytesPending += buffer.size;
    this.pending.push(buffer);
  }

  /** Called by the engine right after queue.submit(): pending buffers become reusable. */
  afterSubmit(): void {
    for (const b of this.pending) {
      const key = `${b.size}:${this.usageOf.get(b)}`;
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      list.push(b);
    }
    this.pending = [];
    this.stats.bytesPending = 0;
  }

  /** Destroys every free buffer (pending ones stay until they are submitted). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.onDestroy(b);
        this.stats.bytesAllocated -= b.size;
        this.stats.buffersAllocated -= 1;
        b.destroy();
      }
    }
    this.free.clear();
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }
}
