// The engine's caches of compiled pipelines and bind groups. A training step records ~160
// dispatches and, after its first step, compiles and creates nothing: every pipeline is found by
// (kernel, constants) and every bind group by (pipeline, buffers), pooled buffers being reused.
import type { DebugFlags } from './debug.js';
import type { Binding, Constants, Kernel, PendingScope } from './engine.js';
import { Tensor } from './tensor.js';
import { checkSubgroupKernel, pinSubgroupSize, usesSubgroups, type SubgroupPlan } from './subgroups.js';

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /**
   * The dispatch path's lookup of a pipeline: per kernel object, by its constants in the order the
   * caller wrote them (no sort, no kernel name in the string), to the pipeline and a short number
   * that keys its bind groups. Building and hashing the full sorted key twice per dispatch was about
   * a quarter of the host's time in a batch-2 training step (node --cpu-prof of normlab bench).
   */
  private readonly dispatchPipelines = new WeakMap<Kernel, Map<string, { pipeline: GPUComputePipeline; id: number }>>();
  private readonly pipelineIds = new Map<string, number>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bindGroupKeysByBuffer = new Map<number, string[]>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;

  constructor(
    private readonly device: GPUDevice,
    private readonly debug: DebugFlags,
    private readonly counters: { pipelinesCompiled: number; bindGroupsCreated: number },
    private readonly pushScope: (scope: PendingScope) => void,
    private readonly subgroups: SubgroupPlan,
  ) {}

  /** Compiles (or finds) the pipeline for a kernel with its constants. Cached by (kernel, constants). */
  pipeline(kernel: Kernel, constants: Constants = {}): GPUComputePipeline {
    const key = pipelineKey(kernel, constants);
    let p = this.pipelines.get(key);
    if (p) return p;
    // A subgroup kernel is built only with the lanes the engine planned, pinned where it can be.
    const sg = usesSubgroups(kernel.code);
    if (sg) checkSubgroupKernel(this.subgroups, kernel.name, constants);
    let module = this.modules.get(kernel.code);
    const code = sg && this.subgroups.pinned ? pinSubgroupSize(kernel.code) : kernel.code;
    if (this.debug.wgsl) console.error(`--- WGSL ${kernel.name} ${JSON.stringify(constants)}\n${code}`);
    this.device.pushErrorScope('validation');
    if (!module) {
      module = this.device.createShaderModule({ code, label: kernel.name });
      this.modules.set(kernel.code, module);
    }
    p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants },
    });
    const compiled = module;
    this.pushScope({
      op: `compiling ${key}`,
      promise: this.device.popErrorScope().then(async (e) => {
        if (!e) return [null];
        const info = await compiled.getCompilationInfo();
        const msgs = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
        return [{ message: `${e.message}${msgs ? ` (${msgs})` : ''}` } as GPUError];
      }),
    });
    this.pipelines.set(key, p);
    this.counters.pipelinesCompiled += 1;
    return p;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  forgetBuffer(b: GPUBuffer): void {
    const id = this.bufferIds.get(b);
    if (id === undefined) return;
    for (const key of this.bindGroupKeysByBuffer.get(id) ?? []) this.bindGroups.delete(key);
    this.bindGroupKeysByBuffer.delete(id);
  }

  /** The pipeline for a dispatch, found without building its full key once it has been seen. */
  dispatchPipeline(kernel: Kernel, constants: Constants): { pipeline: GPUComputePipeline; id: number } {
    let byConstants = this.dispatchPipelines.get(kernel);
    if (!byConstants) this.dispatchPipelines.set(kernel, (byConstants = new Map()));
    let signature = '';
    for (const k in constants) signature += `${k}=${constants[k]},`;
    let hit = byConstants.get(signature);
    if (!hit) {
      const key = pipelineKey(kernel, constants);
      let id = this.pipelineIds.get(key);
      if (id === undefined) this.pipelineIds.set(key, (id = this.pipelineIds.size + 1));
      hit = { pipeline: this.pipeline(kernel, constants), id };
      byConstants.set(signature, hit);
    }
    return hit;
  }

  /** Bind groups are cached by (pipeline, buffers): a loop reusing pooled buffers reuses them too. */
  bindGroup(pipeline: GPUComputePipeline, pipelineId: number, label: string, bindings: (Binding | null)[]): GPUBindGroup {
    const buffers = bindings.map((b) => (b === null ? null : b instanceof Tensor ? b.buffer : b));
    let key = `${pipelineId}#`;
    const ids = buffers.map((b) => (b === null ? 0 : this.bufferId(b)));
    for (const id of ids) key += `${id},`;
    let group = this.bindGroups.get(key);
    if (group) return group;
    const entries: GPUBindGroupEntry[] = [];
    buffers.forEach((buffer, binding) => {
      if (buffer) entries.push({ binding, resource: { buffer } });
    });
    group = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    this.bindGroups.set(key, group);
    for (const id of new Set(ids)) {
      if (id === 0) continue;
      const list = this.bindGroupKeysByBuffer.get(id) ?? [];
      list.push(key);
      this.bindGroupKeysByBuffer.set(id, list);
    }
    this.counters.bindGroupsCreated += 1;
    return group;
  }
}

export function pipelineKey(kernel: Kernel, constants: Constants): string {
  const c = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${kernel.name}${kernel.entryPoint ? `.${kernel.entryPoint}` : ''}(${c})`;
}

