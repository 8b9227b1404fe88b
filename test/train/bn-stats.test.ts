// Batch norm's "precise" statistics (src/train/bn-stats.ts) on a tiny SeedNet against a float64
// recomputation: the same images through a float64 forward in training mode (each batch normalised
// by its own statistics, as the GPU pass does), then per block the population mean and unbiased
// variance of every value that reached its norm.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { SeedNet, LAYERS, paramSpecs } from '../../src/model/seednet.js';
import { GpuSplit } from '../../src/train/data/gpu-data.js';
import { BatchBuffers } from '../../src/train/evaluate.js';
import { auditBatchNorm, setPreciseStatistics } from '../../src/train/bn-stats.js';
import { conv2dForwardRef } from '../../src/reference/conv2d.js';
import { maxPool2dForward } from '../../src/reference/pool.js';
import { fixtureTensor, hash32, normForwardRef } from '../../src/reference/norm.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const H = 12;
const N = 24;
const BATCH = 8;
const ds = {
  channels: 1,
  height: H,
  width: H,
  mean: [0.4],
  std: [0.3],
  split: {
    images: Uint8Array.from({ length: N * H * H }, (_, i) => hash32(i + 77) % 256),
    labels: Uint8Array.from({ length: N }, (_, i) => hash32(i + 5) % 10),
    count: N,
  },
};
const cfg = { inChannels: 1, norm: 'batch' as const, groups: 4, classes: 10 };
const init = new Map(
  paramSpecs(cfg).map((s, k) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.shape.length === 4) return [s.name, fixtureTensor(900 + k, s.shape, 1.5 / Math.sqrt(s.shape[1]! * s.shape[2]! * s.shape[3]!))];
    if (s.name.endsWith('.weight')) return [s.name, fixtureTensor(900 + k, [n], 0.3, () => 1)];
    if (s.name.endsWith('running_var')) return [s.name, new Float32Array(n).fill(1)];
    return [s.name, fixtureTensor(900 + k, [n], 0.2)];
  }),
);

/** Per block, the float64 population mean and unbiased variance of its norm's inputs over all images. */
function referenceStatistics(): Map<string, { mean: Float64Array; variance: Float64Array }> {
  const sums = new Map<string, { n: number; s: Float64Array; q: Float64Array; values: Float64Array[] }>();
  for (let b = 0; b < N / BATCH; b++) {
    let h: Float64Array = Float64Array.from(ds.split.images.subarray(b * BATCH * H * H, (b + 1) * BATCH * H * H), (v) => (v / 255 - 0.4) / 0.3);
    let shape = [BATCH, 1, H, H];
    for (const l of LAYERS) {
      if (l.kind === 'maxpool') {
        h = maxPool2dForward(h, shape as [number, number, number, number]);
        shape = [shape[0]!, shape[1]!, shape[2]! / 2, shape[3]! / 2];
        continue;
      }
      if (l.kind !== 'block') break; // b8 is the last norm
      const pad = l.kernel === 3 ? 1 : 0;
      const y = conv2dForwardRef(h, init.get(`${l.name}.conv.weight`)!, { n: BATCH, ci: shape[1]!, h: shape[2]!, w: shape[3]!, co: l.out, kh: l.kernel, kw: l.kernel, pad });
      const yShape = [BATCH, l.out, shape[2]!, shape[3]!];
      const acc = sums.get(l.name) ?? { n: 0, s: new Float64Array(l.out), q: new Float64Array(l.out), values: [] };
      acc.values.push(y);
      sums.set(l.name, acc);
      const z = normForwardRef(y, init.get(`${l.name}.norm.weight`)!, init.get(`${l.name}.norm.bias`)!, { kind: 'batch', shape: yShape, training: true, relu: true }).y;
      h = l.skip ? h.map((v, i) => v + z[i]!) : z;
      shape = yShape;
    }
  }
  const out = new Map<string, { mean: Float64Array; variance: Float64Array }>();
  for (const [name, acc] of sums) {
    const c = acc.s.length;
    const hw = acc.values[0]!.length / (BATCH * c);
    const mean = new Float64Array(c);
    const variance = new Float64Array(c);
    const total = N * hw;
    for (const y of acc.values) y.forEach((v, i) => (mean[Math.floor(i / hw) % c] += v / total));
    for (const y of acc.values) y.forEach((v, i) => (variance[Math.floor(i / hw) % c] += (v - mean[Math.floor(i / hw) % c]!) ** 2 / (total - 1)));
    out.set(name, { mean, variance });
  }
  return out;
}

describe('precise batch norm statistics', () => {
  it('equal a float64 recomputation over the same training images, weights frozen', async () => {
    const model = new SeedNet(engine, cfg, (s) => init.get(s.name)!);
    const split = new GpuSplit(engine, ds, ds.split, BATCH);
    const batches = new BatchBuffers(engine, ds);
    const weightsBefore = await Promise.all(model.parameters.map((p) => p.read()));
    try {
      expect(await setPreciseStatistics(model, split, batches, BATCH, 1000)).toBe(N);
      const want = referenceStatistics();
      expect([...want.keys()]).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8']);
      for (const [name, w] of want) {
        const mean = await model.tensors.get(`${name}.norm.running_mean`)!.read();
        const variance = await model.tensors.get(`${name}.norm.running_var`)!.read();
        const scale = Math.max(...w.variance);
        w.mean.forEach((m, c) => expect(Math.abs(mean[c]! - m), `${name} mean[${c}]`).toBeLessThan(1e-4 * Math.sqrt(scale) + 1e-6));
        w.variance.forEach((v, c) => expect(Math.abs(variance[c]! - v) / scale, `${name} var[${c}]`).toBeLessThan(2e-4));
      }
      // Frozen: no parameter moved; the batch counter is left as it was.
      const weightsAfter = await Promise.all(model.parameters.map((p) => p.read()));
      weightsAfter.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(weightsBefore[i]!.buffer))).toBe(true));
      expect(model.batchesTracked).toBe(0);
    } finally {
      batches.dispose();
      split.destroy();
      model.dispose();
    }
  });

  it('the audit reports three accuracies and restores the running statistics it replaced', async () => {
    const model = new SeedNet(engine, cfg, (s) => init.get(s.name)!);
    const split = new GpuSplit(engine, ds, ds.split, BATCH);
    const batches = new BatchBuffers(engine, ds);
    try {
      const before = await model.tensors.get('b5.norm.running_var')!.read();
      const a = await auditBatchNorm(model, { train: split, test: split, batches }, { trainBatchSize: BATCH, evalBatchSize: BATCH });
      for (const v of [a.running, a.precise, a.batch]) expect(v >= 0 && v <= 1).toBe(true);
      expect(a.preciseImages).toBe(N);
      expect(a.batchSize).toBe(BATCH);
      const after = await model.tensors.get('b5.norm.running_var')!.read();
      expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).toBe(true);
    } finally {
      batches.dispose();
      split.destroy();
      model.dispose();
    }
  });
});
