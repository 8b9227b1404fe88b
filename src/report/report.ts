// The comparison report: report.md (relative image links), a self-contained report.html (inline
// CSS, PNGs as data: URIs), metrics.json, and the PNGs. Both documents are rendered from one
// list of blocks so they always say the same thing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult, NormRun } from './types.js';
import { curvesPng, overlayPng } from './plots.js';
import { misclassifiedPng, mistakes } from './grid.js';
import { confusionMatrix, confusionPng, confusionMarkdown, recalls } from './confusion.js';
import { readResults, normName, bestTestEpoch, secondsPerEpoch, trainTestGap } from './reading.js';

type Block =
  | { kind: 'h1' | 'h2' | 'h3' | 'p'; text: string }
  | { kind: 'ul'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][]; align?: ('l' | 'r')[] }
  | { kind: 'img'; file: string; alt: string }
  /** Markdown-only content (the confusion tables); HTML gets `html` instead. */
  | { kind: 'raw'; md: string; html: string };

const pct = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '-');
const num = (x: number | undefined, d = 4) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '-');

/** 1 + the largest class index in the array (0 when empty). */
function classCount(a: Uint8Array): number {
  let m = -1;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m + 1;
}

/** File-name stem per run: the norm, plus G when two runs share a norm. */
function stems(runs: readonly NormRun[]): string[] {
  return runs.map((r) => (runs.filter((o) => o.norm === r.norm).length > 1 ? `${r.norm}-g${r.groups}` : r.norm));
}

export interface SummaryRow {
  norm: string;
  groups: number;
  params: number;
  epochs: number;
  finalTrainAccuracy: number;
  bestTrainAccuracy: number;
  finalTestAccuracy: number;
  bestTestAccuracy: number;
  bestTestEpoch: number;
  finalTrainLoss: number;
  finalTestLoss: number;
  /** Final train minus final test accuracy, in accuracy points (percent). */
  gapPoints: number;
  secondsPerEpoch: number;
  imagesPerSec: number;
  testErrors: number;
}

export function summaryRows(result: ComparisonResult): SummaryRow[] {
  return result.runs.map((r) => {
    const last = r.epochs.at(-1);
    const best = bestTestEpoch(r);
    const trainAcc = r.epochs.map((e) => e.trainAccuracy).filter(Number.isFinite);
    return {
      norm: r.norm,
      groups: r.groups,
      params: r.params,
      epochs: r.epochs.length,
      finalTrainAccuracy: last?.trainAccuracy ?? NaN,
      bestTrainAccuracy: trainAcc.length ? Math.max(...trainAcc) : NaN,
      finalTestAccuracy: last?.testAccuracy ?? NaN,
      bestTestAccuracy: best?.testAccuracy ?? NaN,
      bestTestEpoch: best?.epoch ?? NaN,
      finalTrainLoss: last?.trainLoss ?? NaN,
      finalTestLoss: last?.testLoss ?? NaN,
      gapPoints: 100 * trainTestGap(r),
      secondsPerEpoch: secondsPerEpoch(r),
      imagesPerSec: r.epochs.length ? r.epochs.reduce((a, e) => a + e.imagesPerSec, 0) / r.epochs.length : NaN,
      testErrors: mistakes(result.dataset.testLabels, r.predictions).length,
    };
  });
}

const TABLE_HEADER = [
  'norm',
  'params',
  'final train acc',
  'best train acc',
  'final test acc',
  'best test acc (epoch)',
  'final train loss',
  'final test loss',
  'gap (points)',
  's/epoch',
];

function tableRows(result: ComparisonResult): string[][] {
  return summaryRows(result).map((s, i) => [
    normName(result.runs[i]!),
    s.params.toLocaleString('en-US'),
    pct(s.finalTrainAccuracy),
    pct(s.bestTrainAccuracy),
    pct(s.finalTestAccuracy),
    Number.isFinite(s.bestTestAccuracy) ? `${pct(s.bestTestAccuracy)} (${s.bestTestEpoch})` : '-',
    num(s.finalTrainLoss),
    num(s.finalTestLoss),
    num(s.gapPoints, 2),
    num(s.secondsPerEpoch, 2),
  ]);
}

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function mdTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  return [
    `| ${header.map(mdEscape).join(' | ')} |`,
    `|${a.map((x) => (x === 'r' ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdEscape).join(' | ')} |`),
  ].join('\n');
}

