import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine, ops } from '../../src/engine/index.js';
import type { Conv2dDims, Conv2dPath } from '../../src/engine/ops/conv2d.js';
import { createRng } from '../../src/check/rng.js';
import { runAll } from '../../src/check/gradcheck.js';
import { convCases } from '../../src/check/cases/conv2d.js';
import { conv2dForwardRef, conv2dInputGradRef, conv2dWeightGradRef, type ConvShape } from '../../src/reference/conv2d.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const rng = createRng(20240603);
const normals = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const PATHS: Conv2dPath[] = ['subgroup', 'tiled', 'naive'];

function dims(s: ConvShape): Conv2dDims {
  return { ...s };
}

/**
 * max |a - b| / max(|b|, 0.1 * max|b|): relative error, where elements small by cancellation are
 * measured on the tensor's scale (as the gradient-check runner does).
 */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  const floor = Math.max(0.1 * scale, 1e-30);
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor);
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}

interface Results {
  y: Float32Array;
  dx: Float32Array | null;
  dw: Float32Array | null;
}

/** Forward through the autograd, backward(dy); the tiled path has no weight gradient of its own. */
async function run(s: ConvShape, x: Float32Array, w: Float32Array, dy: Float32Array, path?: Conv2dPath): Promise<Results> {
  const out = engine.tidy(() => {
    const xt = engine.tensor(x, [s.n, s.ci, s.h, s.w]).requireGrad();
    const wt = engine.tensor(w, [s.co, s.ci, s.kh, s.kw]).requireGrad(path !== 'tiled');
    const y = ops.conv2d(xt, wt, { padding: s.pad, path });
    y.backward(engine.tensor(dy, y.shape));
    // Detach the gradients so they outlive tidy() (disposing x would dispose x.grad).
    const grads = { y, dx: xt.grad!, dw: wt.grad };
    xt.grad = null;
    wt.grad = null;
    return grads;
  });
  const res: Results = { y: await out.y.read(), dx: await out.dx.read(), dw: out.dw ? await out.dw.read() : null };
  for (const t of [out.y, out.dx, out.dw]) t?.dispose();
  return res;
}

/** float32 GPU vs float64 reference: sums of at most a few thousand products (see relError). */
const VS_REFERENCE = 1e-4;

function shapeOf(n: number, ci: number, h: number, w: number, co: number, k: number, pad = (k - 1) / 2): ConvShape {
  return { n, ci, h, w, co, kh: k, kw: k, pad };
}

const SEEDNET: [string, ConvShape][] = [
  ['b1 cifar', shapeOf(2, 3, 32, 32, 16, 3)],
  ['b2', shapeOf(2, 16, 32, 32, 16, 3)],
  ['b3', shapeOf(2, 16, 32, 32, 16, 1)],
  ['b4', shapeOf(2, 16, 16, 16, 32, 3)],
  ['b5', shapeOf(2, 32, 16, 16, 32, 3)],
  ['b6', shapeOf(2, 32, 16, 16, 32, 1)],
  ['b7', shapeOf(2, 32, 8, 8, 32, 3)],
  ['c9 (dW: one block of 10 shared channels)', shapeOf(2, 32, 8, 8, 10, 3)],
  ['c10', shapeOf(2, 10, 1, 1, 10, 1)],
  ['b1 mnist', shapeOf(2, 1, 28, 28, 16, 3)],
  ['b4 mnist (W % 4 != 0: padded copies)', shapeOf(2, 16, 14, 14, 32, 3)],
  ['c9 mnist', shapeOf(2, 32, 7, 7, 10, 3)],
];

