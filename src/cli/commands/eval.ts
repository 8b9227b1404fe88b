// normlab eval: a checkpoint's test loss and accuracy, optionally every prediction as CSV.
import { predictionsCsv } from '../../compare/comparison-dir.js';
import { writeFileSync } from 'node:fs';
import { Engine } from '../../engine/engine.js';
import { UserError } from '../../engine/errors.js';
import { modelFromCheckpoint } from '../../model/checkpoint.js';
import { readCheckpoint } from '../../model/checkpoint-files.js';
import { loadDataset } from '../../train/data/load.js';
import { GpuSplit } from '../../train/data/gpu-data.js';
import { BatchBuffers, checkBatchFits, evaluate } from '../../train/trainer.js';
import { BN_STATS_MODES, PRECISE_IMAGES, hasBatchNorm, setPreciseStatistics, type BnStatsMode } from '../../train/bn-stats.js';
import { ghostSubBatch } from '../../model/norms.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { DATA_FLAG } from '../train-flags.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "a checkpoint's test loss and accuracy (and its predictions as CSV)",
  usage: 'normlab eval --checkpoint FILE [--data DIR] [--json] [--predictions OUT.csv] [--bn-stats running|precise|batch]',
  flags: [
    { name: 'checkpoint', type: 'string', metavar: 'FILE', help: 'a normlab .safetensors checkpoint (required)' },
    { ...DATA_FLAG, help: 'test data (default: the dataset the checkpoint was trained on, if it is Fashion-MNIST)' },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: 500, help: 'images per evaluation batch' },
    { name: 'predictions', type: 'string', metavar: 'FILE', help: 'write index,label,predicted per test image' },
    { name: 'json', type: 'bool', help: 'print {"accuracy", "loss", "n"} as JSON' },
    {
      name: 'bn-stats',
      type: 'enum',
      choices: BN_STATS_MODES,
      help:
        "batch norm's statistics: running (the running averages, PyTorch's eval mode; the default), " +
        'precise (recomputed over --precise-images training images, weights frozen) or batch (each test batch\'s own, ' +
        "in batches of the training batch size unless --batch-size is given)",
    },
    { name: 'precise-images', type: 'int', min: 1, metavar: 'N', default: PRECISE_IMAGES, help: 'training images behind --bn-stats precise' },
  ],
  async run(args: ParsedArgs) {
    const path = str(args, 'checkpoint');
    if (!path) throw new UserError('--checkpoint FILE is required', 2);
    const ckpt = readCheckpoint(path);
    const ds = loadDataset(str(args, 'data'));
    const m = ckpt.meta;
    if (ds.channels !== m.inChannels || ds.height !== m.height || ds.width !== m.width || ds.classes.length !== m.classes) {
      throw new UserError(
        `${path} was trained on ${m.dataset} (${m.inChannels}x${m.height}x${m.width}, ${m.classes} classes) ` +
          `but ${ds.source} holds ${ds.name} (${ds.channels}x${ds.height}x${ds.width}, ${ds.classes.length} classes)`,
      );
    }
    // Standardise as the checkpoint was trained, whatever the loader's defaults.
    const dataset = { ...ds, mean: m.mean, std: m.std };
    const bnStats = (str(args, 'bn-stats') ?? 'running') as BnStatsMode;
    if (args.given.has('bn-stats') && m.norm !== 'batch') {
      throw new UserError(`${path}: has no batch norm (its norm is ${m.norm}); --bn-stats is for batch norm checkpoints`);
    }
    // The batch the statistics come from, for 'batch' and 'precise': the training batch (or its ghost
    // sub-batch), as recorded in the checkpoint's recipe.
    const trainBatch = Number(m.recipe.batchSize) > 0 ? Number(m.recipe.batchSize) : 128;
    const statsBatch = ghostSubBatch(Number(m.recipe.ghostBatch) || 0, trainBatch);
    const engine = await Engine.create();
    const batch = bnStats === 'batch' && !args.given.has('batch-size') ? statsBatch : num(args, 'batch-size');
    try {
      checkBatchFits(engine, dataset, batch, '--batch-size');
    } catch (e) {
      engine.destroy();
      throw e;
    }
    const model = modelFromCheckpoint(engine, ckpt);
    const split = new GpuSplit(engine, dataset, dataset.test, batch);
    const batches = new BatchBuffers(engine, dataset);
    let trainSplit: GpuSplit | undefined;
    try {
      let how = '';
      if (bnStats === 'precise' && hasBatchNorm(model)) {
        trainSplit = new GpuSplit(engine, dataset, dataset.train, trainBatch);
        const used = await setPreciseStatistics(model, trainSplit, batches, trainBatch, num(args, 'precise-images'));
        how = `batch norm: precise statistics over ${used} training images (batches of ${statsBatch})`;
      } else if (bnStats === 'batch') how = `batch norm: each test batch's own statistics (batches of ${batch})`;
      else if (m.norm === 'batch') how = 'batch norm: running statistics';
      const csv = str(args, 'predictions');
      const r = await evaluate(model, split, batches, batch, { predictions: csv !== undefined, statistics: bnStats === 'batch' ? 'batch' : 'running' });
      if (csv) {
        writeFileSync(csv, predictionsCsv(dataset.test.labels, r.predictions!));
      }
      if (bool(args, 'json')) out.line(JSON.stringify({ accuracy: r.accuracy, loss: r.loss, n: r.count, ...(m.norm === 'batch' ? { bnStats } : {}) }));
      else {
        out.line(`${path}: ${m.norm} norm, ${m.dataset}, epoch ${m.epoch}`);
        out.line(`test accuracy ${(100 * r.accuracy).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${r.count} images from ${ds.source})`);
        if (how) out.line(how);
        if (csv) out.line(`predictions written to ${csv}`);
      }
      return 0;
    } finally {
      batches.dispose();
      split.destroy();
      trainSplit?.destroy();
      model.dispose();
      engine.destroy();
    }
  },
};
