// A tensor: a shape, a dtype and a pooled GPU storage buffer, plus what the autograd needs.
import type { Engine } from './engine.js';
import type { GradNode } from './autograd.js';

export type DType = 'f32' | 'u32' | 'i32';

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private buf: GPUBuffer | null;
  /** Leaf tensors with requiresGrad receive .grad from backward(). */
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The op that produced this tensor, while its graph is alive. */
  node: GradNode | null = null;
  /** Set by engine.keep(): survives every tidy(). */
  kept = false;

  constructor(
    readonly engine: Engine,
    shape: readonly number[],
    buffer: GPUBuffer,
    readonly dtype: DType = 'f32',
    public label = 'tensor',
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = shape.reduce((a, b) => a * b, 1);
    this.buf = buffer;
  }

  get buffer(): GPUBuffer {
    if (!this.buf) throw new Error(`tensor '${this.label}' [${this.shape}] was used after dispose()`);
    return this.buf;
  }

  get disposed(): boolean {
    return this.buf === null;
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** Returns the buffer to the pool (reusable after the next submit). Disposing twice is a no-op. */
  dispose(): void {
    if (!this.buf) return;
    this.engine.pool.release(this.buf);
    this.buf = null;
    this.grad?.dispose();
    this.grad = null;
    this.node = null;
  }

  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  async read(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`read(): tensor '${this.label}' is ${this.dtype}; use readU32()`);
    return new Float32Array(await this.engine.read(this, this.label));
  }

  async readU32(): Promise<Uint32Array> {
    return new Uint32Array(await this.engine.read(this, this.label));
  }

  /** Runs backward from this tensor; see autograd.ts. */
  backward(gradient?: Tensor, options?: { retainGraph?: boolean }): void {
    // Imported lazily to keep tensor.ts free of a runtime cycle with autograd.ts.
    backwardImpl!(this, gradient, options);
  }

  toString(): string {
    return `Tensor(${this.label}, [${this.shape.join('x')}], ${this.dtype})`;
  }
}

type BackwardFn = (t: Tensor, gradient?: Tensor, options?: { retainGraph?: boolean }) => void;
let backwardImpl: BackwardFn | null = null;
/** autograd.ts installs its backward() here at load time. */
export function installBackward(fn: BackwardFn): void {
  backwardImpl = fn;
}
