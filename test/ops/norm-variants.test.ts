// Instance norm, ghost batch norm and batch norm's evaluation with the batch's own statistics: the
// norms that are a change of reduction set in the same fused kernels (test/ops/norm.test.ts holds
// the PyTorch fixtures for them, beside the other norms').
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, type Tensor } from '../../src/engine/index.js';
import { batchNorm, initBatchNormState, instanceNorm, planNorm } from '../../src/engine/ops/norm.js';
import { normBackwardRef, normForwardRef, type NormRefSpec } from '../../src/reference/norm.js';
import { maxAbsDiff, randn, sizeOf, type NormOutputs } from '../helpers/arrays.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

type Out = NormOutputs;

type Norm = (x: Tensor, gamma: Tensor, beta: Tensor, state: ReturnType<typeof initBatchNormState>) => Tensor;

async function run(shape: number[], seed: number, norm: Norm, running?: { mean: number[]; variance: number[] }): Promise<Out> {
  const c = shape[1]!;
  const n = sizeOf(shape);
  const state = initBatchNormState(engine, c);
  if (running) {
    engine.writeBuffer(state.runningMean.buffer, Float32Array.from(running.mean));
    engine.writeBuffer(state.runningVar.buffer, Float32Array.from(running.variance));
  }
  const [y, dx, dgamma, dbeta] = await engine.tidy(() => {
    const x = engine.tensor(randn(seed, n, 1.6, 0.4), shape).requireGrad();
    const gamma = engine.tensor(randn(seed + 1, c, 0.4, 1), [c]).requireGrad();
    const beta = engine.tensor(randn(seed + 2, c, 0.3), [c]).requireGrad();
    const out = norm(x, gamma, beta, state);
    out.backward(engine.tensor(randn(seed + 3, n), shape));
    return Promise.all([out.read(), x.grad!.read(), gamma.grad!.read(), beta.grad!.read()]);
  });
  const r: Out = { y, dx, dgamma, dbeta, runningMean: await state.runningMean.read(), runningVar: await state.runningVar.read() };
  state.runningMean.dispose();
  state.runningVar.dispose();
  return r;
}

function expectReference(got: Out, shape: number[], seed: number, spec: NormRefSpec, running: { mean: number[]; variance: number[] }): void {
  const c = shape[1]!;
  const n = sizeOf(shape);
  const host = { x: randn(seed, n, 1.6, 0.4), gamma: randn(seed + 1, c, 0.4, 1), beta: randn(seed + 2, c, 0.3), dy: randn(seed + 3, n) };
  const f = normForwardRef(host.x, host.gamma, host.beta, spec, running);
  const b = normBackwardRef(host.x, host.gamma, host.beta, host.dy, spec, running);
  expect(maxAbsDiff(got.y, f.y)).toBeLessThan(2e-5);
  expect(maxAbsDiff(got.dx, b.dx)).toBeLessThan(5e-5);
  const sumTol = 2e-6 * (n / c) + 1e-5;
  expect(maxAbsDiff(got.dgamma, b.dgamma)).toBeLessThan(sumTol);
  expect(maxAbsDiff(got.dbeta, b.dbeta)).toBeLessThan(sumTol);
  if (f.runningMean) {
    expect(maxAbsDiff(got.runningMean!, f.runningMean)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got.runningVar!, f.runningVar!)).toBeLessThan(2e-6);
  }
}

const fresh = (c: number) => ({ mean: new Array<number>(c).fill(0.2), variance: new Array<number>(c).fill(1.5) });

describe('instance norm against the float64 reference', () => {
  const cases: { shape: number[]; relu: boolean }[] = [
    { shape: [2, 16, 32, 32], relu: false },
    { shape: [3, 5, 7, 3], relu: true },
    { shape: [2, 8, 4, 6], relu: true }, // vec4 planes
    { shape: [4, 3, 2, 1], relu: false }, // planes of two values
  ];
  for (const [k, { shape, relu }] of cases.entries()) {
    it(`instance${relu ? '+relu' : ''} [${shape}]`, async () => {
      const got = await run(shape, 100 + 10 * k, (x, g, b) => instanceNorm(x, g, b, { relu }));
      expectReference(got, shape, 100 + 10 * k, { kind: 'instance', shape, relu }, fresh(shape[1]!));
    });
  }

  it('refuses planes of one value (the variance of one value is 0), as PyTorch does', () => {
    engine.tidy(() => {
      const x = engine.zeros([2, 3, 1, 1]);
      const g = engine.zeros([3]);
      expect(() => instanceNorm(x, g, g)).toThrow(/more than one value per plane/);
    });
  });
});

