// Running the built CLI in a child process, and datasets written in the real file formats.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from '../../src/train/data/cifar10.js';

export const BIN = join(__dirname, '..', '..', 'bin', 'normlab.js');
const ENV = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() };

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A child process run to its end without blocking the test worker. Every child in the suite runs
 * this way: a spawnSync blocks the worker's event loop for as long as the child runs, and on a
 * loaded machine a minute of that starves vitest's worker RPC ("Timeout calling onTaskUpdate"
 * fails the run even when every test passes).
 */
export function runAsync(cmd: string, args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: opts.env ?? ENV, cwd: opts.cwd, timeout: opts.timeoutMs ?? 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

export function normlab(...args: string[]): Promise<Run> {
  return normlabWithEnv({}, ...args);
}

/** The CLI with these environment variables added (NORMLAB_DEBUG, NORMLAB_CONV_OFF, ...). */
export function normlabWithEnv(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return runAsync(process.execPath, [BIN, ...args], { env: { ...ENV, ...env } });
}

/** Kept for the tests that name it: the same as normlab(). */
export const normlabAsync = normlab;

/** The CLI in the background, for tests that signal it. */
export function normlabChild(...args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: ENV });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((done) => child.on('exit', (code) => done({ code, stderr })));
  return { child, exited };
}

/** stderr without Dawn's own start-up warnings, which normlab does not control. */
export function ourErrors(r: { stderr: string }): string[] {
  return r.stderr.split('\n').filter((l) => l.trim() !== '' && !/artificially reduced|^Warning:/.test(l));
}

export async function until(check: () => boolean, timeoutMs: number, pollMs = 20): Promise<boolean> {
  for (let t = 0; t < timeoutMs; t += pollMs) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return check();
}

const RECORD = 3073;

/**
 * A CIFAR-10 batch file whose classes are learnable: class k tints channel k % 3 and draws a bar at
 * row 3k, over seeded noise.
 */
export function cifarBatch(count: number, seed: number): Buffer {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) >>> 24);
  const b = Buffer.alloc(count * RECORD);
  for (let r = 0; r < count; r++) {
    const label = r % 10;
    b[r * RECORD] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          let v = rand() >> 1;
          if (c === label % 3) v += 60;
          if (y === 3 * label || y === 3 * label + 1) v += 120;
          b[r * RECORD + 1 + c * 1024 + y * 32 + x] = Math.min(255, v);
        }
      }
    }
  }
  return b;
}

/** A complete CIFAR-10 directory: five training batches of `perBatch` images, a test batch, the names. */
export function writeCifarDir(dir: string, perBatch = 40, testCount = 30): string {
  mkdirSync(dir, { recursive: true });
  for (let f = 1; f <= 5; f++) writeFileSync(join(dir, `data_batch_${f}.bin`), cifarBatch(perBatch, f));
  writeFileSync(join(dir, 'test_batch.bin'), cifarBatch(testCount, 99));
  writeFileSync(join(dir, 'batches.meta.txt'), `${CIFAR10_CLASSES.join('\n')}\n\n`);
  return dir;
}
