// SeedNet end to end against PyTorch 1.13 (scripts/fixtures/seednet_step.py): the same weights
// and batch, three SGD steps with momentum and weight decay in training mode, then evaluation.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine } from '../../src/engine/index.js';
import * as ops from '../../src/engine/ops/index.js';
import { SGD } from '../../src/engine/optim.js';
import { noGrad } from '../../src/engine/autograd.js';
import { SeedNet, paramSpecs, type NormKind } from '../../src/model/seednet.js';
import { fixtureTensor, hash32 } from '../../src/reference/norm.js';
import { sgdSteps } from '../../src/check/trajectory.js';

interface Sample {
  indices: number[];
  values: number[];
}
interface Case {
  norm: NormKind;
  ghostBatch: number;
  labels: number[];
  losses: number[];
  evalLogSoftmax: number[];
  params: Record<string, number[] | Sample>;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/seednet-step.json', import.meta.url), 'utf8')) as {
  shape: [number, number, number, number];
  steps: number;
  sgd: { lr: number; momentum: number; weightDecay: number };
  cases: Case[];
};

/** The fixture's weights, in state_dict order (the order PyTorch enumerates, seeds 1000 + k). */
function fixtureInit(norm: NormKind): Map<string, Float32Array> {
  const names: string[] = [];
  for (const s of paramSpecs({ inChannels: 1, norm, groups: 4, classes: 10 })) {
    names.push(s.name);
    if (s.name.endsWith('.running_var')) names.push(s.name.replace('running_var', 'num_batches_tracked'));
  }
  const specs = new Map(paramSpecs({ inChannels: 1, norm, groups: 4, classes: 10 }).map((s) => [s.name, s]));
  const out = new Map<string, Float32Array>();
  names.forEach((name, k) => {
    const s = specs.get(name);
    if (!s) return;
    const n = s.shape.reduce((a, b) => a * b, 1);
    const seed = 1000 + k;
    if (s.shape.length === 4) out.set(name, fixtureTensor(seed, s.shape, 1 / Math.sqrt(s.shape[1]! * s.shape[2]! * s.shape[3]!)));
    else if (name.endsWith('norm.weight')) out.set(name, fixtureTensor(seed, [n], 0.2, () => 1));
    else if (name.endsWith('norm.bias')) out.set(name, fixtureTensor(seed, [n], 0.1));
    else out.set(name, new Float32Array(n).fill(name.endsWith('running_var') ? 1 : 0));
  });
  return out;
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

describe('SeedNet training steps match PyTorch', () => {
  for (const c of fixture.cases) {
    it(`${c.norm} norm${c.ghostBatch ? ` (ghost batches of ${c.ghostBatch})` : ''}: losses, weights, running statistics and eval outputs`, async () => {
      const init = fixtureInit(c.norm);
      const cfg = { inChannels: 1, norm: c.norm, groups: 4, classes: 10, ...(c.ghostBatch ? { ghostBatch: c.ghostBatch } : {}) };
      const model = new SeedNet(engine, cfg, (s) => init.get(s.name)!);
      const x = engine.keep(engine.tensor(fixtureTensor(11, fixture.shape, 1.5), fixture.shape));
      const labels = Array.from({ length: fixture.shape[0] }, (_, i) => hash32(100 + i) % 10);
      expect(labels).toEqual(c.labels);
      const y = engine.keep(engine.tensor(labels, [labels.length], 'u32'));
      const opt = new SGD(engine, model.parameters, { lr: fixture.sgd.lr, momentum: fixture.sgd.momentum, weightDecay: fixture.sgd.weightDecay });
      const losses = await sgdSteps(model, opt, x, y, fixture.steps);
      // float32 through ~40 kernels and 3 optimizer steps: agreement to a few parts in 1e5.
      losses.forEach((l, i) => expect(Math.abs(l - c.losses[i]!) / c.losses[i]!).toBeLessThan(2e-5));
      for (const [name, want] of Object.entries(c.params)) {
        const got = await model.tensors.get(name)!.read();
        const [idx, vals] = Array.isArray(want) ? [want.map((_, i) => i), want] : [want.indices, want.values];
        const scale = Math.max(...vals.map(Math.abs), 1e-3);
        idx.forEach((i, k) => expect(Math.abs(got[i]! - vals[k]!) / scale, `${name}[${i}]`).toBeLessThan(1e-4));
      }
      const evalOut = engine.tidy(() => noGrad(() => ops.logSoftmaxNll(model.forward(x, false), y)));
      evalOut.dispose();
      const logits = engine.tidy(() => noGrad(() => model.forward(x, false)));
      const l = await logits.read();
      logits.dispose();
      // Compare log-softmax of the logits with PyTorch's output.
      for (let r = 0; r < fixture.shape[0]; r++) {
        const row = Array.from(l.subarray(r * 10, r * 10 + 10));
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
        row.forEach((v, k) => expect(Math.abs(v - lse - c.evalLogSoftmax[r * 10 + k]!)).toBeLessThan(2e-4));
      }
      x.dispose();
      y.dispose();
      opt.dispose();
      model.dispose();
    });
  }
});
