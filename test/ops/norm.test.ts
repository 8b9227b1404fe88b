import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine, noGrad, type Tensor } from '../../src/engine/index.js';
import {
  batchNorm,
  groupNorm,
  layerNorm,
  instanceNorm,
  initBatchNormState,
  planNorm,
  normForwardKernels,
  normBackwardKernels,
} from '../../src/engine/ops/norm.js';
import { explainNorm, formatExplain } from '../../src/explain/explain.js';
import { relu } from '../../src/engine/ops/elementwise.js';
import { normCases } from '../../src/check/cases/norm.js';
import type { GradCase } from '../../src/check/types.js';
import { fixtureTensor, hashRng, normBackwardRef, normForwardRef, type NormKind, type NormRefSpec } from '../../src/reference/norm.js';
import { maxAbsDiff, randn, sizeOf, type NormOutputs } from '../helpers/arrays.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

type Run = NormOutputs;

/** One forward + backward of a fused norm on the GPU, everything read back. */
async function runNorm(
  kind: NormKind,
  shape: number[],
  host: { x: Float32Array; gamma: ArrayLike<number>; beta: ArrayLike<number>; dy: Float32Array },
  opts: { groups?: number; relu?: boolean; training?: boolean; running?: { mean: ArrayLike<number>; variance: ArrayLike<number> } } = {},
): Promise<Run> {
  const c = shape[1]!;
  const state = kind === 'batch' ? initBatchNormState(engine, c) : null;
  if (state && opts.running) {
    engine.writeBuffer(state.runningMean.buffer, Float32Array.from(opts.running.mean));
    engine.writeBuffer(state.runningVar.buffer, Float32Array.from(opts.running.variance));
  }
  const out = await engine.tidy(() => {
    const x = engine.tensor(host.x, shape).requireGrad();
    const gamma = engine.tensor(host.gamma, [c]).requireGrad();
    const beta = engine.tensor(host.beta, [c]).requireGrad();
    const y =
      kind === 'batch'
        ? batchNorm(x, gamma, beta, state!, { training: opts.training ?? true, relu: opts.relu })
        : kind === 'group'
          ? groupNorm(x, gamma, beta, opts.groups ?? 4, { relu: opts.relu })
          : layerNorm(x, gamma, beta, { relu: opts.relu });
    y.backward(engine.tensor(host.dy, shape));
    return Promise.all([y.read(), x.grad!.read(), gamma.grad!.read(), beta.grad!.read()]);
  });
  const run: Run = { y: out[0], dx: out[1], dgamma: out[2], dbeta: out[3] };
  if (state) {
    run.runningMean = await state.runningMean.read();
    run.runningVar = await state.runningVar.read();
    state.runningMean.dispose();
    state.runningVar.dispose();
  }
  return run;
}

