import { describe, it, expect } from 'vitest';
import { summary, paramSpecs, validateConfig } from '../../src/model/seednet.js';

describe('SeedNet summary (SEEDNET.md)', () => {
  it('has 39,668 parameters for 3 input channels with every norm', () => {
    for (const norm of ['batch', 'group', 'layer'] as const) {
      expect(summary({ inChannels: 3, norm, groups: 4, classes: 10 }, [1, 3, 32, 32]).total).toBe(39668);
    }
  });

  it('has 39,380 parameters for 1 input channel and shrinks 28-14-7', () => {
    const s = summary({ inChannels: 1, norm: 'group', groups: 4, classes: 10 }, [2, 1, 28, 28]);
    expect(s.total).toBe(39380);
    expect(s.rows.find((r) => r.name === 'pool1')!.outShape).toEqual([2, 16, 14, 14]);
    expect(s.rows.find((r) => r.name === 'c9')!.outShape).toEqual([2, 10, 7, 7]);
    expect(s.rows.at(-1)!.outShape).toEqual([2, 10, 1, 1]);
  });

  it('names tensors as PyTorch state_dict does, with running stats only for batch norm', () => {
    const names = paramSpecs({ inChannels: 3, norm: 'batch', groups: 4, classes: 10 }).map((s) => s.name);
    expect(names.slice(0, 5)).toEqual(['b1.conv.weight', 'b1.norm.weight', 'b1.norm.bias', 'b1.norm.running_mean', 'b1.norm.running_var']);
    expect(names).toContain('c10.weight');
    const conv = paramSpecs({ inChannels: 3, norm: 'layer', groups: 4, classes: 10 });
    expect(conv.some((s) => s.name.includes('running'))).toBe(false);
    expect(conv.find((s) => s.name === 'c9.weight')!.shape).toEqual([10, 32, 3, 3]);
  });

  it('refuses groups that do not divide the channels', () => {
    expect(() => validateConfig({ inChannels: 3, norm: 'group', groups: 3, classes: 10 })).toThrow(/--groups 3 does not divide b1's 16 channels/);
  });
});
