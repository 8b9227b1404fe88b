// Training and evaluation of SeedNet on the GPU engine. A step (gather, forward, loss, backward,
// SGD) is recorded into one command buffer; the host writes only the batch's indices and reads
// nothing until the progress display asks for the running loss.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';
import { SGD, type SGDState } from '../engine/optim.js';
import { TrainingDivergedError, UserError } from '../engine/errors.js';
import { createRng, deriveSeed } from '../check/rng.js';
import { SeedNet, type NormKind, type ParamSpec } from '../model/seednet.js';
import type { Model } from '../model/model.js';
import { TrainingProbes, type ProbeCost } from './training-probes.js';
import type { ProbeRecord } from './probe-records.js';
import { loadInto, type LoadedCheckpoint } from '../model/checkpoint.js';
import type { Dataset } from './data/dataset.js';
import { GpuSplit, drawAugmentation } from './data/gpu-data.js';
import { oneCycle, stepDecay, constant, type StepSchedule } from './schedule.js';
import { BatchBuffers, evaluate, trainEvalCount, type EvalResult } from './evaluate.js';
import { auditBatchNorm, type BnStatsAudit } from './bn-stats.js';
import { checkBatchFits } from './batch-fit.js';

export { BatchBuffers, evaluate, TRAIN_EVAL_IMAGES, trainEvalCount, type EvalResult } from './evaluate.js';
export { bytesPerImage, checkBatchFits, largestBatch } from './batch-fit.js';

export type ScheduleKind = 'onecycle' | 'step' | 'constant';

export interface TrainConfig {
  norm: NormKind;
  groups: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: ScheduleKind;
  seed: number;
  augment: boolean;
  evalBatchSize: number;
  /** Batch norm: ghost batch norm's sub-batch (0: off, statistics over the whole batch). */
  ghostBatch: number;
  /** Probes every this many steps (src/train/probes.ts); 0 or absent: none, and training is as without. */
  probeEvery?: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  norm: 'batch',
  groups: 4,
  epochs: 5,
  batchSize: 128,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: 'onecycle',
  seed: 0,
  augment: false,
  evalBatchSize: 500,
  ghostBatch: 0,
};

export interface EpochMetrics {
  epoch: number;
  /** Running average over the epoch's steps, in training mode, while the weights moved. */
  trainLoss: number;
  trainAccuracy: number;
  /** After the epoch, in evaluation mode, on the fixed training images (TRAIN_EVAL_IMAGES). */
  trainEvalLoss: number;
  trainEvalAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSec: number;
  lr: number;
}

export interface Progress {
  norm: NormKind;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  images: number;
  runningLoss: number;
  runningAccuracy: number;
  imagesPerSec: number;
  /** Seconds left in this norm's training, from this epoch's pace. */
  etaSeconds: number;
}

/** PyTorch's default Conv2d init, kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function initParams(seed: number): (spec: ParamSpec) => Float32Array {
  return (spec) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.init === 'ones') return new Float32Array(n).fill(1);
    if (spec.init === 'zeros') return new Float32Array(n);
    // Seeded by the tensor's name, so every norm starts from the same conv weights.
    const rng = createRng(deriveSeed(seed, spec.name));
    const fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * bound);
  };
}

/** The epoch's batch order: a seeded Fisher-Yates shuffle, the same for every norm. */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  const rng = createRng(deriveSeed(seed, `shuffle epoch ${epoch}`));
  const order = Uint32Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export function buildSchedule(cfg: TrainConfig, stepsPerEpoch: number): StepSchedule {
  const total = stepsPerEpoch * cfg.epochs;
  switch (cfg.schedule) {
    case 'onecycle':
      return oneCycle({ maxLr: cfg.lr, totalSteps: total });
    case 'step':
      return stepDecay(cfg.lr, stepsPerEpoch, cfg.epochs, Math.max(1, Math.round(cfg.epochs / 3)));
    case 'constant':
      return constant(cfg.lr);
  }
}

/** Where a run stands: `epoch` (1-based) and the steps of it already taken. */
export interface RunPosition {
  epoch: number;
  step: number;
}

/** What a checkpoint taken between steps must hold besides the weights and the optimizer state. */
export interface PartialEpoch {
  position: RunPosition;
  /** The epoch's loss sum and correct count so far, so its metrics come out as if never stopped. */
  lossSum: number;
  correct: number;
}