describe('fused norms against the float64 reference', () => {
  // SeedNet shapes (small batch), odd shapes not multiples of the workgroup size, and 1x1 planes.
  const shapes: { kind: NormKind; shape: number[]; groups?: number; relu?: boolean }[] = [
    { kind: 'batch', shape: [4, 16, 32, 32] },
    { kind: 'batch', shape: [3, 5, 7, 3], relu: true },
    { kind: 'batch', shape: [7, 3, 1, 1] },
    { kind: 'group', shape: [2, 32, 8, 8], groups: 4 },
    { kind: 'group', shape: [3, 12, 5, 3], groups: 4, relu: true },
    { kind: 'group', shape: [2, 6, 3, 1], groups: 3 },
    { kind: 'layer', shape: [2, 32, 16, 16] },
    { kind: 'layer', shape: [3, 5, 3, 3], relu: true },
    // vec4 planes of 6 and 7 vec4s: the elementwise kernels take 2 and 1 vec4s per invocation.
    { kind: 'group', shape: [2, 8, 4, 6], groups: 2, relu: true },
    { kind: 'batch', shape: [3, 4, 2, 14], relu: true },
  ];
  for (const [k, { kind, shape, groups, relu: fuse }] of shapes.entries()) {
    it(`${kind}${fuse ? '+relu' : ''} [${shape}]: y, dx, dgamma, dbeta, running statistics`, async () => {
      const n = sizeOf(shape);
      const c = shape[1]!;
      const host = {
        x: randn(10 + k, n, 1.7, 0.6),
        gamma: randn(20 + k, c, 0.4, 1),
        beta: randn(30 + k, c, 0.3),
        dy: randn(40 + k, n),
      };
      const spec: NormRefSpec = { kind, shape, groups, relu: fuse, training: true };
      const running = { mean: new Array<number>(c).fill(0), variance: new Array<number>(c).fill(1) };
      const ref = normForwardRef(host.x, host.gamma, host.beta, spec, running);
      const refB = normBackwardRef(host.x, host.gamma, host.beta, host.dy, spec, running);
      const got = await runNorm(kind, shape, host, { groups, relu: fuse });
      expect(maxAbsDiff(got.y, ref.y)).toBeLessThan(2e-5);
      expect(maxAbsDiff(got.dx, refB.dx)).toBeLessThan(5e-5);
      // Sums over up to 16k elements of O(1) terms: float32 accumulation error grows with the count.
      const sumTol = 2e-6 * (n / c) + 1e-5;
      expect(maxAbsDiff(got.dgamma, refB.dgamma)).toBeLessThan(sumTol);
      expect(maxAbsDiff(got.dbeta, refB.dbeta)).toBeLessThan(sumTol);
      if (kind === 'batch') {
        expect(maxAbsDiff(got.runningMean!, ref.runningMean!)).toBeLessThan(1e-6);
        expect(maxAbsDiff(got.runningVar!, ref.runningVar!)).toBeLessThan(2e-6);
      }
    });
  }

  it('batch norm in evaluation uses the running statistics, forward and backward', async () => {
    const shape = [3, 4, 5, 2];
    const n = sizeOf(shape);
    const host = { x: randn(51, n, 2, 1), gamma: randn(52, 4, 0.4, 1), beta: randn(53, 4, 0.3), dy: randn(54, n) };
    const running = { mean: [0.5, -1, 2, 0], variance: [0.25, 4, 1.5, 9] };
    const spec: NormRefSpec = { kind: 'batch', shape, training: false };
    const ref = normForwardRef(host.x, host.gamma, host.beta, spec, running);
    const refB = normBackwardRef(host.x, host.gamma, host.beta, host.dy, spec, running);
    const got = await runNorm('batch', shape, host, { training: false, running });
    expect(maxAbsDiff(got.y, ref.y)).toBeLessThan(2e-5);
    expect(maxAbsDiff(got.dx, refB.dx)).toBeLessThan(2e-5);
    expect(maxAbsDiff(got.dgamma, refB.dgamma)).toBeLessThan(1e-4);
    expect(maxAbsDiff(got.dbeta, refB.dbeta)).toBeLessThan(1e-4);
    // Evaluation leaves the running statistics alone.
    expect(maxAbsDiff(got.runningMean!, running.mean)).toBe(0);
    expect(maxAbsDiff(got.runningVar!, running.variance)).toBe(0);
  });
});

