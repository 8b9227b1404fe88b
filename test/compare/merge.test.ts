// Comparison directories merged by `normlab report`: two directories of the same recipe give the
// report of one directory holding all their seeds; mismatched or overlapping ones are refused in one
// line naming the difference. Runs are synthetic here (test/report/synthetic.ts); test/cli covers the
// same with real training.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeManifest, writeRun, readManifest, predictionsPath, checkpointPath, type ComparisonManifest } from '../../src/compare/comparison-dir.js';
import { datasetIdentity, loadComparisons, loadComparisonDataset, mergeComparisons } from '../../src/compare/merge.js';
import { writeComparisonReport } from '../../src/compare/publish.js';
import { comparisonStats } from '../../src/report/comparison-stats.js';
import { readResults } from '../../src/report/reading.js';
import { loadDataset } from '../../src/train/data/load.js';
import type { Dataset } from '../../src/train/data/dataset.js';
import { UserError } from '../../src/engine/errors.js';
import { writeCifarDir } from '../helpers/cli.js';
import { syntheticResult } from '../report/synthetic.js';
import type { ComparisonResult } from '../../src/report/types.js';

let root = '';
let ds: Dataset;
let synthetic: ComparisonResult;

const ADAPTER = { vendor: 'mesa', architecture: 'llvmpipe', device: 'lavapipe', description: 'llvmpipe', software: true, features: [] };

function manifest(seeds: number[], over: Partial<ComparisonManifest> = {}): Omit<ComparisonManifest, 'format' | 'formatVersion'> {
  return {
    normlabVersion: '0.1.0',
    recipe: { epochs: 3, batchSize: 32, lr: 0.05, schedule: 'onecycle', momentum: 0.9, weightDecay: 5e-4, groups: 4, augment: false, subset: 'all', evalBatchSize: 500 },
    norms: ['batch', 'group', 'layer'],
    seeds,
    dataset: datasetIdentity(ds),
    preset: { name: 'quick', why: 'test' },
    startedAt: '2026-12-02T00:00:00.000Z',
    ...over,
  };
}

/** A comparison directory holding the synthetic runs of `seeds`. */
function comparisonDir(name: string, seeds: number[], over: Partial<ComparisonManifest> = {}): string {
  const dir = join(root, name);
  writeManifest(dir, manifest(seeds, over));
  for (const r of synthetic.runs.filter((x) => seeds.includes(x.seed))) {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeFileSync(join(dir, checkpointPath(r.norm, r.seed)), `checkpoint of ${r.norm} ${r.seed}`);
    const record = { norm: r.norm, seed: r.seed, groups: r.groups, params: r.params, epochs: r.epochs, checkpoint: checkpointPath(r.norm, r.seed), predictions: predictionsPath(r.norm, r.seed), adapter: ADAPTER, seconds: 30, finishedAt: '2026-12-02T00:01:00.000Z' };
    writeRun(dir, record, ds.test.labels, r.predictions);
  }
  return dir;
}

