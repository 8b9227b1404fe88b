// One build's training step, for bench/ab/run.ts, which loads two such bundles (two commits of
// normlab) into one process and times their steps in interleaved rounds. Only long-standing APIs
// (Engine, Trainer) so that the same file bundles against older commits:
//   git worktree add /tmp/old REV && cp bench/ab/entry.ts /tmp/old/bench/ab/ && (cd /tmp/old && npx esbuild ...)
import { Engine } from '../../src/engine/engine.js';
import { Trainer, DEFAULT_TRAIN_CONFIG } from '../../src/train/trainer.js';
import type { Dataset } from '../../src/train/data/dataset.js';
import type { NormKind } from '../../src/model/seednet.js';

function synthetic(channels: number, size: number, count: number): Dataset {
  const images = new Uint8Array(count * channels * size * size);
  for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
  const split = { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
  return {
    name: 'synthetic', source: 'bench', classes: Array.from({ length: 10 }, (_, i) => String(i)), channels, height: size, width: size,
    mean: Array(channels).fill(0.5), std: Array(channels).fill(0.25), train: split, test: split,
  };
}

export interface Stepper {
  /** Runs `steps` training steps, each waited for; returns their mean in ms. */
  time(steps: number): Promise<number>;
  dispose(): void;
}

export async function createEngine(): Promise<Engine> {
  return Engine.create();
}

export function stepper(engine: Engine, norm: NormKind, channels: number, size: number, batch: number): Stepper {
  const t = new Trainer(engine, synthetic(channels, size, batch), { ...DEFAULT_TRAIN_CONFIG, norm, batchSize: batch, evalBatchSize: batch });
  const idx = Uint32Array.from({ length: batch }, (_, i) => i);
  return {
    async time(steps: number) {
      let sum = 0;
      for (let s = 0; s < steps; s++) {
        const start = performance.now();
        t.step(idx, undefined);
        await engine.sync();
        sum += performance.now() - start;
      }
      return sum / steps;
    },
    dispose: () => t.dispose(),
  };
}
