// The convolution kernels against the float64 reference: one shape through the autograd (forward,
// then backward to both inputs), with the kernel family the selection picks or one forced, and the
// worst relative error of y, dx and dw. The tests (test/helpers/conv.ts) and `normlab selftest` use it.
import type { Engine } from '../engine/engine.js';
import { ops } from '../engine/index.js';
import type { Conv2dPath } from '../engine/ops/conv2d.js';
import { createRng } from './rng.js';
import { conv2dForwardRef, conv2dInputGradRef, conv2dWeightGradRef, convOutputSize, type ConvShape } from '../reference/conv2d.js';

const rng = createRng(20240603);
export const normals = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
export const PATHS: Conv2dPath[] = ['subgroup', 'tiled', 'naive'];

/** float32 GPU vs float64 reference: sums of at most a few thousand products (see relError). */
export const VS_REFERENCE = 1e-4;

/**
 * max |a - b| / max(|b|, 0.1 * max|b|): relative error, where elements small by cancellation are
 * measured on the tensor's scale (as the gradient-check runner does). NaN anywhere counts as Infinity.
 */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: ${a.length} values against ${b.length}`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  const floor = Math.max(0.1 * scale, 1e-30);
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

export interface Results {
  y: Float32Array;
  dx: Float32Array | null;
  dw: Float32Array | null;
}

/** Forward through the autograd, backward(dy); the tiled path has no weight gradient of its own. */
export async function run(engine: Engine, s: ConvShape, x: Float32Array, w: Float32Array, dy: Float32Array, path?: Conv2dPath): Promise<Results> {
  const out = engine.tidy(() => {
    const xt = engine.tensor(x, [s.n, s.ci, s.h, s.w]).requireGrad();
    const wt = engine.tensor(w, [s.co, s.ci, s.kh, s.kw]).requireGrad(path !== 'tiled');
    const y = ops.conv2d(xt, wt, { padding: s.pad, path });
    y.backward(engine.tensor(dy, y.shape));
    // Detach the gradients so they outlive tidy() (disposing x would dispose x.grad).
    const grads = { y, dx: xt.grad!, dw: wt.grad };
    xt.grad = null;
    wt.grad = null;
    return grads;
  });
  const res: Results = { y: await out.y.read(), dx: await out.dx.read(), dw: out.dw ? await out.dw.read() : null };
  for (const t of [out.y, out.dx, out.dw]) t?.dispose();
  return res;
}

/** The float64 reference's y, dx and dw for random inputs of shape s, and those inputs. */
export function referenceCase(s: ConvShape) {
  const { oh, ow } = convOutputSize(s);
  const x = normals(s.n * s.ci * s.h * s.w);
  const w = normals(s.co * s.ci * s.kh * s.kw);
  const dy = normals(s.n * s.co * oh * ow);
  return { x, w, dy, y: conv2dForwardRef(x, w, s), dx: conv2dInputGradRef(dy, w, s), dw: conv2dWeightGradRef(x, dy, s) };
}

export interface ConvErrors {
  forward: number;
  input: number;
  /** null where the path computes no weight gradient of its own (tiled). */
  weight: number | null;
}

/** Runs s on the engine (path forced or not): each pass's relative error against the reference. */
export async function convErrors(engine: Engine, s: ConvShape, path?: Conv2dPath): Promise<ConvErrors> {
  const c = referenceCase(s);
  const r = await run(engine, s, c.x, c.w, c.dy, path);
  return { forward: relError(r.y, c.y), input: relError(r.dx!, c.dx), weight: r.dw ? relError(r.dw, c.dw) : null };
}

export function tryPlan(engine: Engine, s: ConvShape, path: Conv2dPath): boolean {
  try {
    ops.planConv2d(engine, { ...s }, 'forward', path);
    return true;
  } catch {
    return false;
  }
}
