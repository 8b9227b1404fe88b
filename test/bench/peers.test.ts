// The peers' contract with `normlab bench`: rows paired by name and ratios, the step breakdown's
// arithmetic, bench_peer.py's JSON (when Debian's torch is there) and tfjs running on Dawn.
import { describe, expect, it } from 'vitest';
import { hasTorch } from '../helpers/torch.js';
import { runAsync } from '../helpers/cli.js';
import { pairWithNormlab, peerConvRowNames } from '../../bench/peers/index.js';
import { parseTorchReport, torchArgs } from '../../bench/peers/torch.js';
import { benchTfjs } from '../../bench/peers/tfjs.js';
import { breakdownByFamily, opFamily } from '../../bench/step.js';
import { Engine } from '../../src/engine/index.js';


describe('peer rows', () => {
  it('pairs by name, ratio = peer / normlab, and keeps a missing peer as a row', () => {
    const ours = new Map([['conv cifar10 b2 3x3 forward', 40]]);
    const rows = pairWithNormlab(
      [
        { peer: 'a', version: '1', missing: null, notes: [], rows: [
          { what: 'conv cifar10 b2 3x3 forward', medianMs: 10, minMs: 9, reps: 3 },
          { what: 'step batch 3x32x32', medianMs: 500, minMs: 400, reps: 3 },
        ] },
        { peer: 'b', version: null, missing: 'not installed', notes: [], rows: [] },
      ],
      ours,
    );
    expect(rows).toEqual([
      { peer: 'a', what: 'conv cifar10 b2 3x3 forward', medianMs: 10, normlabMs: 40, ratio: 0.25 },
      { peer: 'a', what: 'step batch 3x32x32', medianMs: 500, normlabMs: null, ratio: null },
      { peer: 'b', what: 'missing', medianMs: null, normlabMs: null, ratio: null, missing: 'not installed' },
    ]);
    expect(peerConvRowNames()).toContain('conv cifar10 b5 3x3 weight grad');
  });

  it('splits a step by op family, median per family, shares summing to 1', () => {
    expect(opFamily('conv2d.weight_sum')).toBe('conv weight grad');
    expect(opFamily('batchNorm backward dx')).toBe('norm backward');
    expect(opFamily('groupNorm apply')).toBe('norm forward');
    expect(opFamily('sgd b1.conv.weight')).toBe('sgd');
    const step = (conv: number) => [
      { op: 'conv2d.forward3x3', ns: conv * 1e6 },
      { op: 'batchNorm apply', ns: 1e6 },
      { op: 'batchNorm plane moments', ns: 1e6 },
    ];
    const { entries, totalMs } = breakdownByFamily([step(6), step(2), step(100)]);
    expect(entries.map((e) => [e.op, e.ms])).toEqual([['conv forward', 6], ['norm forward', 2]]);
    expect(totalMs).toBe(8);
    expect(entries.reduce((a, e) => a + e.share, 0)).toBeCloseTo(1, 12);
  });

  it('rejects bench_peer.py output without rows', () => {
    expect(() => parseTorchReport('{"torch": "1.13"}')).toThrow(/rows/);
    expect(() => parseTorchReport('{"torch": "1.13", "rows": [{"what": "x", "medianMs": 0}]}')).toThrow(/bad row/);
  });
});

describe.runIf(hasTorch)('bench_peer.py', () => {
  it('prints one JSON object whose rows carry normlab bench row names', async () => {
    const args = torchArgs({ batch: 2, reps: 1, warmup: 0, layers: ['b7'], stepNorms: ['group'], stepInputs: [{ channels: 1, size: 28 }] });
    const { stdout } = await runAsync('/usr/bin/python3', ['scripts/torch/bench_peer.py', ...args]);
    const report = parseTorchReport(stdout);
    expect(report.rows.map((r) => r.what)).toEqual([
      'conv cifar10 b7 3x3 forward',
      'conv cifar10 b7 3x3 input grad',
      'conv cifar10 b7 3x3 weight grad',
      'step group 1x28x28',
    ]);
    expect(report.batch).toBe(2);
  });
});

describe('tfjs peer', () => {
  it('runs SeedNet steps with every norm on the WebGPU backend over Dawn', async () => {
    const engine = await Engine.create();
    try {
      const r = await benchTfjs(engine.gpu, { batch: 2, reps: 1, stepNorms: ['batch', 'group', 'layer'], stepInputs: [{ channels: 1, size: 28 }] });
      expect(r.missing).toBeNull();
      expect(r.rows.map((row) => row.what)).toContain('step layer 1x28x28');
      for (const row of r.rows) expect(row.medianMs).toBeGreaterThan(0);
    } finally {
      engine.destroy();
    }
  });
});