const ODD: [string, ConvShape][] = [
  ['batch 1, C_in 1, C_out 3, 5x7', shapeOf(1, 1, 5, 7, 3, 3)],
  ['C_in 3, C_out 5, 9x13', shapeOf(3, 3, 9, 13, 5, 3)],
  ['W % 8 == 4, C_out 10', shapeOf(1, 5, 6, 12, 10, 3)],
  ['13x6, C_in 24, C_out 3', shapeOf(2, 24, 13, 6, 3, 3)],
  ['3x3 plane', shapeOf(1, 2, 3, 3, 2, 3)],
  ['tall and narrow 17x3', shapeOf(1, 9, 17, 3, 7, 3)],
  ['C_in 40 (several channel blocks)', shapeOf(1, 40, 6, 6, 20, 3)],
  // 48 x 32 x 3 packed weight vec4s exceed the 4096 that CPU adapters read as a uniform buffer:
  // there the 3x3 forward and input gradient read them from storage, as GPUs always do.
  ['weights over 64 KB packed (storage on CPUs too)', shapeOf(1, 48, 4, 8, 32, 3)],
  // More than 32 strips (N x ceil(W / 8)): the 3x3 weight gradient's chunks then hold several
  // strips, some crossing from one image to the next; in place (W 12) and padded (W 10).
  ['dW chunks of several strips, W 12', shapeOf(17, 3, 3, 12, 4, 3)],
  ['dW chunks of several strips, W 10', shapeOf(20, 5, 2, 10, 9, 3)],
  ['one row, W 4', shapeOf(3, 5, 1, 4, 6, 3)],
  // Input gradient 10 -> 3 channels: the few-output-channel kernel with a second, partly empty
  // group of input channels per invocation.
  ['C_in 3, C_out 10, W 20', shapeOf(1, 3, 5, 20, 10, 3)],
  // Forward to 2 channels: the few-output kernel with a second group of input channels (9 > 8
  // lanes; with subgroups of 16 or more, one group).
  ['C_in 9, C_out 2, W 8', shapeOf(2, 9, 3, 8, 2, 3)],
  // Forward from 4 and 2 input channels: the row-streaming kernel with three full load rounds (24
  // vec4s over 8 lanes), and with one strip of which three quarters lie past the image (W 4).
  ['C_in 4, C_out 9, W 16', shapeOf(2, 4, 5, 16, 9, 3)],
  ['C_in 2, C_out 8, W 4', shapeOf(1, 2, 6, 4, 8, 3)],
  ['W 2', shapeOf(2, 3, 4, 2, 9, 3)],
  // Whole planes read in place (W < 8, H <= 8): the tallest (8 rows, up to 16 aligned vec4s per
  // plane) and the narrowest; 5 and 3 channels put the planes at every offset mod 4.
  ['8x7 planes, read whole', shapeOf(2, 5, 8, 7, 6, 3)],
  ['W 1, read whole', shapeOf(3, 3, 8, 1, 5, 3)],
  // dW from one input channel by whole rows: the widest row (8 vec4s, every lane of 8), the
  // narrowest, output channels filling part of a subgroup, chunks of two images with a short last.
  ['C_in 1, W 32, 33 images', shapeOf(33, 1, 3, 32, 5, 3)],
  ['C_in 1, W 4, one row', shapeOf(2, 1, 1, 4, 9, 3)],
  // Few input channels on rows wider than 32: strips of 16 columns instead of whole rows.
  ['C_in 2, W 40 (strips)', shapeOf(1, 2, 3, 40, 5, 3)],
  ['C_in 1, W 36 (strips, input row window)', shapeOf(2, 1, 4, 36, 3, 3)],
  // One output channel on CPU adapters: lanes are images (the b1 input gradient's kernel). 9 images
  // fill one group of 8 lanes and 1 of the next; 11 channels (the input gradient's inputs) make a
  // full group of SG and a partial one; 21 rows split into bands of 11 and 10 (few image groups).
  ['one output channel by images: 9 images, 11 -> 1, 21 rows in two bands', shapeOf(9, 1, 21, 12, 11, 3)],
  ['forward to one output channel, W 8', shapeOf(2, 5, 6, 8, 1, 3)],
  ['1x1, H*W % 4 != 0', shapeOf(1, 3, 5, 7, 6, 1)],
  ['1x1, C_in 20 (two channel blocks), C_out 9', shapeOf(2, 20, 12, 12, 9, 1)],
  ['1x1, batch 1, 3 -> 5', shapeOf(1, 3, 4, 4, 5, 1)],
];

