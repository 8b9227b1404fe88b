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
    result = syntheticResult(kind, 3, {}, { subset: 1000 });
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
    expect(grid.width).toBe(10 * 115 + 32); // 20 mistakes, ten per row
  });

  it('writes report.md with the table, reading, preset, recipe, adapter and relative image links', () => {
    const md = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(md).toContain(markdownTable(result));
    for (const f of EXPECTED.filter((f) => f.endsWith('.png'))) expect(md).toContain(`](${f})`);
    expect(md).toContain('Preset **quick**: software adapter (no GPU found)');
    expect(md).toContain('llvmpipe (LLVM 17.0.6, 256 bits)');
    expect(md).toMatch(/\| batchSize \| 128 \|/);
    expect(md).toContain('Batch norm has the best final test accuracy');
    expect(md).toContain('short run (3 epochs on 1000 training images)');
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
    expect(srcs).toHaveLength(10);
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

  it('writes metrics.json with every epoch of every norm and no big arrays', () => {
    const m = JSON.parse(readFileSync(join(dir, 'out', 'metrics.json'), 'utf8'));
    expect(m.runs).toHaveLength(3);
    for (const [i, run] of m.runs.entries()) {
      expect(run.epochs).toHaveLength(3);
      expect(run.epochs).toEqual(result.runs[i]!.epochs);
      expect(run.summary.finalTestAccuracy).toBe(result.runs[i]!.epochs[2]!.testAccuracy);
      expect(run.predictions).toBeUndefined();
    }
    expect(m.dataset.testImages).toBeUndefined();
    expect(m.dataset.testLabels).toBeUndefined();
    expect(m.dataset.testCount).toBe(60);
    expect(m.dataset.classes).toEqual([...classes]);
    expect(m.recipe.subset).toBe(1000);
    expect(m.preset.name).toBe('quick');
    expect(m.adapter.software).toBe(true);
    expect(m.reading.length).toBeGreaterThan(3);
  });
});

describe('markdownTable', () => {
  it('has one row per norm with params, accuracies, losses, gap and seconds per epoch', () => {
    const lines = markdownTable(syntheticResult('cifar', 3)).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe(
      '| norm | params | final train acc | best train acc | final test acc | best test acc (epoch) | final train loss | final test loss | gap (points) | s/epoch |',
    );
    expect(lines[2]).toBe('| batch norm | 39,668 | 95.00% | 95.00% | 91.00% | 91.00% (3) | 0.3000 | 0.4000 | 4.00 | 10.00 |');
    expect(lines[3]).toContain('| group norm (G=4) | 39,668 |');
  });
});

describe('writeReport edge cases', () => {
  it('handles two runs of the same norm, a single epoch and a run without mistakes', () => {
    const r = syntheticResult('fashion', 1);
    r.runs = [r.runs[1]!, { ...r.runs[1]!, groups: 8, predictions: r.dataset.testLabels.slice() }];
    const { dir, files } = write(r);
    try {
      const names = files.map((f) => basename(f));
      expect(names).toContain('curves-group-g4.png');
      expect(names).toContain('misclassified-group-g8.png');
      expect(readFileSync(join(dir, 'out', 'report.md'), 'utf8')).toContain('group norm (G=8): 0 of 60 test images wrong (0.00%)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
