import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, noGrad, type Tensor } from '../../src/engine/index.js';
import { batchNorm, groupNorm, layerNorm, initBatchNormState, type BatchNormState } from '../../src/engine/ops/norm.js';
import { relu } from '../../src/engine/ops/elementwise.js';
import * as P from '../../src/engine/ops/primitives.js';
import { batchNormComposed, groupNormComposed, layerNormComposed } from '../../src/model/norms-composed.js';
import { maxAbsDiff, randn, sizeOf } from '../helpers/arrays.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());


describe('primitives', () => {
  it('broadcast sub and mul reduce their gradients over the repeated axes', async () => {
    // a: 2x3, b: 1x3 (repeated over rows). y = (a - b) * b.
    const [ga, gb, y] = await engine.tidy(() => {
      const a = engine.tensor([1, 2, 3, 4, 5, 6], [2, 3]).requireGrad();
      const b = engine.tensor([10, 20, 30], [1, 3]).requireGrad();
      const out = P.mul(P.sub(a, b), b);
      out.backward(engine.tensor([1, 1, 1, 1, 1, 1], [2, 3]));
      return Promise.all([a.grad!.read(), b.grad!.read(), out.read()]);
    });
    expect(Array.from(y)).toEqual([-90, -360, -810, -60, -300, -720]);
    expect(Array.from(ga)).toEqual([10, 20, 30, 10, 20, 30]);
    // d/db of (a - b) * b = a - 2b, summed over the two rows.
    expect(Array.from(gb)).toEqual([1 + 4 - 40, 2 + 5 - 80, 3 + 6 - 120]);
  });

  it('mean over axes (keepdim or not), rsqrt and add-scalar with their gradients', async () => {
    const [m, mFlat, gx, r, gr] = await engine.tidy(() => {
      const x = engine.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]).requireGrad();
      const mk = P.mean(x, [0, 2]);
      const mf = noGrad(() => P.mean(x, [0, 2], false));
      P.mulScalar(mk, 3).backward(engine.tensor([1, 2], [1, 2, 1]));
      const v = engine.tensor([4, 0.25], [2]).requireGrad();
      const rs = P.rsqrt(P.addScalar(v, 0));
      rs.backward(engine.tensor([1, 1], [2]));
      return Promise.all([mk.read(), mf.read(), x.grad!.read(), rs.read(), v.grad!.read()]);
    });
    expect(Array.from(m)).toEqual([(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]);
    expect(Array.from(mFlat)).toEqual(Array.from(m));
    // d(3 * mean)/dx = 3/4 times the gradient of the mean x belongs to.
    expect(Array.from(gx)).toEqual([0.75, 0.75, 1.5, 1.5, 0.75, 0.75, 1.5, 1.5]);
    expect(Array.from(r)).toEqual([0.5, 2]);
    // d(v^-1/2)/dv = -1/2 v^-3/2
    expect(Array.from(gr)).toEqual([-0.5 * 4 ** -1.5, -0.5 * 0.25 ** -1.5]);
  });
});

type Norm = 'batch' | 'batch-eval' | 'group' | 'layer';

/**
 * Runs the fused kernel and the composed graph on the same data; returns y, dx, dgamma, dbeta and
 * (batch norm) the running statistics of each.
 */
async function both(norm: Norm, shape: number[], seed: number, fuseRelu = false): Promise<[Float32Array[], Float32Array[]]> {
  const c = shape[1]!;
  const n = sizeOf(shape);
  const xs = randn(seed, n, 1.3, 0.4);
  const gs = randn(seed + 1, c, 0.3, 1);
  const bs = randn(seed + 2, c, 0.5);
  const dys = randn(seed + 3, n);
  const runningInit = { mean: randn(seed + 4, c, 0.2), variance: randn(seed + 5, c, 0.1, 1.5) };
  const one = async (composed: boolean): Promise<Float32Array[]> => {
    const state: BatchNormState = initBatchNormState(engine, c);
    engine.writeBuffer(state.runningMean.buffer, runningInit.mean);
    engine.writeBuffer(state.runningVar.buffer, runningInit.variance);
    const reads = engine.tidy(() => {
      const x = engine.tensor(xs, shape).requireGrad();
      const gamma = engine.tensor(gs, [c]).requireGrad();
      const beta = engine.tensor(bs, [c]).requireGrad();
      let y: Tensor;
      const training = norm === 'batch';
      if (composed) {
        y =
          norm === 'batch' || norm === 'batch-eval'
            ? batchNormComposed(x, gamma, beta, state, { training })
            : norm === 'group'
              ? groupNormComposed(x, gamma, beta, 4)
              : layerNormComposed(x, gamma, beta);
        if (fuseRelu) y = relu(y);
      } else {
        const relu_ = fuseRelu;
        y =
          norm === 'batch' || norm === 'batch-eval'
            ? batchNorm(x, gamma, beta, state, { training, relu: relu_ })
            : norm === 'group'
              ? groupNorm(x, gamma, beta, 4, { relu: relu_ })
              : layerNorm(x, gamma, beta, { relu: relu_ });
      }
      y.backward(engine.tensor(dys, shape));
      return Promise.all([y, x.grad!, gamma.grad!, beta.grad!, state.runningMean, state.runningVar].map((t) => t.read()));
    });
    const out = await reads;
    state.runningMean.dispose();
    state.runningVar.dispose();
    return out;
  };
  return [await one(false), await one(true)];
}

const NAMES = ['y', 'dx', 'dgamma', 'dbeta', 'running mean', 'running var'];

describe('fused kernels = norms composed from primitives through the autograd', () => {
  const rows: { norm: Norm; shape: number[]; relu?: boolean }[] = [
    { norm: 'batch', shape: [4, 16, 8, 8] },
    { norm: 'batch', shape: [3, 5, 3, 7], relu: true },
    { norm: 'batch-eval', shape: [3, 5, 3, 7] },
    { norm: 'group', shape: [2, 32, 4, 4] },
    { norm: 'group', shape: [3, 12, 5, 3], relu: true },
    { norm: 'group', shape: [3, 12, 4, 5], relu: true },
    { norm: 'layer', shape: [2, 16, 6, 6] },
    { norm: 'layer', shape: [3, 5, 3, 1], relu: true },
  ];
  for (const [k, { norm, shape, relu: fuse }] of rows.entries()) {
    it(`${norm}${fuse ? ' + relu' : ''} [${shape}]: forward, backward and running statistics agree`, async () => {
      const [fused, composed] = await both(norm, shape, 100 + 10 * k, fuse);
      const perSet = norm === 'batch' || norm === 'batch-eval' ? sizeOf(shape) / shape[1]! : sizeOf(shape) / shape[0]!;
      const tols = [2e-5, 5e-5, 2e-6 * perSet + 1e-5, 2e-6 * perSet + 1e-5, 1e-6, 1e-5];
      fused.forEach((f, i) => expect(maxAbsDiff(f, composed[i]!), `${NAMES[i]}`).toBeLessThan(tols[i]!));
      // The comparison has teeth: the gradients are far from zero, and training moved the running stats.
      expect(Math.max(...fused[1]!.map(Math.abs))).toBeGreaterThan(0.1);
      if (norm === 'batch') expect(maxAbsDiff(fused[5]!, composed[5]!)).toBeLessThan(maxAbsDiff(fused[5]!, randn(100 + 10 * k + 5, shape[1]!, 0.1, 1.5)));
    });
  }
});