/** report.md without the lines that name where the runs were read from. */
const reportText = (dir: string) =>
  readFileSync(join(dir, 'report.md'), 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('| read from |'))
    .join('\n');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'normlab-merge-'));
  ds = loadDataset(writeCifarDir(join(root, 'cifar'), 40, 300));
  synthetic = syntheticResult('cifar', 3, {
    batch: [0.8, 0.83, 0.78].map((t) => ({ finalTest: t, finalTrain: t + 0.03 })),
    group: [0.7, 0.74, 0.72].map((t) => ({ finalTest: t, finalTrain: t + 0.01 })),
    layer: [0.71, 0.69, 0.73].map((t) => ({ finalTest: t, finalTrain: t })),
  }, {}, { seeds: [0, 1, 2], testCount: 300 });
  // The synthetic labels are n % 10; the CIFAR-format test batch's are too (helpers/cli.ts), so the CSVs agree.
  expect([...ds.test.labels]).toEqual([...synthetic.dataset.testLabels]);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('normlab report: merging comparison directories', () => {
  it('two directories merge into the report of one directory with all their seeds', () => {
    const a = comparisonDir('a', [0, 1]);
    const b = comparisonDir('b', [2]);
    const whole = comparisonDir('whole', [0, 1, 2]);
    const merged = mergeComparisons(loadComparisons([a, b]), ds);
    const single = mergeComparisons(loadComparisons([whole]), ds);
    expect(merged.seeds).toEqual([0, 1, 2]);
    expect(merged.runs.map((r) => `${r.norm}/${r.seed}`)).toEqual(single.runs.map((r) => `${r.norm}/${r.seed}`));
    expect(comparisonStats(merged)).toEqual(comparisonStats(single));
    expect(readResults(merged)).toEqual(readResults(single));

    const out = join(root, 'merged');
    writeComparisonReport(out, loadComparisons([a, b]), ds, 20);
    writeComparisonReport(whole, loadComparisons([whole]), ds, 20);
    expect(reportText(out)).toBe(reportText(whole));
    const mOut = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const mWhole = JSON.parse(readFileSync(join(whole, 'metrics.json'), 'utf8'));
    expect(mOut.stats).toEqual(mWhole.stats);
    expect(mOut.claims).toEqual(mWhole.claims);
    expect(mOut.sources).toEqual([a, b]);
    // The merged directory is a comparison directory itself, with copies of every run's files.
    expect(readManifest(out).seeds).toEqual([0, 1, 2]);
    expect(readFileSync(join(out, checkpointPath('group', 2)), 'utf8')).toBe('checkpoint of group 2');
    expect(comparisonStats(mergeComparisons(loadComparisons([out]), ds))).toEqual(comparisonStats(single));
  });

  it('refuses, in one line each, directories that differ or overlap, and what is not a comparison', () => {
    const a = comparisonDir('a2', [0, 1]);
    const cases: [string[], RegExp][] = [
      [[a, comparisonDir('lr', [2], { recipe: { ...manifest([2]).recipe, lr: 0.1 } })], /lr: 0\.05 there, 0\.1 here/],
      [[a, comparisonDir('ver', [2], { normlabVersion: '0.2.0' })], /made by normlab 0\.2\.0, .* by 0\.1\.0/],
      [[a, comparisonDir('data', [2], { dataset: { ...manifest([2]).dataset, fingerprint: 'sha256:other' } })], /another dataset than/],
      [[a, comparisonDir('overlap', [1, 2])], /batch seed 1 is also in .*a2; each \(norm, seed\) may come from one directory only/],
      [[a, join(root, 'cifar')], /not a comparison directory \(no comparison\.json/],
      [[a, join(root, 'missing')], /missing: does not exist/],
      [[comparisonDir('empty', [])], /no finished runs to report yet/],
    ];
    for (const [dirs, message] of cases) {
      let err: unknown;
      try {
        loadComparisons(dirs);
      } catch (e) {
        err = e;
      }
      expect(err, dirs.join(' ')).toBeInstanceOf(UserError);
      expect((err as Error).message, dirs.join(' ')).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('keeps a diverged run out of every statistic and names it', () => {
    const dir = comparisonDir('diverged', [0, 1]);
    const record = { norm: 'group' as const, seed: 2, groups: 4, params: 1, epochs: [], checkpoint: checkpointPath('group', 2), predictions: '', diverged: { epoch: 1, step: 3, message: 'training diverged' }, adapter: ADAPTER, seconds: 5, finishedAt: '' };
    writeRun(dir, record, ds.test.labels, undefined);
    const r = mergeComparisons(loadComparisons([dir]), ds);
    expect(r.runs.map((x) => `${x.norm}/${x.seed}`)).not.toContain('group/2');
    expect(r.diverged).toEqual([{ norm: 'group', seed: 2, epoch: 1, step: 3 }]);
    expect(comparisonStats(r).norms.find((n) => n.norm === 'group')!.seeds).toEqual([0, 1]);
    expect(readResults(r).join(' ')).toContain('1 run diverged (a gradient became NaN or infinite) and is left out of every statistic: group norm (G=4) seed 2 (epoch 1, step 3)');
    const out = join(root, 'diverged-merged');
    writeComparisonReport(out, loadComparisons([dir]), ds, 20);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).diverged).toHaveLength(1);
    // Merging it with another directory that also ran group seed 2 is refused like any repeat.
    expect(() => loadComparisons([dir, comparisonDir('g2', [2])])).toThrow(/group seed 2 is also in/);
    // A comparison whose only run diverged still gets a report, which says so.
    const lone = join(root, 'lone');
    writeManifest(lone, manifest([0]));
    writeRun(lone, { ...record, seed: 0 }, ds.test.labels, undefined);
    writeComparisonReport(lone, loadComparisons([lone]), ds, 20);
    expect(readFileSync(join(lone, 'report.md'), 'utf8')).toContain('No norm was trained, so there are no results to read.');
  });

  it('checks the dataset it draws from against the fingerprint', () => {
    const a = comparisonDir('fp', [0]);
    const m = readManifest(a);
    expect(loadComparisonDataset(m, join(root, 'cifar')).test.count).toBe(300);
    const other = writeCifarDir(join(root, 'cifar-other'), 40, 301);
    expect(() => loadComparisonDataset(m, other)).toThrow(/not the data the comparison trained on/);
    expect(() => loadComparisonDataset({ ...m, dataset: { ...m.dataset, source: join(root, 'gone') } })).toThrow(/which is not here; point --data at a copy/);
  });
});
