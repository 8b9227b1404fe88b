// The recipe a comparison directory records (comparison.json), the training configuration read
// back from it, and the data it trains on: shared by compare, sweep and their --resume.
import { UserError } from '../engine/errors.js';
import { loadDataset } from '../train/data/load.js';
import { subsetTest, subsetTrain, type Dataset } from '../train/data/dataset.js';
import type { ScheduleKind, TrainConfig } from '../train/trainer.js';
import type { ComparisonManifest } from './comparison-dir.js';

/** The recipe a comparison directory records: everything but the norm and the seed. */
export function recipeOf(cfg: TrainConfig, subset: number | undefined, testSubset: number | undefined): ComparisonManifest['recipe'] {
  return {
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    lr: cfg.lr,
    schedule: cfg.schedule,
    momentum: cfg.momentum,
    weightDecay: cfg.weightDecay,
    groups: cfg.groups,
    augment: cfg.augment,
    subset: subset ?? 'all',
    testSubset: testSubset ?? 'all',
    evalBatchSize: cfg.evalBatchSize,
    ghostBatch: cfg.ghostBatch,
    // Only when on, so a recipe without probes reads as before.
    ...(cfg.probeEvery ? { probeEvery: cfg.probeEvery } : {}),
  };
}

export function configOf(recipe: ComparisonManifest['recipe'], path: string): { cfg: TrainConfig; subset: number | undefined; testSubset: number | undefined } {
  const keys = ['epochs', 'batchSize', 'lr', 'schedule', 'momentum', 'weightDecay', 'groups', 'augment', 'subset', 'testSubset', 'evalBatchSize'];
  const missing = keys.filter((k) => recipe[k] === undefined);
  if (missing.length) throw new UserError(`${path}: the recipe lacks ${missing.join(', ')}`);
  const n = (k: string) => recipe[k] as number;
  return {
    cfg: {
      norm: 'batch',
      seed: 0,
      groups: n('groups'),
      epochs: n('epochs'),
      batchSize: n('batchSize'),
      lr: n('lr'),
      momentum: n('momentum'),
      weightDecay: n('weightDecay'),
      schedule: recipe.schedule as ScheduleKind,
      augment: recipe.augment === true,
      evalBatchSize: n('evalBatchSize'),
      ghostBatch: typeof recipe.ghostBatch === 'number' ? recipe.ghostBatch : 0,
      ...(typeof recipe.probeEvery === 'number' ? { probeEvery: recipe.probeEvery } : {}),
    },
    subset: typeof recipe.subset === 'number' ? recipe.subset : undefined,
    testSubset: typeof recipe.testSubset === 'number' ? recipe.testSubset : undefined,
  };
}

/** The dataset a comparison trains on: its first `subset` training and first `testSubset` test images. */
export function comparisonData(dir: string | undefined, subset: number | undefined, testSubset: number | undefined): Dataset {
  let ds = loadDataset(dir);
  if (subset !== undefined) ds = subsetTrain(ds, subset);
  if (testSubset !== undefined) ds = subsetTest(ds, testSubset);
  return ds;
}
