// PyTorch as a peer: scripts/torch/bench_peer.py, run by Debian's interpreter (the one with
// python3-torch), times SeedNet's convolutions and training step on the CPU and prints JSON.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingPeer, type PeerOptions, type PeerResult, type PeerTiming } from './common.js';

export const TORCH_PEER = 'pytorch-cpu';
/** Debian's python3-torch lives under the system interpreter, not whatever `python3` is on PATH. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = 'scripts/torch/bench_peer.py';

/** What bench_peer.py prints. */
export interface TorchReport {
  torch: string;
  threads: number;
  device: string;
  batch: number;
  rows: PeerTiming[];
}

/** The script, found from this module upwards (bench/peers/ in tests, dist/ in the CLI bundle). */
function findScript(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, SCRIPT))) return join(dir, SCRIPT);
    if (dirname(dir) === dir) return null;
  }
}

export function parseTorchReport(stdout: string): TorchReport {
  const r = JSON.parse(stdout) as TorchReport;
  if (typeof r.torch !== 'string' || !Array.isArray(r.rows)) throw new Error('bench_peer.py printed JSON without torch and rows');
  for (const row of r.rows) {
    if (typeof row.what !== 'string' || !(row.medianMs > 0)) throw new Error(`bench_peer.py: bad row ${JSON.stringify(row)}`);
  }
  return r;
}

/** Script arguments for the layers, norms and inputs of `opts`. */
export function torchArgs(opts: PeerOptions & { layers: readonly string[]; warmup?: number }): string[] {
  return [
    '--batch', String(opts.batch),
    '--reps', String(opts.reps),
    '--warmup', String(opts.warmup ?? 2),
    '--layers', opts.layers.join(','),
    '--norms', opts.stepNorms.join(','),
    '--inputs', opts.stepInputs.map((i) => `${i.channels}x${i.size}x${i.size}`).join(','),
  ];
}

export async function benchTorch(opts: PeerOptions & { layers: readonly string[]; warmup?: number }): Promise<PeerResult> {
  const run = promisify(execFile);
  if (!existsSync(PYTHON)) return missingPeer(TORCH_PEER, `${PYTHON} not found`);
  try {
    await run(PYTHON, ['-c', 'import torch']);
  } catch {
    return missingPeer(TORCH_PEER, `${PYTHON} cannot import torch (on Debian: apt install python3-torch)`);
  }
  const script = findScript();
  if (!script) return missingPeer(TORCH_PEER, `${SCRIPT} not found`);
  let report: TorchReport;
  try {
    const { stdout } = await run(PYTHON, [script, ...torchArgs(opts)], { maxBuffer: 1 << 20 });
    report = parseTorchReport(stdout);
  } catch (e) {
    return missingPeer(TORCH_PEER, `${SCRIPT} failed: ${(e as Error).message.split('\n')[0]}`);
  }
  return {
    peer: TORCH_PEER,
    version: report.torch,
    missing: null,
    rows: report.rows,
    notes: [
      `PyTorch ${report.torch} on the CPU, ${report.threads} thread${report.threads === 1 ? '' : 's'} (torch's default), NCHW; conv grads = aten.convolution_backward (autograd's kernel), ` +
        `step = SeedNet of scripts/torch/seednet.py with torch.optim.SGD; wall clock, warm-up excluded`,
    ],
  };
}
