// normlab compare: the seed experiment, with seeds. Every norm trained under one recipe for each
// seed; seed s gives every norm the same initial weights and batch order. The runs land in a
// comparison directory (src/compare/comparison-dir.ts) and the report is built from it, with
// intervals over seeds and paired tests between norms.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { UsageError, UserError } from '../../engine/errors.js';
import { NORM_KINDS, type NormKind } from '../../model/seednet.js';
import { DEFAULT_COMPARED } from '../../model/norms.js';
import type { Dataset } from '../../train/data/dataset.js';
import { datasetFingerprint } from '../../train/data/fingerprint.js';
import { trainEvalCount, type TrainConfig } from '../../train/trainer.js';
import { ProgressPrinter, formatDuration } from '../../train/progress.js';
import { markdownTable } from '../../report/report.js';
import { budgetNote } from '../../report/verdicts.js';
import { tCritical } from '../../stats/stats.js';
import { MANIFEST_FILE, readManifest, writeManifest, type ComparisonManifest } from '../../compare/comparison-dir.js';
import { datasetIdentity, loadComparisons } from '../../compare/merge.js';
import { writeComparisonReport } from '../../compare/publish.js';
import { runComparison } from '../../compare/run-comparison.js';
import { comparisonData, configOf, recipeOf } from '../../compare/recipe.js';
import { NORMLAB_VERSION } from '../../version.js';
import { bool, list, num, optNum, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { TRAIN_FLAGS, subsetFromArgs, trainConfigFromArgs } from '../train-flags.js';
import { SEEDS_HELP, parseSeeds } from '../seeds.js';

export interface Preset {
  name: 'quick' | 'full';
  epochs: number;
  subset?: number;
  testSubset?: number;
  seeds: number;
  why: string;
}

/**
 * The quick preset: QUICK_SEEDS seeds of QUICK_EPOCHS epochs on the first QUICK_SUBSET training
 * images, evaluated on the first QUICK_TEST_SUBSET test images, every norm, sized so that `npm start`
 * ends within 15 minutes on a 2-core CPU running lavapipe at its slowest speed seen (130 training
 * images/s; README, "The main job"). Evaluation is half of a run's time at this size, and at this
 * budget the seed-to-seed spread (several points) dwarfs the test sample's (a Wilson half-width
 * of 1.3 points on 5,000 images against 0.9 on 10,000), so the test images are what gives way.
 */
export const QUICK_SUBSET = 2500;
export const QUICK_TEST_SUBSET = 5000;
export const QUICK_EPOCHS = 2;
export const QUICK_SEEDS = 3;
/**
 * The full schedule's seeds: five, so that the t-interval over seeds (4 degrees of freedom, t = 2.78)
 * is 1.24 standard deviations of the per-seed difference wide on each side, half what 3 seeds give
 * (2.48), while 15 runs of 20 epochs stay a few hours on a GPU.
 */
export const FULL_SEEDS = 5;

export function choosePreset(software: boolean, full: boolean, quick: boolean): Preset {
  const fullPreset = (why: string): Preset => ({ name: 'full', epochs: 20, seeds: FULL_SEEDS, why: `${why}: the seed experiment's schedule (20 epochs, the full training set); ${FULL_SEEDS} seeds unless --seeds says otherwise` });
  if (full) return fullPreset('--full');
  if (quick || software) {
    const what = `${QUICK_EPOCHS} epochs on the first ${QUICK_SUBSET} training images, tested on the first ${QUICK_TEST_SUBSET} test images; ${QUICK_SEEDS} seeds unless --seeds says otherwise`;
    return {
      name: 'quick',
      epochs: QUICK_EPOCHS,
      subset: QUICK_SUBSET,
      testSubset: QUICK_TEST_SUBSET,
      seeds: QUICK_SEEDS,
      why: quick
        ? `--quick: ${what}`
        : `software adapter (no GPU found): ${what}, so every norm finishes within 15 minutes on a 2-core CPU; --full runs the seed's 20 epochs on every image`,
    };
  }
  return fullPreset('hardware GPU');
}

const RESUME_FLAGS = new Set(['resume', 'data', 'debug', 'misclassified']);

export const compareCommand: Command = {
  name: 'compare',
  summary: 'train SeedNet with each norm for several seeds under one recipe and write the comparison report',
  usage: 'normlab compare [--norms batch,group,layer] [--seeds N|LIST] [--data DIR] [--full | --quick] [training flags] [--out DIR] | normlab compare --resume DIR',
  flags: [
    { name: 'norms', type: 'list', choices: NORM_KINDS, default: [...DEFAULT_COMPARED], help: `norms to compare (${NORM_KINDS.join(', ')}; none: conv -> ReLU blocks)` },
    { name: 'seeds', type: 'string', metavar: 'N|LIST', help: `${SEEDS_HELP} (default: from the preset)` },
    ...TRAIN_FLAGS.filter((f) => f.name !== 'seed').map((f) => (f.name === 'epochs' ? { ...f, default: undefined, help: 'training epochs (default: from the preset)' } : f)),
    { name: 'full', type: 'bool', help: `the seed's full schedule: 20 epochs on the whole training set, ${FULL_SEEDS} seeds` },
    { name: 'quick', type: 'bool', help: 'the quick preset even on a GPU' },
    { name: 'test-subset', type: 'int', min: 1, metavar: 'N', help: `evaluate on the first N test images (default: the preset's, ${QUICK_TEST_SUBSET} for quick, all for full)` },
    { name: 'out', type: 'string', metavar: 'DIR', help: 'comparison directory (default runs/<timestamp>)' },
    { name: 'resume', type: 'string', metavar: 'DIR', help: 'continue the comparison in DIR: train the runs not finished there, then rewrite its report' },
    { name: 'misclassified', type: 'int', min: 1, max: 200, default: 20, help: 'misclassified images per norm in the report' },
  ],
  details:
    'Presets: on a software adapter (lavapipe, SwiftShader) the default is the quick preset ' +
    `(${QUICK_SEEDS} seeds, ${QUICK_EPOCHS} epochs, ${QUICK_SUBSET} images); on a GPU, the full schedule with ${FULL_SEEDS} seeds. ` +
    '--seeds, --epochs and --subset override the preset. Seed s gives every norm the same initial weights and batch order. ' +
    'Each finished run is kept in DIR (results/, predictions/, checkpoints/); after an interruption, --resume DIR trains the rest. ' +
    '`normlab report DIR...` merges comparisons of the same recipe run elsewhere (other seeds, other machines).',
  async run(args: ParsedArgs) {
    if (bool(args, 'full') && bool(args, 'quick')) throw new UsageError('--full and --quick exclude each other');
    const resumeDir = str(args, 'resume');
    if (resumeDir !== undefined) {
      const clash = [...args.given].filter((f) => !RESUME_FLAGS.has(f));
      if (clash.length) throw new UsageError(`--resume continues the saved comparison; it takes only --data and --misclassified (not ${clash.map((f) => `--${f}`).join(', ')})`);
    }
    const seedsFlag = str(args, 'seeds');
    const seedsGiven = seedsFlag !== undefined ? parseSeeds(seedsFlag) : undefined;
    let manifest: ComparisonManifest | undefined;
    if (resumeDir !== undefined) manifest = readManifest(resumeDir);
    const engine = await Engine.create();
    const progress = new ProgressPrinter();
    let dir = '';
    const onSigint = () => {
      progress.message(`\nnormlab compare: stopped; the finished runs are kept in ${dir}. Continue with: normlab compare --resume ${dir}`);
      process.exit(130);
    };
    try {
      let norms: NormKind[];
      let seeds: number[];
      let cfg: TrainConfig;
      let subset: number | undefined;
      let testSubset: number | undefined;
      let ds: Dataset;
      let preset: ComparisonManifest['preset'];
      if (manifest) {
        dir = resumeDir!;
        ({ cfg, subset, testSubset } = configOf(manifest.recipe, join(dir, MANIFEST_FILE)));
        norms = manifest.norms;
        seeds = manifest.seeds;
        preset = manifest.preset;
        ds = comparisonData(str(args, 'data') ?? manifest.dataset.source, subset, testSubset);
        if (datasetFingerprint(ds) !== manifest.dataset.fingerprint) throw new UserError(`${ds.source}: not the data the comparison in ${dir} trained on (fingerprints differ)`);
        progress.message(`normlab compare: resuming ${dir}: ${norms.join(', ')} for seeds ${seeds.join(', ')}`);
      } else {
        const p = choosePreset(engine.adapterInfo.software, bool(args, 'full'), bool(args, 'quick'));
        const epochsFlag = args.flags.epochs;
        subset = subsetFromArgs(args) ?? p.subset;
        testSubset = optNum(args, 'test-subset') ?? p.testSubset;
        seeds = seedsGiven ?? Array.from({ length: p.seeds }, (_, i) => i);
        norms = list(args, 'norms') as NormKind[];
        const overrides = [
          epochsFlag !== undefined && epochsFlag !== p.epochs ? `--epochs ${String(epochsFlag)}` : '',
          subsetFromArgs(args) !== undefined ? `--subset ${subsetFromArgs(args)}` : '',
          optNum(args, 'test-subset') !== undefined ? `--test-subset ${optNum(args, 'test-subset')}` : '',
        ].filter(Boolean);
        // The seeds are not part of the preset's text: comparisons of other seeds merge into one report.
        const why = overrides.length ? `${p.why}; ${overrides.join(' and ')} override${overrides.length === 1 ? 's' : ''} the preset` : p.why;
        preset = { name: p.name, why };
        cfg = trainConfigFromArgs({ ...args, flags: { ...args.flags, epochs: epochsFlag ?? p.epochs, seed: 0 } }, norms[0]!);
        ds = comparisonData(str(args, 'data'), subset, testSubset);
        dir = str(args, 'out') ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
        if (existsSync(join(dir, MANIFEST_FILE))) throw new UserError(`${dir}: already holds a comparison; continue it with --resume ${dir}, or choose another --out`);
        mkdirSync(dir, { recursive: true });
        writeManifest(dir, {
          normlabVersion: NORMLAB_VERSION,
          recipe: recipeOf(cfg, subset, testSubset),
          norms,
          seeds,
          dataset: datasetIdentity(ds),
          preset,
          startedAt: new Date().toISOString(),
        });
        progress.message(`normlab compare: preset '${preset.name}': ${preset.why}`);
      }
      progress.message(
        `${ds.name} from ${ds.source}: ${ds.train.count} training images (the first ${trainEvalCount(ds.train.count)} also evaluated in eval mode), ` +
          `${ds.test.count} test images; norms ${norms.join(', ')}; seeds ${seeds.join(', ')}; ${cfg.epochs} epochs, batch ${cfg.batchSize}, ` +
          `${cfg.schedule} lr ${cfg.lr}; adapter ${engine.adapterInfo.description}; comparison in ${dir}`,
      );
      progress.message(`What it can resolve: ${budgetNote(seeds.length, ds.test.count)}${presetResolution(preset.name, seeds.length, cfg.epochs, subset, testSubset)}.`);
      process.on('SIGINT', onSigint);
      const started = Date.now();
      await runComparison(engine, { dir, norms, seeds, config: cfg, dataset: ds, subset }, progress);
      process.off('SIGINT', onSigint);
      const { result, files, probeText } = writeComparisonReport(dir, loadComparisons([dir]), ds, num(args, 'misclassified'));
      progress.message(`\nReport: ${join(dir, 'report.html')} (and report.md; ${files.length} files) after ${formatDuration((Date.now() - started) / 1000)}`);
      out.line(markdownTable(result));
      if (probeText) out.line(probeText);
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      engine.destroy();
    }
  },
};

/**
 * The seed-to-seed standard deviation of the paired per-seed differences in test accuracy at the
 * quick preset's own budget, in points, measured on lavapipe: `normlab compare --seeds 5`
 * (2026-12-02): batch - group 15.23, batch - layer 6.35, group - layer 13.23. Short runs of
 * group and layer norm land anywhere between 20% and 45% depending on the seed (over 5 seeds).
 */
export const QUICK_PAIR_SD_POINTS: readonly [number, number] = [6.35, 15.23];

/** At the quick preset's budget, the measured spread turned into the smallest difference the seeds separate. */
export function presetResolution(preset: string, seeds: number, epochs: number, subset: number | undefined, testSubset: number | undefined): string {
  if (preset !== 'quick' || seeds < 2 || epochs !== QUICK_EPOCHS || subset !== QUICK_SUBSET || testSubset !== QUICK_TEST_SUBSET) return '';
  const k = tCritical(seeds - 1) / Math.sqrt(seeds);
  const [lo, hi] = QUICK_PAIR_SD_POINTS;
  return (
    `; at this preset the paired differences varied from seed to seed by an sd of ${lo.toFixed(1)}-${hi.toFixed(1)} points (measured over 5 seeds on lavapipe), ` +
    `so differences under about ${(k * lo).toFixed(0)}-${(k * hi).toFixed(0)} points will read as not separated: the quick preset tells apart only large effects`
  );
}
