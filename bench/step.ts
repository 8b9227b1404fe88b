// The whole SeedNet training step per norm (gather, forward, loss, backward, SGD), timed over
// repetitions after warm-up, on synthetic images of the dataset's shape (no dataset needed).
import type { Engine } from '../src/engine/engine.js';
import { Trainer, DEFAULT_TRAIN_CONFIG } from '../src/train/trainer.js';
import type { Dataset } from '../src/train/data/dataset.js';
import type { NormKind } from '../src/model/seednet.js';

export interface StepBenchRow {
  norm: NormKind;
  batch: number;
  input: string;
  medianMs: number;
  imagesPerSec: number;
  dispatches: number;
  gpuBytesInUse: number;
}

function syntheticDataset(channels: number, size: number, count: number): Dataset {
  const per = channels * size * size;
  const images = new Uint8Array(count * per);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const split = { images, labels, count };
  return {
    name: 'synthetic',
    source: 'bench',
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
    channels,
    height: size,
    width: size,
    mean: Array(channels).fill(0.5),
    std: Array(channels).fill(0.25),
    train: split,
    test: split,
  };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export async function benchStep(
  engine: Engine,
  opts: { batch: number; norms: NormKind[]; inputs: { channels: number; size: number }[]; reps?: number },
): Promise<StepBenchRow[]> {
  const rows: StepBenchRow[] = [];
  const reps = opts.reps ?? 5;
  for (const input of opts.inputs) {
    const ds = syntheticDataset(input.channels, input.size, opts.batch);
    for (const norm of opts.norms) {
      const t = new Trainer(engine, ds, { ...DEFAULT_TRAIN_CONFIG, norm, batchSize: opts.batch, evalBatchSize: opts.batch });
      try {
        const idx = Uint32Array.from({ length: opts.batch }, (_, i) => i);
        // Two warm-up steps: the first compiles pipelines, the second settles pooled buffers.
        for (let i = 0; i < 2; i++) t.step(idx, undefined);
        await engine.sync();
        const before = engine.counters.dispatches;
        const times: number[] = [];
        for (let r = 0; r < reps; r++) {
          const start = performance.now();
          t.step(idx, undefined);
          await engine.sync();
          times.push(performance.now() - start);
        }
        const ms = median(times);
        rows.push({
          norm,
          batch: opts.batch,
          input: `${input.channels}x${input.size}x${input.size}`,
          medianMs: ms,
          imagesPerSec: opts.batch / (ms / 1000),
          dispatches: (engine.counters.dispatches - before) / reps,
          gpuBytesInUse: engine.pool.snapshot().bytesInUse,
        });
      } finally {
        t.dispose();
      }
    }
  }
  return rows;
}
