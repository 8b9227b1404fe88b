// Reading one or more comparison directories back into one ComparisonResult: the same recipe, the
// same dataset (by fingerprint) and the same normlab version, and no (norm, seed) twice, or one line
// naming the difference. `normlab compare` builds its own report this way too, so a report merged
// from several directories is the report of one comparison that ran all their seeds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { AdapterSummary } from '../engine/device.js';
import { NORM_KINDS } from '../model/seednet.js';
import type { Dataset } from '../train/data/dataset.js';
import { subsetTest, subsetTrain } from '../train/data/dataset.js';
import { loadDataset } from '../train/data/load.js';
import { datasetFingerprint } from '../train/data/fingerprint.js';
import type { ComparisonResult, DivergedRun, NormName, NormRun } from '../report/types.js';
import { parsePredictionsCsv, readManifest, readRunRecords, type ComparisonManifest, type DatasetIdentity, type RunRecord } from './comparison-dir.js';
import { trainEvalCount } from '../train/evaluate.js';

export interface LoadedComparison {
  dir: string;
  manifest: ComparisonManifest;
  records: RunRecord[];
}

/** What a comparison directory records of its dataset, to check it elsewhere. */
export function datasetIdentity(ds: Dataset): DatasetIdentity {
  return {
    name: ds.name,
    source: ds.source,
    fingerprint: datasetFingerprint(ds),
    trainCount: ds.train.count,
    testCount: ds.test.count,
    trainEvalCount: trainEvalCount(ds.train.count),
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
    classes: [...ds.classes],
  };
}

/** The first setting two recipes disagree on, as "KEY A vs B", or null when they agree. */
export function recipeDifference(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[k] !== b[k]) return `${k} ${String(a[k] ?? '(unset)')} vs ${String(b[k] ?? '(unset)')}`;
  }
  return null;
}

/** Reads the directories and checks that they can be merged. */
export function loadComparisons(dirs: readonly string[]): LoadedComparison[] {
  if (!dirs.length) throw new UserError('no comparison directory given');
  const loaded = dirs.map((dir) => ({ dir, manifest: readManifest(dir), records: readRunRecords(dir) }));
  const first = loaded[0]!;
  const owner = new Map<string, string>();
  for (const c of loaded) {
    const m = c.manifest;
    if (c !== first) {
      const f = first.manifest;
      if (m.normlabVersion !== f.normlabVersion) throw new UserError(`${c.dir}: made by normlab ${m.normlabVersion}, ${first.dir} by ${f.normlabVersion}; merge comparisons of one version`);
      if (m.dataset.fingerprint !== f.dataset.fingerprint) {
        throw new UserError(`${c.dir}: another dataset than ${first.dir} (${m.dataset.name}, ${m.dataset.trainCount} training images vs ${f.dataset.name}, ${f.dataset.trainCount}; fingerprints differ)`);
      }
      const diff = recipeDifference(f.recipe, m.recipe);
      if (diff) throw new UserError(`${c.dir}: another recipe than ${first.dir} (${diff.replace(/^(\S+) (.*) vs (.*)$/, '$1: $2 there, $3 here')})`);
    }
    for (const r of c.records) {
      const key = `${r.norm} seed ${r.seed}`;
      const other = owner.get(key);
      if (other !== undefined) throw new UserError(`${c.dir}: ${key} is also in ${other}; each (norm, seed) may come from one directory only`);
      owner.set(key, c.dir);
    }
  }
  if (!owner.size) throw new UserError(`${dirs.join(', ')}: no finished runs to report yet`);
  return loaded;
}

/**
 * The dataset a comparison trained on: from `dataDir`, or where the manifest says it was read; the
 * training subset applied; its fingerprint checked against the manifest's.
 */
export function loadComparisonDataset(manifest: ComparisonManifest, dataDir?: string): Dataset {
  const dir = dataDir ?? manifest.dataset.source;
  if (dataDir === undefined && !existsSync(dir)) {
    throw new UserError(`the comparison's dataset was read from ${dir} where it trained, which is not here; point --data at a copy of ${manifest.dataset.name}`);
  }
  let ds = loadDataset(dir);
  const { subset, testSubset } = manifest.recipe;
  if (typeof subset === 'number') ds = subsetTrain(ds, subset);
  if (typeof testSubset === 'number') ds = subsetTest(ds, testSubset);
  if (datasetFingerprint(ds) !== manifest.dataset.fingerprint) {
    throw new UserError(`${ds.source}: not the data the comparison trained on (${manifest.dataset.name}, ${manifest.dataset.trainCount} training images; fingerprints differ)`);
  }
  return ds;
}

function sameAdapter(a: AdapterSummary, b: AdapterSummary): boolean {
  return a.vendor === b.vendor && a.architecture === b.architecture && a.device === b.device && a.description === b.description;
}

/** One ComparisonResult from the loaded directories and their dataset (checked by loadComparisonDataset). */
export function mergeComparisons(loaded: readonly LoadedComparison[], ds: Dataset): ComparisonResult {
  const first = loaded[0]!.manifest;
  const runs: NormRun[] = [];
  const diverged: DivergedRun[] = [];
  const adapters: AdapterSummary[] = [];
  let seconds = 0;
  for (const c of loaded) {
    for (const r of c.records) {
      seconds += r.seconds;
      if (!adapters.some((a) => sameAdapter(a, r.adapter))) adapters.push(r.adapter);
      if (r.diverged) {
        diverged.push({ norm: r.norm, seed: r.seed, epoch: r.diverged.epoch, step: r.diverged.step });
        continue;
      }
      runs.push({
        norm: r.norm,
        groups: r.groups,
        seed: r.seed,
        params: r.params,
        epochs: r.epochs,
        predictions: parsePredictionsCsv(join(c.dir, r.predictions), ds.test.labels),
        checkpoint: r.checkpoint,
        ...(r.bnStats ? { bnStats: r.bnStats } : {}),
      });
    }
  }
  // Norms in the first directory's order, then any the others add, in the order normlab lists them.
  const norms: NormName[] = [...first.norms];
  for (const n of NORM_KINDS) if (!norms.includes(n) && runs.some((r) => r.norm === n)) norms.push(n);
  const present = norms.filter((n) => runs.some((r) => r.norm === n));
  runs.sort((a, b) => present.indexOf(a.norm) - present.indexOf(b.norm) || a.seed - b.seed);
  return {
    dataset: {
      name: ds.name,
      source: ds.source,
      classes: ds.classes,
      channels: ds.channels,
      height: ds.height,
      width: ds.width,
      trainCount: ds.train.count,
      trainEvalCount: first.dataset.trainEvalCount,
      testImages: ds.test.images,
      testLabels: ds.test.labels,
    },
    runs,
    norms: present,
    seeds: [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b),
    adapters,
    recipe: first.recipe,
    preset: first.preset,
    startedAt: loaded.map((c) => c.manifest.startedAt).sort()[0]!,
    totalSeconds: seconds,
    normlabVersion: first.normlabVersion,
    sources: loaded.map((c) => c.dir),
    diverged: diverged.sort((a, b) => NORM_KINDS.indexOf(a.norm) - NORM_KINDS.indexOf(b.norm) || a.seed - b.seed),
  };
}
