import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, ops, type Tensor } from '../../src/engine/index.js';
import { SGD } from '../../src/engine/optim.js';
import { createRng } from '../../src/check/rng.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

// A tiny model through every op of this family: a parameter added to a fixed input, ReLU, max-pool
// (odd H and W), global average pool, reshape to [N, C] logits, log-softmax NLL with GPU statistics,
// backward, SGD with momentum, weight decay and a per-step schedule.
const N = 3;
const C = 4;
const H = 5;
const W = 7;
const ITERATIONS = 100;

/**
 * allocWarmup: iterations after which the pool allocates nothing more. cacheWarmup: after which no
 * pipeline or bind group is created. Bind groups are keyed by buffer identity, and the first
 * iteration runs on freshly created buffers while the second gets them back from the pool's LIFO
 * free lists in another order, so bind groups settle one iteration after memory does.
 */
async function trainingLoop(zeroGradFirst: boolean, allocWarmup: number, cacheWarmup: number): Promise<void> {
  const rng = createRng(5);
  const size = N * C * H * W;
  const x = engine.tensor(Float32Array.from({ length: size }, () => rng.normal()), [N, C, H, W], 'f32', 'input');
  const w = engine.tensor(Float32Array.from({ length: size }, () => 0.5 * rng.normal()), [N, C, H, W], 'f32', 'w').requireGrad();
  const labels = engine.tensor([1, 3, 0], [N], 'u32', 'labels');
  const stats = { lossSum: engine.zeros([1], 'f32', 'loss sum'), correct: engine.zeros([1], 'u32', 'correct') };
  const opt = new SGD(engine, [w], { momentum: 0.9, weightDecay: 5e-4 });
  opt.setSchedule(Float32Array.from({ length: ITERATIONS }, (_, i) => 0.5 * (1 - i / ITERATIONS) + 0.05));

  const iteration = (): Tensor =>
    engine.tidy(() => {
      if (zeroGradFirst) opt.zeroGrad();
      const h = ops.relu(ops.add(x, w));
      const logits = ops.reshape(ops.globalAvgPool(ops.maxPool2d(h)), [N, C]);
      const loss = ops.logSoftmaxNll(logits, labels, stats);
      loss.backward();
      opt.step();
      if (!zeroGradFirst) opt.zeroGrad();
      return loss;
    });

  let firstLoss = NaN;
  let lastLoss = NaN;
  let afterFirst = engine.pool.snapshot();
  let afterWarmup = afterFirst;
  let counters = { ...engine.counters };
  expect(cacheWarmup).toBeGreaterThanOrEqual(allocWarmup);
  const allocated: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const loss = iteration();
    if (i === 0) firstLoss = (await loss.read())[0]!;
    if (i === ITERATIONS - 1) lastLoss = (await loss.read())[0]!;
    loss.dispose();
    engine.flush();
    const snap = engine.pool.snapshot();
    if (i === 0) afterFirst = snap;
    if (i === allocWarmup - 1) afterWarmup = snap;
    if (i === cacheWarmup - 1) counters = { ...engine.counters };
    if (i >= allocWarmup) allocated.push(snap.bytesAllocated);
  }
  const end = engine.pool.snapshot();

  // Nothing leaks: what is in use after 100 iterations is what was in use after the first.
  expect(end.bytesInUse).toBe(afterFirst.bytesInUse);
  // Buffers are reused: the pool stops growing after its warm-up (the last read's staging buffer
  // is the first read's, back from the pool).
  expect(Math.max(...allocated)).toBe(afterWarmup.bytesAllocated);
  expect(end.bytesAllocated).toBe(afterWarmup.bytesAllocated);
  expect(engine.counters.pipelinesCompiled).toBe(counters.pipelinesCompiled);
  expect(engine.counters.bindGroupsCreated).toBe(counters.bindGroupsCreated);
  // And the loop is real: it learns, steps on the GPU, and accumulates statistics there.
  expect(engine.counters.dispatches).toBeGreaterThan(counters.dispatches + 10 * (ITERATIONS - cacheWarmup));
  expect(lastLoss).toBeLessThan(0.5 * firstLoss);
  expect(await opt.stepCount()).toBe(ITERATIONS);
  // lossSum adds N rows' losses per iteration: between the last and the first iteration's levels.
  const lossSum = (await stats.lossSum.read())[0]!;
  expect(lossSum).toBeGreaterThan(N * lastLoss * ITERATIONS);
  expect(lossSum).toBeLessThan(N * firstLoss * ITERATIONS);
  expect((await stats.correct.readU32())[0]).toBeGreaterThan(0);

  opt.zeroGrad();
  opt.dispose();
  for (const t of [x, w, labels, stats.lossSum, stats.correct]) t.dispose();
}

describe('a training loop reuses its memory, pipelines and bind groups', () => {
  it(`step() then zeroGrad(): memory flat after the first iteration, caches after the second, over ${ITERATIONS}, while the loss falls`, async () => {
    await trainingLoop(false, 1, 2);
  });

  // zeroGrad() at the start releases the last step's gradient into the current command buffer,
  // where the pool may not reuse it before the submit: one extra gradient buffer per parameter,
  // allocated (with its bind groups) in the second iteration, then flat.
  it(`zeroGrad() first: memory and caches flat after the second iteration, over ${ITERATIONS}`, async () => {
    await trainingLoop(true, 2, 2);
  });
});
