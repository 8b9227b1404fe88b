import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine, ops } from '../../src/engine/index.js';
import { runAll } from '../../src/check/gradcheck.js';
import { convCases } from '../../src/check/cases/conv2d.js';
import { conv2dForwardRef, conv2dInputGradRef, conv2dWeightGradRef, type ConvShape } from '../../src/reference/conv2d.js';
import { GENERIC, ODD, PATHS, SEEDNET, VS_REFERENCE, dims, expectMatchesReference, normals, relError, run, shapeOf, tryPlan } from '../helpers/conv.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

describe('conv2d gradient check', () => {
  it('passes every conv row (conv3x3 and conv1x1, wrt x and w)', async () => {
    const rows = await runAll(engine, convCases, { seed: 3 });
    expect(rows.map((r) => `${r.op} wrt ${r.wrt}`)).toEqual(['conv3x3 wrt x', 'conv3x3 wrt w', 'conv1x1 wrt x', 'conv1x1 wrt w']);
    for (const r of rows) expect(r.failures, `${r.op} wrt ${r.wrt}`).toEqual([]);
  });
});

describe('conv2d vs the float64 reference', () => {
  const cases = [...SEEDNET, ...ODD];
  for (const [name, s] of cases) {
    it(`${name}: [${s.n},${s.ci},${s.h},${s.w}] -> ${s.co}, ${s.kh}x${s.kw}, every kernel family`, async () => {
      const families = PATHS.filter((path) => tryPlan(engine, s, path));
      for (const path of families) await expectMatchesReference(engine, s, path, path);
      expect(families.length).toBeGreaterThanOrEqual(2);
    });
  }

  for (const [name, s] of GENERIC) {
    it(`${name}: runs the naive kernels and matches`, async () => {
      expect(ops.planConv2d(engine, dims(s), 'forward')).toBe('naive');
      expect(ops.planConv2d(engine, dims(s), 'weight')).toBe('naive');
      const x = normals(s.n * s.ci * s.h * s.w);
      const w = normals(s.co * s.ci * s.kh * s.kw);
      const dy = normals(s.n * s.co * (s.h + 2 * s.pad - s.kh + 1) * (s.w + 2 * s.pad - s.kw + 1));
      const r = await run(engine, s, x, w, dy);
      expect(relError(r.y, conv2dForwardRef(x, w, s))).toBeLessThan(VS_REFERENCE);
      expect(relError(r.dx!, conv2dInputGradRef(dy, w, s))).toBeLessThan(VS_REFERENCE);
      expect(relError(r.dw!, conv2dWeightGradRef(x, dy, s))).toBeLessThan(VS_REFERENCE);
    });
  }
});

describe('conv2d kernel choice', () => {
  it('takes the fast paths at SeedNet shapes and the generic one elsewhere, by explicit conditions', () => {
    const sg = ops.subgroupLanes(engine) > 0;
    for (const [name, s] of SEEDNET) {
      // c10 works on 1x1 planes (H*W % 4 != 0): the 1x1 subgroup kernels need whole vec4s of pixels.
      const fast = sg && (s.kh === 3 || (s.h * s.w) % 4 === 0);
      expect(ops.planConv2d(engine, dims(s), 'forward'), name).toBe(fast ? 'subgroup' : 'tiled');
      expect(ops.planConv2d(engine, dims(s), 'input'), name).toBe(fast ? 'subgroup' : 'tiled');
      expect(ops.planConv2d(engine, dims(s), 'weight'), name).toBe(fast ? 'subgroup' : 'naive');
    }
    expect(ops.planConv2d(engine, dims(shapeOf(1, 2, 6, 5, 3, 3, 0)), 'forward')).toBe('naive');
    expect(() => ops.planConv2d(engine, dims(shapeOf(1, 2, 6, 5, 3, 3, 0)), 'forward', 'tiled')).toThrow(/cannot run/);
  });

  it('routes everything to the naive kernels under debug.naive, with the same results', async () => {
    const s = shapeOf(2, 4, 6, 8, 5, 3);
    const x = normals(s.n * s.ci * s.h * s.w);
    const w = normals(s.co * s.ci * 9);
    const dy = normals(s.n * s.co * s.h * s.w);
    const fast = await run(engine, s, x, w, dy);
    engine.debug.naive = true;
    try {
      for (const pass of ['forward', 'input', 'weight'] as const) expect(ops.planConv2d(engine, dims(s), pass)).toBe('naive');
      const naive = await run(engine, s, x, w, dy);
      expect(relError(naive.y, fast.y)).toBeLessThan(VS_REFERENCE);
      expect(relError(naive.dx!, fast.dx!)).toBeLessThan(VS_REFERENCE);
      expect(relError(naive.dw!, fast.dw!)).toBeLessThan(VS_REFERENCE);
    } finally {
      engine.debug.naive = false;
    }
  });

  it('compiles no new pipeline when the same convolution runs again', async () => {
    const s = shapeOf(1, 4, 8, 8, 8, 3);
    const args = [normals(256), normals(288), normals(512)] as const;
    await run(engine, s, ...args);
    const before = engine.counters.pipelinesCompiled;
    await run(engine, s, ...args);
    expect(engine.counters.pipelinesCompiled).toBe(before);
  });

  it('rejects mismatched shapes with a message naming them', () => {
    engine.tidy(() => {
      const x = engine.zeros([1, 3, 4, 4]);
      expect(() => ops.conv2d(x, engine.zeros([2, 4, 3, 3]), { padding: 1 })).toThrow(/3 channels.*expects 4/);
      expect(() => ops.conv2d(x, engine.zeros([2, 3, 5, 5]))).toThrow(/leaves no output/);
      expect(() => ops.conv2d(x, engine.zeros([2, 3, 3, 3]), { padding: -1 })).toThrow(/padding/);
    });
  });
});

