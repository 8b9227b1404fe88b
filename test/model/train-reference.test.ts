// scripts/torch/train_reference.py trains SeedNet in PyTorch from normlab's own starting point by
// regenerating normlab's initial weights and batch order in Python: the two generators must agree.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasTorch } from '../helpers/torch.js';
import { epochOrder, initParams } from '../../src/train/trainer.js';
import { paramSpecs } from '../../src/model/seednet.js';


describe('train_reference.py', () => {
  it.skipIf(!hasTorch)('regenerates normlab\'s batch order and initial weights exactly (needs Debian\'s python3-torch)', () => {
    for (const seed of [0, 7]) {
      const out = execFileSync('/usr/bin/python3', ['scripts/torch/train_reference.py', '--check-generators', '--norm', 'layer', '--seed', String(seed)], { encoding: 'utf8' });
      const py = JSON.parse(out) as { order: number[]; 'b1.conv.weight': number[] };
      expect(py.order).toEqual(Array.from(epochOrder(60000, seed, 1).subarray(0, 8)));
      const spec = paramSpecs({ inChannels: 1, norm: 'layer', groups: 1, classes: 10 }).find((s) => s.name === 'b1.conv.weight')!;
      expect(py['b1.conv.weight']).toEqual(Array.from(initParams(seed)(spec).subarray(0, 4)));
    }
  });
});
