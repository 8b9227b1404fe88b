import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { Engine, type Tensor } from '../../src/engine/index.js';
import { SGD, type SGDOptions } from '../../src/engine/optim.js';
import { createRng } from '../../src/check/rng.js';
import { sgdStepReference, type SgdReferenceOptions } from '../../src/reference/sgd.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const rng = createRng(4242);
const normals = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());

// An odd length, a 2-D shape, one longer than a 256-wide workgroup and not a multiple of it.
const SHAPES = [[37], [5, 3], [1000]];
// Step 4 onwards runs past the schedule's end: it must reuse the last rate.
const SCHEDULE = [0.1, 0.05, 0.2, 0.01];
const STEPS = 6;

interface Run {
  params: Tensor[];
  opt: SGD;
  /** Reference state in float64, stepped alongside. */
  ref: { params: Float64Array[]; bufs: (Float64Array | null)[] };
}

function start(options: SGDOptions, schedule: number[] | null): Run {
  const init = SHAPES.map((s) => normals(s.reduce((a, b) => a * b, 1)));
  const params = SHAPES.map((s, i) => engine.tensor(init[i]!, s, 'f32', `p${i}`).requireGrad());
  const opt = new SGD(engine, params, options);
  if (schedule) opt.setSchedule(schedule);
  return { params, opt, ref: { params: init.map((v) => Float64Array.from(v)), bufs: params.map(() => null) } };
}

/** Gives every parameter a fresh random gradient, steps the GPU optimizer and the reference. */
function step(run: Run, refOptions: Omit<SgdReferenceOptions, 'lr'>, lr: number, skip = -1): void {
  run.opt.zeroGrad();
  run.params.forEach((p, i) => {
    if (i === skip) return;
    const g = normals(p.size);
    p.grad = engine.keep(engine.tensor(g, p.shape, 'f32', 'grad'));
    run.ref.bufs[i] = sgdStepReference(run.ref.params[i]!, g, run.ref.bufs[i] ?? null, { ...refOptions, lr });
  });
  run.opt.step();
}

async function expectMatchesReference(run: Run): Promise<void> {
  const state = await run.opt.state();
  for (let i = 0; i < run.params.length; i++) {
    const gpu = await run.params[i]!.read();
    const ref = run.ref.params[i]!;
    // Six steps of O(1) float32 updates: a few ulp of drift at most.
    for (let j = 0; j < ref.length; j++) expect(Math.abs(gpu[j]! - ref[j]!)).toBeLessThan(1e-5 * (1 + Math.abs(ref[j]!)));
    const buf = run.ref.bufs[i];
    if (buf) {
      const m = state.momentum[i]!;
      for (let j = 0; j < buf.length; j++) expect(Math.abs(m[j]! - buf[j]!)).toBeLessThan(1e-5 * (1 + Math.abs(buf[j]!)));
    } else if (run.opt.hyper.momentum === 0) {
      expect(state.momentum[i]).toBeNull();
    } else {
      // Not stepped yet: PyTorch has no buffer, ours holds zeros, which the first step treats alike.
      expect(state.momentum[i]!.every((v) => v === 0)).toBe(true);
    }
  }
}

function finish(run: Run): void {
  run.opt.zeroGrad();
  run.opt.dispose();
  for (const p of run.params) p.dispose();
}

describe('SGD vs the float64 reference of torch.optim.SGD', () => {
  const CONFIGS: Omit<SgdReferenceOptions, 'lr'>[] = [
    { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    { momentum: 0.9, weightDecay: 5e-4, nesterov: true },
    { momentum: 0.5, weightDecay: 0, nesterov: true },
    { momentum: 0, weightDecay: 1e-2, nesterov: false },
  ];
  for (const config of CONFIGS) {
    it(`follows a per-step schedule for ${STEPS} steps with ${JSON.stringify(config)}`, async () => {
      const run = start(config, SCHEDULE);
      for (let s = 0; s < STEPS; s++) step(run, config, SCHEDULE[Math.min(s, SCHEDULE.length - 1)]!);
      await expectMatchesReference(run);
      expect(await run.opt.stepCount()).toBe(STEPS);
      finish(run);
    });
  }

  // OneCycleLR's default: momentum cycled against the rate. A 0 in the middle must leave the
  // buffer alone for that step, as PyTorch's `if momentum != 0` does.
  const MOMENTUM_SCHEDULE = [0.95, 0.9, 0, 0.85];
  for (const nesterov of [false, true]) {
    it(`follows a per-step momentum schedule too (nesterov ${nesterov})`, async () => {
      const config = { momentum: 0.9, weightDecay: 5e-4, nesterov };
      const run = start(config, null);
      run.opt.setSchedule(SCHEDULE, MOMENTUM_SCHEDULE);
      for (let s = 0; s < STEPS; s++) {
        const k = Math.min(s, SCHEDULE.length - 1);
        step(run, { ...config, momentum: MOMENTUM_SCHEDULE[k]! }, SCHEDULE[k]!);
      }
      await expectMatchesReference(run);
      finish(run);
    });
  }

  it('uses a constant learning rate given to the constructor', async () => {
    const config = { momentum: 0.9, weightDecay: 1e-3, nesterov: false };
    const run = start({ ...config, lr: 0.03 }, null);
    for (let s = 0; s < 3; s++) step(run, config, 0.03);
    await expectMatchesReference(run);
    finish(run);
  });

  it('skips a parameter without a gradient, momentum included, as PyTorch does', async () => {
    const config = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };
    const run = start(config, SCHEDULE);
    const before = await run.params[1]!.read();
    step(run, config, SCHEDULE[0]!, 1);
    step(run, config, SCHEDULE[1]!, 1);
    expect(Array.from(await run.params[1]!.read())).toEqual(Array.from(before));
    await expectMatchesReference(run);
    finish(run);
  });
});

