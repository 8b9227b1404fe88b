// Debug switches, from NORMLAB_DEBUG (comma-separated) or set on the engine:
//   wgsl   print each kernel's WGSL and constants when its pipeline is compiled
//   nan    check every float readback for NaN/Inf and name the tensor
//   errors validate each op in its own error scope, so a WebGPU error names exactly that op
//   naive  route ops with a fast path to their naive reference kernel
export interface DebugFlags {
  wgsl: boolean;
  nan: boolean;
  errors: boolean;
  naive: boolean;
}

export function debugFlags(spec: string | undefined = globalThis.process?.env?.NORMLAB_DEBUG): DebugFlags {
  const set = new Set((spec ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const all = set.has('all');
  return { wgsl: all || set.has('wgsl'), nan: all || set.has('nan'), errors: all || set.has('errors'), naive: all || set.has('naive') };
}
