// Runs stopped halfway: killed outright (SIGKILL) or asked to stop (Ctrl-C), then resumed, end
// with exactly the weights of a run never stopped; a diverging run stops at the step it diverges.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normlab, normlabChild, ourErrors, until, writeCifarDir } from '../helpers/cli.js';
import { readCheckpoint, readTrainState } from '../../src/model/checkpoint-files.js';

let dir = '';
let data = '';
// 200 training images at batch 20: 10 steps per epoch.
const RECIPE = ['--norm', 'batch', '--epochs', '2', '--batch-size', '20', '--augment'];
let whole = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'normlab-interrupt-'));
  data = writeCifarDir(join(dir, 'cifar'));
  whole = join(dir, 'whole');
  const r = await normlab('train', '--data', data, ...RECIPE, '--out', whole);
  if (r.status !== 0) throw new Error(`uninterrupted run failed: ${r.stderr}`);
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sameWeights(a: string, b: string): void {
  const x = readCheckpoint(join(a, 'model.safetensors'));
  const y = readCheckpoint(join(b, 'model.safetensors'));
  for (const [name, t] of x.tensors) {
    const u = y.tensors.get(name)!;
    expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength)), name).toBe(true);
  }
  expect(y.meta.epoch).toBe(2);
}

describe('interrupted training', () => {
  it('killed with SIGKILL mid-epoch, resumes with --resume to bit-identical weights', async () => {
    const cut = join(dir, 'killed');
    const { child, exited } = normlabChild('train', '--data', data, ...RECIPE, '--checkpoint-every', '3', '--out', cut);
    // The first state lands after step 3 of epoch 1; kill right then, mid-epoch.
    const saved = await until(() => existsSync(join(cut, 'train-state.safetensors')), 120_000);
    child.kill('SIGKILL');
    await exited;
    expect(saved).toBe(true);
    // The kill may land anywhere, even between the state file and model.safetensors; the state file
    // alone is what --resume needs.
    const state = readTrainState(join(cut, 'train-state.safetensors'));
    expect(state.at.epoch * 10 + state.at.stepInEpoch).toBeGreaterThanOrEqual(3);
    expect(state.at.epoch * 10 + state.at.stepInEpoch).toBeLessThan(20);

    const clash = await normlab('train', '--resume', cut, '--epochs', '5');
    expect(clash.status).toBe(2);
    expect(ourErrors(clash)[0]).toMatch(/--resume continues the saved recipe.*--epochs/);

    const r = await normlab('train', '--resume', cut);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming .* at epoch \d step \d+/);
    sameWeights(whole, cut);
    const metrics = JSON.parse(readFileSync(join(cut, 'metrics.json'), 'utf8'));
    expect(metrics.epochs.map((e: { epoch: number }) => e.epoch)).toEqual([1, 2]);

    const again = await normlab('train', '--resume', cut);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/already holds all 2 epochs/);
  }, 240_000);

  it('stops cleanly on Ctrl-C (SIGINT) after the current step, saves, and resumes to bit-identical weights', async () => {
    const cut = join(dir, 'interrupted');
    const { child, exited } = normlabChild('train', '--data', data, ...RECIPE, '--out', cut);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupt once training has begun (the start line is printed before the first step).
    expect(await until(() => /normlab train: batch norm/.test(stderr), 120_000)).toBe(true);
    child.kill('SIGINT');
    const { code } = await exited;
    expect(code).toBe(130);
    expect(stderr).toMatch(/stopping after this step and saving/);
    expect(stderr).toMatch(/stopped at epoch \d step \d+; saved in .*Continue with: normlab train --resume /);
    expect(existsSync(join(cut, 'train-state.safetensors'))).toBe(true);

    const r = await normlab('train', '--resume', cut);
    expect(r.status, r.stderr).toBe(0);
    sameWeights(whole, cut);
  }, 240_000);

  it('stops a diverging run at the step it diverges, naming it, and keeps the last good checkpoint', async () => {
    const out = join(dir, 'diverged');
    const r = await normlab('train', '--data', data, '--norm', 'batch', '--epochs', '1', '--batch-size', '20', '--schedule', 'constant', '--lr', '100', '--checkpoint-every', '1', '--out', out);
    expect(r.status).toBe(1);
    const lines = ourErrors(r).filter((l) => l.startsWith('normlab train:') && !/^normlab train: batch norm/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^normlab train: training diverged: a gradient became NaN or infinite at epoch 1, step \d+ of 10 \(learning rate 100 there\).*lower --lr/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // The last state saved is the step before the divergence: finite weights.
    const ckpt = readCheckpoint(join(out, 'model.safetensors'));
    for (const [name, t] of ckpt.tensors) {
      if (t.dtype === 'F32') expect(Array.from(t.data as Float32Array).every(Number.isFinite), name).toBe(true);
    }
  }, 240_000);
});
