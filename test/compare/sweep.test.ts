// The batch-size sweep (src/compare/sweep.ts, `normlab sweep batch-size`): learning rates and step
// counts per size; shards that cover every (norm, size, seed) exactly once; and, with real training
// on a tiny CIFAR-format dataset, a sweep killed and resumed that ends as the uninterrupted one, and
// two shards that `normlab report` merges into the whole.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lrFor, parseShard, shardRuns, stepsPerEpoch, sweepRuns, BASE_BATCH } from '../../src/compare/sweep.js';
import { normlab, normlabAsync, normlabChild, ourErrors, until, writeCifarDir } from '../helpers/cli.js';

describe('the sweep plan', () => {
  it('scales the learning rate linearly from the base at batch 128, or keeps it', () => {
    const m = { lrScaling: 'linear' as const, baseLr: 0.1, baseBatch: BASE_BATCH };
    expect([2, 32, 128].map((b) => lrFor(m, b))).toEqual([0.1 * 2 / 128, 0.1 * 32 / 128, 0.1]);
    expect(lrFor({ ...m, lrScaling: 'none' }, 2)).toBe(0.1);
  });

  it('takes more steps at smaller batches over the same epochs (the last batch may be short)', () => {
    expect([2, 4, 8, 16, 32, 64, 128].map((b) => stepsPerEpoch(2000, b))).toEqual([1000, 500, 250, 125, 63, 32, 16]);
  });

  it('shards cover every (size, norm, seed) exactly once, for any number of parts', () => {
    const m = { sizes: [2, 4, 8], norms: ['batch', 'group', 'none'] as ('batch' | 'group' | 'none')[], seeds: [0, 1] };
    const all = sweepRuns(m).map((r) => `${r.point.batchSize}/${r.norm}/${r.seed}`);
    expect(new Set(all).size).toBe(18);
    for (const n of [1, 2, 3, 5, 18, 25]) {
      const parts = Array.from({ length: n }, (_, i) => shardRuns(sweepRuns(m), { index: i + 1, count: n }).map((r) => `${r.point.batchSize}/${r.norm}/${r.seed}`));
      expect(parts.flat().sort()).toEqual([...all].sort());
      // Balanced: part sizes differ by at most one run.
      const sizes = parts.map((p) => p.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('reads i/n and refuses parts that do not exist', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(() => parseShard('3/2')).toThrow(/no part 3 of 2/);
    expect(() => parseShard('0/2')).toThrow(/from 1 to n/);
    expect(() => parseShard('half')).toThrow(/expected i\/n/);
  });
});

let root = '';
let data = '';
// 40 training images (CIFAR format) at batch 4 and 10: 10 and 4 steps per epoch; two norms, two seeds.
const SWEEP = ['sweep', 'batch-size', '--sizes', '4,10', '--norms', 'batch,none', '--seeds', '2', '--epochs', '1', '--subset', '40', '--test-subset', '30'];
let whole = '';

const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

/** Same finished runs: every checkpoint and prediction file byte for byte, and the same sweep.csv. */
function sameSweep(a: string, b: string): void {
  const runFiles = (d: string) => files(d).filter((f) => /(checkpoints|predictions)\//.test(f));
  expect(runFiles(b)).toEqual(runFiles(a));
  expect(runFiles(a)).toHaveLength(16); // 2 sizes x 2 norms x 2 seeds, a checkpoint and a CSV each
  for (const f of runFiles(a)) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
  expect(readFileSync(join(b, 'sweep.csv'), 'utf8')).toBe(readFileSync(join(a, 'sweep.csv'), 'utf8'));
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'normlab-sweep-'));
  data = writeCifarDir(join(root, 'cifar'), 8, 30);
  whole = join(root, 'whole');
  const r = await normlabAsync(...SWEEP, '--data', data, '--out', whole);
  if (r.status !== 0) throw new Error(`uninterrupted sweep failed: ${r.stderr}`);
}, 240_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('normlab sweep batch-size', () => {
  it('trains every norm at every size with its learning rate, and reports error against batch size', () => {
    for (const f of ['sweep.json', 'sweep.csv', 'sweep.png', 'report.md', 'report.html']) expect(existsSync(join(whole, f)), f).toBe(true);
    const csv = readFileSync(join(whole, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('batch_size,lr,norm,seed,test_accuracy,bn_running,bn_precise,bn_batch');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(8);
    for (const r of rows) {
      expect(Number(r[1])).toBeCloseTo((0.1 * Number(r[0])) / 128, 12);
      // Batch norm's rows carry its test accuracy under the three statistics; the others none.
      if (r[2] === 'batch') expect(r.slice(5).every((v) => Number(v) >= 0 && Number(v) <= 1 && v !== '')).toBe(true);
      else expect(r.slice(5)).toEqual(['', '', '']);
    }
    const b4 = JSON.parse(readFileSync(join(whole, 'b4', 'results', 'batch-seed0.json'), 'utf8'));
    expect(b4.epochs).toHaveLength(1);
    expect(b4.bnStats.batchSize).toBe(4);
    const report = readFileSync(join(whole, 'report.md'), 'utf8');
    expect(report).toMatch(/0\.1 x B \/ 128/);
  });

  it('killed (SIGKILL) after its first run, continues with --resume and ends as if never stopped', async () => {
    const cut = join(root, 'killed');
    const { child, exited } = normlabChild(...SWEEP, '--data', data, '--out', cut);
    const first = await until(() => existsSync(join(cut, 'b4', 'results')) && readdirSync(join(cut, 'b4', 'results')).length > 0, 120_000);
    child.kill('SIGKILL');
    await exited;
    expect(first).toBe(true);
    expect(existsSync(join(cut, 'sweep.csv'))).toBe(false);
    const clash = await normlab('sweep', 'batch-size', '--resume', cut, '--epochs', '3');
    expect(clash.status).toBe(2);
    expect(ourErrors(clash)[0]).toMatch(/--resume continues the saved sweep.*--epochs/);
    const r = await normlabAsync('sweep', 'batch-size', '--resume', cut, '--data', data);
    expect(r.status, r.stderr).toBe(0);
    sameSweep(whole, cut);
  }, 240_000);

  it('runs as two shards that normlab report merges into the whole sweep', async () => {
    const parts: string[] = [];
    for (const i of [1, 2]) {
      const d = join(root, `shard${i}`);
      const r = await normlabAsync(...SWEEP, '--data', data, '--shard', `${i}/2`, '--out', d);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`shard ${i}/2: 4 of 8 runs`));
      parts.push(d);
    }
    const merged = join(root, 'merged');
    const r = await normlabAsync('report', ...parts, '--out', merged, '--data', data);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/a sweep of 8 of 8 runs/);
    expect(readFileSync(join(merged, 'sweep.csv'), 'utf8')).toBe(readFileSync(join(whole, 'sweep.csv'), 'utf8'));
    // Each shard's own report says how much of the sweep it holds.
    expect(readFileSync(join(parts[0]!, 'report.md'), 'utf8')).toMatch(/4 of 8 runs/);
  }, 240_000);
});

describe('normlab sweep lr', () => {
  it('trains every norm at every learning rate and reports the largest at which each still trains', async () => {
    const out = join(root, 'lr');
    // 40 images at batch 10: 4 steps per epoch, 3 epochs. lr 0.05 trains; 100 blows up.
    const r = await normlabAsync('sweep', 'lr', '--lrs', '100,0.05', '--norms', 'batch,none', '--seeds', '1', '--epochs', '3', '--batch-size', '10', '--subset', '40', '--test-subset', '30', '--data', data, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(manifest.kind).toBe('lr');
    expect(manifest.lrs).toEqual([0.05, 100]);
    for (const d of ['lr0.05', 'lr100']) expect(JSON.parse(readFileSync(join(out, d, 'comparison.json'), 'utf8')).recipe).toMatchObject({ batchSize: 10, lr: Number(d.slice(2)) });
    const csv = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('lr,norm,seed,trains,diverged,final_train_loss,test_accuracy');
    const rows = csv.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(4);
    const row = (lr: string, norm: string) => rows.find((x) => x[0] === lr && x[1] === norm)!;
    // The verdict follows its definition: no divergence and a final loss below 0.9 ln(10).
    for (const x of rows) expect(x[3]).toBe(String(x[4] === 'false' && x[5] !== '' && Number(x[5]) < 0.9 * Math.log(10)));
    expect(row('100', 'batch')[3]).toBe('false');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/the largest learning rate at which every seed trains is/);
    for (const f of ['sweep.png', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    // report rebuilds it from the directory.
    const again = await normlabAsync('report', out, '--data', data);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/\| lr \|/);
  }, 240_000);
});
