// Training the runs of a comparison: every norm for every seed (seeds outer, so each finished seed
// completes a set of pairs), skipping runs already finished in the directory, so an interrupted
// comparison continues where it stopped. Each run writes its checkpoint after every epoch and its
// predictions and results when it ends (comparison-dir.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine/engine.js';
import { checkpointMeta } from '../model/checkpoint.js';
import { saveCheckpoint } from '../model/checkpoint-files.js';
import type { Dataset } from '../train/data/dataset.js';
import { Trainer, type EpochMetrics, type TrainConfig } from '../train/trainer.js';
import { TrainingDivergedError } from '../engine/errors.js';
import { ProgressPrinter, formatDuration } from '../train/progress.js';
import type { NormName } from '../report/types.js';
import { checkpointPath, isFinished, predictionsPath, probesPath, writeRun, type RunProbes, type RunRecord } from './comparison-dir.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { probeCsv, type ProbeRecord } from '../train/probe-records.js';

export interface ComparisonPlan {
  dir: string;
  norms: NormName[];
  seeds: number[];
  /** The recipe; norm and seed are set per run. */
  config: TrainConfig;
  dataset: Dataset;
  subset?: number;
}

/** The (seed, norm) runs of a plan in the order they train. */
export function planRuns(plan: Pick<ComparisonPlan, 'norms' | 'seeds'>): { norm: NormName; seed: number }[] {
  return plan.seeds.flatMap((seed) => plan.norms.map((norm) => ({ norm, seed })));
}

/** One run to train: a (norm, seed) of a plan, with the label its progress lines carry. */
export interface RunTask {
  plan: ComparisonPlan;
  norm: NormName;
  seed: number;
  /** e.g. 'group seed 1', or 'b8 group seed 1' in a sweep. */
  label: string;
  /** Expected cost relative to the other tasks, for the ETA (default 1). */
  weight?: number;
}

export async function runComparison(engine: Engine, plan: ComparisonPlan, progress: ProgressPrinter): Promise<{ trained: number; skipped: number }> {
  return runTasks(engine, planRuns(plan).map(({ norm, seed }) => ({ plan, norm, seed, label: `${norm} seed ${seed}` })), progress);
}

/**
 * Trains the tasks not yet finished in their directories, in order, numbering each within all of
 * them ([k/N label]) and giving the ETA of those left from the pace so far.
 */
export async function runTasks(engine: Engine, all: RunTask[], progress: ProgressPrinter): Promise<{ trained: number; skipped: number }> {
  const pending = all.filter((r) => !isFinished(r.plan.dir, r.norm, r.seed));
  if (pending.length < all.length) progress.message(`${all.length - pending.length} of ${all.length} runs already finished; training the other ${pending.length}`);
  const started = performance.now();
  const weight = (t: RunTask) => t.weight ?? 1;
  let doneWeight = 0;
  let leftWeight = pending.reduce((a, t) => a + weight(t), 0);
  for (const [i, task] of pending.entries()) {
    const { plan, norm, seed } = task;
    mkdirSync(join(plan.dir, 'checkpoints'), { recursive: true });
    const k = all.indexOf(task) + 1;
    // The whole job's ETA as of this run's start (from the pace of the runs finished in this process).
    const eta = doneWeight > 0 ? `, all ~${formatDuration((((performance.now() - started) / 1000) * leftWeight) / doneWeight)} left` : '';
    const tag = `[${k}/${all.length} ${task.label}${eta}]`;
    // Ghost batches are batch norm's: the other norms of the same recipe train without them.
    const cfg: TrainConfig = { ...plan.config, norm, seed, ghostBatch: norm === 'batch' ? plan.config.ghostBatch : 0 };
    const printer = new ProgressPrinter(process.stderr, 10, `${tag} `);
    const t0 = performance.now();
    const trainer = new Trainer(engine, plan.dataset, cfg);
    try {
      const { epochs, predictions, diverged, probes } = await trainRun(trainer, printer, plan, cfg, tag, progress);
      const probeFile = probes ? writeProbes(plan.dir, norm, seed, probes, trainer, epochs) : undefined;
      if (probeFile) progress.message(`${tag} ${probeShareText(probeFile)}`);
      const bnStats = norm === 'batch' && !diverged ? await trainer.auditBatchNorm() : undefined;
      if (bnStats) {
        const p = (v: number) => `${(100 * v).toFixed(2)}%`;
        progress.message(`${tag} batch norm's test accuracy: running ${p(bnStats.running)}, precise ${p(bnStats.precise)} (${bnStats.preciseImages} training images), batch ${p(bnStats.batch)} (batches of ${bnStats.batchSize})`);
      }
      const seconds = (performance.now() - t0) / 1000;
      writeRun(
        plan.dir,
        {
          norm,
          seed,
          groups: norm === 'layer' ? 1 : cfg.groups,
          params: trainer.model.parameterCount,
          epochs,
          checkpoint: checkpointPath(norm, seed),
          predictions: diverged ? '' : predictionsPath(norm, seed),
          ...(diverged ? { diverged } : {}),
          ...(bnStats ? { bnStats } : {}),
          adapter: engine.adapterInfo,
          ...(probeFile ? { probes: probeFile } : {}),
          seconds,
          finishedAt: new Date().toISOString(),
        },
        plan.dataset.test.labels,
        predictions,
      );
      const left = pending.length - i - 1;
      doneWeight += weight(task);
      leftWeight -= weight(task);
      const etaLeft = left ? `; about ${formatDuration((((performance.now() - started) / 1000) * leftWeight) / doneWeight)} left for the other ${left}` : '';
      progress.message(`run ${k}/${all.length} (${task.label}) ${diverged ? 'diverged' : 'finished'} after ${formatDuration(seconds)}${etaLeft}`);
    } finally {
      trainer.dispose();
    }
  }
  return { trained: pending.length, skipped: all.length - pending.length };
}

