// The probes (src/engine/ops/probe.ts) against the float64 reference: mean and std, norms and
// distances of tensors of many sizes, several probes recorded in one command buffer, each writing
// only its own slots.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, ops } from '../../src/engine/index.js';
import { createRng } from '../../src/check/rng.js';
import { distanceRef, momentsRef } from '../../src/reference/probe.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const rng = createRng(2212);
const values = (n: number, mean: number, scale: number) => Float32Array.from({ length: n }, () => mean + scale * rng.normal());
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('probes', () => {
  // Sizes below, at and above one workgroup's 256 invocations, and a SeedNet activation's 2M.
  const SIZES = [1, 7, 256, 257, 1000, 65_537, 128 * 16 * 32 * 32];

  it('mean, std, norm and distance match float64 for every size, all in one command buffer', async () => {
    const slotsPer = 4;
    const out = engine.keep(engine.tensor(new Float32Array(SIZES.length * slotsPer).fill(-7), [SIZES.length * slotsPer]));
    const cases = SIZES.map((n) => ({ n, a: values(n, 3, 0.5), b: values(n, 3, 0.5) }));
    const tensors = cases.map(({ a, b }) => [engine.keep(engine.tensor(a, [a.length], 'f32', 'a')), engine.keep(engine.tensor(b, [b.length], 'f32', 'b'))] as const);
    engine.flush();
    const submits = engine.counters.submits;
    tensors.forEach(([ta, tb], k) => {
      ops.probeMoments(ta, out, k * slotsPer);
      ops.probeNorm(ta, out, k * slotsPer + 2);
      ops.probeDistance(ta, tb, out, k * slotsPer + 3);
    });
    expect(engine.counters.submits).toBe(submits); // recorded, not yet submitted: one command buffer
    const got = await out.read();
    tensors.flat().forEach((t) => t.dispose());
    cases.forEach(({ n, a, b }, k) => {
      const m = momentsRef(a);
      const [mean, std, norm, dist] = got.subarray(k * slotsPer, k * slotsPer + 4);
      // float32 sums of up to 8,192 terms per invocation, then a tree of 256: ~1e-6 relative.
      expect(rel(mean!, m.mean), `mean of ${n}`).toBeLessThan(1e-5);
      if (n > 1) expect(rel(std!, m.std), `std of ${n}`).toBeLessThan(1e-5);
      else expect(std).toBe(0);
      expect(rel(norm!, distanceRef(a)), `norm of ${n}`).toBeLessThan(1e-5);
      expect(rel(dist!, distanceRef(a, b)), `distance of ${n}`).toBeLessThan(1e-5);
    });
    out.dispose();
  });

  it('keeps the std exact when the mean dwarfs the spread (two passes, not sum of squares)', async () => {
    const a = values(10_000, 1000, 1e-2);
    const out = engine.keep(engine.zeros([2]));
    engine.tidy(() => ops.probeMoments(engine.tensor(a, [a.length]), out, 0));
    const [mean, std] = await out.read();
    const m = momentsRef(a);
    expect(rel(mean!, m.mean)).toBeLessThan(1e-6);
    // sum(a^2)/n - mean^2 would leave nothing of a 1e-2 spread at 1e3 in float32; two passes keep it.
    expect(rel(std!, m.std)).toBeLessThan(1e-3);
    out.dispose();
  });

  it('writes only its own slots, and refuses a slot outside the buffer or tensors that differ', async () => {
    const out = engine.keep(engine.tensor([9, 9, 9, 9, 9], [5]));
    engine.tidy(() => ops.probeNorm(engine.tensor([3, 4], [2]), out, 2));
    expect(Array.from(await out.read())).toEqual([9, 9, 5, 9, 9]);
    engine.tidy(() => {
      const x = engine.tensor([1, 2], [2], 'f32', 'x');
      expect(() => ops.probeMoments(x, out, 4)).toThrow(/probeMoments: slot 4 \(2 values\) does not fit in a probe buffer of 5/);
      expect(() => ops.probeNorm(x, out, -1)).toThrow(/slot -1/);
      expect(() => ops.probeDistance(x, engine.tensor([1, 2, 3], [3]), out, 0)).toThrow(/differ in size/);
    });
    out.dispose();
  });
});
