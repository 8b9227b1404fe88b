import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { GpuSplit } from '../../src/train/data/gpu-data.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

// 5 images of 2x3x3 (C,H,W), byte value = 10*image + position, labels 9..5.
const C = 2, H = 3, W = 3, per = C * H * W, N = 5;
const images = Uint8Array.from({ length: N * per }, (_, i) => 10 * Math.floor(i / per) + (i % per));
const labels = Uint8Array.of(9, 8, 7, 6, 5);
const ds = { channels: C, height: H, width: W, mean: [0.5, 0.25], std: [0.5, 0.25] };

function expected(index: number, aug?: { dy: number; dx: number; flip: boolean }): number[] {
  const out: number[] = [];
  for (let c = 0; c < C; c++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        let sx = aug?.flip ? W - 1 - w : w;
        sx += aug?.dx ?? 0;
        const sy = h + (aug?.dy ?? 0);
        const v = sx >= 0 && sx < W && sy >= 0 && sy < H ? images[index * per + (c * H + sy) * W + sx]! / 255 : 0;
        out.push((v - ds.mean[c]!) / ds.std[c]!);
      }
  return out;
}

describe('GPU batch gather', () => {
  it('gathers, converts and standardises images and labels by index', async () => {
    const split = new GpuSplit(engine, ds, { images, labels, count: N }, 4);
    const x = engine.empty([3, C, H, W]);
    const y = engine.empty([3], 'u32');
    split.gather([4, 0, 2], x, y);
    const got = Array.from(await x.read());
    const want = [...expected(4), ...expected(0), ...expected(2)];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(Array.from(await y.readU32())).toEqual([5, 9, 7]);
    x.dispose();
    y.dispose();
    split.destroy();
  });

  it('gathers across chunks when the dataset exceeds one binding', async () => {
    const split = new GpuSplit(engine, ds, { images, labels, count: N }, 5, 2 * per + 4);
    expect(split.chunkCount).toBe(3);
    const x = engine.empty([5, C, H, W]);
    const y = engine.empty([5], 'u32');
    split.gather([4, 3, 2, 1, 0], x, y);
    const got = Array.from(await x.read());
    const want = [4, 3, 2, 1, 0].flatMap((i) => expected(i));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    expect(Array.from(await y.readU32())).toEqual([5, 6, 7, 8, 9]);
    x.dispose();
    y.dispose();
    split.destroy();
  });

  it('applies crop shifts and flips from the draws', async () => {
    const split = new GpuSplit(engine, ds, { images, labels, count: N }, 2);
    const x = engine.empty([2, C, H, W]);
    const y = engine.empty([2], 'u32');
    const draw = (dy: number, dx: number, flip: boolean) => (dy + 128) | ((dx + 128) << 8) | ((flip ? 1 : 0) << 16);
    split.gather([1, 3], x, y, Uint32Array.of(draw(1, -1, false), draw(0, 2, true)));
    const got = Array.from(await x.read());
    const want = [...expected(1, { dy: 1, dx: -1, flip: false }), ...expected(3, { dy: 0, dx: 2, flip: true })];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    x.dispose();
    y.dispose();
    split.destroy();
  });
});