export interface TrainHooks<M extends Model = SeedNet> {
  onProgress?: (p: Progress) => void;
  onEpoch?: (m: EpochMetrics, model: M, test: EvalResult) => void | Promise<void>;
  /** Each epoch's evaluation also collects the test predictions (for onEpoch's `test`). */
  testPredictions?: boolean;
  /** Seconds between progress readbacks (each one is a GPU sync). */
  progressIntervalSeconds?: number;
  /** Every this many steps within an epoch, onCheckpoint is called (0 or undefined: never). */
  checkpointEverySteps?: number;
  /** Saves a resumable state between steps: after checkpointEverySteps steps, or when stopping. */
  onCheckpoint?: (state: PartialEpoch, model: M) => Promise<void>;
  /** Polled after every step; true ends the run after that step, with a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** The probe records read back since the last call (with the progress readback, a checkpoint or an epoch's end). */
  onProbes?: (records: ProbeRecord[]) => void | Promise<void>;
}


/**
 * Trains a model: SeedNet built from `cfg` (norm, groups, seed), or one given (any Model from
 * src/model/modules.ts; its parameters initialised by its maker, e.g. with initParams(seed)).
 */
export class Trainer<M extends Model = SeedNet> {
  readonly model: M;
  readonly optimizer: SGD;
  private readonly train: GpuSplit;
  private readonly test: GpuSplit;
  private readonly batches: BatchBuffers;
  private readonly lossSum: Tensor;
  private readonly correct: Tensor;
  readonly stepsPerEpoch: number;
  readonly schedule: StepSchedule;
  /** Where hooks.shouldStop ended the last run(), or null when it ran to the end. */
  stoppedAt: RunPosition | null = null;
  private readonly probes: TrainingProbes | null = null;
  /** The batch size of the step last recorded (the probes' passes read the same batch). */
  private lastBatch = 0;

  constructor(
    readonly engine: Engine,
    readonly dataset: Dataset,
    readonly cfg: TrainConfig,
    model?: M,
  ) {
    checkBatchFits(engine, dataset, cfg.batchSize, '--batch-size');
    checkBatchFits(engine, dataset, cfg.evalBatchSize, '--eval-batch-size');
    if (model && (model.inChannels !== dataset.channels || model.outputs !== dataset.classes.length)) {
      throw new UserError(`the model takes ${model.inChannels} channels and gives ${model.outputs} outputs; the dataset has ${dataset.channels} channels and ${dataset.classes.length} classes`);
    }
    if (model && (cfg.probeEvery ?? 0) > 0 && !(model instanceof SeedNet)) throw new UserError('--probe-every: the probes measure SeedNet; this model is not one');
    this.model = model ?? (new SeedNet(engine, { inChannels: dataset.channels, norm: cfg.norm, groups: cfg.groups, classes: dataset.classes.length, ghostBatch: cfg.ghostBatch || undefined }, initParams(cfg.seed)) as unknown as M);
    this.stepsPerEpoch = Math.ceil(dataset.train.count / cfg.batchSize);
    this.schedule = buildSchedule(cfg, this.stepsPerEpoch);
    this.optimizer = new SGD(engine, this.model.parameters, {
      momentum: cfg.momentum,
      weightDecay: cfg.weightDecay,
    });
    this.optimizer.setSchedule(this.schedule.lr, this.schedule.momentum ?? undefined);
    // The training split also serves the evaluation-mode pass over its first TRAIN_EVAL_IMAGES.
    this.train = new GpuSplit(engine, dataset, dataset.train, Math.max(cfg.batchSize, cfg.evalBatchSize));
    this.test = new GpuSplit(engine, dataset, dataset.test, cfg.evalBatchSize);
    this.batches = new BatchBuffers(engine, dataset);
    this.lossSum = engine.keep(engine.zeros([1], 'f32', 'epoch loss sum'));
    this.correct = engine.keep(engine.zeros([1], 'u32', 'epoch correct'));
    if ((cfg.probeEvery ?? 0) > 0) {
      this.probes = new TrainingProbes(engine, this.model as unknown as SeedNet, cfg.probeEvery!, cfg.lr, this.stepsPerEpoch, (tap) => {
        const { x, y } = this.batches.get(this.lastBatch);
        return ops.logSoftmaxNll(this.model.forward(x, true, { tap }), y);
      });
    }
  }

  /** What the probes cost so far: probe steps and the seconds their phases took (null without probes). */
  get probeCost(): ProbeCost | null {
    return this.probes?.cost ?? null;
  }

  /** Records one training step on the given images. */
  step(indices: Uint32Array, augment: Uint32Array | undefined): void {
    const { x, y } = this.batches.get(indices.length);
    this.lastBatch = indices.length;
    this.engine.tidy(() => {
      this.train.gather(indices, x, y, augment);
      const logits = this.model.forward(x, true);
      const loss = ops.logSoftmaxNll(logits, y, { lossSum: this.lossSum, correct: this.correct });
      loss.backward();
      this.optimizer.step();
      this.optimizer.zeroGrad();
    });
    this.engine.flush();
  }