describe('statistics', () => {
  it('track the running mean and unbiased variance over several training steps', async () => {
    const shape = [6, 3, 4, 4];
    const n = sizeOf(shape);
    const c = 3;
    const state = initBatchNormState(engine, c);
    const gamma = engine.tensor([1, 1, 1], [c]);
    const beta = engine.tensor([0, 0, 0], [c]);
    let rm = new Float64Array(c);
    let rv = new Float64Array(c).fill(1);
    for (let step = 0; step < 5; step++) {
      const x = randn(60 + step, n, 1 + step, step - 2);
      noGrad(() => engine.tidy(() => batchNorm(engine.tensor(x, shape), gamma, beta, state, { training: true, momentum: 0.1 })));
      const ref = normForwardRef(x, [1, 1, 1], [0, 0, 0], { kind: 'batch', shape, training: true, momentum: 0.1 }, { mean: rm, variance: rv });
      rm = Float64Array.from(ref.runningMean!);
      rv = Float64Array.from(ref.runningVar!);
    }
    expect(maxAbsDiff(await state.runningMean.read(), rm)).toBeLessThan(1e-5);
    expect(maxAbsDiff(await state.runningVar.read(), rv)).toBeLessThan(1e-4);
    // Sets of 96: a biased update (M2 / M) would be ~1% smaller in each step's contribution, about
    // 1e-2 here, a hundred times the tolerance.
    for (const t of [state.runningMean, state.runningVar, gamma, beta]) t.dispose();
  });

  it('stay accurate for a large mean over a BatchNorm-sized set (no E[x^2] - E[x]^2)', async () => {
    // 131072 values per channel, the size of b1's sets at batch 128, around 1000 with std 1: float32
    // E[x^2] - E[x]^2 loses all digits of the variance here (1e6 * 2^-24 ~ 0.06 per step of a sum).
    const shape = [128, 1, 32, 32];
    const n = sizeOf(shape);
    const x = randn(70, n, 1, 1000);
    const ref = normForwardRef(x, [1], [0], { kind: 'batch', shape, training: true }, { mean: [0], variance: [1] });
    const got = await runNorm('batch', shape, { x, gamma: [1], beta: [0], dy: new Float32Array(n) });
    const refVar = (ref.runningVar![0]! - 0.9) / 0.1;
    const gotVar = (got.runningVar![0]! - 0.9) / 0.1;
    expect(Math.abs(gotVar - refVar) / refVar).toBeLessThan(1e-4);
    expect(maxAbsDiff(got.y, ref.y)).toBeLessThan(2e-4);
  });

  it('are bitwise reproducible from run to run (no atomics)', async () => {
    const shape = [16, 8, 16, 16];
    const n = sizeOf(shape);
    const host = { x: randn(80, n), gamma: randn(81, 8, 0.2, 1), beta: randn(82, 8), dy: randn(83, n) };
    const a = await runNorm('batch', shape, host);
    const b = await runNorm('batch', shape, host);
    const g1 = await runNorm('group', shape, host, { groups: 4 });
    const g2 = await runNorm('group', shape, host, { groups: 4 });
    for (const [p, q] of [[a, b], [g1, g2]] as const) {
      for (const key of ['y', 'dx', 'dgamma', 'dbeta'] as const) expect(Buffer.from(p[key].buffer).equals(Buffer.from(q[key].buffer))).toBe(true);
    }
  });
});

describe('fused ReLU', () => {
  it('equals the unfused norm followed by relu, forward and backward (vec4 kernels)', async () => {
    const shape = [4, 8, 6, 4];
    const n = sizeOf(shape);
    const xs = randn(90, n);
    const dys = randn(91, n);
    const grads = async (fuse: boolean): Promise<Float32Array[]> => {
      // Reads are recorded before tidy() frees x (and with it x.grad).
      return engine.tidy(() => {
        const x = engine.tensor(xs, shape).requireGrad();
        const gamma = engine.tensor(randn(92, 8, 0.3, 1), [8]).requireGrad();
        const beta = engine.tensor(randn(93, 8, 0.5), [8]).requireGrad();
        const y = fuse ? groupNorm(x, gamma, beta, 4, { relu: true }) : relu(groupNorm(x, gamma, beta, 4));
        y.backward(engine.tensor(dys, shape));
        return Promise.all([y, x.grad!, gamma.grad!, beta.grad!].map((t) => t.read()));
      });
    };
    const fused = await grads(true);
    const plain = await grads(false);
    // Some outputs are clamped, so the mask matters: the check would fail with an unmasked backward.
    expect(fused[0]!.filter((v) => v === 0).length).toBeGreaterThan(n / 4);
    for (let k = 0; k < 4; k++) expect(maxAbsDiff(fused[k]!, plain[k]!)).toBeLessThan(1e-5);
  });
});

