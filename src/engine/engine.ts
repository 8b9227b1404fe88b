// The engine: one GPUDevice, its buffer pool, the pipeline and bind-group caches, and the command
// encoder that ops record into. Ops never submit: everything recorded until flush() (a training
// step, say) goes to the GPU in one command buffer.
import { acquireGpu, type AcquiredGpu, type AdapterSummary } from './device.js';
import { GpuError, NonFiniteError } from './errors.js';
import { BufferPool, STORAGE_USAGE } from './pool.js';
import { Tensor, type DType } from './tensor.js';
import { debugFlags, type DebugFlags } from './debug.js';
import { PipelineCache } from './pipeline-cache.js';
import { planSubgroups, probeSubgroups, subgroupCaps, subgroupMode, type SubgroupMode, type SubgroupPlan } from './subgroups.js';

/** One compute entry point of a WGSL file. Shapes reach it as `override` constants. */
export interface Kernel {
  name: string;
  code: string;
  entryPoint?: string;
}

export type Constants = Record<string, number>;
export type Binding = Tensor | GPUBuffer;

export interface DispatchArgs {
  constants?: Constants;
  /** Buffers at @group(0) @binding(i), in order; `null` skips a binding the entry point does not use. */
  bindings: (Binding | null)[];
  workgroups: number | readonly [number, number?, number?];
  /** The op named in errors and profiles; defaults to the kernel's name. */
  op?: string;
}

const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Splits `count` workgroups over x and y so neither exceeds the per-dimension limit. Kernels using it
 * flatten with `wid.x + wid.y * nwg.x` (workgroup_id, num_workgroups) and bound-check the tail.
 */
export function workgroups1d(invocations: number, workgroupSize: number): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y];
}

export interface PendingScope {
  op: string;
  promise: Promise<(GPUError | null)[]>;
}

export interface ProfileEntry {
  op: string;
  ns: number;
}

export class Engine {
  readonly pool: BufferPool;
  private readonly cache: PipelineCache;
  readonly debug: DebugFlags;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private opsInEncoder: string[] = [];
  private scopes: PendingScope[] = [];
  private firstError: GpuError | null = null;
  /** Errors no scope caught; reported only if no scoped error explains them first. */
  private uncaptured: GpuError[] = [];
  private lostReason: string | null = null;
  /** Counters tests and benchmarks read. */
  readonly counters = { pipelinesCompiled: 0, dispatches: 0, submits: 0, bindGroupsCreated: 0 };
  private profiler: { querySet: GPUQuerySet; ops: string[]; capacity: number } | null = null;
  private profileResults: ProfileEntry[] = [];
  /** Tensors created inside the innermost tidy() scope. */
  private readonly scopeStack: Set<Tensor>[] = [];

