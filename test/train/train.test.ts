// End-to-end: SeedNet trains on real Fashion-MNIST images on the GPU engine (a small subset, so
// the suite stays fast), checkpoints round-trip, and a seed gives bit-identical weights.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/index.js';
import { loadDataset } from '../../src/train/data/load.js';
import { subsetTrain, type Dataset } from '../../src/train/data/dataset.js';
import { Trainer, DEFAULT_TRAIN_CONFIG, TRAIN_EVAL_IMAGES, evaluate, BatchBuffers, type EpochMetrics } from '../../src/train/trainer.js';
import { GpuSplit } from '../../src/train/data/gpu-data.js';
import { TrainingDivergedError } from '../../src/engine/errors.js';
import { checkpointMeta, modelFromCheckpoint } from '../../src/model/checkpoint.js';
import { saveCheckpoint, saveTrainState, readTrainState, readCheckpoint } from '../../src/model/checkpoint-files.js';

let engine: Engine;
let ds: Dataset;
let dir: string;
beforeAll(async () => {
  engine = await Engine.create();
  const full = loadDataset();
  // 512 training images, 500 test images: small enough for the suite, large enough to learn from.
  ds = subsetTrain({ ...full, test: { images: full.test.images.subarray(0, 500 * 784), labels: full.test.labels.subarray(0, 500), count: 500 } }, 512);
  dir = mkdtempSync(join(tmpdir(), 'normlab-train-'));
});
afterAll(() => {
  engine?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const cfg = { ...DEFAULT_TRAIN_CONFIG, epochs: 2, batchSize: 64, evalBatchSize: 250, seed: 7 };

async function weights(t: Trainer): Promise<Float32Array[]> {
  return Promise.all(t.model.parameters.map((p) => p.read()));
}

/** The conv weights a trainer starts from, by name, and the batch indices it gathers in one epoch. */
async function startAndOrder(norm: 'batch' | 'group' | 'layer', seed: number): Promise<{ conv: Map<string, Float32Array>; order: number[][] }> {
  const t = new Trainer(engine, ds, { ...cfg, epochs: 1, norm, seed });
  try {
    const conv = new Map<string, Float32Array>();
    for (const [name, tensor] of t.model.tensors) if (name.endsWith('conv.weight') || /^c\d+\.weight$/.test(name)) conv.set(name, await tensor.read());
    const order: number[][] = [];
    const split = (t as unknown as { train: { gather: (i: ArrayLike<number>, ...rest: unknown[]) => void } }).train;
    const gather = split.gather.bind(split);
    split.gather = (indices, ...rest) => {
      order.push(Array.from(indices));
      gather(indices, ...rest);
    };
    await t.trainEpoch(1);
    return { conv, order };
  } finally {
    t.dispose();
  }
}

describe('the paired design of a comparison', () => {
  it('one seed gives every norm the same initial conv weights and batch order; another seed differs in both', async () => {
    const a = await startAndOrder('batch', 3);
    const b = await startAndOrder('layer', 3);
    const c = await startAndOrder('group', 4);
    expect(a.conv.size).toBe(10); // b1..b8 conv, c9, c10
    for (const [name, w] of a.conv) {
      expect(b.conv.get(name), name).toEqual(w);
      expect(c.conv.get(name), name).not.toEqual(w);
    }
    expect(a.order).toHaveLength(ds.train.count / cfg.batchSize);
    expect(b.order).toEqual(a.order);
    expect(c.order).not.toEqual(a.order);
    expect(c.order.flat().sort((x, y) => x - y)).toEqual(a.order.flat().sort((x, y) => x - y));
  });

  it('measures train accuracy in evaluation mode on the first TRAIN_EVAL_IMAGES training images after each epoch', async () => {
    const t = new Trainer(engine, ds, { ...cfg, epochs: 1, norm: 'batch' });
    try {
      const [m] = await t.run();
      expect(t.trainEvalCount).toBe(Math.min(ds.train.count, TRAIN_EVAL_IMAGES));
      const again = await t.evaluateTrain({ predictions: true });
      expect(again.count).toBe(ds.train.count);
      expect(m!.trainEvalAccuracy).toBe(again.accuracy);
      const right = again.predictions!.reduce((n, p, i) => n + (p === ds.train.labels[i] ? 1 : 0), 0);
      expect(again.accuracy).toBe(right / ds.train.count);
      expect(m!.trainEvalLoss).toBeCloseTo(again.loss, 6);
      // Batch norm: training mode moved the running statistics, so the two figures differ.
      expect(m!.trainEvalAccuracy).not.toBe(m!.trainAccuracy);
    } finally {
      t.dispose();
    }
  });
});

describe('training SeedNet', () => {
  for (const norm of ['batch', 'group', 'layer'] as const) {
    // Whether the maths is right is pinned against PyTorch (test/model/seednet-torch.test.ts);
    // this checks the training loop: data, schedule, GPU-side counting and evaluation.
    it(`${norm} norm: the loss falls, and the GPU's correct count agrees with the predictions`, async () => {
      const t = new Trainer(engine, ds, { ...cfg, epochs: 3, norm });
      try {
        const metrics = await t.run();
        expect(metrics).toHaveLength(3);
        expect(metrics[2]!.trainLoss).toBeLessThan(metrics[0]!.trainLoss);
        for (const m of metrics) {
          for (const v of [m.trainLoss, m.testLoss, m.trainAccuracy, m.testAccuracy]) expect(Number.isFinite(v)).toBe(true);
          expect(m.testAccuracy).toBeGreaterThanOrEqual(0);
          expect(m.testAccuracy).toBeLessThanOrEqual(1);
        }
        const r = await t.evaluate({ predictions: true });
        const right = r.predictions!.reduce((a, p, i) => a + (p === ds.test.labels[i] ? 1 : 0), 0);
        expect(r.accuracy).toBe(right / ds.test.count);
        expect(r.accuracy).toBe(metrics[2]!.testAccuracy);
      } finally {
        t.dispose();
      }
    });
  }

  it('gives bit-identical weights for the same seed, different ones for another seed', async () => {
    const small = { ...cfg, epochs: 1, norm: 'batch' as const };
    const runs: Float32Array[][] = [];
    for (const seed of [3, 3, 4]) {
      const t = new Trainer(engine, subsetTrain(ds, 192), { ...small, seed });
      try {
        await t.run();
        runs.push(await weights(t));
      } finally {
        t.dispose();
      }
    }
    runs[0]!.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(runs[1]![i]!.buffer))).toBe(true));
    expect(runs[0]!.some((w, i) => !Buffer.from(w.buffer).equals(Buffer.from(runs[2]![i]!.buffer)))).toBe(true);
  });

  it('stopped mid-epoch and resumed from the saved files, ends with the same weights as an uninterrupted run', async () => {
    const small = { ...cfg, epochs: 2, batchSize: 32, norm: 'group' as const, augment: true };
    const data = subsetTrain(ds, 160);
    const whole = new Trainer(engine, data, small);
    let expected: Float32Array[];
    let expectedMetrics: EpochMetrics[];
    try {
      expectedMetrics = await whole.run();
      expected = await weights(whole);
    } finally {
      whole.dispose();
    }
    // Stop after step 2 of epoch 2 (a Ctrl-C), saving as `normlab train` saves.
    const statePath = join(dir, 'train-state.safetensors');
    const first = new Trainer(engine, data, small);
    let steps = 0;
    let firstMetrics: EpochMetrics[];
    try {
      firstMetrics = await first.run({
        shouldStop: () => ++steps === first.stepsPerEpoch + 2,
        onCheckpoint: async (partial, model) => {
          const epochsDone = partial.position.epoch - 1;
          const at = { epoch: epochsDone, stepInEpoch: partial.position.step, lossSum: partial.lossSum, correct: partial.correct, epochsJson: '[]', dataSource: 'test' };
          await saveTrainState(statePath, model, checkpointMeta(data, small, epochsDone, 160, at.stepInEpoch), await first.optimizer.state(), at);
        },
      });
      expect(first.stoppedAt).toEqual({ epoch: 2, step: 2 });
      expect(firstMetrics).toHaveLength(1);
    } finally {
      first.dispose();
    }
    // A new trainer (a new process) continues from the file.
    const saved = readTrainState(statePath);
    const opt = { ...saved.at, state: saved.optimizer };
    const ckpt = saved.checkpoint;
    expect([ckpt.meta.epoch, ckpt.meta.stepInEpoch, opt.state.step]).toEqual([1, 2, first.stepsPerEpoch + 2]);
    const resumed = new Trainer(engine, data, small);
    try {
      const from = { position: { epoch: 2, step: 2 }, lossSum: opt.lossSum, correct: opt.correct };
      resumed.restore(ckpt, opt.state, from.position);
      const rows = await resumed.run({}, from);
      expect(rows.map((r) => r.epoch)).toEqual([2]);
      const got = await weights(resumed);
      got.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(expected[i]!.buffer)), `tensor ${i}`).toBe(true));
      // The interrupted epoch's metrics come out as if it had never stopped.
      expect(rows[0]!.trainLoss).toBe(expectedMetrics[1]!.trainLoss);
      expect(rows[0]!.trainAccuracy).toBe(expectedMetrics[1]!.trainAccuracy);
      expect(rows[0]!.testAccuracy).toBe(expectedMetrics[1]!.testAccuracy);
      // A step count from another position is refused rather than silently misaligned.
      expect(() => resumed.restore(ckpt, opt.state, { epoch: 2, step: 3 })).toThrow(/step/);
    } finally {
      resumed.dispose();
    }
  });

  it('stops at the step where a gradient turns non-finite, naming epoch and step', async () => {
    // A learning rate of 1e30 overflows the weights on the first update, and the next gradient is NaN.
    const t = new Trainer(engine, subsetTrain(ds, 96), { ...cfg, epochs: 1, batchSize: 32, norm: 'batch', schedule: 'constant', lr: 1e30 });
    const saved: number[] = [];
    try {
      const err = await t
        .run({ checkpointEverySteps: 1, onCheckpoint: async (p) => void saved.push(p.position.step) })
        .then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingDivergedError);
      const d = err as TrainingDivergedError;
      expect(d.epoch).toBe(1);
      expect(d.step).toBe(2);
      expect(d.message).toMatch(/epoch 1, step 2 of 3 \(learning rate 1\.00e\+30 there\).*lower --lr/);
      // Step 1's state was finite and saved; nothing after the divergence was.
      expect(saved).toEqual([1]);
    } finally {
      t.dispose();
    }
  });

  for (const norm of ['none', 'instance'] as const) {
    it(`${norm} norm: trains (weights move, metrics finite), saves a checkpoint of its own tensors that reloads to the same predictions`, async () => {
      const small = subsetTrain(ds, 128);
      const t = new Trainer(engine, small, { ...cfg, epochs: 1, norm });
      try {
        const before = await weights(t);
        const [m] = await t.run();
        for (const v of [m!.trainLoss, m!.testLoss]) expect(Number.isFinite(v)).toBe(true);
        const after = await weights(t);
        expect(after.some((w, i) => w.some((v, j) => v !== before[i]![j]))).toBe(true);
        const names = [...t.model.tensors.keys()];
        // none: conv -> relu, no norm tensors; instance: InstanceNorm2d(C, affine=True), weight and bias only.
        expect(names.filter((n) => n.includes('.norm.'))).toEqual(norm === 'none' ? [] : names.filter((n) => /\.norm\.(weight|bias)$/.test(n)));
        if (norm === 'instance') expect(names).toContain('b8.norm.bias');
        const predicted = await t.evaluate({ predictions: true });
        const path = join(dir, `${norm}.safetensors`);
        await saveCheckpoint(path, t.model, checkpointMeta(small, t.cfg, 1, 128));
        const ckpt = readCheckpoint(path);
        expect(ckpt.meta.norm).toBe(norm);
        expect([...ckpt.tensors.keys()].sort()).toEqual([...names].sort());
        const model = modelFromCheckpoint(engine, ckpt);
        const split = new GpuSplit(engine, ds, ds.test, 250);
        const batches = new BatchBuffers(engine, ds);
        const again = await evaluate(model, split, batches, 250, { predictions: true });
        expect(Array.from(again.predictions!)).toEqual(Array.from(predicted.predictions!));
        batches.dispose();
        split.destroy();
        model.dispose();
      } finally {
        t.dispose();
      }
    });
  }

  it('saves a checkpoint that reloads to the same predictions', async () => {
    const t = new Trainer(engine, subsetTrain(ds, 128), { ...cfg, epochs: 1, norm: 'batch' });
    try {
      await t.run();
      const before = await t.evaluate({ predictions: true });
      const path = join(dir, 'model.safetensors');
      await saveCheckpoint(path, t.model, checkpointMeta(ds, t.cfg, 1, 128));
      const ckpt = readCheckpoint(path);
      expect(ckpt.meta.norm).toBe('batch');
      expect(ckpt.batchesTracked).toBe(2);
      const model = modelFromCheckpoint(engine, ckpt);
      const split = new GpuSplit(engine, ds, ds.test, 250);
      const batches = new BatchBuffers(engine, ds);
      const after = await evaluate(model, split, batches, 250, { predictions: true });
      expect(after.accuracy).toBe(before.accuracy);
      expect(Array.from(after.predictions!)).toEqual(Array.from(before.predictions!));
      batches.dispose();
      split.destroy();
      model.dispose();
    } finally {
      t.dispose();
    }
  });
});
