// The comparison report: report.md, a self-contained report.html, metrics.json (every epoch of
// every run, the statistics, the claims and the reading) and the PNGs. Tables and verdicts come from
// comparison-stats.ts; render.ts turns the blocks into Markdown and HTML.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult, NormName } from './types.js';
import { curvesPng, overlayPng } from './curves.js';
import { accuracyIntervalsPng } from './interval-plot.js';
import { misclassifiedPng, mistakes } from './grid.js';
import { confusionMatrix, confusionPng, confusionMarkdown, recalls } from './confusion.js';
import { comparisonStats, imageDifficulty, noSpread, pText, type ComparisonStats, type NormSummary } from './comparison-stats.js';
import { checkSeedClaims, SEED_FIGURES, type ClaimCheck } from './claims.js';
import { readComparison, readResults, runsOf, secondsPerEpoch, bestTestEpoch, mean, groupsOf } from './reading.js';
import { ciPoints, namer, percent, points, type Namer } from './verdicts.js';
import { mdTable, mdTableToHtml, renderHtml, renderMarkdown, type Block } from './render.js';
import { predictionsPath } from '../compare/comparison-dir.js';
import { probeSection, type ProbeRun } from './probe-report.js';

const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? percent(x) : '-');
const num = (x: number | undefined, d = 4) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '-');

/** 1 + the largest class index in the array (0 when empty). */
function classCount(a: Uint8Array): number {
  let m = -1;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m + 1;
}

/** A norm's interval: over seeds when it has several, else its one run's (Wilson, or the gap's). */
function ciCell(s: NormSummary, single: [number, number] | undefined): string {
  if (noSpread(s)) return `${ciPoints(s.ci95)} (no spread)`;
  if (s.n >= 2) return ciPoints(s.ci95);
  return single ? `${ciPoints(single)} (one run)` : '-';
}

const NORM_HEADER = ['norm', 'seeds', 'test acc (mean)', '95% CI', 'sd (points)', 'train acc, eval mode', 'running train acc', 'gap (points)', 'gap 95% CI', 'test loss', 's/epoch'];

function normRows(result: ComparisonResult, stats: ComparisonStats, name: Namer): string[][] {
  return stats.norms
    .filter((s) => s.n > 0)
    .map((s) => {
      const runs = runsOf(result, s.norm);
      const rs = stats.runs.filter((r) => r.norm === s.norm);
      const gap = stats.gaps.norms.find((g) => g.norm === s.norm)!;
      const last = (f: 'testLoss') => mean(runs.map((r) => r.epochs.at(-1)?.[f] ?? NaN));
      return [
        name(s.norm),
        String(s.n),
        pct(s.mean),
        ciCell(s, rs.find((r) => s.seeds.includes(r.seed))?.wilson95),
        s.sd !== null ? points(s.sd) : '-',
        pct(mean(rs.map((r) => r.trainEvalAccuracy))),
        pct(mean(rs.map((r) => r.runningTrainAccuracy))),
        num(100 * gap.mean, 2),
        ciCell(gap, rs.find((r) => gap.seeds.includes(r.seed))?.gap95),
        num(last('testLoss')),
        num(mean(runs.map(secondsPerEpoch)), 2),
      ];
    });
}

/** The summary table (one row per norm, with intervals), as markdown; the CLI prints it at the end of a run. */
export function markdownTable(result: ComparisonResult, stats: ComparisonStats = comparisonStats(result)): string {
  return mdTable(NORM_HEADER, normRows(result, stats, namer(groupsOf(result))));
}

const RUN_HEADER = ['norm', 'seed', 'test acc', 'Wilson 95% CI', 'train acc, eval mode', 'running train acc', 'gap (points)', 'best test acc (epoch)', 'test loss', "mistakes' difficulty"];

function runRows(result: ComparisonResult, stats: ComparisonStats, name: Namer): string[][] {
  return stats.runs.map((s) => {
    const run = result.runs.find((r) => r.norm === s.norm && r.seed === s.seed)!;
    const best = bestTestEpoch(run);
    return [
      name(s.norm),
      String(s.seed),
      pct(s.testAccuracy),
      ciPoints(s.wilson95),
      pct(s.trainEvalAccuracy),
      pct(s.runningTrainAccuracy),
      `${num(100 * s.gap, 2)} ${ciPoints(s.gap95)}`,
      best ? `${pct(best.testAccuracy)} (${best.epoch})` : '-',
      num(run.epochs.at(-1)?.testLoss),
      s.mistakeDifficulty !== null ? s.mistakeDifficulty.toFixed(3) : '-',
    ];
  });
}