  private constructor(
    /** Held so the GC never frees the instance under a live device (see AcquiredGpu.gpu). */
    readonly gpu: GPU,
    readonly device: GPUDevice,
    readonly adapter: GPUAdapter,
    readonly adapterInfo: AdapterSummary,
    readonly source: string,
    /** Whether and how the subgroup kernels run here (src/engine/subgroups.ts). */
    readonly subgroups: SubgroupPlan,
    debug?: Partial<DebugFlags>,
  ) {
    this.debug = { ...debugFlags(), ...debug };
    this.pool = new BufferPool(device);
    this.cache = new PipelineCache(device, this.debug, this.counters, (s) => this.scopes.push(s), subgroups);
    this.pool.onDestroy = (b) => this.cache.forgetBuffer(b);
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      const last = this.opsInEncoder.at(-1) ?? 'unknown op';
      this.uncaptured.push(new GpuError(errorKind(ev.error), `a command buffer ending with ${last}`, ev.error.message));
    };
    void device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
  }

  /** subgroups: 'auto' unless NORMLAB_SUBGROUPS says otherwise ('unpinned', 'off': the fallbacks). */
  static async create(options: { debug?: Partial<DebugFlags>; gpu?: AcquiredGpu; subgroups?: SubgroupMode } = {}): Promise<Engine> {
    const gpu = options.gpu ?? (await acquireGpu());
    const mode = options.subgroups ?? subgroupMode(globalThis.process?.env?.NORMLAB_SUBGROUPS);
    const subgroups = await probeSubgroups(gpu.device, planSubgroups(subgroupCaps(gpu.adapter, gpu.device), mode));
    return new Engine(gpu.gpu, gpu.device, gpu.adapter, gpu.info, gpu.source, subgroups, options.debug);
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  // ---- tensors ------------------------------------------------------------------------------

  /** A tensor with undefined contents. extraUsage: usage flags beyond storage and copies (UNIFORM). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor', extraUsage = 0): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = new Tensor(this, shape, this.pool.acquire(size * 4, STORAGE_USAGE | extraUsage, label), dtype, label);
    this.scopeStack.at(-1)?.add(t);
    return t;
  }

  tensor(data: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`tensor: ${data.length} values for shape [${shape}] (${size} elements)`);
    const t = this.empty(shape, dtype, label);
    const typed = dtype === 'f32' ? Float32Array.from(data) : dtype === 'u32' ? Uint32Array.from(data) : Int32Array.from(data);
    this.writeBuffer(t.buffer, typed);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'zeros'): Tensor {
    const t = this.empty(shape, dtype, label);
    this.clear(t);
    return t;
  }

  /** Frees tensors created inside fn (the returned ones and those passed to keep() excepted). */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopeStack.push(scope);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      // A failed step frees what it made too, or a caught error would leak its buffers.
      this.scopeStack.pop();
      for (const t of scope) if (!t.kept && !t.disposed) t.dispose();
      throw e;
    }
    this.scopeStack.pop();
    const survivors = new Set<Tensor>();
    collectTensors(result, survivors);
    for (const t of scope) {
      if (survivors.has(t) || t.kept) this.scopeStack.at(-1)?.add(t);
      else if (!t.disposed) t.dispose();
    }
    return result;
  }

  /** Exempts a tensor from every enclosing tidy(). */
  keep<T extends Tensor>(t: T): T {
    t.kept = true;
    return t;
  }

  // ---- recording ----------------------------------------------------------------------------

  private getEncoder(): GPUCommandEncoder {
    this.throwIfBroken();
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'normlab step' }));
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Compiles (or finds) the pipeline for a kernel with its constants. Cached by (kernel, constants). */
  pipeline(kernel: Kernel, constants: Constants = {}): GPUComputePipeline {
    return this.cache.pipeline(kernel, constants);
  }

  /** Records one compute dispatch into the current step's encoder. */
  dispatch(kernel: Kernel, args: DispatchArgs): void {
    const constants = args.constants ?? {};
    const op = args.op ?? kernel.name;
    const wg = typeof args.workgroups === 'number' ? [args.workgroups, 1, 1] : args.workgroups;
    const [x, y = 1, z = 1] = wg;
    if (x * y * z === 0) return;
    for (const d of [x, y, z]) {
      if (d > MAX_WORKGROUPS_PER_DIM) throw new Error(`${op}: ${d} workgroups in one dimension (limit ${MAX_WORKGROUPS_PER_DIM})`);
    }
    if (this.debug.errors) this.device.pushErrorScope('validation');
    const { pipeline, id } = this.cache.dispatchPipeline(kernel, constants);
    const group = this.cache.bindGroup(pipeline, id, op, args.bindings);
    const encoder = this.getEncoder();
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      this.endPass();
      const index = this.profiler.ops.length;
      if (index >= this.profiler.capacity) throw new Error('profiler: more dispatches than the query set holds');
      this.profiler.ops.push(op);
      pass = encoder.beginComputePass({
        label: op,
        timestampWrites: { querySet: this.profiler.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 },
      });
      this.pass = pass;
    } else {
      pass = this.pass ??= encoder.beginComputePass({ label: 'normlab ops' });
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
    this.opsInEncoder.push(op);
    this.counters.dispatches += 1;
    if (this.debug.errors) {
      // Debug: validate each op on its own so an error names exactly the op that caused it.
      this.flush();
      this.scopes.push({ op, promise: this.device.popErrorScope().then((e) => [e]) });
    }
  }

  /** Copies between buffers inside the current step (no submit). */
  copy(src: Binding, dst: Binding, bytes?: number, srcOffset = 0, dstOffset = 0): void {
    const s = src instanceof Tensor ? src.buffer : src;
    const d = dst instanceof Tensor ? dst.buffer : dst;
    // Tensors live in size-class buffers larger than their data: copy the data, not the class.
    const srcBytes = src instanceof Tensor ? src.bytes : s.size;
    const dstBytes = dst instanceof Tensor ? dst.bytes : d.size;
    const n = bytes ?? Math.min(srcBytes - srcOffset, dstBytes - dstOffset);
    this.endPass();
    this.getEncoder().copyBufferToBuffer(s, srcOffset, d, dstOffset, n);
    this.opsInEncoder.push('copy');
  }

  /** Zeroes a tensor or buffer inside the current step. */
  clear(t: Binding): void {
    this.endPass();
    this.getEncoder().clearBuffer(t instanceof Tensor ? t.buffer : t);
    this.opsInEncoder.push('clear');
  }

  /**
   * Writes host data into a buffer. queue.writeBuffer takes effect before commands still being
   * recorded, so whatever was recorded so far is submitted first to keep program order.
   */
  writeBuffer(buffer: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    if (this.encoder) this.flush();
    this.throwIfBroken();
    this.device.queue.writeBuffer(buffer, offsetBytes, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (!this.encoder) {
      // Nothing recorded since the last submit: what was released is already safe to reuse.
      this.pool.afterSubmit();
      return;
    }
    this.endPass();
    const encoder = this.encoder;
    this.encoder = null;
    const ops = this.opsInEncoder;
    this.opsInEncoder = [];
    if (this.profiler && this.profiler.ops.length > 0) {
      // Timestamps are resolved by endProfile().
    }
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.device.queue.submit([encoder.finish()]);
    const summary = ops.length <= 4 ? ops.join(', ') : `${ops.slice(0, 2).join(', ')} ... ${ops.slice(-2).join(', ')} (${ops.length} ops)`;
    const oom = this.device.popErrorScope();
    const val = this.device.popErrorScope();
    this.scopes.push({ op: `the step [${summary}]`, promise: Promise.all([oom, val]) });
    this.pool.afterSubmit();
    this.counters.submits += 1;
  }

  /** Waits for the GPU to finish everything submitted, then reports any WebGPU error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  async checkErrors(): Promise<void> {
    const scopes = this.scopes;
    this.scopes = [];
    for (const s of scopes) {
      for (const e of await s.promise) if (e) this.recordError(new GpuError(errorKind(e), s.op, e.message));
    }
    // A compile error also makes every later use of the pipeline fail; the scoped error names the cause.
    if (this.uncaptured.length > 0) this.recordError(this.uncaptured[0]!);
    this.uncaptured = [];
    this.throwIfBroken();
  }

  private recordError(e: GpuError): void {
    this.firstError ??= e;
  }

  private throwIfBroken(): void {
    if (this.lostReason !== null) throw new GpuError('device-lost', 'the device', this.lostReason);
    if (this.firstError) throw this.firstError;
  }

  /** Reads a tensor back to the host. This is a sync point: it submits and waits. */
  async read(t: Binding, what = 'tensor'): Promise<ArrayBuffer> {
    const src = t instanceof Tensor ? t.buffer : t;
    const bytes = t instanceof Tensor ? t.size * 4 : src.size;
    const staging = this.pool.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    this.endPass();
    this.getEncoder().copyBufferToBuffer(src, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.opsInEncoder.push(`read ${what}`);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, staging.size);
    } catch (e) {
      await this.checkErrors();
      throw new GpuError('internal', `reading ${what}`, (e as Error).message);
    }
    const out = staging.getMappedRange(0, staging.size).slice(0, bytes);
    staging.unmap();
    this.pool.release(staging);
    await this.checkErrors();
    if (this.debug.nan && !(t instanceof Tensor && t.dtype !== 'f32')) {
      const f = new Float32Array(out);
      for (let i = 0; i < f.length; i++) if (!Number.isFinite(f[i])) throw new NonFiniteError(what, i, f[i]!);
    }
    return out;
  }

  // ---- profiling (GPU timestamps) -----------------------------------------------------------

  /** Starts timing each dispatch with GPU timestamps (one compute pass per dispatch). */
  startProfile(maxDispatches = 2048): void {
    if (!this.hasTimestamps) throw new Error('this adapter has no timestamp-query feature');
    this.flush();
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * maxDispatches, label: 'profile' });
    this.profiler = { querySet, ops: [], capacity: maxDispatches };
    this.profileResults = [];
  }

  /** Stops profiling and returns the GPU time of each dispatch recorded since startProfile(). */
  async endProfile(): Promise<ProfileEntry[]> {
    const prof = this.profiler;
    if (!prof) throw new Error('endProfile() without startProfile()');
    this.endPass();
    this.profiler = null;
    const n = prof.ops.length;
    if (n > 0) {
      const resolve = this.pool.acquire(16 * n, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'timestamps');
      this.getEncoder().resolveQuerySet(prof.querySet, 0, 2 * n, resolve, 0);
      const raw = new BigUint64Array(await this.read(resolve, 'timestamps'), 0, 2 * n);
      this.pool.release(resolve);
      for (let i = 0; i < n; i++) this.profileResults.push({ op: prof.ops[i]!, ns: Number(raw[2 * i + 1]! - raw[2 * i]!) });
    }
    prof.querySet.destroy();
    return this.profileResults;
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.device.destroy();
  }
}

function errorKind(e: GPUError): GpuError['kind'] {
  const name = e.constructor?.name ?? '';
  if (name.includes('OutOfMemory')) return 'out-of-memory';
  if (name.includes('Internal')) return 'internal';
  return 'validation';
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (value instanceof Tensor) into.add(value);
  else if (depth < 4 && Array.isArray(value)) for (const v of value) collectTensors(v, into, depth + 1);
  else if (depth < 4 && value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
  }
}