// Generic shapes no fast path takes: only the naive kernels run them.
const GENERIC: [string, ConvShape][] = [
  ['3x3 without padding', shapeOf(2, 2, 6, 5, 3, 3, 0)],
  ['5x5, padding 2', shapeOf(1, 3, 7, 6, 4, 5, 2)],
  ['3x3, padding 2 (grows)', shapeOf(1, 2, 4, 5, 3, 3, 2)],
  ['1x1, padding 1', shapeOf(1, 2, 3, 4, 2, 1, 1)],
  ['3x1 kernel', { n: 1, ci: 2, h: 6, w: 5, co: 3, kh: 3, kw: 1, pad: 1 }],
];

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
      const x = normals(s.n * s.ci * s.h * s.w);
      const w = normals(s.co * s.ci * s.kh * s.kw);
      const oh = s.h + 2 * s.pad - s.kh + 1;
      const ow = s.w + 2 * s.pad - s.kw + 1;
      const dy = normals(s.n * s.co * oh * ow);
      const y = conv2dForwardRef(x, w, s);
      const dx = conv2dInputGradRef(dy, w, s);
      const dw = conv2dWeightGradRef(x, dy, s);
      let ran = 0;
      for (const path of PATHS) {
        if (!tryPlan(s, path)) continue;
        ran += 1;
        const r = await run(s, x, w, dy, path);
        expect(relError(r.y, y), `${path} forward`).toBeLessThan(VS_REFERENCE);
        expect(relError(r.dx!, dx), `${path} input gradient`).toBeLessThan(VS_REFERENCE);
        if (r.dw) expect(relError(r.dw, dw), `${path} weight gradient`).toBeLessThan(VS_REFERENCE);
      }
      expect(ran).toBeGreaterThanOrEqual(2);
    });
  }

  for (const [name, s] of GENERIC) {
    it(`${name}: runs the naive kernels and matches`, async () => {
      expect(ops.planConv2d(engine, dims(s), 'forward')).toBe('naive');
      expect(ops.planConv2d(engine, dims(s), 'weight')).toBe('naive');
      const x = normals(s.n * s.ci * s.h * s.w);
      const w = normals(s.co * s.ci * s.kh * s.kw);
      const dy = normals(s.n * s.co * (s.h + 2 * s.pad - s.kh + 1) * (s.w + 2 * s.pad - s.kw + 1));
      const r = await run(s, x, w, dy);
      expect(relError(r.y, conv2dForwardRef(x, w, s))).toBeLessThan(VS_REFERENCE);
      expect(relError(r.dx!, conv2dInputGradRef(dy, w, s))).toBeLessThan(VS_REFERENCE);
      expect(relError(r.dw!, conv2dWeightGradRef(x, dy, s))).toBeLessThan(VS_REFERENCE);
    });
  }
});

function tryPlan(s: ConvShape, path: Conv2dPath): boolean {
  try {
    ops.planConv2d(engine, dims(s), 'forward', path);
    return true;
  } catch {
    return false;
  }
}

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
    const fast = await run(s, x, w, dy);
    engine.debug.naive = true;
    try {
      for (const pass of ['forward', 'input', 'weight'] as const) expect(ops.planConv2d(engine, dims(s), pass)).toBe('naive');
      const naive = await run(s, x, w, dy);
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
    await run(s, ...args);
    const before = engine.counters.pipelinesCompiled;
    await run(s, ...args);
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
  // The second shape takes the whole-row kernel for one input channel (weight3x3_rows).
  for (const [path, s] of [['subgroup', shapeOf(4, 16, 16, 16, 16, 3)], ['subgroup', shapeOf(40, 1, 8, 28, 16, 3)], ['naive', shapeOf(4, 16, 16, 16, 16, 3)]] as const) {
    it(`${path}, [${s.n},${s.ci},${s.h},${s.w}] -> ${s.co}: two runs are bit-identical`, async () => {
      if (path === 'subgroup' && !tryPlan(s, path)) return;
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
        const r = await run(s, Float32Array.from(c.x.data), Float32Array.from(c.w.data), Float32Array.from(c.dy.data), path);
        for (const [what, got, want] of [['y', r.y, c.y], ['dx', r.dx!, c.dx], ['dw', r.dw!, c.dw]] as const) {
          expect(got.length, what).toBe(want.length);
          const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(got[i]! - v) / Math.max(1, Math.abs(v))), 0);
          expect(worst, `${path ?? 'default'} ${what}`).toBeLessThanOrEqual(FIXTURE_TOL);
        }
      }
    });
  }
});

