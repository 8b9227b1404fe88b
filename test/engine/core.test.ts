import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine, ops, noGrad, sizeClass } from '../../src/engine/index.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

describe('tensor round trip', () => {
  it('uploads and reads back float32 data exactly', async () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    const t = engine.tensor(data, [10, 100]);
    expect(Array.from(await t.read())).toEqual(Array.from(data));
    t.dispose();
  });
});

describe('autograd', () => {
  it('sums gradients where a tensor feeds two ops and passes add gradients to both inputs', async () => {
    const x = engine.tensor([-1, 2, -3, 4], [4]).requireGrad();
    // y = relu(x) + x  -> dy/dx = [x>0] + 1
    const y = ops.add(ops.relu(x), x);
    const g = engine.tensor([1, 10, 100, 1000], [4]);
    y.backward(g);
    expect(Array.from(await x.grad!.read())).toEqual([1, 20, 100, 2000]);
  });

  it('accumulates into .grad across backward() calls', async () => {
    const x = engine.tensor([1, -1], [2]).requireGrad();
    const g = engine.tensor([1, 1], [2]);
    ops.relu(x).backward(g);
    ops.relu(x).backward(g);
    expect(Array.from(await x.grad!.read())).toEqual([2, 0]);
  });

  it('refuses a second backward() through a freed graph, unless retained', () => {
    const x = engine.tensor([1, 2], [2]).requireGrad();
    const g = engine.tensor([1, 1], [2]);
    const y = ops.relu(x);
    y.backward(g);
    expect(() => y.backward(g)).toThrow(/already freed/);
    const z = ops.relu(x);
    z.backward(g, { retainGraph: true });
    expect(() => z.backward(g)).not.toThrow();
  });

  it('records nothing under noGrad', () => {
    const x = engine.tensor([1, 2], [2]).requireGrad();
    const y = noGrad(() => ops.relu(x));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
  });

  it('walks a deep chain without recursion', async () => {
    const x = engine.tensor([3], [1]).requireGrad();
    let y = x;
    for (let i = 0; i < 20000; i++) y = ops.relu(y);
    y.backward();
    expect(Array.from(await x.grad!.read())).toEqual([1]);
  });
});

describe('buffer pool', () => {
  it('size classes are whole vec4s and waste at most 12.5% above 128 bytes', () => {
    for (const b of [1, 17, 72, 100, 129, 1000, 4097, 123457, 1 << 20]) {
      const s = sizeClass(b);
      expect(s).toBeGreaterThanOrEqual(b);
      expect(s % 16).toBe(0);
      if (b > 128) expect(s / b).toBeLessThanOrEqual(1.125 + 1e-9);
    }
  });

  it('reuses released buffers only after a submit', () => {
    const a = engine.empty([64]);
    const bufA = a.buffer;
    a.dispose();
    const b = engine.empty([64]);
    expect(b.buffer).not.toBe(bufA);
    engine.flush();
    const c = engine.empty([64]);
    expect(c.buffer).toBe(bufA);
    b.dispose();
    c.dispose();
  });

  it('tidy() frees what it made when its function throws', () => {
    const before = engine.pool.snapshot().bytesInUse;
    expect(() =>
      engine.tidy(() => {
        engine.tensor([1, 2, 3], [3]);
        throw new Error('step failed');
      }),
    ).toThrow('step failed');
    expect(engine.pool.snapshot().bytesInUse).toBe(before);
  });

  it('tidy() frees everything but what it returns', () => {
    const before = engine.pool.snapshot().bytesInUse;
    const kept = engine.tidy(() => {
      const x = engine.tensor([1, -2, 3], [3]);
      const y = ops.relu(x);
      return ops.add(y, x);
    });
    expect(engine.pool.snapshot().bytesInUse).toBe(before + 16);
    kept.dispose();
    expect(engine.pool.snapshot().bytesInUse).toBe(before);
  });
});

describe('pipelines and errors', () => {
  it('compiles each (kernel, constants) once', () => {
    const x = engine.tensor([1, 2, 3], [3]);
    const n0 = engine.counters.pipelinesCompiled;
    engine.tidy(() => ops.relu(ops.relu(x)));
    const n1 = engine.counters.pipelinesCompiled;
    engine.tidy(() => ops.relu(ops.relu(x)));
    expect(engine.counters.pipelinesCompiled).toBe(n1);
    expect(n1 - n0).toBeLessThanOrEqual(1);
    x.dispose();
  });

  it('reports a WGSL error naming the kernel', async () => {
    const e2 = await Engine.create();
    const t = e2.empty([4]);
    e2.dispatch({ name: 'broken_kernel', code: '@compute @workgroup_size(1) fn main() { let x: f32 = 1u; }' }, { bindings: [], workgroups: 1 });
    await expect(e2.sync()).rejects.toThrow(/broken_kernel/);
    t.dispose();
    e2.destroy();
  });
});