describe('SGD on the GPU only', () => {
  it('records a step with no host write, readback or submit', async () => {
    const run = start({ momentum: 0.9, weightDecay: 5e-4, nesterov: true }, SCHEDULE);
    for (const p of run.params) p.grad = engine.keep(engine.tensor(normals(p.size), p.shape));
    await engine.sync();
    const spies = [vi.spyOn(engine, 'writeBuffer'), vi.spyOn(engine, 'read'), vi.spyOn(engine, 'flush')];
    const submits = engine.counters.submits;
    const dispatches = engine.counters.dispatches;
    run.opt.step();
    run.opt.step();
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    expect(engine.counters.submits).toBe(submits);
    // One update per parameter and one counter increment, per step.
    expect(engine.counters.dispatches - dispatches).toBe(2 * (run.params.length + 1));
    for (const spy of spies) spy.mockRestore();
    expect(await run.opt.stepCount()).toBe(2);
    finish(run);
  });

  it('resumes from state()/loadState() exactly where an uninterrupted run would be', async () => {
    const config = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };
    const run = start(config, SCHEDULE);
    for (let s = 0; s < 3; s++) step(run, config, SCHEDULE[s]!);
    const saved = await run.opt.state();
    expect(saved.step).toBe(3);
    run.opt.dispose();
    // A new optimizer over the same parameters, as after loading a checkpoint.
    run.opt = new SGD(engine, run.params, config);
    run.opt.setSchedule(SCHEDULE);
    expect(await run.opt.stepCount()).toBe(0);
    run.opt.loadState(saved);
    expect(await run.opt.stepCount()).toBe(3);
    // Steps 3 and 4 must use schedule[3] and (clamped) schedule[3]; momentum continues.
    for (let s = 3; s < 5; s++) step(run, config, SCHEDULE[Math.min(s, SCHEDULE.length - 1)]!);
    await expectMatchesReference(run);
    expect(await run.opt.stepCount()).toBe(5);
    finish(run);
  });

  it('setStepCount() moves the schedule index', async () => {
    const config = { momentum: 0, weightDecay: 0, nesterov: false };
    const run = start(config, SCHEDULE);
    run.opt.setStepCount(2);
    step(run, config, SCHEDULE[2]!);
    await expectMatchesReference(run);
    expect(await run.opt.stepCount()).toBe(3);
    finish(run);
  });

  it('zeroGrad() drops the gradients', () => {
    const run = start({ lr: 0.1 }, null);
    for (const p of run.params) p.grad = engine.keep(engine.tensor(normals(p.size), p.shape));
    const inUse = engine.pool.snapshot().bytesInUse;
    run.opt.zeroGrad();
    expect(run.params.every((p) => p.grad === null)).toBe(true);
    expect(engine.pool.snapshot().bytesInUse).toBeLessThan(inUse);
    finish(run);
  });

  it('rejects what PyTorch rejects and a step with no learning rate', () => {
    const p = engine.zeros([3]).requireGrad();
    expect(() => new SGD(engine, [p], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    const opt = new SGD(engine, [p], { momentum: 0.9 });
    expect(() => opt.step()).toThrow(/learning rate/);
    expect(() => opt.setSchedule([])).toThrow(/empty/);
    expect(() => opt.setSchedule([0.1, 0.2], [0.9])).toThrow(/momentum values/);
    expect(() => opt.setSchedule([0.1, -1])).toThrow(/learning rate -1/);
    const plain = new SGD(engine, [p], { lr: 0.1 });
    expect(() => plain.setSchedule([0.1], [0.9])).toThrow(/momentum > 0/);
    plain.dispose();
    opt.dispose();
    p.dispose();
  });
});
