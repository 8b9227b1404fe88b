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
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { DATA_FLAG } from '../train-flags.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: "a checkpoint's test loss and accuracy (and its predictions as CSV)",
  usage: 'normlab eval --checkpoint FILE [--data DIR] [--json] [--predictions OUT.csv]',
  flags: [
    { name: 'checkpoint', type: 'string', metavar: 'FILE', help: 'a normlab .safetensors checkpoint (required)' },
    { ...DATA_FLAG, help: 'test data (default: the dataset the checkpoint was trained on, if it is Fashion-MNIST)' },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: 500, help: 'images per evaluation batch' },
    { name: 'predictions', type: 'string', metavar: 'FILE', help: 'write index,label,predicted per test image' },
    { name: 'json', type: 'bool', help: 'print {"accuracy", "loss", "n"} as JSON' },
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
    const engine = await Engine.create();
    const batch = num(args, 'batch-size');
    try {
      checkBatchFits(engine, dataset, batch, '--batch-size');
    } catch (e) {
      engine.destroy();
      throw e;
    }
    const model = modelFromCheckpoint(engine, ckpt);
    const split = new GpuSplit(engine, dataset, dataset.test, batch);
    const batches = new BatchBuffers(engine, dataset);
    try {
      const csv = str(args, 'predictions');
      const r = await evaluate(model, split, batches, batch, { predictions: csv !== undefined });
      if (csv) {
        writeFileSync(csv, predictionsCsv(dataset.test.labels, r.predictions!));
      }
      if (bool(args, 'json')) out.line(JSON.stringify({ accuracy: r.accuracy, loss: r.loss, n: r.count }));
      else {
        out.line(`${path}: ${m.norm} norm, ${m.dataset}, epoch ${m.epoch}`);
        out.line(`test accuracy ${(100 * r.accuracy).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${r.count} images from ${ds.source})`);
        if (csv) out.line(`predictions written to ${csv}`);
      }
      return 0;
    } finally {
      batches.dispose();
      split.destroy();
      model.dispose();
      engine.destroy();
    }
  },
};
