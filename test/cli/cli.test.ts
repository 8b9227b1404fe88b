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
import { normlab, normlabAsync, normlabWithEnv, ourErrors, writeCifarDir } from '../helpers/cli.js';
import { NORMLAB_VERSION } from '../../src/version.js';

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
  it('prints --help for every command and exits 0', async () => {
    for (const c of commands) {
      const r = await normlab(c.name, '--help');
      expect(r.status, c.name).toBe(0);
      expect(r.stdout, c.name).toContain(c.usage);
      for (const f of c.flags) expect(r.stdout, `${c.name} --${f.name}`).toContain(`--${f.name}`);
    }
    const top = await normlab('--help');
    expect(top.status).toBe(0);
    for (const c of commands) expect(top.stdout).toContain(c.name);
  });

  it('answers an unknown command, an unknown flag and a bad value with one line and the usage, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^normlab: unknown command 'frobnicate'$/],
      [['train', '--epoch', '3'], /^normlab train: .*--epoch/],
      [['train', '--epochs', 'three'], /^normlab train: .*--epochs/],
      [['compare', '--norms', 'batch,ghost'], /^normlab compare: .*ghost/],
      [['sweep', 'batch-size', '--sizes', '0,2'], /^normlab sweep: --sizes: '0' is not a batch size/],
      [['sweep', 'batch-size', '--sizes', '2.5'], /^normlab sweep: --sizes: '2.5' is not a batch size/],
      [['sweep', 'batch-size', '--shard', '3/2'], /^normlab sweep: --shard '3\/2'/],
      [['train', '--ghost-batch', '3', '--batch-size', '8'], /^normlab train: --ghost-batch 3 does not divide --batch-size 8/],
      [['compare', '--seeds', ''], /^normlab compare: --seeds/],
      [['compare', '--seeds', ' '], /^normlab compare: --seeds ' ': empty/],
      [['compare', '--seeds=-1'], /^normlab compare: --seeds '-1': '-1' is negative/],
      [['compare', '--seeds', '0,1,0'], /^normlab compare: --seeds '0,1,0': seed 0 is repeated/],
      [['compare', '--seeds', '1.5'], /^normlab compare: --seeds '1\.5': '1\.5' is not a non-negative integer/],
      [['compare', '--seeds', 'two'], /^normlab compare: --seeds 'two'/],
      [['compare', '--seeds', '101'], /^normlab compare: --seeds '101': more than 100 seeds/],
      [['compare', '--seeds', '0-100'], /^normlab compare: --seeds '0-100': more than 100 seeds/],
      [['compare', '--seeds', '0'], /^normlab compare: --seeds '0': a count of at least 1/],
      [['compare', '--seed', '3'], /^normlab compare: unknown flag '--seed' \(did you mean --seeds\?\)/],
      [['compare', '--resume', '/tmp', '--epochs', '2'], /^normlab compare: --resume continues the saved comparison; it takes only --data and --misclassified \(not --epochs\)/],
      [['report'], /^normlab report: missing DIR/],
      [['bench', '--only', '(['], /^normlab bench: --only/],
      [['bench', '--variants', '--ids', 'tile-direct,nonsense'], /^normlab bench: --ids: no convolution row or option 'nonsense' \(rows: naive-generic/],
      [['bench', '--variants', '--norms', 'batch,ghost'], /^normlab bench: --norms: no norm 'ghost'/],
      [['info', '--adapter', 'radv'], /^normlab info: --adapter: unknown adapter 'radv' \(expected one of lavapipe, lavapipe4/],
    ];
    for (const [args, first] of cases) {
      const r = await normlab(...args);
      expect(r.status, args.join(' ')).toBe(2);
      const lines = ourErrors(r);
      expect(lines[0], args.join(' ')).toMatch(first);
      expect(r.stderr, args.join(' ')).toMatch(/Usage: normlab/);
      expect(r.stderr, args.join(' ')).not.toMatch(/^\s+at /m);
    }
  });

  it('info --kernels names the kernel-table row of every SeedNet pass, and follows NORMLAB_CONV_OFF', async () => {
    const r = await normlab('info', '--kernels', '--json');
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { subgroupLanes: number; convKernels: { input: string; layer: string; pass: string; row: string; options: string[]; why: string; inTraining: boolean }[] };
    // 10 convolutions x 3 passes x 2 inputs; b1's input gradient is never computed in training.
    expect(info.convKernels).toHaveLength(60);
    expect(info.convKernels.filter((k) => !k.inTraining).map((k) => `${k.input} ${k.layer} ${k.pass}`)).toEqual(['3x32x32 b1 input', '1x28x28 b1 input']);
    const b2 = info.convKernels.find((k) => k.input === '3x32x32' && k.layer === 'b2' && k.pass === 'forward')!;
    expect(b2.row).toBe(info.subgroupLanes > 0 ? 'sg3x3-tile' : 'tiled');
    for (const k of info.convKernels) expect(k.why.length, k.row).toBeGreaterThan(0);
    const text = await normlab('info', '--kernels');
    expect(text.stdout).toMatch(/convolution kernels for SeedNet at batch 128/);
    expect(text.stdout).toMatch(/^ {2}c10 {3}weight {3}\S+/m);
    if (info.subgroupLanes > 0) {
      expect(b2.options).toContain('tile-direct');
      const off = await normlabWithEnv({ NORMLAB_CONV_OFF: 'tile-direct' }, 'info', '--kernels');
      expect(off.status, off.stderr).toBe(0);
      expect(off.stdout).toMatch(/switched off \(NORMLAB_CONV_OFF\): tile-direct/);
      expect(off.stdout).not.toMatch(/tile-direct {2}/);
    }
    const bad = await normlabWithEnv({ NORMLAB_CONV_OFF: 'nonsense' }, 'info', '--kernels');
    expect(bad.status).not.toBe(0);
    expect(ourErrors(bad)[0]).toMatch(/NORMLAB_CONV_OFF: no convolution row or option 'nonsense'/);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
  });

  it('--adapter and NORMLAB_ADAPTER choose the Vulkan driver, and info says which and its subgroup sizes', async () => {
    type Info = { adapter: { description: string }; obtainedVia: string; subgroups: { minSize: number | null; convolutionLanes: number } };
    for (const [name, lanes, description] of [['lavapipe4', 4, /llvmpipe/], ['lavapipe16', 16, /llvmpipe/], ['swiftshader', 4, /SwiftShader/]] as const) {
      const driver = name === 'swiftshader' ? '/usr/lib/chromium/vk_swiftshader_icd.json' : '/usr/share/vulkan/icd.d/lvp_icd.json';
      if (!existsSync(driver)) {
        console.warn(`skipped --adapter ${name}: no ${driver} on this machine`);
        continue;
      }
      const r = name === 'lavapipe16' ? await normlabWithEnv({ NORMLAB_ADAPTER: name }, 'info', '--json') : await normlab('info', '--adapter', name, '--json');
      expect(r.status, r.stderr).toBe(0);
      const info = JSON.parse(r.stdout) as Info;
      expect(info.adapter.description, name).toMatch(description);
      expect(info.obtainedVia).toContain(`NORMLAB_ADAPTER=${name}`);
      expect(info.subgroups.minSize, name).toBe(lanes);
      // The subgroup convolution kernels need 8 lanes or more; narrower adapters run the tiled ones.
      expect(info.subgroups.convolutionLanes, name).toBe(lanes >= 8 ? lanes : 0);
    }
    const bad = await normlabWithEnv({ NORMLAB_ADAPTER: 'radv' }, 'info');
    expect(bad.status).toBe(1);
    expect(ourErrors(bad)).toEqual([expect.stringMatching(/unknown adapter 'radv'/)]);
  });

  it("states the package's version, as comparison directories record it", () => {
    expect(NORMLAB_VERSION).toBe(JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
  });

  it('refuses a missing or corrupt checkpoint in one line, without a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'normlab-cli-'));
    try {
      const bad = join(dir, 'bad.safetensors');
      writeFileSync(bad, 'not a checkpoint at all');
      for (const path of [join(dir, 'missing.safetensors'), bad]) {
        const r = await normlab('eval', '--checkpoint', path);
        expect(r.status, path).toBe(1);
        const lines = ourErrors(r);
        expect(lines, path).toHaveLength(1);
        expect(lines[0]).toContain(path);
      }
      // normlab report given a directory that is not a comparison: one line naming it, exit 1.
      const r = await normlab('report', dir);
      expect(r.status).toBe(1);
      expect(ourErrors(r)).toEqual([`normlab report: ${dir}: not a comparison directory (no comparison.json; \`normlab compare --out ${dir}\` writes one)`]);
      expect((await normlab('compare', '--resume', join(dir, 'nothing'))).status).toBe(1);
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

    it('compare writes the whole report with CIFAR-10 class names; eval and predict read its checkpoints', async () => {
      const report = join(dir, 'report');
      const r = await normlabAsync('compare', '--data', data, '--norms', 'batch,group', '--seeds', '0,1', '--epochs', '2', '--batch-size', '32', '--out', report);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/preset/);
      expect(r.stderr).toMatch(/What it can resolve: with 2 seeds, a paired difference reads as separated only when it exceeds 8\.98 times/);
      expect(r.stderr).toMatch(/\[4\/4 group seed 1, all ~\S+ left\] /);
      // The table ends the run on stdout.
      expect(r.stdout).toMatch(/^\| batch norm \| 2 \| \d+\.\d\d% \| \[/m);
      expect(r.stdout).toMatch(/^\| group norm \(G=4\) \| 2 \|/m);

      for (const f of ['report.md', 'report.html', 'metrics.json', 'overlay.png', 'test-accuracy.png', 'comparison.json']) expect(existsSync(join(report, f)), f).toBe(true);
      for (const norm of ['batch', 'group']) {
        for (const seed of [0, 1]) {
          for (const f of [`checkpoints/${norm}-seed${seed}.safetensors`, `predictions/${norm}-seed${seed}.csv`, `results/${norm}-seed${seed}.json`]) expect(existsSync(join(report, f)), f).toBe(true);
        }
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
      expect(metrics.stats.runs).toHaveLength(4);
      expect(metrics.stats.pairs[0].mcnemar.map((m: { seed: number }) => m.seed)).toEqual([0, 1]);
      // The predictions CSV is what eval --predictions writes, and its accuracy is the one reported.
      const csvRows = readFileSync(join(report, 'predictions/batch-seed1.csv'), 'utf8').trim().split('\n');
      expect(csvRows[0]).toBe('index,label,predicted');
      const right = csvRows.slice(1).filter((l) => l.split(',')[1] === l.split(',')[2]).length;
      expect(metrics.stats.runs.find((x: { norm: string; seed: number }) => x.norm === 'batch' && x.seed === 1).testAccuracy).toBe(right / 30);

      // Another machine's seed 2, merged by normlab report into the report of seeds 0-2.
      const other = join(dir, 'report-seed2');
      expect((await normlabAsync('compare', '--data', data, '--norms', 'batch,group', '--seeds', '2-2', '--epochs', '2', '--batch-size', '32', '--out', other)).status).toBe(0);
      const merged = join(dir, 'merged');
      const m = await normlab('report', report, other, '--out', merged);
      expect(m.status, m.stderr).toBe(0);
      expect(m.stderr).toContain('6 runs (batch, group; seeds 0, 1, 2)');
      const mm = JSON.parse(readFileSync(join(merged, 'metrics.json'), 'utf8'));
      const o = JSON.parse(readFileSync(join(other, 'metrics.json'), 'utf8'));
      expect(mm.seeds).toEqual([0, 1, 2]);
      const key = (x: { norm: string; seed: number }) => `${x.norm}/${x.seed}`;
      // Each run's own figures are the same; the difficulty of a mistake counts all runs, so it moves.
      const own = (x: { mistakeDifficulty?: unknown; mistakeDifficulty95?: unknown }) => ({ ...x, mistakeDifficulty: 0, mistakeDifficulty95: 0 });
      expect(mm.stats.runs.filter((x: { seed: number }) => x.seed < 2).map(own)).toEqual(metrics.stats.runs.map(own));
      expect(mm.stats.runs.filter((x: { seed: number }) => x.seed === 2).map(key)).toEqual(o.stats.runs.map(key));
      expect(mm.stats.runs.filter((x: { seed: number }) => x.seed === 2).map(own)).toEqual(o.stats.runs.map(own));
      // The same directories again overlap; a directory that holds a comparison is not overwritten.
      expect(ourErrors(await normlab('report', report, merged, '--out', join(dir, 'm2')))[0]).toMatch(/^normlab report: .*batch seed 0 is also in /);
      const again = await normlabAsync('compare', '--data', data, '--norms', 'batch', '--seeds', '1', '--epochs', '1', '--out', report);
      expect(again.status).toBe(1);
      expect(ourErrors(again)[0]).toMatch(/already holds a comparison; continue it with --resume/);

      // A run lost (as if killed before it finished) is trained again by --resume, to the same result.
      rmSync(join(report, 'results/group-seed1.json'));
      const resumed = await normlabAsync('compare', '--resume', report);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain('3 of 4 runs already finished');
      expect(JSON.parse(readFileSync(join(report, 'metrics.json'), 'utf8')).stats).toEqual(metrics.stats);

      // eval --json and --predictions on the checkpoint compare wrote.
      const csv = join(dir, 'pred.csv');
      const e = await normlab('eval', '--checkpoint', join(report, 'checkpoints/batch-seed0.safetensors'), '--data', data, '--json', '--predictions', csv);
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
      const p = await normlab('predict', '--checkpoint', join(report, 'checkpoints/group-seed0.safetensors'), img);
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toContain(img);
      expect(CIFAR10_CLASSES.some((c) => p.stdout.includes(c))).toBe(true);
      expect(p.stdout).toMatch(/\d+(\.\d+)?%/);
    });

    it('train --out writes model.safetensors and metrics.json', async () => {
      const out = join(dir, 'train');
      const r = await normlab('train', '--data', data, '--norm', 'layer', '--epochs', '1', '--batch-size', '50', '--out', out);
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