/** The summary table (one row per norm), as markdown; the CLI prints it at the end of a run. */
export function markdownTable(result: ComparisonResult): string {
  return mdTable(TABLE_HEADER, tableRows(result));
}

function recipeRows(recipe: ComparisonResult['recipe']): string[][] {
  return Object.entries(recipe).map(([k, v]) => [k, String(v)]);
}

interface RunFiles {
  curves: string;
  grid: string;
  confusion: string;
  matrix: number[][];
}

function buildBlocks(result: ComparisonResult, files: { overlay: string; per: RunFiles[] }, misclassifiedCount: number): Block[] {
  const ds = result.dataset;
  const runs = result.runs;
  const testCount = ds.testLabels.length;
  const a = result.adapter;
  const b: Block[] = [];
  b.push({ kind: 'h1', text: `normlab: Batch vs Group vs Layer normalisation on ${ds.name}` });
  b.push({
    kind: 'p',
    text:
      `SeedNet trained once per norm (${runs.map((r) => r.norm).join(', ')}) with the same recipe, seed, initial weights and batch order, ` +
      `so that only the normalisation differs. Started ${result.startedAt}; ${result.totalSeconds.toFixed(1)} s in all; normlab ${result.normlabVersion}.`,
  });
  b.push({ kind: 'h2', text: 'Preset' });
  b.push({ kind: 'p', text: `Preset **${result.preset.name}**: ${result.preset.why}.`.replace(/\.\.$/, '.') });

  b.push({ kind: 'h2', text: 'Results' });
  b.push({ kind: 'table', header: TABLE_HEADER, rows: tableRows(result) });
  b.push({
    kind: 'p',
    text:
      'Accuracies are on the training set (averaged over each epoch, in training mode) and on the ' +
      `${testCount} test images (evaluation mode, after each epoch). Gap = final train accuracy minus final test accuracy, in points. ` +
      's/epoch = mean wall-clock seconds of an epoch\'s training, evaluation excluded.',
  });
  b.push({ kind: 'h2', text: 'Reading' });
  b.push({ kind: 'ul', items: readResults(result) });

  b.push({ kind: 'h2', text: 'Curves' });
  b.push({ kind: 'img', file: files.overlay, alt: 'accuracy and loss per epoch, all norms overlaid (train dashed, test solid)' });
  runs.forEach((r, i) => {
    b.push({ kind: 'h3', text: normName(r) });
    b.push({ kind: 'img', file: files.per[i]!.curves, alt: `${normName(r)}: train and test accuracy and loss per epoch` });
  });

  b.push({ kind: 'h2', text: 'Misclassified test images' });
  b.push({
    kind: 'p',
    text: `The first ${misclassifiedCount} misclassified test images of each norm, in test-file order, with the true and the predicted class.`,
  });
  runs.forEach((r, i) => {
    const errors = mistakes(ds.testLabels, r.predictions).length;
    const evaluated = Math.min(ds.testLabels.length, r.predictions.length);
    const rate = evaluated ? ` (${((100 * errors) / evaluated).toFixed(2)}%)` : '';
    b.push({ kind: 'h3', text: `${normName(r)}: ${errors} of ${evaluated} test images wrong${rate}` });
    b.push({ kind: 'img', file: files.per[i]!.grid, alt: `${normName(r)}: misclassified test images` });
  });

  b.push({ kind: 'h2', text: 'Confusion matrices' });
  b.push({ kind: 'p', text: 'Rows are the true class, columns the predicted class; recall = correct / images of the class.' });
  runs.forEach((r, i) => {
    const m = files.per[i]!.matrix;
    const rec = recalls(m);
    let worst = 0;
    rec.forEach((v, k) => {
      if (v < rec[worst]!) worst = k;
    });
    b.push({ kind: 'h3', text: normName(r) });
    b.push({ kind: 'img', file: files.per[i]!.confusion, alt: `${normName(r)}: confusion matrix` });
    if (Number.isFinite(rec[worst]!)) {
      b.push({ kind: 'p', text: `Hardest class: ${ds.classes[worst] ?? worst} (recall ${pct(rec[worst])}).` });
    }
    const md = confusionMarkdown(m, ds.classes);
    b.push({ kind: 'raw', md, html: mdTableToHtml(md) });
  });

  b.push({ kind: 'h2', text: 'Setup' });
  b.push({
    kind: 'table',
    header: ['item', 'value'],
    align: ['l', 'l'],
    rows: [
      ['dataset', `${ds.name} (${ds.source})`],
      ['images', `${ds.channels} x ${ds.height} x ${ds.width}; ${ds.trainCount} training, ${testCount} test`],
      ['classes', ds.classes.join(', ')],
      ['adapter', `${[a.vendor, a.architecture, a.device].filter(Boolean).join(' / ')}${a.description ? ` (${a.description})` : ''}`],
      ['adapter type', a.software ? 'software (CPU implementation)' : 'hardware GPU'],
      ['adapter features', a.features.length ? a.features.join(', ') : '-'],
      ['model', `SeedNet (SEEDNET.md); parameters: ${runs.map((r) => `${r.norm} ${r.params.toLocaleString('en-US')}`).join(', ')}`],
      ['checkpoints', runs.map((r) => r.checkpoint).join(', ')],
      ['metrics', 'metrics.json (every epoch of every norm)'],
    ],
  });
  b.push({ kind: 'h3', text: 'Recipe' });
  b.push({ kind: 'table', header: ['setting', 'value'], align: ['l', 'l'], rows: recipeRows(result.recipe) });
  return b;
}

