// compare's presets and what they say up front about the differences a budget can resolve.
import { describe, it, expect } from 'vitest';
import { choosePreset, presetResolution, QUICK_EPOCHS, QUICK_SUBSET, QUICK_TEST_SUBSET, QUICK_SEEDS, FULL_SEEDS } from '../../src/cli/commands/compare.js';
import { budgetNote } from '../../src/report/verdicts.js';
import { parseSeeds } from '../../src/cli/seeds.js';

describe('compare presets', () => {
  it('quick on software adapters, full with several seeds on a GPU', () => {
    const q = choosePreset(true, false, false);
    expect([q.name, q.epochs, q.subset, q.testSubset, q.seeds]).toEqual(['quick', QUICK_EPOCHS, QUICK_SUBSET, QUICK_TEST_SUBSET, QUICK_SEEDS]);
    const g = choosePreset(false, false, false);
    expect([g.name, g.epochs, g.subset, g.seeds]).toEqual(['full', 20, undefined, FULL_SEEDS]);
    expect(choosePreset(true, true, false).name).toBe('full');
    expect(choosePreset(false, false, true).name).toBe('quick');
  });

  it('says before the runs how large a difference the seeds can separate', () => {
    expect(budgetNote(3, 10000)).toBe('with 3 seeds, a paired difference reads as separated only when it exceeds 2.48 times its seed-to-seed standard deviation (t = 4.30 over √3)');
    expect(budgetNote(1, 5000)).toMatch(/^with 1 seed, verdicts rest on McNemar's test on the 5,000 test images and leave out seed-to-seed variation/);
    // At the quick preset's own budget, from the spread measured there.
    expect(presetResolution('quick', 3, QUICK_EPOCHS, QUICK_SUBSET, QUICK_TEST_SUBSET)).toMatch(/sd of 6\.3-15\.2 points .* differences under about 16-38 points will read as not separated/);
    expect(presetResolution('quick', 3, QUICK_EPOCHS + 1, QUICK_SUBSET, QUICK_TEST_SUBSET)).toBe('');
    expect(presetResolution('full', 5, 20, undefined, undefined)).toBe('');
  });

  it('parses --seeds as a count, a list or ranges', () => {
    expect(parseSeeds('5')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('3,1')).toEqual([3, 1]);
    expect(parseSeeds('5-7,9')).toEqual([5, 6, 7, 9]);
    expect(parseSeeds('4-4')).toEqual([4]);
    expect(parseSeeds('100')).toHaveLength(100);
    expect(() => parseSeeds('7-5')).toThrow(/runs backwards/);
    expect(() => parseSeeds('2147483648')).toThrow(/more than 100 seeds/);
    expect(() => parseSeeds('0,2147483648')).toThrow(/above the largest seed/);
    expect(() => parseSeeds(',')).toThrow(/no seed in it/);
  });
});
