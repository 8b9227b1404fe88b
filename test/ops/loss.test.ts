import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, ops, type Tensor } from '../../src/engine/index.js';
import { createRng } from '../../src/check/rng.js';
import { runAll } from '../../src/check/gradcheck.js';
import { lossCases } from '../../src/check/cases/loss.js';
import { logSoftmaxNllForward, logSoftmaxNllBackward } from '../../src/reference/loss.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const rng = createRng(99);

interface GpuLoss {
  loss: number;
  dlogits: Float32Array;
}

/** Forward and backward(dloss) on the GPU; everything it made is freed before returning. */
async function gpuLoss(logits: Float32Array, labels: ArrayLike<number>, n: number, k: number, dloss = 1): Promise<GpuLoss> {
  const { loss, dlogits } = engine.tidy(() => {
    const x = engine.tensor(logits, [n, k]).requireGrad();
    const y = engine.tensor(labels, [n], 'u32');
    const l = ops.logSoftmaxNll(x, y);
    l.backward(engine.tensor([dloss], [1]));
    const g = x.grad!;
    x.grad = null;
    return { loss: l, dlogits: g };
  });
  const out = { loss: (await loss.read())[0]!, dlogits: await dlogits.read() };
  loss.dispose();
  dlogits.dispose();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const randomLogits = (n: number, k: number, scale = 2): Float32Array => Float32Array.from({ length: n * k }, () => scale * rng.normal());
const randomLabels = (n: number, k: number): Uint32Array => Uint32Array.from({ length: n }, () => rng.int(k));

describe('logSoftmaxNll vs the float64 reference', () => {
  // One row; one class (loss 0); odd sizes; rows beyond one 256-row sweep; an eval-sized batch;
  // and many classes per row.
  const SHAPES: [number, number][] = [
    [1, 10],
    [3, 1],
    [7, 3],
    [300, 10],
    [2000, 10],
    [5, 1000],
  ];
  for (const [n, k] of SHAPES) {
    it(`matches on N=${n}, K=${k}`, async () => {
      const logits = randomLogits(n, k);
      const labels = randomLabels(n, k);
      const dloss = 0.75;
      const gpu = await gpuLoss(logits, labels, n, k, dloss);
      const ref = logSoftmaxNllForward(logits, labels, n, k);
      expect(Math.abs(gpu.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, ref.loss));
      // Gradients are (p - onehot) * dloss / N: compare against that scale.
      expect(maxAbsDiff(gpu.dlogits, logSoftmaxNllBackward(logits, labels, n, k, dloss))).toBeLessThan((2e-6 * dloss) / n + 1e-9);
    });
  }

  it('stays finite and accurate with logits of magnitude 1e4 (max subtraction)', async () => {
    const n = 9;
    const k = 6;
    const logits = randomLogits(n, k, 1e4);
    // A few rows close to a tie at the top so their loss is O(1), not O(1e4).
    for (let i = 0; i < 3; i++) logits[i * k + 1] = logits[i * k]! + 0.5;
    const labels = randomLabels(n, k);
    const gpu = await gpuLoss(logits, labels, n, k);
    const ref = logSoftmaxNllForward(logits, labels, n, k);
    expect(Number.isFinite(gpu.loss)).toBe(true);
    expect(Math.abs(gpu.loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, ref.loss));
    expect(gpu.dlogits.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(gpu.dlogits, logSoftmaxNllBackward(logits, labels, n, k, 1))).toBeLessThan(1e-6);
  });

  it('is deterministic: the same batch gives the same bits', async () => {
    const logits = randomLogits(777, 10);
    const labels = randomLabels(777, 10);
    const a = await gpuLoss(logits, labels, 777, 10);
    const b = await gpuLoss(logits, labels, 777, 10);
    expect(a.loss).toBe(b.loss);
    expect(Array.from(a.dlogits)).toEqual(Array.from(b.dlogits));
  });
});

describe('labels out of range', () => {
  it('ignores those rows: no loss, no gradient, mean over the valid rows', async () => {
    const n = 5;
    const k = 4;
    const logits = randomLogits(n, k);
    const labels = [2, 4, 0, 0xffffffff, 3];
    const gpu = await gpuLoss(logits, labels, n, k);
    const ref = logSoftmaxNllForward(logits, labels, n, k);
    expect(ref.valid).toBe(3);
    expect(Math.abs(gpu.loss - ref.loss)).toBeLessThan(1e-5);
    for (const row of [1, 3]) expect(Array.from(gpu.dlogits.subarray(row * k, row * k + k))).toEqual([0, 0, 0, 0]);
    expect(maxAbsDiff(gpu.dlogits, logSoftmaxNllBackward(logits, labels, n, k, 1))).toBeLessThan(1e-6);
  });

  it('gives loss 0 and gradient 0 when no row is valid', async () => {
    const gpu = await gpuLoss(randomLogits(3, 4), [4, 5, 6], 3, 4);
    expect(gpu.loss).toBe(0);
    expect(Array.from(gpu.dlogits)).toEqual(new Array(12).fill(0));
  });
});

describe('GPU accumulators', () => {
  function makeAccum(): { lossSum: Tensor; correct: Tensor } {
    return { lossSum: engine.zeros([1], 'f32', 'loss sum'), correct: engine.zeros([1], 'u32', 'correct') };
  }

  it('count correct predictions with ties going to the first index', async () => {
    const accum = makeAccum();
    // Row 0: tie between classes 1 and 2, label 1 -> correct. Row 1: same tie, label 2 -> wrong.
    // Row 2: all equal, label 0 -> correct. Row 3: clear max at 3, label 3 -> correct. Row 4: ignored.
    const logits = [0, 3, 3, 1, 0, 3, 3, 1, 2, 2, 2, 2, 0, 0, 0, 9, 9, 0, 0, 0];
    const labels = [1, 2, 0, 3, 4];
    engine.tidy(() => ops.logSoftmaxNll(engine.tensor(logits, [5, 4]), engine.tensor(labels, [5], 'u32'), accum));
    expect((await accum.correct.readU32())[0]).toBe(3);
    expect(logSoftmaxNllForward(logits, labels, 5, 4).correct).toBe(3);
    accum.lossSum.dispose();
    accum.correct.dispose();
  });

  it('add each batch summed loss and correct count without a readback between batches', async () => {
    const accum = makeAccum();
    let lossSum = 0;
    let correct = 0;
    const batches = [
      [64, 10],
      [37, 10],
      [300, 10],
    ] as const;
    // Inputs are uploaded first, so the three losses record into one command buffer.
    const inputs = batches.map(([n, k]) => {
      // Larger logits so that some predictions are right by chance and the count is non-trivial.
      const logits = randomLogits(n, k, 3);
      const labels = randomLabels(n, k);
      const ref = logSoftmaxNllForward(logits, labels, n, k);
      lossSum += ref.lossSum;
      correct += ref.correct;
      return { x: engine.tensor(logits, [n, k]), y: engine.tensor(labels, [n], 'u32') };
    });
    const uploadSubmits = engine.counters.submits;
    engine.tidy(() => {
      for (const { x, y } of inputs) ops.logSoftmaxNll(x, y, accum);
    });
    expect(engine.counters.submits).toBe(uploadSubmits);
    expect(correct).toBeGreaterThan(0);
    expect((await accum.correct.readU32())[0]).toBe(correct);
    const gpuSum = (await accum.lossSum.read())[0]!;
    expect(Math.abs(gpuSum - lossSum)).toBeLessThan(1e-5 * lossSum);
    for (const { x, y } of inputs) {
      x.dispose();
      y.dispose();
    }
    accum.lossSum.dispose();
    accum.correct.dispose();
  });

  it('leave the accumulators untouched when none are passed, and reject wrong dtypes', async () => {
    const accum = makeAccum();
    engine.tidy(() => {
      const x = engine.tensor(randomLogits(4, 3), [4, 3]);
      const y = engine.tensor([0, 1, 2, 0], [4], 'u32');
      ops.logSoftmaxNll(x, y);
      expect(() => ops.logSoftmaxNll(x, y, { lossSum: accum.lossSum, correct: engine.zeros([1], 'f32') })).toThrow(/u32/);
      expect(() => ops.logSoftmaxNll(x, engine.tensor([0, 1, 2, 0], [4]))).toThrow(/labels/);
    });
    expect((await accum.lossSum.read())[0]).toBe(0);
    accum.lossSum.dispose();
    accum.correct.dispose();
  });
});

describe('reference', () => {
  it('backward is the derivative of the forward (float64 central differences)', () => {
    const n = 4;
    const k = 5;
    const logits = Float64Array.from(randomLogits(n, k));
    const labels = [1, 5, 0, 4];
    const dloss = 1.3;
    const analytic = logSoftmaxNllBackward(logits, labels, n, k, dloss);
    const h = 1e-6;
    for (let j = 0; j < n * k; j++) {
      const up = logits.slice();
      const down = logits.slice();
      up[j] += h;
      down[j] -= h;
      const numeric = (dloss * (logSoftmaxNllForward(up, labels, n, k).loss - logSoftmaxNllForward(down, labels, n, k).loss)) / (2 * h);
      expect(Math.abs(numeric - analytic[j]!)).toBeLessThan(1e-8);
    }
  });
});

describe('gradcheck cases', () => {
  for (const c of lossCases) {
    it(`${c.op} passes the gradient check`, async () => {
      const rows = await runAll(engine, [c], { seed: 11 });
      expect(rows.length).toBe(1);
      expect(rows[0]!.failures).toEqual([]);
    });
  }
});
