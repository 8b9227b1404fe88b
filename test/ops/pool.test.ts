import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, ops } from '../../src/engine/index.js';
import { createRng } from '../../src/check/rng.js';
import { runAll } from '../../src/check/gradcheck.js';
import { poolCases } from '../../src/check/cases/pool.js';
import { elementwiseCases } from '../../src/check/cases/elementwise.js';
import {
  maxPool2dForward,
  maxPool2dBackward,
  globalAvgPoolForward,
  globalAvgPoolBackward,
  type Shape4,
} from '../../src/reference/pool.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const rng = createRng(20240611);
const normals = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Runs op forward and backward(dy) on the GPU; returns y and x.grad. */
async function gpuForwardBackward(op: (x: ReturnType<Engine['tensor']>) => ReturnType<Engine['tensor']>, xData: Float32Array, shape: Shape4, dyData: Float32Array) {
  return engine.tidy(() => {
    const x = engine.tensor(xData, shape).requireGrad();
    const y = op(x);
    y.backward(engine.tensor(dyData, y.shape));
    // Detach the gradient: disposing x at the end of tidy() would dispose x.grad with it.
    const dx = x.grad!;
    x.grad = null;
    return { y, dx };
  });
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  expect(at === -1 ? 'ok' : `element ${at}: ${actual[at]} vs ${expected[at]}`).toBe('ok');
}

// Odd H/W (floor), batch 1, one channel, sizes that are not multiples of 256, and a 2x2 plane.
const POOL_SHAPES: Shape4[] = [
  [1, 1, 5, 7],
  [2, 3, 8, 6],
  [3, 1, 9, 9],
  [1, 4, 2, 2],
  [2, 5, 33, 17],
  [1, 1, 2, 3],
];

describe('maxPool2d', () => {
  for (const shape of POOL_SHAPES) {
    it(`matches the float64 reference forward and backward on [${shape}]`, async () => {
      const x = normals(size(shape));
      const outShape = [shape[0], shape[1], Math.floor(shape[2] / 2), Math.floor(shape[3] / 2)];
      const dy = normals(size(outShape));
      const { y, dx } = await gpuForwardBackward(ops.maxPool2d, x, shape, dy);
      expect(y.shape).toEqual(outShape);
      // A max and a routed copy involve no arithmetic: the GPU must be exact.
      expect(Array.from(await y.read())).toEqual(Array.from(maxPool2dForward(x, shape)));
      expect(Array.from(await dx.read())).toEqual(Array.from(maxPool2dBackward(x, shape, dy)));
      y.dispose();
      dx.dispose();
    });
  }

  it('sends the gradient of a tied window to its first element in row-major order', async () => {
    const shape: Shape4 = [2, 3, 7, 9];
    // Values from {0, 1, 2}: most windows hold ties, many of them among their maxima.
    const x = Float32Array.from({ length: size(shape) }, () => rng.int(3));
    const dy = Float32Array.from({ length: 2 * 3 * 3 * 4 }, (_, i) => i + 1);
    const { y, dx } = await gpuForwardBackward(ops.maxPool2d, x, shape, dy);
    expect(Array.from(await dx.read())).toEqual(Array.from(maxPool2dBackward(x, shape, dy)));
    y.dispose();
    dx.dispose();

    // An all-equal window: only its top-left element gets the gradient, as in PyTorch.
    const { y: y2, dx: dx2 } = await gpuForwardBackward(ops.maxPool2d, Float32Array.of(5, 5, 5, 5), [1, 1, 2, 2], Float32Array.of(3));
    expect(Array.from(await dx2.read())).toEqual([3, 0, 0, 0]);
    y2.dispose();
    dx2.dispose();
  });

  it('gives the odd last row and column zero gradient', async () => {
    const shape: Shape4 = [1, 1, 3, 3];
    // The 9 (bottom-right, outside the only window) must not win: the window is rows/cols 0..1.
    const { y, dx } = await gpuForwardBackward(ops.maxPool2d, Float32Array.of(1, 2, 7, 4, 3, 8, 9, 9, 9), shape, Float32Array.of(1));
    expect(Array.from(await y.read())).toEqual([4]);
    expect(Array.from(await dx.read())).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0]);
    y.dispose();
    dx.dispose();
  });

  it('rejects inputs a 2x2 window does not fit and non-NCHW tensors', () => {
    engine.tidy(() => {
      expect(() => ops.maxPool2d(engine.zeros([1, 1, 1, 4]))).toThrow(/does not fit/);
      expect(() => ops.maxPool2d(engine.zeros([4, 4]))).toThrow(/NCHW/);
    });
  });
});