function pairRows(stats: ComparisonStats, name: Namer): string[][] {
  return stats.pairs.map((p, i) => {
    const sep = stats.test[i]!;
    const verdict = sep.side === 0 ? 'not separated' : `${name(sep.side > 0 ? p.a : p.b)} ahead`;
    const mc = p.mcnemar.map((m) => `seed ${m.seed}: ${m.b01}/${m.b10}, ${pText(m.p)}`).join('; ');
    return [`${name(p.a)} - ${name(p.b)}`, String(p.n), num(100 * p.meanDiff, 2), ciPoints(p.ci95), mc || '-', verdict];
  });
}

function seedFigureRows(stats: ComparisonStats, name: Namer): string[][] {
  // The seed ran batch, group and layer norm only.
  const norms = stats.norms.filter((s) => s.n > 0 && s.norm in SEED_FIGURES);
  return norms.map((s) => {
    const f = SEED_FIGURES[s.norm as keyof typeof SEED_FIGURES];
    const rs = stats.runs.filter((r) => r.norm === s.norm);
    return [
      name(s.norm),
      `${percent(f.train)} / ${percent(f.test)}`,
      points(f.train - f.test),
      `${pct(mean(rs.map((r) => r.trainEvalAccuracy)))} / ${pct(mean(rs.map((r) => r.runningTrainAccuracy)))} / ${pct(s.mean)}`,
      num(100 * mean(rs.map((r) => r.gap)), 2),
    ];
  });
}

interface NormFiles {
  norm: NormName;
  curves: string;
  grid: string;
  confusion: string;
  matrix: number[][];
}

function claimBlocks(claims: ClaimCheck[], stats: ComparisonStats, name: Namer, dataset: string): Block[] {
  const b: Block[] = [{ kind: 'h2', text: "The seed experiment's claims, tested" }];
  b.push({
    kind: 'p',
    text:
      "Each claim of the seed experiment's README, with what this comparison says: **supported** (every comparison it needs is separated in the claimed direction), " +
      '**contradicted** (one is separated against it), **not separated** at this budget, or **not tested** (a norm it needs did not run). ' +
      `An image's difficulty is the fraction of all ${stats.runCount} runs of this comparison (every norm and seed) that misclassify it; ` +
      "a norm's own runs count too, and a more accurate norm's fewer mistakes are naturally the images most runs miss, so the last two claims say " +
      "where each norm's mistakes lie, which follows its accuracy, rather than how hard its mistakes are for a model of the same accuracy. " +
      "With one seed, Welch's interval treats the two runs' sets of mistakes as independent samples, which they are not quite (they overlap).",
  });
  b.push({
    kind: 'table',
    header: ['claim', "the seed's figures (CIFAR-10)", 'this comparison', 'verdict'],
    align: ['l', 'l', 'l', 'l'],
    rows: claims.map((c) => [c.claim, c.seedSays, c.evidence.join('; '), `**${c.verdict}**`]),
  });
  b.push({
    kind: 'p',
    text: `The seed's own figures beside this comparison's (the seed: CIFAR-10, one run per norm, train accuracy a running training-mode average; here: ${dataset}, means over seeds):`,
  });
  b.push({
    kind: 'table',
    header: ['norm', 'seed: train / test (CIFAR-10)', 'seed: gap (points)', 'here: train eval mode / running train / test', 'here: gap (points)'],
    rows: seedFigureRows(stats, name),
  });
  return b;
}

