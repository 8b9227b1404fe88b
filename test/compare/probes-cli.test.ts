// --probe-every through the CLI: compare writes each run's probes file, records what they cost in
// the run's results, and its report and output carry the "Inside the network" section and reading;
// train appends DIR/probes.csv.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normlabAsync, writeCifarDir } from '../helpers/cli.js';
import { readProbeCsv } from '../../src/compare/probe-files.js';

let root = '';
let data = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'normlab-probes-cli-'));
  data = writeCifarDir(join(root, 'cifar'), 8, 30);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('--probe-every', () => {
  it('compare: a probes file per run, their cost in the results, the report section and the reading', async () => {
    const dir = join(root, 'cmp');
    // 40 images at batch 10: 4 steps; probes after steps 0 and 2.
    const r = await normlabAsync('compare', '--norms', 'none,batch', '--seeds', '1', '--epochs', '1', '--batch-size', '10', '--subset', '40', '--test-subset', '30', '--probe-every', '2', '--data', data, '--out', dir);
    expect(r.status, r.stderr).toBe(0);
    for (const norm of ['none', 'batch']) {
      const steps = readProbeCsv(join(dir, 'probes', `${norm}-seed0.csv`));
      expect(steps.map((s) => s.step)).toEqual([0, 2]);
      const rec = JSON.parse(readFileSync(join(dir, 'results', `${norm}-seed0.json`), 'utf8'));
      expect(rec.probes).toMatchObject({ file: `probes/${norm}-seed0.csv`, every: 2, steps: 2 });
      expect(rec.probes.seconds).toBeGreaterThan(0);
      expect(rec.probes.seconds).toBeLessThan(rec.probes.trainingSeconds);
      expect(r.stderr).toMatch(new RegExp(`${norm} seed 0.*probes every 2 steps: 2 probe steps took .* of training \\(\\d+%\\)`));
    }
    expect(JSON.parse(readFileSync(join(dir, 'comparison.json'), 'utf8')).recipe.probeEvery).toBe(2);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/## Inside the network \(probes\)/);
    for (const f of ['probes-layers.png', 'probes-landscape.png']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(r.stdout).toMatch(/Inside the network \(probes\):\n- In this run batch norm's internal covariate shift is .* no normalisation's/);
  }, 240_000);

  it('train: DIR/probes.csv and the share printed', async () => {
    const dir = join(root, 'train');
    const r = await normlabAsync('train', '--norm', 'group', '--epochs', '2', '--batch-size', '10', '--subset', '40', '--probe-every', '3', '--data', data, '--out', dir);
    expect(r.status, r.stderr).toBe(0);
    // 8 steps over two epochs: probes after steps 0, 3 and 6.
    expect(readProbeCsv(join(dir, 'probes.csv')).map((s) => [s.step, s.epoch])).toEqual([[0, 1], [3, 1], [6, 2]]);
    expect(r.stderr).toMatch(/probes every 3 steps: 3 probe steps took .*; written to .*probes\.csv/);
  }, 240_000);
});