describe('memory and autograd', () => {
  it('frees saved statistics and partial sums: nothing stays in use after tidy()', async () => {
    const shape = [4, 8, 4, 4];
    const n = sizeOf(shape);
    await engine.sync();
    const before = engine.pool.snapshot().bytesInUse;
    engine.tidy(() => {
      const state = initBatchNormState(engine, 8);
      const x = engine.tensor(randn(300, n), shape).requireGrad();
      const g = engine.tensor(randn(301, 8, 0.2, 1), [8]).requireGrad();
      const b = engine.tensor(randn(302, 8), [8]).requireGrad();
      batchNorm(x, g, b, state, { training: true, relu: true }).backward(engine.tensor(randn(303, n), shape));
      noGrad(() => groupNorm(x, g, b, 4));
      for (const t of [state.runningMean, state.runningVar, x, g, b]) t.dispose();
    });
    expect(engine.pool.snapshot().bytesInUse).toBe(before);
  });

  it('skips the dx kernels when x needs no gradient (the first layer) and still gives dgamma', async () => {
    const shape = [2, 8, 4, 4];
    const n = sizeOf(shape);
    const xs = randn(310, n);
    const dys = randn(311, n);
    const run = (xGrad: boolean): { dispatches: number; dgamma: Promise<Float32Array> } =>
      engine.tidy(() => {
        const x = engine.tensor(xs, shape).requireGrad(xGrad);
        const g = engine.tensor(randn(312, 8, 0.2, 1), [8]).requireGrad();
        const b = engine.tensor(randn(313, 8), [8]).requireGrad();
        const y = layerNorm(x, g, b);
        const d0 = engine.counters.dispatches;
        y.backward(engine.tensor(dys, shape));
        return { dispatches: engine.counters.dispatches - d0, dgamma: g.grad!.read() };
      });
    const withDx = run(true);
    const without = run(false);
    expect(without.dispatches).toBe(withDx.dispatches - 2);
    expect(Array.from(await without.dgamma)).toEqual(Array.from(await withDx.dgamma));
  });
});

describe('errors', () => {
  it('says clearly when C is not divisible by G', () => {
    const x = engine.zeros([2, 6, 2, 2]);
    const g = engine.zeros([6]);
    expect(() => groupNorm(x, g, g, 4)).toThrow(/6 channels cannot be split into 4 equal groups/);
    expect(() => planNorm('group', [2, 6, 2, 2], { groups: 4 })).toThrow(/divisible/);
    x.dispose();
    g.dispose();
  });

  it('refuses batch-norm training with one value per channel, as PyTorch does', () => {
    const x = engine.zeros([1, 2, 1, 1]);
    const g = engine.zeros([2]);
    const state = initBatchNormState(engine, 2);
    expect(() => batchNorm(x, g, g, state, { training: true })).toThrow(/more than one value/);
    for (const t of [x, g, state.runningMean, state.runningVar]) t.dispose();
  });
});

// ---- gradient check: the rows of src/check/cases/norm.ts -------------------------------------

/**
 * Checks one GradCase: the GPU backward against central differences of the GPU forward (float32,
 * the case's eps and tolerances), the GPU backward against the float64 reference backward, and the
 * reference backward against its own central differences (float64, tight).
 */