/** Batch norm's test accuracy under its three statistics, per seed: the train/test discrepancy made visible. */
function bnStatsBlocks(result: ComparisonResult): Block[] {
  const audited = result.runs.filter((r) => r.bnStats);
  if (!audited.length) return [];
  const p = (v: number) => `${(100 * v).toFixed(2)}%`;
  const a = audited[0]!.bnStats!;
  return [
    { kind: 'h2', text: "Batch norm's statistics" },
    {
      kind: 'table',
      header: ['seed', 'running (eval mode)', 'precise', 'test batch', 'precise - running (points)'],
      align: ['r', 'r', 'r', 'r', 'r'],
      rows: audited.map((r) => [String(r.seed), p(r.bnStats!.running), p(r.bnStats!.precise), p(r.bnStats!.batch), (100 * (r.bnStats!.precise - r.bnStats!.running)).toFixed(2)]),
    },
    {
      kind: 'p',
      text:
        "Test accuracy of each batch-norm run's final model with the running averages (PyTorch's eval mode, what every other number here uses), " +
        `with precise statistics recomputed over ${a.preciseImages.toLocaleString('en-US')} training images with the weights frozen (Wu & Johnson 2021), ` +
        `and with each test batch of ${a.batchSize} images normalised by its own statistics. \`normlab eval --bn-stats\` gives each for a checkpoint.`,
    },
  ];
}