  private async readAccumulators(): Promise<{ lossSum: number; correct: number }> {
    const [l, c] = [await this.lossSum.read(), await this.correct.readU32()];
    return { lossSum: l[0]!, correct: c[0]! };
  }

  /**
   * Trains one epoch, or its remainder from `from` (steps already taken, with the loss sum and
   * correct count they left). Returns null when hooks.shouldStop ended it early (after a checkpoint).
   */
  async trainEpoch(
    epoch: number,
    hooks: TrainHooks<M> = {},
    from: PartialEpoch | null = null,
  ): Promise<{ loss: number; accuracy: number; seconds: number } | null> {
    const n = this.dataset.train.count;
    const B = this.cfg.batchSize;
    const order = epochOrder(n, this.cfg.seed, epoch);
    const augRng = createRng(deriveSeed(this.cfg.seed, `augment epoch ${epoch}`));
    const firstStep = from?.position.step ?? 0;
    // Replay the skipped steps' augmentation draws so the resumed steps draw what they would have.
    if (this.cfg.augment) {
      for (let s = 0; s < firstStep; s++) drawAugmentation(Math.min(n, (s + 1) * B) - s * B, { cropPad: 4, flip: true }, () => augRng.next());
    }
    if (from) {
      this.engine.writeBuffer(this.lossSum.buffer, Float32Array.of(from.lossSum));
      this.engine.writeBuffer(this.correct.buffer, Uint32Array.of(from.correct));
    } else {
      this.engine.clear(this.lossSum);
      this.engine.clear(this.correct);
    }
    const start = performance.now();
    let lastReport = start;
    const interval = (hooks.progressIntervalSeconds ?? 1) * 1000;
    const every = hooks.checkpointEverySteps ?? 0;
    for (let s = firstStep; s < this.stepsPerEpoch; s++) {
      const indices = order.subarray(s * B, Math.min(n, (s + 1) * B));
      const aug = this.cfg.augment ? drawAugmentation(indices.length, { cropPad: 4, flip: true }, () => augRng.next()) : undefined;
      const global = (epoch - 1) * this.stepsPerEpoch + s;
      const probing = this.probes?.due(global) === true;
      if (probing) this.probes!.beforeStep();
      this.step(indices, aug);
      if (probing) await this.probes!.afterStep(global, epoch);
      const done = s + 1;
      const stop = hooks.shouldStop?.() === true && done < this.stepsPerEpoch;
      if (hooks.onCheckpoint && done < this.stepsPerEpoch && (stop || (every > 0 && done % every === 0))) {
        await this.checkFinite();
        const acc = await this.readAccumulators();
        await this.probes?.read(hooks.onProbes);
        await hooks.onCheckpoint({ position: { epoch, step: done }, ...acc }, this.model);
      }
      const now = performance.now();
      // A stop reports its last step too, so a display shows where the run ended.
      if (hooks.onProgress && (now - lastReport >= interval || done === this.stepsPerEpoch || stop)) {
        await this.checkFinite();
        const acc = await this.readAccumulators();
        await this.probes?.read(hooks.onProbes);
        const t = performance.now();
        lastReport = t;
        const images = Math.min(n, done * B);
        const rate = (images - firstStep * B) / ((t - start) / 1000);
        hooks.onProgress({
          norm: this.cfg.norm,
          epoch,
          epochs: this.cfg.epochs,
          step: done,
          steps: this.stepsPerEpoch,
          images,
          runningLoss: acc.lossSum / images,
          runningAccuracy: acc.correct / images,
          imagesPerSec: rate,
          etaSeconds: (n * this.cfg.epochs - (n * (epoch - 1) + images)) / rate,
        });
      }
      if (stop) {
        await this.probes?.read(hooks.onProbes);
        this.stoppedAt = { epoch, step: done };
        return null;
      }
    }
    await this.checkFinite();
    const acc = await this.readAccumulators();
    await this.probes?.read(hooks.onProbes);
    return { loss: acc.lossSum / n, accuracy: acc.correct / n, seconds: (performance.now() - start) / 1000 };
  }

