// normlab train: one norm, the SEEDNET.md recipe by default; writes a checkpoint and metrics.
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { NORM_KINDS, type NormKind } from '../../model/seednet.js';
import { checkpointMeta, type LoadedTrainState } from '../../model/checkpoint.js';
import { saveCheckpoint, readTrainState, saveTrainState } from '../../model/checkpoint-files.js';
import { UsageError, UserError } from '../../engine/errors.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { loadDataset } from '../../train/data/load.js';
import { subsetTrain } from '../../train/data/dataset.js';
import { Trainer, type EpochMetrics, type PartialEpoch, type TrainConfig } from '../../train/trainer.js';
import { ProgressPrinter } from '../../train/progress.js';
import { PROBE_CSV_HEADER, probeCsvLines } from '../../train/probe-records.js';
import { probeShareText } from '../../compare/run-comparison.js';
import { bool, optNum, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { TRAIN_FLAGS, subsetFromArgs, trainConfigFromArgs } from '../train-flags.js';

/** What train writes to metrics.json; --resume reads the recipe back from it. */
interface TrainRunFile {
  norm: NormKind;
  config: TrainConfig;
  subset: number | null;
  dataset: string;
  data: string;
  epochs: EpochMetrics[];
}

const MODEL_FILE = 'model.safetensors';
const STATE_FILE = 'train-state.safetensors';
const METRICS_FILE = 'metrics.json';
const PROBES_FILE = 'probes.csv';

const RECIPE_KEYS: readonly (keyof TrainConfig)[] = ['norm', 'groups', 'epochs', 'batchSize', 'lr', 'momentum', 'weightDecay', 'schedule', 'seed', 'augment', 'evalBatchSize'];

/** The recipe a saved run was trained with, from its state file's metadata, checked field by field. */
function recipeOf(state: LoadedTrainState, dir: string): { cfg: TrainConfig; subset: number | undefined } {
  const r = state.checkpoint.meta.recipe;
  const missing = RECIPE_KEYS.filter((k) => r[k] === undefined);
  if (missing.length > 0) throw new UserError(`--resume ${dir}: ${STATE_FILE} lacks the recipe's ${missing.join(', ')}`);
  const cfg = Object.fromEntries(RECIPE_KEYS.map((k) => [k, r[k]])) as unknown as TrainConfig;
  if (typeof r.probeEvery === 'number') cfg.probeEvery = r.probeEvery;
  const subset = typeof r.subset === 'number' ? r.subset : undefined;
  return { cfg, subset };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train SeedNet with one norm; writes DIR/model.safetensors and DIR/metrics.json',
  usage: 'normlab train [--norm batch|group|layer|instance|none] [--data DIR] [--epochs N] [...] [--out DIR] | normlab train --resume DIR',
  flags: [
    { name: 'norm', type: 'enum', choices: NORM_KINDS, default: 'batch', help: 'normalisation' },
    ...TRAIN_FLAGS,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output directory (default runs/train-<norm>-<time>)' },
    { name: 'resume', type: 'string', metavar: 'DIR', help: "continue the run saved in DIR where it stopped, with its recipe (--data may point at the dataset's new place; --checkpoint-every may change)" },
    { name: 'checkpoint-every', type: 'int', min: 1, metavar: 'STEPS', help: 'also save the resumable state every STEPS steps within an epoch' },
    { name: 'json', type: 'bool', help: 'print the per-epoch metrics as JSON at the end' },
  ],
  details:
    'After every epoch (and every --checkpoint-every steps) the run is saved: DIR/model.safetensors (the weights), ' +
    'DIR/train-state.safetensors (weights, momentum buffers and position, for --resume) and DIR/metrics.json, each written to a ' +
    'temporary file and renamed into place. Ctrl-C stops after the current step and saves; a second Ctrl-C quits at once. ' +
    'A resumed run ends with the same weights as an uninterrupted one. A NaN or infinite gradient stops training at the ' +
    'step it appears, keeping the last saved state.',
  async run(args: ParsedArgs) {
    const resumeDir = str(args, 'resume');
    let norm = str(args, 'norm') as NormKind;
    let cfg: TrainConfig;
    let subset: number | undefined;
    let dataDir = str(args, 'data');
    let previous: EpochMetrics[] = [];
    let resume: LoadedTrainState | undefined;
    if (resumeDir !== undefined) {
      const allowed = new Set(['resume', 'data', 'json', 'debug', 'checkpoint-every']);
      const clash = [...args.given].filter((f) => !allowed.has(f));
      if (clash.length > 0) {
        throw new UsageError(
          `--resume continues the saved recipe; it takes only --data, --checkpoint-every and --json (not ${clash.map((f) => `--${f}`).join(', ')})`,
        );
      }
      resume = readTrainState(join(resumeDir, STATE_FILE));
      const saved = recipeOf(resume, resumeDir);
      norm = saved.cfg.norm;
      cfg = saved.cfg;
      subset = saved.subset;
      dataDir ??= resume.at.dataSource || undefined;
      previous = JSON.parse(resume.at.epochsJson) as EpochMetrics[];
    } else {
      cfg = trainConfigFromArgs(args, norm);
      subset = subsetFromArgs(args);
    }
    let ds = loadDataset(dataDir);
    if (subset !== undefined) ds = subsetTrain(ds, subset);
    const dir = resumeDir ?? str(args, 'out') ?? join('runs', `train-${norm}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    const progress = new ProgressPrinter();
    if (resume) {
      if (resume.checkpoint.meta.dataset !== ds.name) {
        throw new UserError(`--resume ${dir}: the run trained on ${resume.checkpoint.meta.dataset}, but ${ds.source} holds ${ds.name}`);
      }
      if (resume.at.epoch >= cfg.epochs) {
        progress.message(`normlab train: ${dir} already holds all ${cfg.epochs} epochs; nothing to do`);
        return 0;
      }
    }
    const from: PartialEpoch | null = resume
      ? { position: { epoch: resume.at.epoch + 1, step: resume.at.stepInEpoch }, lossSum: resume.at.lossSum, correct: resume.at.correct }
      : null;
    // Ctrl-C: finish the step being recorded, save, and stop; a second one quits at once. Installed
    // before the start line is printed, so a Ctrl-C at any moment after it stops cleanly.
    let stopRequested = false;
    const onSigint = () => {
      if (stopRequested) process.exit(130);
      stopRequested = true;
      progress.message('\nnormlab train: stopping after this step and saving (Ctrl-C again to quit without saving)');
    };
    process.on('SIGINT', onSigint);
    let engine: Engine | undefined;
    let trainer: Trainer;
    try {
      engine = await Engine.create();
      progress.message(
        `normlab train: ${norm} norm on ${ds.name} (${ds.train.count} training, ${ds.test.count} test images), ` +
          `${cfg.epochs} epochs, batch ${cfg.batchSize}, ${cfg.schedule} lr ${cfg.lr}, on ${engine.adapterInfo.description}` +
          (from ? `; resuming ${dir} at epoch ${from.position.epoch} step ${from.position.step + 1}` : ''),
      );
      trainer = new Trainer(engine, ds, cfg);
    } catch (e) {
      process.off('SIGINT', onSigint);
      engine?.destroy();
      throw e;
    }
    const metrics: EpochMetrics[] = [...previous];
    const saveRunFile = () => {
      const runFile: TrainRunFile = { norm, config: cfg, subset: subset ?? null, dataset: ds.name, data: ds.source, epochs: metrics };
      writeFileAtomic(join(dir, METRICS_FILE), `${JSON.stringify(runFile, null, 2)}\n`);
    };
    // Probe records are appended as they are read; a resumed run's repeated steps are read back as their last copy.
    const probesPath = join(dir, PROBES_FILE);
    if (cfg.probeEvery && !existsSync(probesPath)) appendFileSync(probesPath, `${PROBE_CSV_HEADER}\n`);
    try {
      if (resume && from) trainer.restore(resume.checkpoint, resume.optimizer, from.position);
      await trainer.run(
        {
          onProgress: (p) => progress.step(p),
          onProbes: (records) => appendFileSync(probesPath, records.flatMap(probeCsvLines).map((l) => `${l}\n`).join('')),
          checkpointEverySteps: optNum(args, 'checkpoint-every'),
          shouldStop: () => stopRequested,
          onCheckpoint: async (partial, model) => {
            const epochsDone = partial.position.epoch - 1;
            const meta = checkpointMeta(ds, cfg, epochsDone, subset, partial.position.step);
            const at = { epoch: epochsDone, stepInEpoch: partial.position.step, lossSum: partial.lossSum, correct: partial.correct, epochsJson: JSON.stringify(metrics), dataSource: ds.source };
            await saveTrainState(join(dir, STATE_FILE), model, meta, await trainer.optimizer.state(), at);
            await saveCheckpoint(join(dir, MODEL_FILE), model, meta);
            saveRunFile();
          },
          onEpoch: async (m, model) => {
            metrics.push(m);
            progress.epoch(norm, m);
            const meta = checkpointMeta(ds, cfg, m.epoch, subset);
            const at = { epoch: m.epoch, stepInEpoch: 0, lossSum: 0, correct: 0, epochsJson: JSON.stringify(metrics), dataSource: ds.source };
            await saveTrainState(join(dir, STATE_FILE), model, meta, await trainer.optimizer.state(), at);
            await saveCheckpoint(join(dir, MODEL_FILE), model, meta);
            saveRunFile();
          },
        },
        from,
      );
    } finally {
      process.off('SIGINT', onSigint);
      trainer.dispose();
      engine.destroy();
    }
    if (trainer.stoppedAt) {
      progress.message(
        `normlab train: stopped at epoch ${trainer.stoppedAt.epoch} step ${trainer.stoppedAt.step}; saved in ${dir}. ` +
          `Continue with: normlab train --resume ${dir}`,
      );
      return 130;
    }
    if (bool(args, 'json')) out.line(JSON.stringify(metrics));
    const cost = trainer.probeCost;
    if (cost) {
      const trainingSeconds = metrics.slice(previous.length).reduce((a, m) => a + m.seconds, 0);
      progress.message(`${probeShareText({ ...cost, trainingSeconds })}; written to ${probesPath}`);
    }
    progress.message(`wrote ${join(dir, MODEL_FILE)}, ${join(dir, METRICS_FILE)} and ${join(dir, STATE_FILE)} (for --resume)`);
    return 0;
  },
};
