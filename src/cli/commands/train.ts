// normlab train: one norm, the SEEDNET.md recipe by default; writes a checkpoint and metrics.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { NORM_KINDS, type NormKind } from '../../model/seednet.js';
import {
  saveCheckpoint,
  checkpointMeta,
  readCheckpoint,
  readOptimizerState,
  saveOptimizerState,
  writeFileAtomic,
  type LoadedCheckpoint,
  type LoadedOptimizerState,
} from '../../model/checkpoint.js';
import { UsageError, UserError } from '../../engine/errors.js';
import { loadDataset } from '../../train/data/load.js';
import { subsetTrain } from '../../train/data/dataset.js';
import { Trainer, type EpochMetrics, type TrainConfig } from '../../train/trainer.js';
import { ProgressPrinter } from '../../train/progress.js';
import { bool, str, type ParsedArgs } from '../args.js';
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
const OPTIMIZER_FILE = 'optimizer.safetensors';
const METRICS_FILE = 'metrics.json';

function readRunFile(dir: string): TrainRunFile {
  const path = join(dir, METRICS_FILE);
  let run: TrainRunFile;
  try {
    run = JSON.parse(readFileSync(path, 'utf8')) as TrainRunFile;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`--resume ${dir}: ${code === 'ENOENT' ? `no ${METRICS_FILE} (not a normlab train directory?)` : `${path} is unreadable (${code ?? (e as Error).message})`}`);
  }
  if (!run || typeof run !== 'object' || !run.config || !Array.isArray(run.epochs) || typeof run.data !== 'string') {
    throw new UserError(`--resume ${dir}: ${path} is not the metrics of a normlab train run`);
  }
  return run;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train SeedNet with one norm; writes DIR/model.safetensors and DIR/metrics.json',
  usage: 'normlab train [--norm batch|group|layer] [--data DIR] [--epochs N] [...] [--out DIR] | normlab train --resume DIR',
  flags: [
    { name: 'norm', type: 'enum', choices: NORM_KINDS, default: 'batch', help: 'normalisation' },
    ...TRAIN_FLAGS,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output directory (default runs/train-<norm>-<time>)' },
    { name: 'resume', type: 'string', metavar: 'DIR', help: "continue the run saved in DIR after its last completed epoch, with its recipe (--data may point at the dataset's new place)" },
    { name: 'json', type: 'bool', help: 'print the per-epoch metrics as JSON at the end' },
  ],
  details:
    'After every epoch the run is saved: DIR/model.safetensors (the weights), DIR/optimizer.safetensors (momentum ' +
    'buffers and step, for --resume) and DIR/metrics.json. A resumed run gives the same weights as an uninterrupted one.',
  async run(args: ParsedArgs) {
    const resumeDir = str(args, 'resume');
    let norm = str(args, 'norm') as NormKind;
    let cfg: TrainConfig;
    let subset: number | undefined;
    let dataDir = str(args, 'data');
    let previous: EpochMetrics[] = [];
    if (resumeDir !== undefined) {
      const clash = [...args.given].filter((f) => f !== 'resume' && f !== 'data' && f !== 'json' && f !== 'debug');
      if (clash.length > 0) {
        throw new UsageError(`--resume continues the saved recipe; it takes only --data and --json (not ${clash.map((f) => `--${f}`).join(', ')})`);
      }
      const run = readRunFile(resumeDir);
      norm = run.norm;
      cfg = run.config;
      subset = run.subset ?? undefined;
      dataDir ??= run.data;
      previous = run.epochs;
    } else {
      cfg = trainConfigFromArgs(args, norm);
      subset = subsetFromArgs(args);
    }
    let ds = loadDataset(dataDir);
    if (subset !== undefined) ds = subsetTrain(ds, subset);
    const dir = resumeDir ?? str(args, 'out') ?? join('runs', `train-${norm}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    const progress = new ProgressPrinter();
    let resume: { ckpt: LoadedCheckpoint; opt: LoadedOptimizerState } | undefined;
    if (resumeDir !== undefined) {
      const ckpt = readCheckpoint(join(dir, MODEL_FILE));
      const opt = readOptimizerState(join(dir, OPTIMIZER_FILE), ckpt.config);
      if (ckpt.meta.epoch !== opt.epoch || ckpt.meta.epoch !== previous.length) {
        throw new UserError(
          `--resume ${dir}: ${MODEL_FILE} is from epoch ${ckpt.meta.epoch}, ${OPTIMIZER_FILE} from epoch ${opt.epoch} and ` +
            `${METRICS_FILE} lists ${previous.length} epochs; they must agree (was the run stopped while saving?)`,
        );
      }
      if (ckpt.meta.dataset !== ds.name) throw new UserError(`--resume ${dir}: the run trained on ${ckpt.meta.dataset}, but ${ds.source} holds ${ds.name}`);
      if (previous.length >= cfg.epochs) {
        progress.message(`normlab train: ${dir} already holds all ${cfg.epochs} epochs; nothing to do`);
        return 0;
      }
      resume = { ckpt, opt };
    }
    const engine = await Engine.create();
    progress.message(
      `normlab train: ${norm} norm on ${ds.name} (${ds.train.count} training, ${ds.test.count} test images), ` +
        `${cfg.epochs} epochs, batch ${cfg.batchSize}, ${cfg.schedule} lr ${cfg.lr}, on ${engine.adapterInfo.description}` +
        (resume ? `; resuming ${dir} after epoch ${previous.length}` : ''),
    );
    const trainer = new Trainer(engine, ds, cfg);
    const metrics: EpochMetrics[] = [...previous];
    try {
      if (resume) trainer.restore(resume.ckpt, resume.opt.state, previous.length);
      await trainer.run(
        {
          onProgress: (p) => progress.step(p),
          onEpoch: async (m, model) => {
            metrics.push(m);
            progress.epoch(norm, m);
            // Optimizer state first: a stop between the writes leaves the model one epoch behind, which
            // --resume detects by the epochs recorded in each file.
            await saveOptimizerState(join(dir, OPTIMIZER_FILE), model, await trainer.optimizer.state(), m.epoch);
            await saveCheckpoint(join(dir, MODEL_FILE), model, checkpointMeta(ds, cfg, m.epoch, subset));
            const runFile: TrainRunFile = { norm, config: cfg, subset: subset ?? null, dataset: ds.name, data: ds.source, epochs: metrics };
            writeFileAtomic(join(dir, METRICS_FILE), `${JSON.stringify(runFile, null, 2)}\n`);
          },
        },
        previous.length + 1,
      );
    } finally {
      trainer.dispose();
      engine.destroy();
    }
    if (bool(args, 'json')) out.line(JSON.stringify(metrics));
    progress.message(`wrote ${join(dir, MODEL_FILE)}, ${join(dir, OPTIMIZER_FILE)} and ${join(dir, METRICS_FILE)}`);
    return 0;
  },
};