/** Trains one run to its end, or to the step where it diverged. */
async function trainRun(
  trainer: Trainer,
  printer: ProgressPrinter,
  plan: ComparisonPlan,
  cfg: TrainConfig,
  label: string,
  progress: ProgressPrinter,
): Promise<{ epochs: EpochMetrics[]; predictions: Uint8Array | undefined; diverged: RunRecord['diverged']; probes: ProbeRecord[] | undefined }> {
  const { norm, seed } = cfg;
  let predictions: Uint8Array | undefined;
  const epochs: EpochMetrics[] = [];
  const probes: ProbeRecord[] | undefined = cfg.probeEvery ? [] : undefined;
  try {
    await trainer.run({
      testPredictions: true,
      onProbes: (r) => void probes?.push(...r),
      onProgress: (p) => printer.step(p),
      onEpoch: async (m, model, test) => {
        printer.epoch(norm, m);
        epochs.push(m);
        predictions = test.predictions;
        await saveCheckpoint(join(plan.dir, checkpointPath(norm as NormName, seed)), model, checkpointMeta(plan.dataset, cfg, m.epoch, plan.subset));
      },
    });
    return { epochs, predictions, diverged: undefined, probes };
  } catch (e) {
    // A diverged run is a result too (this norm, seed and learning rate do not train): recorded,
    // left out of the statistics and named in the report, and the comparison goes on.
    if (!(e instanceof TrainingDivergedError)) throw e;
    progress.message(`${label} ${e.message}; recorded as diverged, the comparison goes on`);
    return { epochs, predictions: undefined, diverged: { epoch: e.epoch, step: e.step, message: e.message }, probes };
  }
}

/** Writes a run's probe records (before its results file, which marks the run finished). */
function writeProbes(dir: string, norm: NormName, seed: number, records: ProbeRecord[], trainer: Trainer, epochs: EpochMetrics[]): RunProbes {
  mkdirSync(join(dir, 'probes'), { recursive: true });
  const file = probesPath(norm, seed);
  writeFileAtomic(join(dir, file), probeCsv(records));
  const cost = trainer.probeCost!;
  return { file, every: cost.every, steps: cost.steps, seconds: cost.seconds, trainingSeconds: epochs.reduce((a, m) => a + m.seconds, 0) };
}

/** "probes every 10 steps: 14 probe steps took 154 s of 240 s of training (64%)". */
export function probeShareText(p: Pick<RunProbes, 'every' | 'steps' | 'seconds' | 'trainingSeconds'>): string {
  const share = p.trainingSeconds > 0 ? ` (${((100 * p.seconds) / p.trainingSeconds).toFixed(0)}%)` : '';
  return `probes every ${p.every} steps: ${p.steps} probe steps took ${formatDuration(p.seconds)} of ${formatDuration(p.trainingSeconds)} of training${share}`;
}
