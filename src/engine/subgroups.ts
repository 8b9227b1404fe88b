// Subgroups: what normlab's subgroup kernels assume about the subgroup size, whether it holds on
// this adapter, and how that is made sure of before any of them runs.
//
// The assumption (the subgroup convolutions, conv2d_sg_*.wgsl, and the bench's matmul_sg): a
// workgroup of SG invocations is exactly one subgroup of SG lanes, lane i being local invocation i,
// so that subgroupShuffle(v, j) with any constant j < SG reads invocation j of the workgroup. SG is
// a power of two from 8 to 64 (the kernels' register arrays hold SG-lane slices of 8 or more values).
// WebGPU promises only that the size lies between the adapter's subgroupMinSize and
// subgroupMaxSize, and a driver may pick any of them per pipeline (Intel: 8 to 32; AMD: 32 or 64).
// So, where the pipeline is built (PipelineCache.pipeline):
//   - min == max: one size is possible and SG is it;
//   - min < max and the adapter offers subgroup-size-control: every subgroup kernel is compiled
//     with @subgroup_size(SG) (SG = min), which pins it (Dawn validates SG against the range);
//   - min < max without it: the size cannot be known, so the subgroup kernels are not used and the
//     convolutions take their subgroup-free rows (tiled, naive);
// and a one-dispatch probe at device creation checks the rest on the real driver (size, lane
// numbering, a shuffle); if it disagrees, the subgroup kernels are off with the probe's finding.

export interface SubgroupCaps {
  feature: boolean;
  sizeControl: boolean;
  minSize: number | null;
  maxSize: number | null;
}

/** 'auto' (the default), 'unpinned' (never @subgroup_size, to test that path), 'off' (the fallback). */
export type SubgroupMode = 'auto' | 'unpinned' | 'off';
export const SUBGROUP_MODES: readonly SubgroupMode[] = ['auto', 'unpinned', 'off'];

export interface SubgroupPlan {
  /** SG for the subgroup kernels, or 0: they are not used on this engine. */
  lanes: number;
  /** Compiled with @subgroup_size(SG). */
  pinned: boolean;
  /** Why, in words (normlab info, selftest). */
  reason: string;
  /** The probe's result; null where no probe ran (no lanes planned). */
  probe: { pass: boolean; detail: string } | null;
}

const isLaneCount = (n: number): boolean => n >= 8 && n <= 64 && (n & (n - 1)) === 0;

/** The decision, from the adapter's capabilities alone (test/engine/subgroups.test.ts tables it). */
export function planSubgroups(caps: SubgroupCaps, mode: SubgroupMode = 'auto'): SubgroupPlan {
  const off = (reason: string): SubgroupPlan => ({ lanes: 0, pinned: false, reason, probe: null });
  if (mode === 'off') return off('switched off (NORMLAB_SUBGROUPS=off)');
  if (!caps.feature) return off('the adapter has no subgroups feature');
  const { minSize: min, maxSize: max } = caps;
  if (min === null || max === null) return off('the adapter does not report its subgroup sizes');
  if (!isLaneCount(min)) return off(`its smallest subgroup is ${min} lanes; the subgroup kernels need a power of two from 8 to 64`);
  if (min === max) {
    const pinned = caps.sizeControl && mode === 'auto';
    return { lanes: min, pinned, reason: `the adapter has one subgroup size, ${min}${pinned ? ' (also pinned with @subgroup_size)' : ''}`, probe: null };
  }
  if (caps.sizeControl && mode === 'auto') {
    return { lanes: min, pinned: true, reason: `sizes ${min} to ${max}: pinned to ${min} with @subgroup_size (subgroup-size-control)`, probe: null };
  }
  return off(`the driver may pick any size from ${min} to ${max} and ${mode === 'unpinned' ? 'pinning is switched off (NORMLAB_SUBGROUPS=unpinned)' : 'the adapter has no subgroup-size-control to pin it'}`);
}

/** The WGSL a pinned subgroup kernel is compiled from: @subgroup_size(SG) on each SG-wide entry point. */
export function pinSubgroupSize(code: string): string {
  if (!/@workgroup_size\(SG\)/.test(code)) throw new Error('pinSubgroupSize: a subgroup kernel must have @workgroup_size(SG)');
  return code.replace('enable subgroups;', 'enable subgroups;\nenable subgroup_size_control;').replace(/@workgroup_size\(SG\)/g, '@workgroup_size(SG) @subgroup_size(SG)');
}