describe('globalAvgPool', () => {
  // HW = 1, HW below, at and above the 64-wide workgroup, and N*C planes of many sizes.
  const GAP_SHAPES: Shape4[] = [
    [2, 3, 1, 1],
    [1, 1, 5, 7],
    [3, 10, 8, 8],
    [2, 2, 33, 35],
    [1, 7, 9, 13],
  ];
  for (const shape of GAP_SHAPES) {
    it(`matches the float64 reference forward and backward on [${shape}]`, async () => {
      const x = normals(size(shape));
      const dy = normals(shape[0] * shape[1]);
      const { y, dx } = await gpuForwardBackward(ops.globalAvgPool, x, shape, dy);
      expect(y.shape).toEqual([shape[0], shape[1], 1, 1]);
      // Sums of up to ~1000 float32 terms of magnitude ~1: relative error well under 1e-5.
      expectClose(await y.read(), globalAvgPoolForward(x, shape), 1e-6, 1e-5);
      expectClose(await dx.read(), globalAvgPoolBackward(shape, dy), 1e-7, 1e-6);
      y.dispose();
      dx.dispose();
    });
  }

  it('is deterministic: the same input gives the same bits', async () => {
    const shape: Shape4 = [2, 3, 31, 29];
    const x = normals(size(shape));
    const a = engine.tidy(() => ops.globalAvgPool(engine.tensor(x, shape)));
    const b = engine.tidy(() => ops.globalAvgPool(engine.tensor(x, shape)));
    expect(Array.from(await a.read())).toEqual(Array.from(await b.read()));
    a.dispose();
    b.dispose();
  });
});

describe('references', () => {
  // Central differences of the float64 forward: checks the reference backward on its own.
  function fdCheck(forward: (x: Float64Array) => Float64Array, backward: (x: Float64Array, dy: Float64Array) => Float64Array, x: Float64Array, outSize: number) {
    const r = Float64Array.from({ length: outSize }, () => rng.normal());
    const analytic = backward(x, r);
    const h = 1e-6;
    for (let j = 0; j < x.length; j++) {
      const xp = x.slice();
      const xm = x.slice();
      xp[j] += h;
      xm[j] -= h;
      const fp = forward(xp);
      const fm = forward(xm);
      let d = 0;
      for (let i = 0; i < outSize; i++) d += r[i]! * (fp[i]! - fm[i]!);
      expect(Math.abs(d / (2 * h) - analytic[j]!)).toBeLessThan(1e-8);
    }
  }

  it('max-pool backward is the derivative of its forward (distinct inputs)', () => {
    const shape: Shape4 = [2, 2, 5, 3];
    // Distinct values far apart compared with h, so no step crosses a tie.
    const x = Float64Array.from({ length: size(shape) }, (_, i) => ((i * 37) % size(shape)) * 0.1 - 2);
    fdCheck((v) => maxPool2dForward(v, shape), (v, dy) => maxPool2dBackward(v, shape, dy), x, 2 * 2 * 2 * 1);
  });

  it('global average pool backward is the derivative of its forward', () => {
    const shape: Shape4 = [2, 3, 3, 5];
    const x = Float64Array.from(normals(size(shape)));
    fdCheck((v) => globalAvgPoolForward(v, shape), (_v, dy) => globalAvgPoolBackward(shape, dy), x, 6);
  });
});

describe('gradcheck cases', () => {
  // The elementwise cases ride here: add and ReLU feed max-pool in SeedNet and have no test file of ours.
  for (const c of [...poolCases, ...elementwiseCases]) {
    it(`${c.op} passes the gradient check`, async () => {
      const rows = await runAll(engine, [c], { seed: 7 });
      for (const row of rows) expect(row.failures).toEqual([]);
      expect(rows.length).toBe(c.wrt.length);
    });
  }
});
