// The primitive ops the composed norms (src/model/norms-composed.ts) are built from, each with its
// backward rule below the forward. Broadcasting follows NumPy/PyTorch (trailing axes aligned, a
// size-1 axis repeats), up to rank 4. Small and clear rather than fast: the fused norm kernels are
// the fast path, and these exist so the two can prove each other. Kernels: src/shaders/primitives.wgsl.
import wgsl from '../../shaders/primitives.wgsl';
import type { Constants, Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { noGrad, record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
const kernel = (entryPoint: string): Kernel => ({ name: `primitives.${entryPoint}`, code: wgsl, entryPoint });
const BINARY = kernel('binary');
const EXPAND = kernel('expand');
const SUM_TO = kernel('sum_to');
const RSQRT_FORWARD = kernel('rsqrt_forward');
const RSQRT_BACKWARD = kernel('rsqrt_backward');
const SCALE_SHIFT = kernel('scale_shift');

const MAX_RANK = 4;

function pad4(shape: readonly number[]): number[] {
  if (shape.length > MAX_RANK) throw new Error(`primitives: rank ${shape.length} > ${MAX_RANK} is not supported`);
  return [...new Array<number>(MAX_RANK - shape.length).fill(1), ...shape];
}

export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    const da = a[a.length - rank + k] ?? 1;
    const db = b[b.length - rank + k] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcast: shapes [${a}] and [${b}] are incompatible`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** Strides (in elements) of `shape` read as if broadcast to rank-4 `out`: 0 along repeated axes. */
function broadcastStrides(shape: readonly number[], out4: readonly number[], prefix: string): Constants {
  const s4 = pad4(shape);
  const c: Constants = {};
  let stride = 1;
  for (let d = MAX_RANK - 1; d >= 0; d--) {
    c[`${prefix}${d}`] = s4[d] === 1 && out4[d] !== 1 ? 0 : stride;
    stride *= s4[d]!;
  }
  return c;
}

function dims(shape: readonly number[], prefix: string): Constants {
  const c: Constants = {};
  pad4(shape).forEach((d, k) => (c[`${prefix}${k}`] = d));
  return c;
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

function binaryKernel(op: 0 | 1 | 2, a: Tensor, b: Tensor, label: string): Tensor {
  const shape = broadcastShape(a.shape, b.shape);
  const out4 = pad4(shape);
  const y = a.engine.empty(shape, 'f32', label);
  a.engine.dispatch(BINARY, {
    constants: { WG, N: y.size, OP: op, ...dims(shape, 'O'), ...broadcastStrides(a.shape, out4, 'SA'), ...broadcastStrides(b.shape, out4, 'SB') },
    bindings: [a, b, y],
    workgroups: workgroups1d(y.size, WG),
    op: `primitive ${label}`,
  });
  return y;
}

/** Sums x down to `shape` (x's shape broadcast from it), times `scale`. */
function sumToKernel(x: Tensor, shape: readonly number[], scale = 1, label = 'sum'): Tensor {
  const x4 = pad4(x.shape);
  const o4 = pad4(shape);
  o4.forEach((d, k) => {
    if (d !== 1 && d !== x4[k]) throw new Error(`sum: cannot reduce [${x.shape}] to [${shape}]`);
  });
  const y = x.engine.empty(shape, 'f32', label);
  x.engine.dispatch(SUM_TO, {
    constants: { WG, N: y.size, MUL: scale, ...dims(shape, 'O'), ...dims(x.shape, 'I') },
    bindings: [x, null, y],
    workgroups: workgroups1d(y.size, WG),
    op: `primitive ${label}`,
  });
  return y;
}

function expandKernel(x: Tensor, shape: readonly number[], scale = 1): Tensor {
  const y = x.engine.empty(shape, 'f32', 'expand');
  x.engine.dispatch(EXPAND, {
    constants: { WG, N: y.size, MUL: scale, ...dims(shape, 'O'), ...broadcastStrides(x.shape, pad4(shape), 'SA') },
    bindings: [x, null, y],
    workgroups: workgroups1d(y.size, WG),
    op: 'primitive expand',
  });
  return y;
}

function scaleShiftKernel(x: Tensor, mul: number, add: number, label: string): Tensor {
  const y = x.engine.empty(x.shape, 'f32', label);
  x.engine.dispatch(SCALE_SHIFT, {
    constants: { WG, N: y.size, MUL: mul, ADD: add },
    bindings: [x, null, y],
    workgroups: workgroups1d(y.size, WG),
    op: `primitive ${label}`,
  });
  return y;
}

/** The gradient of a broadcast input: the output gradient summed over the axes it was repeated on. */
function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const r = sumToKernel(g, shape, 1, 'unbroadcast');
  g.dispose();
  return r;
}

/** y = a + b (broadcasting). Backward: da = sum_to(dy), db = sum_to(dy). */
export function add(a: Tensor, b: Tensor): Tensor {
  const y = binaryKernel(0, a, b, 'add');
  return record(y, 'add (broadcast)', [a, b], (dy) =>
    noGrad(() => [unbroadcast(copy(dy), a.shape), unbroadcast(copy(dy), b.shape)]),
  );
}

/** y = a - b (broadcasting). Backward: da = sum_to(dy), db = -sum_to(dy). */
export function sub(a: Tensor, b: Tensor): Tensor {
  const y = binaryKernel(1, a, b, 'sub');
  return record(y, 'sub (broadcast)', [a, b], (dy) =>
    noGrad(() => {
      const db = unbroadcast(copy(dy), b.shape);
      const neg = scaleShiftKernel(db, -1, 0, 'neg');
      db.dispose();
      return [unbroadcast(copy(dy), a.shape), neg];
    }),
  );
}

/** y = a * b (broadcasting). Backward: da = sum_to(dy * b), db = sum_to(dy * a). */
export function mul(a: Tensor, b: Tensor): Tensor {
  const y = binaryKernel(2, a, b, 'mul');
  return record(y, 'mul (broadcast)', [a, b], (dy) =>
    noGrad(() => [
      a.requiresGrad ? unbroadcast(binaryKernel(2, dy, b, 'mul grad'), a.shape) : null,
      b.requiresGrad ? unbroadcast(binaryKernel(2, dy, a, 'mul grad'), b.shape) : null,
    ]),
  );
}

/**
 * Mean over `axes` (negative counts from the end). keepdim keeps them as size 1, which is what
 * broadcasting back against x needs. Backward: dx = dy / count, broadcast over the reduced axes.
 */
export function mean(x: Tensor, axes: readonly number[], keepdim = true): Tensor {
  const rank = x.shape.length;
  const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  for (const a of reduced) if (a < 0 || a >= rank) throw new Error(`mean: axis out of range for [${x.shape}]`);
  const kept = x.shape.map((d, k) => (reduced.has(k) ? 1 : d));
  const count = x.size / sizeOf(kept);
  const outShape = keepdim ? kept : x.shape.filter((_, k) => !reduced.has(k));
  // The reduced tensor has the same memory layout with or without the size-1 axes.
  const y = sumToKernel(x, kept, 1 / count, 'mean');
  const shaped = keepdim ? y : withShape(y, outShape);
  return record(shaped, 'mean', [x], (dy) =>
    noGrad(() => {
      const g = keepdim ? dy : withShape(copy(dy), kept);
      const dx = expandKernel(g, x.shape, 1 / count);
      if (g !== dy) g.dispose();
      return [dx];
    }),
  );
}

/** y = 1 / sqrt(x). Backward: dx = -1/2 * dy * y^3. */
export function rsqrt(x: Tensor): Tensor {
  const y = x.engine.empty(x.shape, 'f32', 'rsqrt');
  x.engine.dispatch(RSQRT_FORWARD, { constants: { WG, N: y.size }, bindings: [x, null, y], workgroups: workgroups1d(y.size, WG), op: 'primitive rsqrt' });
  return record(y, 'rsqrt', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'rsqrt grad');
    x.engine.dispatch(RSQRT_BACKWARD, { constants: { WG, N: dx.size }, bindings: [y, dy, dx], workgroups: workgroups1d(dx.size, WG), op: 'primitive rsqrt grad' });
    return [dx];
  });
}

/** y = x + value. Backward: dx = dy. */
export function addScalar(x: Tensor, value: number): Tensor {
  return record(scaleShiftKernel(x, 1, value, 'add scalar'), 'add scalar', [x], (dy) => [dy]);
}

/** y = x * value. Backward: dx = dy * value. */
export function mulScalar(x: Tensor, value: number): Tensor {
  return record(scaleShiftKernel(x, value, 0, 'mul scalar'), 'mul scalar', [x], (dy) => [scaleShiftKernel(dy, value, 0, 'mul scalar grad')]);
}

function copy(t: Tensor): Tensor {
  const c = t.engine.empty(t.shape, 'f32', `${t.label} (copy)`);
  t.engine.copy(t, c, t.bytes);
  return c;
}

/** The same values under a new shape of equal size; frees the input, which this module created. */
function withShape(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape)) return t;
  const r = t.engine.empty(shape, 'f32', t.label);
  t.engine.copy(t, r, t.bytes);
  t.dispose();
  return r;
}
