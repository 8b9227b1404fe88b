import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { PNG } from 'pngjs';
import { writeReport, markdownTable } from '../../src/report/report.js';
import { syntheticResult, CIFAR_CLASSES, FASHION_CLASSES } from './synthetic.js';
import type { ComparisonResult } from '../../src/report/types.js';

const EXPECTED = [
  'report.md',
  'report.html',
  'metrics.json',
  'overlay.png',
  'test-accuracy.png',
  ...['batch', 'group', 'layer'].flatMap((n) => [`curves-${n}.png`, `misclassified-${n}.png`, `confusion-${n}.png`]),
];

function write(result: ComparisonResult): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'normlab-report-'));
  return { dir, files: writeReport(join(dir, 'out'), result).files };
}

describe.each([
  ['fashion', 1, 28, FASHION_CLASSES],
  ['cifar', 3, 32, CIFAR_CLASSES],
] as const)('writeReport (%s: %i x %i x %i)', (kind, channels, size, classes) => {
  let dir = '';
  let files: string[] = [];
  let result: ComparisonResult;
  beforeAll(() => {
    const two = (t: number[], gap: number) => t.map((x) => ({ finalTest: x, finalTrain: x + gap }));
    result = syntheticResult(kind, 3, { batch: two([0.91, 0.915], 0.04), group: two([0.89, 0.893], 0.01), layer: two([0.88, 0.882], 0.005) }, { subset: 1000 }, { seeds: [0, 1] });
    expect(result.dataset.channels).toBe(channels);
    expect(result.dataset.height).toBe(size);
    ({ dir, files } = write(result));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  it('writes every file', () => {
    expect(files.map((f) => basename(f)).sort()).toEqual([...EXPECTED].sort());
    for (const f of files) expect(existsSync(f)).toBe(true);
  });

  it('writes PNGs that decode', () => {
    for (const f of files.filter((f) => f.endsWith('.png'))) {
      const png = PNG.sync.read(readFileSync(f));
      expect(png.width).toBeGreaterThan(300);
      expect(png.height).toBeGreaterThan(100);
    }
    const grid = PNG.sync.read(readFileSync(join(dir, 'out', 'misclassified-batch.png')));
    expect(grid.width).toBeGreaterThanOrEqual(10 * 115 + 32); // 20 mistakes, ten per row
  });

  it('writes report.md with the table, reading, preset, recipe, adapter and relative image links', () => {
    const md = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(md).toContain(markdownTable(result));
    for (const f of EXPECTED.filter((f) => f.endsWith('.png'))) expect(md).toContain(`](${f})`);
    expect(md).toContain('Preset **quick**: software adapter (no GPU found)');
    expect(md).toContain('llvmpipe (LLVM 17.0.6, 256 bits)');
    expect(md).toMatch(/\| batchSize \| 128 \|/);
    expect(md).toMatch(/Batch norm leads layer norm by 3\.17 points of test accuracy, 95% CI \[\d+\.\d\d, \d+\.\d\d\] \(paired over 2 seeds\)/);
    expect(md).toContain('Caveat: 3 epochs on 1000 training images is a short budget');
    expect(md).toContain("## The seed experiment's claims, tested");
    expect(md).toMatch(/\| Ranking of test accuracy: group norm above batch norm above layer norm \| GN 70\.00%, BN 69\.77%, LN 69\.29%/);
    expect(md).toContain('| batch norm | 80.03% / 69.77% | 10.26 |');
    expect(md).toMatch(/\| batch norm - group norm \(G=4\) \| 2 \| 2\.08 \| \[/);
    expect(md).toContain('### Every run');
    // Confusion tables with the dataset's class names, one per norm.
    expect(md.match(/\| true \\ predicted \|/g)).toHaveLength(3);
    for (const c of classes) expect(md).toContain(c.replace('|', '\\|'));
    expect(md).toContain(`${channels} x ${size} x ${size}`);
  });

  it('writes a self-contained report.html with the images embedded', () => {
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<(script|link|iframe)/i);
    const srcs = [...html.matchAll(/src="([^"]*)"/g)].map((m) => m[1]!);
    expect(srcs).toHaveLength(11);
    for (const s of srcs) {
      expect(s.startsWith('data:image/png;base64,')).toBe(true);
      const png = PNG.sync.read(Buffer.from(s.slice('data:image/png;base64,'.length), 'base64'));
      expect(png.width).toBeGreaterThan(300);
    }
    expect(html).toContain('<style>');
    expect(html).toContain('<table>');
    expect(html).toContain(classes[1]);
    expect(html).toContain('<strong>quick</strong>');
  });

  it('writes metrics.json with every epoch of every run, the statistics and the claims, and no big arrays', () => {
    const m = JSON.parse(readFileSync(join(dir, 'out', 'metrics.json'), 'utf8'));
    expect(m.runs).toHaveLength(6);
    for (const [i, run] of m.runs.entries()) {
      expect(run.epochs).toHaveLength(3);
      expect(run.epochs).toEqual(result.runs[i]!.epochs);
      expect(run.predictions).toBe(`predictions/${run.norm}-seed${run.seed}.csv`);
    }
    expect(m.seeds).toEqual([0, 1]);
    expect(m.dataset.testImages).toBeUndefined();
    expect(m.dataset.testLabels).toBeUndefined();
    expect(m.dataset.testCount).toBe(600);
    expect(m.dataset.classes).toEqual([...classes]);
    expect(m.recipe.subset).toBe(1000);
    expect(m.preset.name).toBe('quick');
    expect(m.adapters[0].software).toBe(true);
    expect(m.reading.length).toBeGreaterThan(3);
    // The schema: stats.runs, stats.norms, stats.pairs with their intervals and tests.
    expect(Object.keys(m.stats.runs[0])).toEqual(expect.arrayContaining(['norm', 'seed', 'testAccuracy', 'wilson95']));
    expect(Object.keys(m.stats.norms[0])).toEqual(expect.arrayContaining(['norm', 'seeds', 'mean', 'sd', 'ci95']));
    expect(Object.keys(m.stats.pairs[0])).toEqual(expect.arrayContaining(['a', 'b', 'meanDiff', 'ci95', 'mcnemar']));
    expect(Object.keys(m.stats.pairs[0].mcnemar[0])).toEqual(['seed', 'b01', 'b10', 'p']);
    expect(m.stats.runs[0].wilson95).toHaveLength(2);
    expect(m.claims).toHaveLength(5);
    expect(m.claims.map((c: { verdict: string }) => c.verdict).every((v: string) => ['supported', 'contradicted', 'not separated', 'not tested'].includes(v))).toBe(true);
  });
});

describe('markdownTable', () => {
  it('has one row per norm with seeds, the mean test accuracy and its interval, train accuracies, the gap and its interval', () => {
    const lines = markdownTable(syntheticResult('cifar', 3, {}, {}, { seeds: [0, 1, 2] })).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('| norm | seeds | test acc (mean) | 95% CI | sd (points) | train acc, eval mode | running train acc | gap (points) | gap 95% CI | test loss | s/epoch |');
    // Identical seeds: a zero-width interval, marked as such.
    expect(lines[2]).toMatch(/^\| batch norm \| 3 \| 91\.00% \| \[91\.00, 91\.00\] \(no spread\) \| 0\.00 \| 95\.00% \| 94\.00% \| 4\.00 \| \[4\.00, 4\.00\] \(no spread\) \| 0\.4000 \| 10\.00 \|$/);
    expect(lines[3]).toContain('| group norm (G=4) | 3 |');
    // One seed: the run's own Wilson interval, marked.
    expect(markdownTable(syntheticResult('cifar', 3)).split('\n')[2]).toMatch(/\| batch norm \| 1 \| 91\.00% \| \[\d+\.\d\d, \d+\.\d\d\] \(one run\) \| - \|/);
  });
});

describe('writeReport edge cases', () => {
  it('handles one norm, a single epoch and a run without mistakes', () => {
    const r = syntheticResult('fashion', 1, {}, {}, { norms: ['group'] });
    r.runs = [{ ...r.runs[0]!, predictions: r.dataset.testLabels.slice() }];
    const { dir, files } = write(r);
    try {
      const names = files.map((f) => basename(f));
      expect(names).toContain('curves-group.png');
      expect(names).toContain('misclassified-group.png');
      expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toContain('group norm (G=4), seed 0: 0 of 600 test images wrong (0.00%)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows batch norm's test accuracy under its three statistics when the runs carry the audit, and nothing without it", () => {
    const r = syntheticResult('fashion', 1, {}, {}, { seeds: [0, 1] });
    const plain = write(r);
    r.runs = r.runs.map((x) => (x.norm === 'batch' ? { ...x, bnStats: { running: 0.8, precise: 0.8125 + x.seed / 100, batch: 0.7, preciseImages: 2000, batchSize: 2 } } : x));
    const audited = write(r);
    try {
      expect(readFileSync(join(plain.dir, 'out', 'report.md'), 'utf8')).not.toContain("Batch norm's statistics");
      const md = readFileSync(join(audited.dir, 'out', 'report.md'), 'utf8');
      expect(md).toContain("## Batch norm's statistics");
      expect(md).toMatch(/\| 1 \| 80\.00% \| 82\.25% \| 70\.00% \| 2\.25 \|/);
      expect(md).toContain('each test batch of 2 images');
    } finally {
      for (const d of [plain.dir, audited.dir]) rmSync(d, { recursive: true, force: true });
    }
  });
});
