// normlab compare: the seed experiment. The same SeedNet, recipe, seed, initial weights and batch
// order, trained once per norm; then a report (tables, curves, mistakes, confusion matrices).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { UsageError } from '../../engine/errors.js';
import { NORM_KINDS, type NormKind } from '../../model/seednet.js';
import { checkpointMeta } from '../../model/checkpoint.js';
import { saveCheckpoint } from '../../model/checkpoint-files.js';
import { loadDataset } from '../../train/data/load.js';
import { subsetTrain, type Dataset } from '../../train/data/dataset.js';
import { Trainer, type TrainConfig } from '../../train/trainer.js';
import { ProgressPrinter, formatDuration } from '../../train/progress.js';
import { writeReport, markdownTable } from '../../report/report.js';
import type { ComparisonResult, NormRun } from '../../report/types.js';
import { bool, list, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { TRAIN_FLAGS, subsetFromArgs, trainConfigFromArgs } from '../train-flags.js';

const VERSION = '0.1.0';

export interface Preset {
  name: 'quick' | 'full';
  epochs: number;
  subset?: number;
  why: string;
}

/**
 * The quick preset fits all three norms in about ten minutes on a 2-core CPU running lavapipe:
 * QUICK_SUBSET images for QUICK_EPOCHS epochs each (sized from the step rate measured there; see
 * the README's "Main job" section for the numbers).
 */
export const QUICK_SUBSET = 10000;
export const QUICK_EPOCHS = 3;

export function choosePreset(software: boolean, full: boolean, quick: boolean): Preset {
  if (full) return { name: 'full', epochs: 20, why: '--full: the seed experiment\'s schedule (20 epochs, the full training set)' };
  if (quick || software) {
    return {
      name: 'quick',
      epochs: QUICK_EPOCHS,
      subset: QUICK_SUBSET,
      why: quick
        ? `--quick: ${QUICK_EPOCHS} epochs on the first ${QUICK_SUBSET} training images`
        : `software adapter (no GPU found): ${QUICK_EPOCHS} epochs on the first ${QUICK_SUBSET} training images, ` +
          'so the three norms finish in about 10 minutes on a 2-core CPU; --full runs the seed\'s 20 epochs on every image',
    };
  }
  return { name: 'full', epochs: 20, why: 'hardware GPU: the seed experiment\'s schedule (20 epochs, the full training set)' };
}

export const compareCommand: Command = {
  name: 'compare',
  summary: 'train SeedNet with each norm under one recipe and write the comparison report',
  usage: 'normlab compare [--norms batch,group,layer] [--data DIR] [--full | --quick] [training flags] [--out DIR]',
  flags: [
    { name: 'norms', type: 'list', choices: NORM_KINDS, default: [...NORM_KINDS], help: 'norms to compare' },
    ...TRAIN_FLAGS.map((f) => (f.name === 'epochs' ? { ...f, default: undefined, help: 'training epochs (default: from the preset)' } : f)),
    { name: 'full', type: 'bool', help: "the seed's full schedule: 20 epochs on the whole training set" },
    { name: 'quick', type: 'bool', help: 'the quick preset even on a GPU' },
    { name: 'out', type: 'string', metavar: 'DIR', help: 'report directory (default runs/<timestamp>)' },
    { name: 'misclassified', type: 'int', min: 1, max: 200, default: 20, help: 'misclassified images per norm in the report' },
  ],
  details:
    'Presets: on a software adapter (lavapipe, SwiftShader) the default is the quick preset; on a GPU, ' +
    'the full schedule. --epochs and --subset override the preset.',
  async run(args: ParsedArgs) {
    if (bool(args, 'full') && bool(args, 'quick')) throw new UsageError('--full and --quick exclude each other');
    const norms = list(args, 'norms') as NormKind[];
    const engine = await Engine.create();
    const progress = new ProgressPrinter();
    try {
      const preset = choosePreset(engine.adapterInfo.software, bool(args, 'full'), bool(args, 'quick'));
      const epochsFlag = args.flags.epochs;
      const subset = subsetFromArgs(args) ?? preset.subset;
      const base = loadDataset(str(args, 'data'));
      const ds: Dataset = subset !== undefined ? subsetTrain(base, subset) : base;
      const dir = str(args, 'out') ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
      mkdirSync(dir, { recursive: true });
      const overrides = [
        epochsFlag !== undefined && epochsFlag !== preset.epochs ? `--epochs ${String(epochsFlag)}` : '',
        subsetFromArgs(args) !== undefined ? `--subset ${subsetFromArgs(args)}` : '',
      ].filter(Boolean);
      if (overrides.length > 0) preset.why += `; ${overrides.join(' and ')} override${overrides.length === 1 ? 's' : ''} the preset`;
      progress.message(`normlab compare: preset '${preset.name}': ${preset.why}`);
      const firstCfg = trainConfigFromArgs({ ...args, flags: { ...args.flags, epochs: epochsFlag ?? preset.epochs } }, norms[0]!);
      progress.message(
        `${ds.name} from ${ds.source}: ${ds.train.count} training images, ${ds.test.count} test images; ` +
          `norms ${norms.join(', ')}; ${firstCfg.epochs} epochs, batch ${firstCfg.batchSize}, ${firstCfg.schedule} lr ${firstCfg.lr}, seed ${firstCfg.seed}; ` +
          `adapter ${engine.adapterInfo.description}; report in ${dir}`,
      );
      const started = Date.now();
      const runs: NormRun[] = [];
      let cfg: TrainConfig = firstCfg;
      for (const [i, norm] of norms.entries()) {
        cfg = { ...firstCfg, norm };
        const printer = new ProgressPrinter(process.stderr, 10, `[${i + 1}/${norms.length}] `);
        const trainer = new Trainer(engine, ds, cfg);
        try {
          const ckptName = `${norm}.safetensors`;
          const epochs = await trainer.run({
            onProgress: (p) => printer.step(p),
            onEpoch: async (m, model) => {
              printer.epoch(norm, m);
              await saveCheckpoint(join(dir, ckptName), model, checkpointMeta(ds, cfg, m.epoch, subset));
            },
          });
          const final = await trainer.evaluate({ predictions: true });
          runs.push({
            norm,
            groups: norm === 'layer' ? 1 : cfg.groups,
            params: trainer.model.parameterCount,
            epochs,
            predictions: final.predictions!,
            checkpoint: ckptName,
          });
        } finally {
          trainer.dispose();
        }
      }
      const result: ComparisonResult = {
        dataset: {
          name: ds.name,
          source: ds.source,
          classes: ds.classes,
          channels: ds.channels,
          height: ds.height,
          width: ds.width,
          trainCount: ds.train.count,
          testImages: ds.test.images,
          testLabels: ds.test.labels,
        },
        runs,
        adapter: engine.adapterInfo,
        recipe: {
          epochs: cfg.epochs,
          batchSize: cfg.batchSize,
          lr: cfg.lr,
          schedule: cfg.schedule,
          momentum: cfg.momentum,
          weightDecay: cfg.weightDecay,
          seed: cfg.seed,
          groups: cfg.groups,
          augment: cfg.augment,
          subset: subset ?? 'all',
        },
        preset: { name: preset.name, why: preset.why },
        startedAt: new Date(started).toISOString(),
        totalSeconds: (Date.now() - started) / 1000,
        normlabVersion: VERSION,
      };
      const { files } = writeReport(dir, result, { misclassified: num(args, 'misclassified') });
      progress.message(`\nReport: ${join(dir, 'report.html')} (and report.md; ${files.length} files) after ${formatDuration(result.totalSeconds)}`);
      out.line(markdownTable(result));
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
