// normlab train: one norm, the SEEDNET.md recipe by default; writes a checkpoint and metrics.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { NORM_KINDS, type NormKind } from '../../model/seednet.js';
import { saveCheckpoint, checkpointMeta } from '../../model/checkpoint.js';
import { loadDataset } from '../../train/data/load.js';
import { subsetTrain } from '../../train/data/dataset.js';
import { Trainer, type EpochMetrics } from '../../train/trainer.js';
import { ProgressPrinter } from '../../train/progress.js';
import { bool, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { TRAIN_FLAGS, subsetFromArgs, trainConfigFromArgs } from '../train-flags.js';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train SeedNet with one norm; writes DIR/model.safetensors and DIR/metrics.json',
  usage: 'normlab train [--norm batch|group|layer] [--data DIR] [--epochs N] [...] [--out DIR]',
  flags: [
    { name: 'norm', type: 'enum', choices: NORM_KINDS, default: 'batch', help: 'normalisation' },
    ...TRAIN_FLAGS,
    { name: 'out', type: 'string', metavar: 'DIR', help: 'output directory (default runs/train-<norm>-<time>)' },
    { name: 'json', type: 'bool', help: 'print the per-epoch metrics as JSON at the end' },
  ],
  async run(args: ParsedArgs) {
    const norm = str(args, 'norm') as NormKind;
    const cfg = trainConfigFromArgs(args, norm);
    const subset = subsetFromArgs(args);
    let ds = loadDataset(str(args, 'data'));
    if (subset !== undefined) ds = subsetTrain(ds, subset);
    const dir = str(args, 'out') ?? join('runs', `train-${norm}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(dir, { recursive: true });
    const engine = await Engine.create();
    const progress = new ProgressPrinter();
    progress.message(
      `normlab train: ${norm} norm on ${ds.name} (${ds.train.count} training, ${ds.test.count} test images), ` +
        `${cfg.epochs} epochs, batch ${cfg.batchSize}, ${cfg.schedule} lr ${cfg.lr}, on ${engine.adapterInfo.description}`,
    );
    const trainer = new Trainer(engine, ds, cfg);
    const metrics: EpochMetrics[] = [];
    try {
      await trainer.run({
        onProgress: (p) => progress.step(p),
        onEpoch: async (m, model) => {
          metrics.push(m);
          progress.epoch(norm, m);
          await saveCheckpoint(join(dir, 'model.safetensors'), model, checkpointMeta(ds, cfg, m.epoch, subset));
          writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify({ norm, config: cfg, subset: subset ?? null, dataset: ds.name, epochs: metrics }, null, 2)}\n`);
        },
      });
    } finally {
      trainer.dispose();
      engine.destroy();
    }
    if (bool(args, 'json')) out.line(JSON.stringify(metrics));
    progress.message(`wrote ${join(dir, 'model.safetensors')} and ${join(dir, 'metrics.json')}`);
    return 0;
  },
};