describe('ghost batch norm', () => {
  const cases: { shape: number[]; ghost: number; relu: boolean }[] = [
    { shape: [8, 16, 8, 8], ghost: 2, relu: false },
    { shape: [6, 5, 3, 7], ghost: 3, relu: true },
    { shape: [8, 32, 16, 16], ghost: 4, relu: true },
    { shape: [4, 3, 1, 2], ghost: 1, relu: false }, // one image per sub-batch
  ];
  for (const [k, { shape, ghost, relu }] of cases.entries()) {
    it(`ghost ${ghost} of ${shape[0]}${relu ? '+relu' : ''} [${shape}]: y, dx, dgamma, dbeta, running statistics updated sub-batch by sub-batch`, async () => {
      const running = fresh(shape[1]!);
      const got = await run(shape, 200 + 10 * k, (x, g, b, s) => batchNorm(x, g, b, s, { training: true, ghostBatch: ghost, relu }), running);
      expectReference(got, shape, 200 + 10 * k, { kind: 'batch', shape, training: true, ghostBatch: ghost, relu }, running);
    });
  }

  it('with B equal to the batch is batch norm, bit for bit (outputs, gradients, running statistics)', async () => {
    const shape = [6, 16, 8, 8];
    const running = fresh(16);
    const plain = await run(shape, 300, (x, g, b, s) => batchNorm(x, g, b, s, { training: true, relu: true }), running);
    const ghost = await run(shape, 300, (x, g, b, s) => batchNorm(x, g, b, s, { training: true, relu: true, ghostBatch: 6 }), running);
    for (const k of ['y', 'dx', 'dgamma', 'dbeta', 'runningMean', 'runningVar'] as const) {
      expect(Buffer.from(ghost[k]!.buffer).equals(Buffer.from(plain[k]!.buffer)), k).toBe(true);
    }
    // And it differs from a real ghost batch (the test above would pass for an ignored option).
    const split = await run(shape, 300, (x, g, b, s) => batchNorm(x, g, b, s, { training: true, relu: true, ghostBatch: 3 }), running);
    expect(maxAbsDiff(split.y, plain.y)).toBeGreaterThan(1e-3);
  });

  it('plans C sets per sub-batch, and refuses a B that does not divide the batch', () => {
    expect(planNorm('batch', [8, 4, 3, 3], { ghostBatch: 2 }).ghosts).toBe(4);
    expect(planNorm('batch', [8, 4, 3, 3], { ghostBatch: 8 }).ghosts).toBe(1);
    expect(() => planNorm('batch', [8, 4, 3, 3], { ghostBatch: 3 })).toThrow(/3/);
  });

  it('evaluation ignores ghost batches: running statistics, the same as without the option', async () => {
    const shape = [4, 3, 2, 2];
    const running = { mean: [0.5, -1, 2], variance: [0.25, 4, 1.5] };
    const a = await run(shape, 400, (x, g, b, s) => batchNorm(x, g, b, s, { training: false }), running);
    const b = await run(shape, 400, (x, g, b, s) => batchNorm(x, g, b, s, { training: false, ghostBatch: 2 }), running);
    expect(Buffer.from(a.y.buffer).equals(Buffer.from(b.y.buffer))).toBe(true);
    expect(maxAbsDiff(a.runningMean!, running.mean)).toBe(0);
  });
});

describe("batch norm evaluated with the batch's own statistics", () => {
  it('normalises like training, leaves the running statistics alone', async () => {
    const shape = [4, 6, 5, 3];
    const running = { mean: new Array<number>(6).fill(3), variance: new Array<number>(6).fill(7) };
    const own = await run(shape, 500, (x, g, b, s) => batchNorm(x, g, b, s, { training: false, evalStatistics: 'batch' }), running);
    const f = normForwardRef(randn(500, sizeOf(shape), 1.6, 0.4), randn(501, 6, 0.4, 1), randn(502, 6, 0.3), { kind: 'batch', shape, training: true });
    expect(maxAbsDiff(own.y, f.y)).toBeLessThan(2e-5);
    expect(maxAbsDiff(own.runningMean!, running.mean)).toBe(0);
    expect(maxAbsDiff(own.runningVar!, running.variance)).toBe(0);
  });
});