  /**
   * Throws TrainingDivergedError when a gradient held a NaN or an infinity (flagged on the GPU by
   * the SGD kernel), naming the epoch, the step and the learning rate there. Called before anything
   * is saved, so the files on disk always hold the last good state.
   */
  private async checkFinite(): Promise<void> {
    const s = await this.optimizer.firstNonFiniteStep();
    if (s === null) return;
    const epoch = Math.floor(s / this.stepsPerEpoch) + 1;
    const step = (s % this.stepsPerEpoch) + 1;
    const lr = this.schedule.lr[Math.min(s, this.schedule.lr.length - 1)]!;
    throw new TrainingDivergedError(
      `training diverged: a gradient became NaN or infinite at epoch ${epoch}, step ${step} of ${this.stepsPerEpoch} ` +
        `(learning rate ${lr.toPrecision(3)} there). The likely cause is a learning rate too high for this model and batch ` +
        `size (the recipe's maximum is 0.05); lower --lr. The last checkpoint saved before it is kept.`,
      epoch,
      step,
    );
  }

  /** Test loss and accuracy with running statistics (batch norm in eval mode), no gradients. */
  evaluate(options: { predictions?: boolean } = {}): Promise<EvalResult> {
    return evaluate(this.model, this.test, this.batches, this.cfg.evalBatchSize, options);
  }

  /** How many training images the evaluation-mode pass covers: all, or the first TRAIN_EVAL_IMAGES. */
  get trainEvalCount(): number {
    return trainEvalCount(this.dataset.train.count);
  }

  /** Loss and accuracy on the fixed training images, in evaluation mode, like the test set's. */
  evaluateTrain(options: { predictions?: boolean } = {}): Promise<EvalResult> {
    return evaluate(this.model, this.train, this.batches, this.cfg.evalBatchSize, { ...options, count: this.trainEvalCount });
  }

  /** Batch norm's test accuracy under running, precise and batch statistics (src/train/bn-stats.ts). */
  auditBatchNorm(preciseImages?: number): Promise<BnStatsAudit> {
    return auditBatchNorm(this.model, { train: this.train, test: this.test, batches: this.batches }, {
      trainBatchSize: this.cfg.batchSize,
      evalBatchSize: this.cfg.evalBatchSize,
      preciseImages,
    });
  }


  /**
   * Continues a run saved at `at` (epoch, steps of it taken): weights, running statistics, momentum
   * buffers and the schedule's step counter. Batch order and augmentation are drawn per (seed,
   * epoch), so the resumed run continues exactly as the uninterrupted one would have.
   */
  restore(ckpt: LoadedCheckpoint, optimizer: SGDState, at: RunPosition): void {
    const expected = (at.epoch - 1) * this.stepsPerEpoch + at.step;
    if (optimizer.step !== expected) {
      throw new UserError(
        `the optimizer state is at step ${optimizer.step}, but epoch ${at.epoch} step ${at.step} with ${this.stepsPerEpoch} steps ` +
          `per epoch is step ${expected} (another dataset, subset or batch size?)`,
      );
    }
    if (!(this.model instanceof SeedNet)) throw new UserError('resuming: train-state checkpoints hold SeedNet; this model is not one');
    loadInto(this.model, ckpt);
    this.optimizer.loadState(optimizer);
  }

  /**
   * Trains from `from` (default: the start) to the last epoch, evaluating after each. When
   * hooks.shouldStop ends it early, the epochs finished are returned and stoppedAt says where.
   */
  async run(hooks: TrainHooks<M> = {}, from: PartialEpoch | null = null): Promise<EpochMetrics[]> {
    const metrics: EpochMetrics[] = [];
    this.stoppedAt = null;
    const startEpoch = from?.position.epoch ?? 1;
    for (let epoch = startEpoch; epoch <= this.cfg.epochs; epoch++) {
      const tr = await this.trainEpoch(epoch, hooks, epoch === startEpoch && from && from.position.step > 0 ? from : null);
      if (!tr) break;
      const te = await this.evaluate({ predictions: hooks.testPredictions });
      const trEval = await this.evaluateTrain();
      const lastStep = Math.min(epoch * this.stepsPerEpoch, this.schedule.lr.length) - 1;
      const m: EpochMetrics = {
        epoch,
        trainLoss: tr.loss,
        trainAccuracy: tr.accuracy,
        trainEvalLoss: trEval.loss,
        trainEvalAccuracy: trEval.accuracy,
        testLoss: te.loss,
        testAccuracy: te.accuracy,
        seconds: tr.seconds,
        imagesPerSec: this.dataset.train.count / tr.seconds,
        lr: this.schedule.lr[Math.max(0, lastStep)]!,
      };
      metrics.push(m);
      await hooks.onEpoch?.(m, this.model, te);
    }
    return metrics;
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
    this.train.destroy();
    this.test.destroy();
    this.batches.dispose();
    this.lossSum.dispose();
    this.correct.dispose();
    this.probes?.dispose();
  }
}
