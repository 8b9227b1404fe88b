// Probes: statistics of tensors recorded into a probe buffer inside the training step, for the
// measurements inside the network (activation mean and std per layer, gradient norms, update
// sizes). Forward only: a probe reads, it is not differentiated. Kernel: src/shaders/probe.wgsl;
// float64 reference: src/reference/probe.ts.
import wgsl from '../../shaders/probe.wgsl';
import stepWgsl from '../../shaders/probe-step.wgsl';
import { workgroups1d, type Kernel } from '../engine.js';
import { paramBuffer } from '../params.js';
import type { Tensor } from '../tensor.js';

const PROBE: Kernel = { name: 'probe', code: wgsl, entryPoint: 'probe' };
const STEP_ALONG: Kernel = { name: 'probe step', code: stepWgsl, entryPoint: 'step_along' };
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

/**
 * out = w - eta * g: the weights w moved by eta along the gradient g (the probes' loss band and
 * gradient predictiveness). out may be the parameter's own tensor; w and g are copies.
 */
export function probeStepAlong(w: Tensor, g: Tensor, eta: number, out: Tensor): void {
  if (w.size !== g.size || w.size !== out.size || [w, g, out].some((t) => t.dtype !== 'f32')) {
    throw new Error(`probeStepAlong: ${w}, ${g} and ${out} must be f32 tensors of one size`);
  }
  if (!Number.isFinite(eta)) throw new Error(`probeStepAlong: eta ${eta} is not finite`);
  const bits = new Uint32Array(Float32Array.of(eta).buffer)[0]!;
  const prm = paramBuffer(w.engine, 'probe step', [w.size, bits]);
  w.engine.dispatch(STEP_ALONG, { bindings: [w, g, out, prm], workgroups: workgroups1d(w.size, 256), op: `probe step ${out.label}` });
}
