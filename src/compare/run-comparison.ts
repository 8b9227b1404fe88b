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
import { checkpointPath, isFinished, predictionsPath, writeRun, type RunRecord } from './comparison-dir.js';

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

export async function runComparison(engine: Engine, plan: ComparisonPlan, progress: ProgressPrinter): Promise<{ trained: number; skipped: number }> {
  const all = planRuns(plan);
  const pending = all.filter((r) => !isFinished(plan.dir, r.norm, r.seed));
  if (pending.length < all.length) progress.message(`${all.length - pending.length} of ${all.length} runs already finished in ${plan.dir}; training the other ${pending.length}`);
  mkdirSync(join(plan.dir, 'checkpoints'), { recursive: true });
  const started = performance.now();
  for (const [i, { norm, seed }] of pending.entries()) {
    const k = all.findIndex((r) => r.norm === norm && r.seed === seed) + 1;
    const cfg: TrainConfig = { ...plan.config, norm, seed };
    const printer = new ProgressPrinter(process.stderr, 10, `[${k}/${all.length} ${norm} seed ${seed}] `);
    const t0 = performance.now();
    const trainer = new Trainer(engine, plan.dataset, cfg);
    try {
      const { epochs, predictions, diverged } = await trainRun(trainer, printer, plan, cfg, `[${k}/${all.length} ${norm} seed ${seed}]`, progress);
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
          adapter: engine.adapterInfo,
          seconds,
          finishedAt: new Date().toISOString(),
        },
        plan.dataset.test.labels,
        predictions,
      );
      const left = pending.length - i - 1;
      const eta = left ? `; about ${formatDuration((((performance.now() - started) / 1000) * left) / (i + 1))} left for the other ${left}` : '';
      progress.message(`run ${k}/${all.length} (${norm} norm, seed ${seed}) ${diverged ? 'diverged' : 'finished'} after ${formatDuration(seconds)}${eta}`);
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
): Promise<{ epochs: EpochMetrics[]; predictions: Uint8Array | undefined; diverged: RunRecord['diverged'] }> {
  const { norm, seed } = cfg;
  let predictions: Uint8Array | undefined;
  const epochs: EpochMetrics[] = [];
  try {
    await trainer.run({
      testPredictions: true,
      onProgress: (p) => printer.step(p),
      onEpoch: async (m, model, test) => {
        printer.epoch(norm, m);
        epochs.push(m);
        predictions = test.predictions;
        await saveCheckpoint(join(plan.dir, checkpointPath(norm as NormName, seed)), model, checkpointMeta(plan.dataset, cfg, m.epoch, plan.subset));
      },
    });
    return { epochs, predictions, diverged: undefined };
  } catch (e) {
    // A diverged run is a result too (this norm, seed and learning rate do not train): recorded,
    // left out of the statistics and named in the report, and the comparison goes on.
    if (!(e instanceof TrainingDivergedError)) throw e;
    progress.message(`${label} ${e.message}; recorded as diverged, the comparison goes on`);
    return { epochs, predictions: undefined, diverged: { epoch: e.epoch, step: e.step, message: e.message } };
  }
}
