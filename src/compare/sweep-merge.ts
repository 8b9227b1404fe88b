// Reading one or more sweep directories (the shards of one sweep, or sweeps of other seeds run
// elsewhere) into the sweep report's input: per batch size, the comparisons of every directory
// merged and checked exactly as `normlab report` merges comparisons.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../engine/errors.js';
import type { Dataset } from '../train/data/dataset.js';
import { formatDuration } from '../train/progress.js';
import { sweepSize, type SweepReportInput } from '../report/sweep-report.js';
import type { NormName } from '../report/types.js';
import { normTitle } from '../report/plots.js';
import { NORM_KINDS } from '../model/norms.js';
import { readManifest, resultsPath } from './comparison-dir.js';
import { loadComparisonDataset, loadComparisons, mergeComparisons, recipeDifference } from './merge.js';
import { readSweep, sweepPoints, sweepRuns, type SweepManifest, type SweepPoint } from './sweep.js';

export function loadSweeps(dirs: readonly string[], dataDir?: string): { input: SweepReportInput; manifests: SweepManifest[]; dataset: Dataset } {
  const manifests = dirs.map(readSweep);
  const first = manifests[0]!;
  manifests.forEach((m, i) => {
    const where = dirs[i]!;
    if (m.normlabVersion !== first.normlabVersion) throw new UserError(`${where}: made by normlab ${m.normlabVersion}, ${dirs[0]} by ${first.normlabVersion}; merge sweeps of one version`);
    if (m.kind !== first.kind) throw new UserError(`${where}: a ${m.kind} sweep, ${dirs[0]} a ${first.kind} sweep; merge sweeps of one kind`);
    if (m.dataset.fingerprint !== first.dataset.fingerprint) throw new UserError(`${where}: another dataset than ${dirs[0]} (fingerprints differ)`);
    const diff = recipeDifference({ ...first.recipe, lrScaling: first.lrScaling, baseLr: first.baseLr }, { ...m.recipe, lrScaling: m.lrScaling, baseLr: m.baseLr });
    if (diff) throw new UserError(`${where}: another recipe than ${dirs[0]} (${diff})`);
  });
  const byDir = new Map<string, SweepPoint>();
  for (const p of manifests.flatMap(sweepPoints)) byDir.set(p.dir, p);
  const points = [...byDir.values()].sort((a, b) => a.batchSize - b.batchSize || a.lr - b.lr);
  const norms = NORM_KINDS.filter((n) => manifests.some((m) => m.norms.includes(n))) as NormName[];
  const expected = new Set(manifests.flatMap((m) => sweepRuns(m).map((r) => `${r.point.dir}/${r.norm}/${r.seed}`)));
  // A size directory counts when it has at least one finished run.
  const finished = (d: string) => norms.some((n) => manifests.some((m) => m.seeds.some((s) => existsSync(join(d, resultsPath(n, s))))));
  const dataset = loadComparisonDataset(readManifest(join(dirs[0]!, sweepPoints(first)[0]!.dir)), dataDir);
  let seconds = 0;
  const perSize = points.flatMap((point) => {
    const parts = dirs.map((d) => join(d, point.dir)).filter((d) => existsSync(d) && finished(d));
    if (!parts.length) return [];
    const loaded = loadComparisons(parts);
    const result = mergeComparisons(loaded, dataset);
    seconds += result.totalSeconds;
    const bn = loaded.flatMap((c) => c.records.filter((r) => r.bnStats).map((r) => ({ ...r.bnStats!, seed: r.seed })));
    return [sweepSize(point.batchSize, point.lr, result, bn)];
  });
  if (!perSize.length) throw new UserError(`${dirs.join(', ')}: no finished runs to report yet`);
  const seeds = [...new Set(manifests.flatMap((m) => m.seeds))].sort((a, b) => a - b);
  const r = first.recipe;
  const sizes = [...new Set(points.map((p) => p.batchSize))];
  const lrFacts = [
    `Norms: ${norms.map((n) => normTitle(n, Number(r.groups))).join(', ')}; learning rates ${points.map((p) => p.lr).join(', ')} at batch ${sizes.join(', ')}; seeds ${seeds.join(', ')} (seed s: the same initial weights and batch order for every norm and learning rate).`,
    `${r.schedule} schedule (the learning rate named is its maximum), momentum ${r.momentum}, weight decay ${r.weightDecay}; ${r.epochs} epochs on ${r.subset === 'all' ? 'all' : `the first ${r.subset}`} training images; tested on ${r.testSubset === 'all' ? 'all' : `the first ${r.testSubset}`} test images.`,
    `Training and evaluation time of the finished runs, summed: ${formatDuration(seconds)}.`,
  ];
  const input: SweepReportInput = {
    kind: first.kind,
    title: first.kind === 'lr' ? `normlab: the learning rates each norm tolerates on ${first.dataset.name}` : `normlab: test error against batch size on ${first.dataset.name}`,
    facts: first.kind === 'lr' ? lrFacts : [
      `Norms: ${norms.map((n) => normTitle(n, Number(r.groups))).join(', ')}; batch sizes ${sizes.join(', ')}; seeds ${seeds.join(', ')} (seed s: the same initial weights for every norm and size).`,
      `Learning rate: ${first.lrScaling === 'linear' ? `${first.baseLr} x B / ${first.baseBatch} (linear scaling, as Wu & He 2018)` : `${first.baseLr} at every batch size (--lr-scaling none)`}; ${r.schedule} schedule, momentum ${r.momentum}, weight decay ${r.weightDecay}.`,
      `${r.epochs} epochs at every size (smaller batches take more steps) on ${r.subset === 'all' ? 'all' : `the first ${r.subset}`} training images; tested on ${r.testSubset === 'all' ? 'all' : `the first ${r.testSubset}`} test images.`,
      `Training and evaluation time of the finished runs, summed: ${formatDuration(seconds)}.`,
    ],
    norms,
    sizes: perSize,
    expectedRuns: expected.size,
  };
  return { input, manifests, dataset };
}