describe('conv2d weight gradient determinism', () => {
  // The second shape has one input channel, in chunks of two images.
  for (const [path, s] of [['subgroup', shapeOf(4, 16, 16, 16, 16, 3)], ['subgroup', shapeOf(40, 1, 8, 28, 16, 3)], ['naive', shapeOf(4, 16, 16, 16, 16, 3)]] as const) {
    it(`${path}, [${s.n},${s.ci},${s.h},${s.w}] -> ${s.co}: two runs are bit-identical`, async () => {
      if (path === 'subgroup' && !tryPlan(engine, s, path)) return;
      const x = normals(s.n * s.ci * s.h * s.w);
      const dy = normals(s.n * s.co * s.h * s.w);
      const once = async (): Promise<Uint32Array> => {
        const dw = engine.tidy(() => ops.conv2dBackwardWeight(engine.tensor(x, [s.n, s.ci, s.h, s.w]), engine.tensor(dy, [s.n, s.co, s.h, s.w]), [3, 3], { padding: 1, path }));
        const bits = await dw.readU32();
        dw.dispose();
        return bits;
      };
      const a = await once();
      const b = await once();
      expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    });
  }
});

interface FixtureTensor {
  shape: number[];
  data: number[];
}
interface FixtureCase {
  name: string;
  padding: number;
  x: FixtureTensor;
  w: FixtureTensor;
  dy: FixtureTensor;
  y: number[];
  dx: number[];
  dw: number[];
}

// PyTorch 1.13 golden values (scripts/fixtures/conv2d.py, float64 on float32-rounded inputs).
// Tolerance: |GPU - PyTorch| <= 1e-5 * max(1, |PyTorch|) elementwise. The GPU sums at most 50
// float32 products of O(1) values per output (ulp(8) ~ 1e-6, a few roundings): errors are ~1e-6.
const FIXTURE_TOL = 1e-5;

describe('conv2d vs PyTorch golden values', () => {
  const fixture = JSON.parse(readFileSync(new URL('../fixtures/conv2d.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };
  for (const c of fixture.cases) {
    it(`${c.name}: y, dx and dw match PyTorch within ${FIXTURE_TOL} (default kernels and naive)`, async () => {
      const [n, ci, h, w] = c.x.shape as [number, number, number, number];
      const [co, , kh, kw] = c.w.shape as [number, number, number, number];
      const s: ConvShape = { n, ci, h, w, co, kh, kw, pad: c.padding };
      for (const path of [undefined, 'naive'] as const) {
        const r = await run(engine, s, Float32Array.from(c.x.data), Float32Array.from(c.w.data), Float32Array.from(c.dy.data), path);
        for (const [what, got, want] of [['y', r.y, c.y], ['dx', r.dx!, c.dx], ['dw', r.dw!, c.dw]] as const) {
          expect(got.length, what).toBe(want.length);
          const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(got[i]! - v) / Math.max(1, Math.abs(v))), 0);
          expect(worst, `${path ?? 'default'} ${what}`).toBeLessThanOrEqual(FIXTURE_TOL);
        }
      }
    });
  }
});