/** A module that enables subgroups (the directive itself, not a comment that mentions it). */
export const usesSubgroups = (code: string): boolean => /^\s*enable\s+subgroups\s*;/m.test(code);

/** Where the pipeline is built: a subgroup kernel runs only with the planned lanes (a clear error otherwise). */
export function checkSubgroupKernel(plan: SubgroupPlan, name: string, constants: Record<string, number>): void {
  if (plan.lanes === 0) throw new Error(`${name} uses subgroups, which this engine does not use: ${plan.reason}`);
  if (constants.SG !== plan.lanes) throw new Error(`${name}: SG = ${constants.SG ?? 'unset'}, but this engine's subgroups are ${plan.lanes} lanes (${plan.reason})`);
}

export function subgroupCaps(adapter: GPUAdapter, device: GPUDevice): SubgroupCaps {
  const i = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return {
    feature: device.features.has('subgroups'),
    sizeControl: device.features.has('subgroup-size-control' as GPUFeatureName),
    minSize: i.subgroupMinSize ?? null,
    maxSize: i.subgroupMaxSize ?? null,
  };
}

export function subgroupMode(spec: string | undefined): SubgroupMode {
  const m = (spec ?? 'auto').trim() || 'auto';
  if (!(SUBGROUP_MODES as readonly string[]).includes(m)) throw new Error(`NORMLAB_SUBGROUPS: '${m}' is not one of ${SUBGROUP_MODES.join(', ')}`);
  return m as SubgroupMode;
}

const PROBE_WGSL = `enable subgroups;
override SG: u32 = 8u;
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(SG)
fn main(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) size: u32) {
  // Lane j's value is 1000 + its local index; each reads lane (lane + 1) % SG's and lane SG - 1's.
  let mine = 1000u + li;
  out[li * 4u] = size;
  out[li * 4u + 1u] = lane;
  out[li * 4u + 2u] = subgroupShuffle(mine, (lane + 1u) % SG);
  out[li * 4u + 3u] = subgroupShuffle(mine, SG - 1u);
}`;

/** What the probe's words must read for a plan's SG: [size, lane, next lane's value, last lane's value] per invocation. */
export function probeFinding(sg: number, words: Uint32Array): { pass: boolean; detail: string } {
  for (let li = 0; li < sg; li++) {
    const [size, lane, next, last] = [words[li * 4], words[li * 4 + 1], words[li * 4 + 2], words[li * 4 + 3]];
    if (size !== sg) return { pass: false, detail: `invocation ${li} ran in a subgroup of ${size} lanes, not ${sg}` };
    if (lane !== li) return { pass: false, detail: `invocation ${li} is lane ${lane}` };
    if (next !== 1000 + ((li + 1) % sg) || last !== 1000 + sg - 1) return { pass: false, detail: `invocation ${li}'s shuffles read ${next} and ${last}` };
  }
  return { pass: true, detail: `${sg} invocations, one subgroup of ${sg} lanes numbered as the workgroup, shuffles agree` };
}

/** Runs the probe compiled as the kernels will be (pinned or not); a failure turns the subgroup kernels off. */
export async function probeSubgroups(device: GPUDevice, plan: SubgroupPlan): Promise<SubgroupPlan> {
  if (plan.lanes === 0) return plan;
  const sg = plan.lanes;
  const bytes = sg * 16;
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: plan.pinned ? pinSubgroupSize(PROBE_WGSL) : PROBE_WGSL, label: 'subgroup probe' });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main', constants: { SG: sg } } }).catch((e: Error) => e);
  if (pipeline instanceof Error) {
    await device.popErrorScope();
    return { ...plan, lanes: 0, pinned: false, probe: { pass: false, detail: pipeline.message.split('\n')[0]! }, reason: `the subgroup probe did not compile: ${pipeline.message.split('\n')[0]}` };
  }
  const buf = device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'subgroup probe' });
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'subgroup probe readback' });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, bytes);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  let finding: { pass: boolean; detail: string };
  if (err) finding = { pass: false, detail: err.message.split('\n')[0]! };
  else {
    await read.mapAsync(GPUMapMode.READ);
    finding = probeFinding(sg, new Uint32Array(read.getMappedRange().slice(0)));
    read.unmap();
  }
  buf.destroy();
  read.destroy();
  if (finding.pass) return { ...plan, probe: finding };
  return { lanes: 0, pinned: false, probe: finding, reason: `the subgroup probe failed (${finding.detail}): the subgroup kernels are off` };
}
