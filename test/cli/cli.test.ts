// The CLI as a user meets it: the built bin/normlab.js in a child process, with its exit codes and
// output. The end-to-end part runs compare, eval, predict and train on a small CIFAR-10-format
// dataset the test writes in the real binary format.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { commands } from '../../src/cli/commands/index.js';
import { CIFAR10_CLASSES } from '../../src/train/data/cifar10.js';
import { normlab, ourErrors, writeCifarDir } from '../helpers/cli.js';

function pngImage(path: string, w: number, h: number): void {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) {
    png.data[4 * i] = (i * 7) % 256;
    png.data[4 * i + 1] = (i * 3) % 256;
    png.data[4 * i + 2] = 128;
    png.data[4 * i + 3] = 255;
  }
  writeFileSync(path, PNG.sync.write(png));
}

describe('normlab CLI', () => {
  it('prints --help for every command and exits 0', () => {
    for (const c of commands) {
      const r = normlab(c.name, '--help');
      expect(r.status, c.name).toBe(0);
      expect(r.stdout, c.name).toContain(c.usage);
      for (const f of c.flags) expect(r.stdout, `${c.name} --${f.name}`).toContain(`--${f.name}`);
    }
    const top = normlab('--help');
    expect(top.status).toBe(0);
    for (const c of commands) expect(top.stdout).toContain(c.name);
  });

  it('answers an unknown command, an unknown flag and a bad value with one line and the usage, exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^normlab: unknown command 'frobnicate'$/],
      [['train', '--epoch', '3'], /^normlab train: .*--epoch/],
      [['train', '--epochs', 'three'], /^normlab train: .*--epochs/],
      [['compare', '--norms', 'batch,instance'], /^normlab compare: .*instance/],
      [['bench', '--only', '(['], /^normlab bench: --only/],
    ];
    for (const [args, first] of cases) {
      const r = normlab(...args);
      expect(r.status, args.join(' ')).toBe(2);
      const lines = ourErrors(r);
      expect(lines[0], args.join(' ')).toMatch(first);
      expect(r.stderr, args.join(' ')).toMatch(/Usage: normlab/);
      expect(r.stderr, args.join(' ')).not.toMatch(/^\s+at /m);
    }
  });

  it('refuses a missing or corrupt checkpoint in one line, without a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    try {
      const bad = join(dir, 'bad.safetensors');
      writeFileSync(bad, 'not a checkpoint at all');
      for (const path of [join(dir, 'missing.safetensors'), bad]) {
        const r = normlab('eval', '--checkpoint', path);
        expect(r.status, path).toBe(1);
        const lines = ourErrors(r);
        expect(lines, path).toHaveLength(1);
        expect(lines[0]).toContain(path);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('end to end on CIFAR-10-format files', () => {
    let dir = '';
    let data = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'normlab-e2e-'));
      data = writeCifarDir(join(dir, 'cifar'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('compare writes the whole report with CIFAR-10 class names; eval and predict read its checkpoints', () => {
      const report = join(dir, 'report');
      const r = normlab('compare', '--data', data, '--norms', 'batch,group', '--epochs', '2', '--batch-size', '32', '--out', report);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/preset/);
      // The table ends the run on stdout.
      expect(r.stdout).toMatch(/^\| batch norm \| 39,668 \|/m);
      expect(r.stdout).toMatch(/^\| group norm \(G=4\) \| 39,668 \|/m);

      for (const f of ['report.md', 'report.html', 'metrics.json', 'overlay.png', 'batch.safetensors', 'group.safetensors']) {
        expect(existsSync(join(report, f)), f).toBe(true);
      }
      for (const norm of ['batch', 'group']) {
        for (const kind of ['curves', 'misclassified', 'confusion']) {
          const png = PNG.sync.read(readFileSync(join(report, `${kind}-${norm}.png`)));
          expect(png.width * png.height, `${kind}-${norm}`).toBeGreaterThan(10_000);
        }
      }
      const md = readFileSync(join(report, 'report.md'), 'utf8');
      for (const name of ['airplane', 'automobile', 'truck']) expect(md).toContain(name);
      expect(md).not.toContain('T-shirt');
      const html = readFileSync(join(report, 'report.html'), 'utf8');
      expect(html).toContain('data:image/png;base64,');
      const metrics = JSON.parse(readFileSync(join(report, 'metrics.json'), 'utf8'));
      expect(JSON.stringify(metrics)).toContain('"batch"');

      // eval --json and --predictions on the checkpoint compare wrote.
      const csv = join(dir, 'pred.csv');
      const e = normlab('eval', '--checkpoint', join(report, 'batch.safetensors'), '--data', data, '--json', '--predictions', csv);
      expect(e.status, e.stderr).toBe(0);
      const res = JSON.parse(e.stdout.trim().split('\n').pop()!);
      expect(res.n).toBe(30);
      expect(res.accuracy).toBeGreaterThanOrEqual(0);
      expect(res.accuracy).toBeLessThanOrEqual(1);
      expect(Number.isFinite(res.loss)).toBe(true);
      const rows = readFileSync(csv, 'utf8').trim().split('\n');
      expect(rows[0]).toBe('index,label,predicted');
      expect(rows).toHaveLength(31);
      const correct = rows.slice(1).filter((l) => {
        const [, label, pred] = l.split(',');
        return label === pred;
      }).length;
      expect(correct / 30).toBeCloseTo(res.accuracy, 10);

      // predict on a PNG of another size: resized to 32x32 RGB, top classes by name.
      const img = join(dir, 'img.png');
      pngImage(img, 40, 24);
      const p = normlab('predict', '--checkpoint', join(report, 'group.safetensors'), img);
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toContain(img);
      expect(CIFAR10_CLASSES.some((c) => p.stdout.includes(c))).toBe(true);
      expect(p.stdout).toMatch(/\d+(\.\d+)?%/);
    });

    it('train --out writes model.safetensors and metrics.json', () => {
      const out = join(dir, 'train');
      const r = normlab('train', '--data', data, '--norm', 'layer', '--epochs', '1', '--batch-size', '50', '--out', out);
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
      const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
      const rows = Array.isArray(m) ? m : m.epochs;
      expect(rows).toHaveLength(1);
      expect(rows[0].epoch).toBe(1);
      expect(Number.isFinite(rows[0].testLoss ?? rows[0].test_loss)).toBe(true);
    });
  });
});