function buildBlocks(result: ComparisonResult, stats: ComparisonStats, claims: ClaimCheck[], files: { overlay: string; intervals: string; per: NormFiles[] }, count: number): Block[] {
  const ds = result.dataset;
  const name = namer(groupsOf(result));
  const reading = readComparison(result, stats);
  const seeds = result.seeds.join(', ');
  const b: Block[] = [];
  b.push({ kind: 'h1', text: `normlab: ${result.norms.map((n) => name(n)).join(' vs ')} on ${ds.name}` });
  b.push({
    kind: 'p',
    text:
      `SeedNet trained with each norm for seed${result.seeds.length === 1 ? '' : 's'} ${seeds}, under one recipe. Seed s gives every norm the same initial convolution weights ` +
      'and the same batch order, so within a seed only the norm differs; different seeds differ in both. ' +
      `${result.runs.length} runs, ${result.totalSeconds.toFixed(1)} s of training and evaluation in all; started ${result.startedAt}; normlab ${result.normlabVersion}.`,
  });
  b.push({ kind: 'h2', text: 'Preset' });
  b.push({ kind: 'p', text: `Preset **${result.preset.name}**: ${result.preset.why}.`.replace(/\.\.$/, '.') });

  b.push({ kind: 'h2', text: 'Results' });
  b.push({ kind: 'table', header: NORM_HEADER, rows: normRows(result, stats, name) });
  b.push({
    kind: 'p',
    text:
      `Test accuracy: the final model on ${typeof result.recipe.testSubset === 'number' ? 'the first' : 'all'} ${ds.testLabels.length.toLocaleString('en-US')} test images. 95% CI: Student's t-interval of the mean over seeds ` +
      "(with one seed, the run's Wilson interval). Train acc, eval mode: after the last epoch, in evaluation mode (batch norm's running statistics), " +
      `on the first ${ds.trainEvalCount.toLocaleString('en-US')} training images (the whole training set when it has no more). Running train acc: the average over the last epoch's ` +
      'steps in training mode, while the weights moved (what the seed experiment reported). Gap: train acc in eval mode minus test acc. s/epoch: training only.',
  });
  b.push({ kind: 'img', file: files.intervals, alt: 'final test accuracy per norm: each run, the mean and its 95% interval' });
  b.push({ kind: 'h2', text: 'Verdicts' });
  b.push({ kind: 'ul', items: [...reading.verdicts, ...(reading.resolution ? [reading.resolution] : [])] });
  b.push({ kind: 'table', header: ['pair (a - b)', 'seeds', 'mean diff (points)', '95% CI', "McNemar per seed (b01/b10, p)", 'verdict'], align: ['l', 'r', 'r', 'r', 'l', 'l'], rows: pairRows(stats, name) });
  b.push({ kind: 'p', text: 'b01: test images a got right and b got wrong; b10: the reverse. p: two-sided exact binomial test of b01 against b01 + b10.' });
  b.push({ kind: 'h3', text: 'Every run' });
  b.push({ kind: 'table', header: RUN_HEADER, rows: runRows(result, stats, name) });
  b.push(...bnStatsBlocks(result));
  b.push({ kind: 'h2', text: 'Overfitting' });
  b.push({ kind: 'ul', items: reading.gaps });
  b.push(...claimBlocks(claims, stats, name, ds.name));
  b.push({ kind: 'h2', text: 'Reading' });
  b.push({ kind: 'ul', items: [...reading.curves, ...reading.other] });

  b.push({ kind: 'h2', text: 'Curves' });
  b.push({ kind: 'img', file: files.overlay, alt: 'accuracy and loss per epoch, all norms overlaid (train in eval mode dashed, test solid with its band over seeds)' });
  for (const f of files.per) {
    b.push({ kind: 'h3', text: name(f.norm) });
    b.push({ kind: 'img', file: f.curves, alt: `${name(f.norm)}: train and test accuracy and loss per epoch` });
  }

  b.push({ kind: 'h2', text: 'Misclassified test images' });
  b.push({
    kind: 'p',
    text:
      `The first ${count} misclassified test images of each norm's first seed, in test-file order, with the true and the predicted class and the image's difficulty ` +
      `(the fraction of all ${stats.runCount} runs that misclassify it).`,
  });
  for (const f of files.per) {
    const run = runsOf(result, f.norm)[0]!;
    const errors = mistakes(ds.testLabels, run.predictions).length;
    b.push({ kind: 'h3', text: `${name(f.norm)}, seed ${run.seed}: ${errors} of ${ds.testLabels.length} test images wrong (${((100 * errors) / ds.testLabels.length).toFixed(2)}%)` });
    b.push({ kind: 'img', file: f.grid, alt: `${name(f.norm)}: misclassified test images` });
  }

  b.push({ kind: 'h2', text: 'Confusion matrices' });
  b.push({ kind: 'p', text: 'Rows are the true class, columns the predicted class, counted over every seed of the norm; recall = correct / images of the class.' });
  for (const f of files.per) {
    const rec = recalls(f.matrix);
    let worst = 0;
    rec.forEach((v, k) => {
      if (v < rec[worst]!) worst = k;
    });
    b.push({ kind: 'h3', text: name(f.norm) });
    b.push({ kind: 'img', file: f.confusion, alt: `${name(f.norm)}: confusion matrix` });
    if (Number.isFinite(rec[worst]!)) b.push({ kind: 'p', text: `Hardest class: ${ds.classes[worst] ?? worst} (recall ${pct(rec[worst])}).` });
    const md = confusionMarkdown(f.matrix, ds.classes);
    b.push({ kind: 'raw', md, html: mdTableToHtml(md) });
  }

  b.push({ kind: 'h2', text: 'Setup' });
  const adapters = result.adapters.map((a) => `${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ')}${a.description ? ` (${a.description})` : ''}${a.software ? ', software' : ', hardware GPU'}`);
  b.push({
    kind: 'table',
    header: ['item', 'value'],
    align: ['l', 'l'],
    rows: [
      ['dataset', `${ds.name} (${ds.source})`],
      ['images', `${ds.channels} x ${ds.height} x ${ds.width}; ${ds.trainCount} training (the first ${ds.trainEvalCount} also evaluated in eval mode), ${ds.testLabels.length} test`],
      ['classes', ds.classes.join(', ')],
      ['seeds', seeds],
      [result.adapters.length === 1 ? 'adapter' : 'adapters', adapters.join('; ')],
      ['model', `SeedNet (SEEDNET.md); parameters: ${result.norms.map((n) => `${n} ${runsOf(result, n)[0]?.params.toLocaleString('en-US') ?? '-'}`).join(', ')}`],
      ['files', 'metrics.json (every epoch of every run, `stats`, `claims`), predictions/NORM-seedS.csv, checkpoints/NORM-seedS.safetensors, results/NORM-seedS.json'],
      ['read from', result.sources.join(', ')],
    ],
  });
  b.push({ kind: 'h3', text: 'Recipe' });
  b.push({ kind: 'table', header: ['setting', 'value'], align: ['l', 'l'], rows: Object.entries(result.recipe).map(([k, v]) => [k, String(v)]) });
  return b;
}

