// Probes: statistics of tensors recorded into a probe buffer inside the training step, for the
// measurements inside the network (activation mean and std per layer, gradient norms, update
// sizes). Forward only: a probe reads, it is not differentiated. Kernel: src/shaders/probe.wgsl;
// float64 reference: src/reference/probe.ts.
import wgsl from '../../shaders/probe.wgsl';
import type { Kernel } from '../engine.js';
import { paramBuffer } from '../params.js';
import type { Tensor } from '../tensor.js';

const PROBE: Kernel = { name: 'probe', code: wgsl, entryPoint: 'probe' };
const MODE = { moments: 0, norm: 1, distance: 2 } as const;

function checked(op: string, x: Tensor, out: Tensor, slot: number, width: number): void {
  if (x.dtype !== 'f32' || out.dtype !== 'f32') throw new Error(`${op}: expected f32 tensors, got ${x.dtype} and ${out.dtype}`);
  if (x.size === 0) throw new Error(`${op}: the tensor is empty`);
  if (!Number.isInteger(slot) || slot < 0 || slot + width > out.size) {
    throw new Error(`${op}: slot ${slot} (${width} value${width > 1 ? 's' : ''}) does not fit in a probe buffer of ${out.size}`);
  }
}

function probe(mode: number, a: Tensor, b: Tensor, out: Tensor, slot: number): void {
  const prm = paramBuffer(a.engine, 'probe', [a.size, slot, mode]);
  a.engine.dispatch(PROBE, { bindings: [a, b, out, prm], workgroups: 1, op: `probe ${Object.keys(MODE)[mode]} ${a.label}` });
}

/** out[slot] = mean(x), out[slot + 1] = std(x) (population, over every element). */
export function probeMoments(x: Tensor, out: Tensor, slot: number): void {
  checked('probeMoments', x, out, slot, 2);
  probe(MODE.moments, x, x, out, slot);
}

/** out[slot] = ||x|| (the L2 norm over every element). */
export function probeNorm(x: Tensor, out: Tensor, slot: number): void {
  checked('probeNorm', x, out, slot, 1);
  probe(MODE.norm, x, x, out, slot);
}

/** out[slot] = ||a - b||: with a the weights after a step and b a copy from before, the update's size. */
export function probeDistance(a: Tensor, b: Tensor, out: Tensor, slot: number): void {
  checked('probeDistance', a, out, slot, 1);
  if (b.size !== a.size || b.dtype !== 'f32') throw new Error(`probeDistance: ${a} and ${b} differ in size or type`);
  probe(MODE.distance, a, b, out, slot);
}
