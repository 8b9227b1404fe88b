// normlab sweep batch-size | lr: every norm at every batch size, or at every learning rate, for every
// seed (src/compare/sweep.ts), then the sweep's report (src/report/sweep-report.ts,
// lr-sweep-report.ts). Resumable (--resume), shardable (--shard).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { UsageError, UserError } from '../../engine/errors.js';
import { NORM_KINDS, type NormKind } from '../../model/norms.js';
import { datasetFingerprint } from '../../train/data/fingerprint.js';
import { checkBatchFits, type TrainConfig } from '../../train/trainer.js';
import { ProgressPrinter, formatDuration } from '../../train/progress.js';
import { datasetIdentity } from '../../compare/merge.js';
import { comparisonData, configOf, recipeOf } from '../../compare/recipe.js';
import { runTasks, type RunTask } from '../../compare/run-comparison.js';
import { BASE_BATCH, DEFAULT_LRS, DEFAULT_SIZES, SWEEP_FILE, SWEEP_KINDS, parseShard, readSweep, shardRuns, stepsPerEpoch, sweepPoints, sweepRuns, writeSweep, type LrScaling, type SweepKind, type SweepManifest } from '../../compare/sweep.js';
import { loadSweeps } from '../../compare/sweep-merge.js';
import { sweepSummaryText, writeSweepReport } from '../../report/sweep-report.js';
import { NORMLAB_VERSION } from '../../version.js';
import { list, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { TRAIN_FLAGS, trainConfigFromArgs } from '../train-flags.js';
import { SEEDS_HELP, parseSeeds } from '../seeds.js';

/** Defaults sized for lavapipe on 2 cores: 70 runs (5 norms, 7 sizes, 2 seeds) in about 90 minutes. */
export const SWEEP_DEFAULTS = { epochs: 2, subset: 2000, testSubset: 2000, seeds: 2, lr: 0.1 };

const NOT_SWEPT = new Set(['batch-size', 'seed', 'ghost-batch', 'lr', 'epochs', 'subset']);
const RESUME_FLAGS = new Set(['resume', 'data', 'debug', 'shard']);

function parseLrs(raw: string[] | undefined): number[] {
  const lrs = (raw ?? DEFAULT_LRS.map(String)).map((v) => {
    const lr = Number(v);
    if (v.trim() === '' || !Number.isFinite(lr) || lr <= 0 || lr > 100) throw new UsageError(`--lrs: '${v}' is not a learning rate (a number > 0 and <= 100)`);
    return lr;
  });
  if (new Set(lrs).size !== lrs.length) throw new UsageError(`--lrs: '${raw!.join(',')}' names a learning rate twice`);
  return [...lrs].sort((a, b) => a - b);
}

function parseSizes(raw: string[] | undefined): number[] {
  const sizes = (raw ?? DEFAULT_SIZES.map(String)).map((v) => {
    const b = Number(v);
    if (!/^\d+$/.test(v) || !Number.isInteger(b) || b < 1) throw new UsageError(`--sizes: '${v}' is not a batch size (a positive integer)`);
    return b;
  });
  return [...sizes].sort((a, b) => a - b);
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'train every norm at every batch size (learning rate scaled with it) or every learning rate, and report test error against batch size or the largest learning rate each norm tolerates',
  usage: 'normlab sweep batch-size [--sizes 2,4,...,128] [--lr-scaling linear|none] | normlab sweep lr [--lrs 0.05,0.1,...] [--batch-size B]; both: [--norms LIST] [--seeds N|LIST] [--epochs E] [--subset N] [--shard i/n] [--out DIR] | normlab sweep KIND --resume DIR [--shard i/n]',
  positional: { name: 'KIND', help: 'what to sweep: batch-size or lr', min: 1, max: 1 },
  flags: [
    { name: 'sizes', type: 'list', metavar: 'LIST', help: `batch-size: batch sizes (default ${DEFAULT_SIZES.join(',')})` },
    { name: 'lrs', type: 'list', metavar: 'LIST', help: `lr: learning rates, the schedule's maximum (default ${DEFAULT_LRS.join(',')})` },
    { name: 'batch-size', type: 'int', min: 1, max: 65536, default: BASE_BATCH, help: 'lr: images per step of every run' },
    { name: 'norms', type: 'list', choices: NORM_KINDS, default: [...NORM_KINDS], help: 'norms to train at every size' },
    { name: 'seeds', type: 'string', metavar: 'N|LIST', help: `${SEEDS_HELP} (default ${SWEEP_DEFAULTS.seeds})` },
    { name: 'epochs', type: 'int', min: 1, max: 10000, default: SWEEP_DEFAULTS.epochs, help: 'epochs at every batch size' },
    { name: 'subset', type: 'int', min: 1, metavar: 'N', default: SWEEP_DEFAULTS.subset, help: 'train on the first N training images' },
    { name: 'test-subset', type: 'int', min: 1, metavar: 'N', default: SWEEP_DEFAULTS.testSubset, help: 'evaluate on the first N test images' },
    { name: 'lr', type: 'float', min: 0, exclusiveMin: true, max: 100, default: SWEEP_DEFAULTS.lr, help: `batch-size: learning rate at batch ${BASE_BATCH} (the maximum, for onecycle); higher than train's 0.05 because a sweep trains few epochs` },
    { name: 'lr-scaling', type: 'enum', choices: ['linear', 'none'], default: 'linear', help: `batch-size: linear: lr x B / ${BASE_BATCH} at batch B (Wu & He 2018); none: the same lr at every size` },
    ...TRAIN_FLAGS.filter((f) => !NOT_SWEPT.has(f.name)),
    { name: 'shard', type: 'string', metavar: 'i/n', help: 'train only the i-th of n disjoint parts of the runs (for array jobs; merge with normlab report)' },
    { name: 'out', type: 'string', metavar: 'DIR', help: 'sweep directory (default runs/sweep-<timestamp>)' },
    { name: 'resume', type: 'string', metavar: 'DIR', help: 'continue the sweep in DIR: train the runs not finished there, then rewrite its report' },
  ],
  details:
    `Runs go seeds outer, then points, then norms; each finished run is kept in DIR/b<size>/ or DIR/lr<lr>/ (a comparison directory). ` +
    'sweep lr reports, per norm, the largest learning rate at which it still trains (no NaN, and its last epoch\'s loss below 0.9 x ln(classes)), per seed and over seeds. ' +
    'After Ctrl-C or a kill, --resume DIR trains what is left; with --shard i/n only that part. ' +
    '`normlab report DIR...` merges the shards\' directories into one report: sweep.png, sweep.csv, report.md and report.html.',
  async run(args: ParsedArgs) {
    const kind = args.positional[0] as SweepKind;
    if (!SWEEP_KINDS.includes(kind)) throw new UsageError(`unknown sweep '${args.positional[0]}' (expected ${SWEEP_KINDS.join(' or ')})`);
    const wrongKind = kind === 'lr' ? ['sizes', 'lr', 'lr-scaling'] : ['lrs', 'batch-size'];
    const misplaced = wrongKind.filter((f) => args.given.has(f));
    if (misplaced.length) throw new UsageError(`${misplaced.map((f) => `--${f}`).join(', ')} ${misplaced.length > 1 ? 'are' : 'is'} not for sweep ${kind}`);
    const shardFlag = str(args, 'shard');
    const shard = shardFlag !== undefined ? parseShard(shardFlag) : undefined;
    const resumeDir = str(args, 'resume');
    if (resumeDir !== undefined) {
      const clash = [...args.given].filter((f) => !RESUME_FLAGS.has(f));
      if (clash.length) throw new UsageError(`--resume continues the saved sweep; it takes only --data and --shard (not ${clash.map((f) => `--${f}`).join(', ')})`);
    }
    let manifest: SweepManifest;
    let dir: string;
    const engine = await Engine.create();
    const progress = new ProgressPrinter();
    try {
      let base: TrainConfig;
      if (resumeDir !== undefined) {
        dir = resumeDir;
        manifest = readSweep(dir);
        if (manifest.kind !== kind) throw new UsageError(`${dir} holds a ${manifest.kind} sweep; continue it with normlab sweep ${manifest.kind} --resume ${dir}`);
        ({ cfg: base } = configOf({ ...manifest.recipe, batchSize: BASE_BATCH, lr: manifest.baseLr }, join(dir, SWEEP_FILE)));
      } else {
        const sizes = kind === 'lr' ? [num(args, 'batch-size')] : parseSizes(args.flags.sizes as string[] | undefined);
        const lrs = kind === 'lr' ? parseLrs(args.flags.lrs as string[] | undefined) : undefined;
        const seeds = parseSeeds(str(args, 'seeds') ?? String(SWEEP_DEFAULTS.seeds));
        const norms = list(args, 'norms') as NormKind[];
        const subset = num(args, 'subset');
        const testSubset = num(args, 'test-subset');
        base = trainConfigFromArgs({ ...args, flags: { ...args.flags, 'batch-size': BASE_BATCH, seed: 0 } }, norms[0]!);
        const ds = comparisonData(str(args, 'data'), subset, testSubset);
        for (const b of sizes) {
          if (b > ds.train.count) throw new UsageError(`--sizes: a batch of ${b} is larger than the ${ds.train.count} training images`);
          try {
            checkBatchFits(engine, ds, b, kind === 'lr' ? '--batch-size' : '--sizes:');
          } catch (e) {
            if (e instanceof UserError) throw new UsageError(e.message);
            throw e;
          }
        }
        dir = str(args, 'out') ?? join('runs', `sweep-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        if (existsSync(join(dir, SWEEP_FILE))) throw new UserError(`${dir}: already holds a sweep; continue it with --resume ${dir}, or choose another --out`);
        mkdirSync(dir, { recursive: true });
        const { batchSize: _b, lr: _l, ...recipe } = recipeOf(base, subset, testSubset);
        manifest = writeSweep(dir, {
          normlabVersion: NORMLAB_VERSION,
          kind,
          sizes,
          ...(lrs ? { lrs } : {}),
          norms,
          seeds,
          lrScaling: kind === 'lr' ? 'none' : (str(args, 'lr-scaling') as LrScaling),
          baseLr: kind === 'lr' ? lrs![0]! : num(args, 'lr'),
          baseBatch: BASE_BATCH,
          recipe,
          dataset: datasetIdentity(ds),
          preset: { name: 'sweep', why: kind === 'lr' ? `lr sweep: ${base.epochs} epochs at every learning rate` : `batch-size sweep: ${base.epochs} epochs at every size` },
          startedAt: new Date().toISOString(),
        });
      }
      const subset = typeof manifest.recipe.subset === 'number' ? manifest.recipe.subset : undefined;
      const testSubset = typeof manifest.recipe.testSubset === 'number' ? manifest.recipe.testSubset : undefined;
      const ds = comparisonData(str(args, 'data') ?? manifest.dataset.source, subset, testSubset);
      if (datasetFingerprint(ds) !== manifest.dataset.fingerprint) throw new UserError(`${ds.source}: not the data the sweep in ${dir} trained on (fingerprints differ)`);
      writeSweep(dir, manifest);
      const plans = new Map(sweepPoints(manifest).map((p) => [p.dir, {
        dir: join(dir, p.dir),
        norms: manifest.norms,
        seeds: manifest.seeds,
        config: { ...base, batchSize: p.batchSize, lr: p.lr, ghostBatch: 0 },
        dataset: ds,
        subset,
      }]));
      const tasks: RunTask[] = shardRuns(sweepRuns(manifest), shard).map(({ point, norm, seed }) => ({
        plan: plans.get(point.dir)!,
        norm,
        seed,
        label: `${point.dir} ${norm} seed ${seed}`,
        // Time per image grows as the batch shrinks (dispatch-bound steps): about (1 + 4/B) on lavapipe.
        weight: ds.train.count * base.epochs * (1 + 4 / point.batchSize),
      }));
      const at = kind === 'lr' ? `learning rate ${manifest.lrs!.join(', ')} at batch ${manifest.sizes[0]}` : `batch ${manifest.sizes.join(', ')}`;
      progress.message(
        `normlab sweep ${kind}: ${manifest.norms.join(', ')} at ${at}, seeds ${manifest.seeds.join(', ')}` +
          `${shard ? ` (shard ${shard.index}/${shard.count}: ${tasks.length} of ${sweepRuns(manifest).length} runs)` : ''}; ` +
          `${base.epochs} epochs on ${ds.train.count} images (${manifest.sizes.map((b) => `${stepsPerEpoch(ds.train.count, b)} steps at ${b}`).join(', ')} per epoch); ` +
          (kind === 'lr' ? '' : `lr ${manifest.lrScaling === 'linear' ? `${manifest.baseLr} x B / ${manifest.baseBatch}` : manifest.baseLr}; `) +
          `tested on ${ds.test.count} images; sweep in ${dir}`,
      );
      const onSigint = () => {
        progress.message(`\nnormlab sweep: stopped; the finished runs are kept in ${dir}. Continue with: normlab sweep ${kind} --resume ${dir}${shard ? ` --shard ${shard.index}/${shard.count}` : ''}`);
        process.exit(130);
      };
      process.on('SIGINT', onSigint);
      const started = Date.now();
      try {
        await runTasks(engine, tasks, progress);
      } finally {
        process.off('SIGINT', onSigint);
      }
      const { input } = loadSweeps([dir], str(args, 'data'));
      const files = writeSweepReport(dir, input);
      progress.message(`\nSweep report: ${join(dir, 'report.html')} (${files.length} files) after ${formatDuration((Date.now() - started) / 1000)}`);
      out.line(sweepSummaryText(input));
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