async function gradcheck(c: GradCase, seed: number): Promise<{ wrt: string; worst: number }[]> {
  const rng = hashRng(seed);
  const host = c.inputs.map((inp) => Float32Array.from(inp.init ? inp.init(rng, sizeOf(inp.shape)) : Array.from({ length: sizeOf(inp.shape) }, () => rng.normal())));
  const make = (values: Float32Array[]): Tensor[] => c.inputs.map((inp, k) => engine.tensor(values[k]!, inp.shape).requireGrad(inp.differentiable !== false));
  // Projection weights for the loss L = sum(w * y).
  const outShape = noGrad(() => engine.tidy(() => c.forward(engine, make(host)).shape));
  const w = Float32Array.from({ length: sizeOf(outShape) }, () => rng.normal());
  const analytic = await engine.tidy(() => {
    const inputs = make(host);
    c.forward(engine, inputs).backward(engine.tensor(w, outShape));
    return Promise.all(c.wrt.map((name) => inputs[c.inputs.findIndex((i) => i.name === name)]!.grad!.read()));
  });
  const hostF64 = host.map((h) => Float64Array.from(h));
  const refGrads = c.reference.backward(hostF64, Float64Array.from(w));
  const loss = async (values: Float32Array[]): Promise<number> => {
    const y = await noGrad(() => engine.tidy(() => c.forward(engine, make(values)).read()));
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  const refLoss = (values: Float64Array[]): number => {
    const y = c.reference.forward(values);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * w[i]!;
    return s;
  };
  const results: { wrt: string; worst: number }[] = [];
  for (const [j, name] of c.wrt.entries()) {
    const k = c.inputs.findIndex((i) => i.name === name);
    const ref = refGrads[k]!;
    let worst = 0;
    for (let i = 0; i < host[k]!.length; i++) {
      const plus = host.map((h) => h.slice());
      const minus = host.map((h) => h.slice());
      plus[k]![i] = host[k]![i]! + c.eps;
      minus[k]![i] = host[k]![i]! - c.eps;
      // The float32 step actually taken, not the nominal one.
      const numeric = ((await loss(plus)) - (await loss(minus))) / (plus[k]![i]! - minus[k]![i]!);
      const got = analytic[j]![i]!;
      worst = Math.max(worst, Math.abs(got - numeric) / (c.atol + c.rtol * Math.abs(numeric)));
      expect(Math.abs(got - ref[i]!)).toBeLessThan(1e-4 + 1e-4 * Math.abs(ref[i]!));
      // The float64 reference against its own finite differences.
      const h = 1e-6;
      const p64 = hostF64.map((v) => v.slice());
      const m64 = hostF64.map((v) => v.slice());
      p64[k]![i]! += h;
      m64[k]![i]! -= h;
      expect(Math.abs((refLoss(p64) - refLoss(m64)) / (2 * h) - ref[i]!)).toBeLessThan(1e-7);
    }
    results.push({ wrt: name, worst });
  }
  return results;
}

describe('gradcheck rows (src/check/cases/norm.ts)', () => {
  for (const c of normCases) {
    it(`${c.op} wrt ${c.wrt.join(', ')}`, async () => {
      expect(c.why.length).toBeGreaterThan(40);
      const rows = await gradcheck(c, 1234);
      expect(rows.map((r) => r.wrt)).toEqual(['x', 'gamma', 'beta']);
      // worst = |analytic - numeric| / (atol + rtol |numeric|): the row passes below 1.
      for (const r of rows) expect(r.worst, `${c.op} wrt ${r.wrt}`).toBeLessThan(1);
    });
  }
});

// ---- PyTorch fixtures (scripts/fixtures/norm.py) ---------------------------------------------

interface Sampled {
  indices: number[];
  values: number[];
  dot: number;
}
interface FixtureStep {
  xSeed: number;
  dySeed: number;
  y: Sampled;
  dx: Sampled;
  dxDotSeed: number;
  dgamma: number[];
  dbeta: number[];
  runningMean?: number[];
  runningVar?: number[];
}
interface FixtureCase {
  name: string;
  kind: NormKind;
  shape: number[];
  groups: number | null;
  relu: boolean;
  eps: number;
  momentum: number;
  scale: number;
  offsets: number[];
  gamma: number[];
  beta: number[];
  /** Ghost batch norm: BatchNorm2d fed the sub-batches of this many images in order. */
  ghostBatch?: number;
  steps: FixtureStep[];
  eval?: FixtureStep;
}

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/norm.json', import.meta.url), 'utf8')) as { torch: string; cases: FixtureCase[] };

function expectSampled(got: Float32Array, want: Sampled, against: Float32Array, tol: number, what: string): void {
  want.indices.forEach((idx, k) => expect(Math.abs(got[idx]! - want.values[k]!), `${what}[${idx}]`).toBeLessThan(tol));
  let dot = 0;
  for (let i = 0; i < got.length; i++) dot += got[i]! * against[i]!;
  expect(Math.abs(dot - want.dot), `${what} . projection`).toBeLessThan(tol * Math.sqrt(got.length) + 1e-6 * Math.abs(want.dot));
}

describe(`PyTorch ${fixtures.torch} fixtures`, () => {
  for (const fc of fixtures.cases) {
    it(fc.name, async () => {
      const c = fc.shape[1]!;
      const state = fc.kind === 'batch' ? initBatchNormState(engine, c) : null;
      const gamma = engine.tensor(fc.gamma, [c]).requireGrad();
      const beta = engine.tensor(fc.beta, [c]).requireGrad();
      const run = async (step: FixtureStep, training: boolean): Promise<void> => {
        const xs = fixtureTensor(step.xSeed, fc.shape, fc.scale, (ch) => fc.offsets[ch]!);
        const dys = fixtureTensor(step.dySeed, fc.shape, 1);
        gamma.grad?.dispose();
        beta.grad?.dispose();
        gamma.grad = beta.grad = null;
        const [y, dx] = await engine.tidy(() => {
          const x = engine.tensor(xs, fc.shape).requireGrad();
          const opts = { eps: fc.eps, relu: fc.relu };
          const out =
            fc.kind === 'batch'
              ? batchNorm(x, gamma, beta, state!, { ...opts, training, momentum: fc.momentum, ghostBatch: training ? fc.ghostBatch : undefined })
              : fc.kind === 'group'
                ? groupNorm(x, gamma, beta, fc.groups!, opts)
                : fc.kind === 'instance'
                  ? instanceNorm(x, gamma, beta, opts)
                  : layerNorm(x, gamma, beta, opts);
          out.backward(engine.tensor(dys, fc.shape));
          return Promise.all([out.read(), x.grad!.read()]);
        });
        expectSampled(y, step.y, dys, 2e-5, 'y');
        expectSampled(dx, step.dx, fixtureTensor(step.dxDotSeed, fc.shape, 1), 2e-5, 'dx');
        const tolSum = 2e-6 * (sizeOf(fc.shape) / c) + 1e-5;
        expect(maxAbsDiff(await gamma.grad!.read(), step.dgamma)).toBeLessThan(tolSum);
        expect(maxAbsDiff(await beta.grad!.read(), step.dbeta)).toBeLessThan(tolSum);
        if (state && step.runningMean) {
          expect(maxAbsDiff(await state.runningMean.read(), step.runningMean)).toBeLessThan(2e-6);
          expect(maxAbsDiff(await state.runningVar.read(), step.runningVar!)).toBeLessThan(5e-6);
        }
      };
      for (const step of fc.steps) await run(step, true);
      if (fc.eval) await run(fc.eval, false);
      for (const t of [gamma, beta, state?.runningMean, state?.runningVar]) t?.dispose();
    });
  }
});

describe('scalar and vec4 kernels', () => {
  it('agree at a shape both can run (the scalar path is NORMLAB_DEBUG=naive)', async () => {
    const shape = [3, 8, 4, 6];
    const n = sizeOf(shape);
    const xs = randn(200, n, 2, 0.5);
    const dys = randn(201, n);
    const outputs = async (naive: boolean): Promise<Float32Array[]> => {
      const plan = planNorm('group', shape, { groups: 4, relu: true, naive });
      expect(plan.vec4).toBe(!naive);
      return engine.tidy(() => {
        const x = engine.tensor(xs, shape);
        const g = engine.tensor(randn(202, 8, 0.3, 1), [8]);
        const b = engine.tensor(randn(203, 8, 0.5), [8]);
        const f = normForwardKernels(plan, x, g, b);
        const r = normBackwardKernels(plan, x, g, b, f.stats, engine.tensor(dys, shape));
        return Promise.all([f.y, f.stats, r.dx!, r.dgamma, r.dbeta, r.meanG!, r.meanGXhat!].map((t) => t.read()));
      });
    };
    const scalar = await outputs(true);
    const vec4 = await outputs(false);
    scalar.forEach((s, k) => expect(maxAbsDiff(s, vec4[k]!)).toBeLessThan(1e-5));
  });
});

describe('docs/normalization-backprop.md', () => {
  it('names WGSL lines that hold the code it quotes', () => {
    const doc = readFileSync(new URL('../../docs/normalization-backprop.md', import.meta.url), 'utf8');
    const wgsl = readFileSync(new URL('../../src/shaders/norm.wgsl', import.meta.url), 'utf8').split('\n');
    const refs = [...doc.matchAll(/`src\/shaders\/norm\.wgsl:(\d+)`(?: `([^`]+)`)?/g)];
    expect(refs.length).toBeGreaterThan(20);
    for (const [ref, line, code] of refs) {
      expect(code, `${ref} quotes no code`).toBeDefined();
      expect(wgsl[Number(line) - 1], ref).toContain(code);
    }
  });
});

describe('explain', () => {
  for (const norm of ['batch', 'group', 'layer'] as const) {
    it(`${norm}: matches the float64 reference, passes its own finite-difference check, fits 80 columns`, async () => {
      const r = await explainNorm(engine, norm);
      const spec: NormRefSpec = { kind: norm, shape: r.shape, groups: r.groups, training: true };
      const running = { mean: [0, 0, 0, 0], variance: [1, 1, 1, 1] };
      const ref = normForwardRef(r.x, r.gamma, r.beta, spec, running);
      const refB = normBackwardRef(r.x, r.gamma, r.beta, r.dy, spec, running);
      expect(maxAbsDiff(r.stats.mean, ref.mean)).toBeLessThan(1e-6);
      expect(maxAbsDiff(r.stats.rstd, ref.rstd)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.xhat, ref.xhat)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.y, ref.y)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.dx, refB.dx)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.dgamma, refB.dgamma)).toBeLessThan(1e-5);
      expect(maxAbsDiff(r.dbeta, refB.dbeta)).toBeLessThan(1e-5);
      // mean(g): the mean over each set of dy * gamma[c].
      const sets = r.sets.map((s) => s.planes.flatMap(([n, c]) => [0, 1, 2, 3].map((k) => ({ i: (n * 4 + c) * 4 + k, c }))));
      const meanG = sets.map((els) => els.reduce((a, { i, c }) => a + r.dy[i]! * r.gamma[c]!, 0) / els.length);
      expect(maxAbsDiff(r.reductions.meanG, meanG)).toBeLessThan(1e-5);
      if (norm === 'batch') expect(maxAbsDiff(r.running!.var, ref.runningVar!)).toBeLessThan(1e-5);
      expect(r.fdCheck.pass).toBe(true);
      const text = formatExplain(r);
      for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
      for (const heading of ['statistics', 'xhat', 'y = gamma', 'dy (upstream', 'two reductions', 'dx = rstd', 'dgamma', 'dbeta', 'finite differences']) {
        expect(text).toContain(heading);
      }
      expect(JSON.parse(JSON.stringify(r)).dx).toEqual(r.dx);
    });
  }
});