// ---------------------------------------------------------------------------------------------
// Rendering.

function renderMarkdown(blocks: Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
        out.push(`# ${b.text}`);
        break;
      case 'h2':
        out.push(`## ${b.text}`);
        break;
      case 'h3':
        out.push(`### ${b.text}`);
        break;
      case 'p':
        out.push(b.text);
        break;
      case 'ul':
        out.push(b.items.map((i) => `- ${i}`).join('\n'));
        break;
      case 'table':
        out.push(mdTable(b.header, b.rows, b.align));
        break;
      case 'img':
        out.push(`![${b.alt}](${b.file})`);
        break;
      case 'raw':
        out.push(b.md);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Escapes, then turns **bold** into <strong>. */
function inlineHtml(s: string): string {
  return escapeHtml(s).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
}

function htmlTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const cls = (i: number) => (a[i] === 'r' ? ' class="r"' : '');
  const head = header.some((h) => h) ? `<thead><tr>${header.map((h, i) => `<th${cls(i)}>${inlineHtml(h)}</th>`).join('')}</tr></thead>` : '';
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inlineHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

/** A markdown table (as confusionMarkdown writes it) as an HTML table. */
function mdTableToHtml(md: string): string {
  const lines = md.split('\n').filter((l) => l.trim().startsWith('|'));
  const cells = (l: string) =>
    l
      .trim()
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|'));
  const header = cells(lines[0]!);
  const align = cells(lines[1]!).map((c) => (c.endsWith(':') ? 'r' : 'l') as 'l' | 'r');
  return htmlTable(header, lines.slice(2).map(cells), align);
}

const CSS = `
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1b1b1b; max-width: 1240px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.7em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.35em; margin-top: 2em; border-bottom: 1px solid #e4e4e4; padding-bottom: .2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #d8d8d8; padding: 4px 9px; text-align: left; }
th { background: #f3f5f8; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafbfc; }
img { max-width: 100%; height: auto; border: 1px solid #e6e6e6; display: block; margin: .8em 0; }
ul li { margin: .35em 0; }
`;

function renderHtml(blocks: Block[], images: Map<string, Buffer>, title: string): string {
  const body: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'h1':
      case 'h2':
      case 'h3':
        body.push(`<${b.kind}>${inlineHtml(b.text)}</${b.kind}>`);
        break;
      case 'p':
        body.push(`<p>${inlineHtml(b.text)}</p>`);
        break;
      case 'ul':
        body.push(`<ul>\n${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('\n')}\n</ul>`);
        break;
      case 'table':
        body.push(htmlTable(b.header, b.rows, b.align));
        break;
      case 'img': {
        const png = images.get(b.file);
        if (!png) throw new Error(`report: image ${b.file} was not rendered`);
        body.push(`<img alt="${escapeHtml(b.alt)}" title="${escapeHtml(b.file)}" src="data:image/png;base64,${png.toString('base64')}">`);
        break;
      }
      case 'raw':
        body.push(b.html);
        break;
    }
  }
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n` +
    `<style>${CSS}</style>\n</head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`
  );
}

// ---------------------------------------------------------------------------------------------

/** metrics.json: the result without the image and prediction arrays, with every epoch of every norm. */
export function metricsJson(result: ComparisonResult): unknown {
  const { testImages: _images, testLabels, ...dataset } = result.dataset;
  const summary = summaryRows(result);
  return {
    normlabVersion: result.normlabVersion,
    startedAt: result.startedAt,
    totalSeconds: result.totalSeconds,
    preset: result.preset,
    dataset: { ...dataset, classes: [...dataset.classes], testCount: testLabels.length },
    adapter: result.adapter,
    recipe: result.recipe,
    runs: result.runs.map((r, i) => ({
      norm: r.norm,
      groups: r.groups,
      params: r.params,
      checkpoint: r.checkpoint,
      summary: summary[i],
      epochs: r.epochs,
    })),
    reading: readResults(result),
  };
}

export interface WriteReportOptions {
  /** Misclassified images per norm (default 20). */
  misclassified?: number;
}

/**
 * Writes the report into `dir` (created if needed): report.md, report.html, metrics.json,
 * overlay.png and per norm curves-<norm>.png, misclassified-<norm>.png, confusion-<norm>.png.
 * Returns the paths written.
 */
export function writeReport(dir: string, result: ComparisonResult, options: WriteReportOptions = {}): { files: string[] } {
  mkdirSync(dir, { recursive: true });
  const count = options.misclassified ?? 20;
  const ds = result.dataset;
  const images = new Map<string, Buffer>();
  const stem = stems(result.runs);
  images.set('overlay.png', overlayPng(result.runs, `Batch vs Group vs Layer norm on ${ds.name}`));
  const per = result.runs.map((r, i): RunFiles => {
    // Classes: the dataset's, widened if a label or prediction lies beyond them.
    const K = Math.max(ds.classes.length, classCount(ds.testLabels), classCount(r.predictions), 1);
    const matrix = confusionMatrix(ds.testLabels, r.predictions, K);
    const names = { curves: `curves-${stem[i]}.png`, grid: `misclassified-${stem[i]}.png`, confusion: `confusion-${stem[i]}.png`, matrix };
    images.set(names.curves, curvesPng(r, `${normName(r)} on ${ds.name}: accuracy and loss per epoch`));
    images.set(names.grid, misclassifiedPng(ds, r, count));
    images.set(names.confusion, confusionPng(matrix, ds.classes, `${normName(r)}: confusion matrix (${ds.name} test)`));
    return names;
  });
  const blocks = buildBlocks(result, { overlay: 'overlay.png', per }, count);
  const title = `normlab: Batch vs Group vs Layer normalisation on ${ds.name}`;

  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    files.push(p);
  };
  write('report.md', renderMarkdown(blocks));
  write('report.html', renderHtml(blocks, images, title));
  write('metrics.json', `${JSON.stringify(metricsJson(result), null, 2)}\n`);
  for (const [name, png] of images) write(name, png);
  return { files };
}
