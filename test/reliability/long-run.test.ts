// A long run must not grow: GPU bytes in use and allocated, pipelines, bind groups and the process's
// memory stay flat over 2000 SeedNet training steps after warm-up (small shapes, so it runs in seconds).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Engine } from '../../src/engine/index.js';
import { Trainer, DEFAULT_TRAIN_CONFIG, epochOrder } from '../../src/train/trainer.js';
import type { Dataset } from '../../src/train/data/dataset.js';
import { drawAugmentation } from '../../src/train/data/gpu-data.js';
import { createRng } from '../../src/check/rng.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

function tinyDataset(count: number): Dataset {
  const images = Uint8Array.from({ length: count * 64 }, (_, i) => (i * 2654435761) >>> 24);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const split = { images, labels, count };
  return {
    name: 'tiny', source: 'test', classes: Array.from({ length: 10 }, (_, i) => String(i)),
    channels: 1, height: 8, width: 8, mean: [0.5], std: [0.25], train: split, test: split,
  };
}

// Lavapipe's JIT and Dawn's caches grow during the first few hundred steps; measure after them.
const WARMUP = 500;
const STEPS = WARMUP + 2000;

// A full collection before each reading, so garbage not yet collected does not read as growth.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('a long run', () => {
  it(`keeps GPU memory, caches and process memory flat over ${STEPS - WARMUP} steps after ${WARMUP} of warm-up`, async () => {
    const ds = tinyDataset(64);
    const t = new Trainer(engine, ds, { ...DEFAULT_TRAIN_CONFIG, norm: 'batch', batchSize: 4, epochs: 200, augment: true });
    try {
      const order = epochOrder(ds.train.count, 0, 1);
      const rng = createRng(3);
      const at: { step: number; pool: ReturnType<Engine['pool']['snapshot']>; pipelines: number; bindGroups: number; rssMiB: number; heapMiB: number }[] = [];
      for (let s = 1; s <= STEPS; s++) {
        const i = (s * 4) % 64;
        t.step(order.subarray(i, i + 4), drawAugmentation(4, { cropPad: 4, flip: true }, () => rng.next()));
        // Let the worker's event loop run now and then: 500 steps back to back held it for 9 s
        // on an idle machine, long enough on a loaded one to time out vitest's worker RPC.
        if (s % 50 === 0) await new Promise((r) => setImmediate(r));
        if (s === WARMUP || s % 500 === 0) {
          await engine.sync();
          gc();
          at.push({
            step: s,
            pool: engine.pool.snapshot(),
            pipelines: engine.counters.pipelinesCompiled,
            bindGroups: engine.counters.bindGroupsCreated,
            rssMiB: process.memoryUsage().rss / 2 ** 20,
            heapMiB: process.memoryUsage().heapUsed / 2 ** 20,
          });
        }
      }
      const [first, ...rest] = at;
      for (const a of rest) {
        expect(a.pool.bytesInUse, `step ${a.step}`).toBe(first!.pool.bytesInUse);
        expect(a.pool.bytesAllocated, `step ${a.step}`).toBe(first!.pool.bytesAllocated);
        expect(a.pipelines, `step ${a.step}`).toBe(first!.pipelines);
        expect(a.bindGroups, `step ${a.step}`).toBe(first!.bindGroups);
      }
      // Process memory: JS heap, Dawn's and lavapipe's. Allow noise, not growth per step
      // (a leak of one small buffer per step would be hundreds of MiB here).
      expect(at.at(-1)!.heapMiB - first!.heapMiB).toBeLessThan(4);
      expect(at.at(-1)!.rssMiB - first!.rssMiB).toBeLessThan(64);
    } finally {
      t.dispose();
    }
  }, 600_000);
});