/** metrics.json: the result without the image and prediction arrays, with the statistics, the claims and the reading. */
export function metricsJson(result: ComparisonResult, stats: ComparisonStats = comparisonStats(result), claims = checkSeedClaims(stats, namer(groupsOf(result)))): unknown {
  const { testImages: _images, testLabels, ...dataset } = result.dataset;
  return {
    normlabVersion: result.normlabVersion,
    startedAt: result.startedAt,
    totalSeconds: result.totalSeconds,
    preset: result.preset,
    dataset: { ...dataset, classes: [...dataset.classes], testCount: testLabels.length },
    adapters: result.adapters,
    recipe: result.recipe,
    norms: result.norms,
    seeds: result.seeds,
    sources: result.sources,
    diverged: result.diverged,
    runs: result.runs.map((r) => ({
      norm: r.norm,
      seed: r.seed,
      groups: r.groups,
      params: r.params,
      checkpoint: r.checkpoint,
      predictions: predictionsPath(r.norm, r.seed),
      epochs: r.epochs,
    })),
    stats,
    claims,
    reading: readResults(result, stats),
  };
}

export interface WriteReportOptions {
  /** Misclassified images per norm (default 20). */
  misclassified?: number;
  /** The runs' probe records, when they were probed (--probe-every): the "Inside the network" section. */
  probes?: readonly ProbeRun[];
}

/**
 * Writes the report into `dir` (created if needed): report.md, report.html, metrics.json,
 * overlay.png, test-accuracy.png and per norm curves-NORM.png, misclassified-NORM.png and
 * confusion-NORM.png. Returns the paths written.
 */
export function writeReport(dir: string, result: ComparisonResult, options: WriteReportOptions = {}): { files: string[] } {
  mkdirSync(dir, { recursive: true });
  const count = options.misclassified ?? 20;
  const ds = result.dataset;
  const name = namer(groupsOf(result));
  const stats = comparisonStats(result);
  const claims = checkSeedClaims(stats, name);
  const difficulty = { perImage: imageDifficulty(ds.testLabels, result.runs), runs: result.runs.length };
  const images = new Map<string, Buffer>();
  images.set('overlay.png', overlayPng(result.runs, `${result.norms.map((n) => name(n)).join(' vs ')} on ${ds.name}`));
  images.set('test-accuracy.png', accuracyIntervalsPng(stats, name, `Final test accuracy on ${ds.name}, with 95% intervals`));
  const per = result.norms
    .filter((n) => runsOf(result, n).length)
    .map((norm): NormFiles => {
      const runs = runsOf(result, norm);
      // Classes: the dataset's, widened if a label or prediction lies beyond them.
      const K = Math.max(ds.classes.length, classCount(ds.testLabels), ...runs.map((r) => classCount(r.predictions)), 1);
      const matrix = runs.map((r) => confusionMatrix(ds.testLabels, r.predictions, K)).reduce((a, m) => a.map((row, i) => row.map((v, j) => v + m[i]![j]!)));
      const f = { norm, curves: `curves-${norm}.png`, grid: `misclassified-${norm}.png`, confusion: `confusion-${norm}.png`, matrix };
      images.set(f.curves, curvesPng(runs));
      images.set(f.grid, misclassifiedPng(ds, runs[0]!, count, difficulty));
      const over = runs.length > 1 ? `, ${runs.length} seeds` : '';
      images.set(f.confusion, confusionPng(matrix, ds.classes, `${name(norm)}: confusion matrix (${ds.name} test${over})`));
      return f;
    });
  const blocks = buildBlocks(result, stats, claims, { overlay: 'overlay.png', intervals: 'test-accuracy.png', per }, count);
  const probes = probeSection(options.probes ?? [], result.norms, name);
  blocks.push(...probes.blocks);
  for (const [f, png] of probes.images) images.set(f, png);
  const title = `normlab: ${result.norms.map((n) => name(n)).join(' vs ')} on ${ds.name}`;

  const files: string[] = [];
  const write = (file: string, data: string | Buffer) => {
    const p = join(dir, file);
    writeFileSync(p, data);
    files.push(p);
  };
  write('report.md', renderMarkdown(blocks));
  write('report.html', renderHtml(blocks, images, title));
  write('metrics.json', `${JSON.stringify(metricsJson(result, stats, claims), null, 2)}\n`);
  for (const [file, png] of images) write(file, png);
  return { files };
}
