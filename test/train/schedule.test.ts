import { describe, it, expect } from 'vitest';
import { oneCycle, stepDecay } from '../../src/train/schedule.js';

describe('one-cycle schedule (PyTorch OneCycleLR defaults)', () => {
  it('starts at max/25, peaks at max after 30% of the steps, ends at max/25/1e4', () => {
    const T = 1000;
    const { lr, momentum } = oneCycle({ maxLr: 0.05, totalSteps: T });
    expect(lr[0]).toBeCloseTo(0.05 / 25, 9);
    const peak = lr.indexOf(Math.max(...lr));
    expect(peak).toBe(299); // phase one ends at pct_start * T - 1
    expect(lr[peak]).toBeCloseTo(0.05, 7);
    expect(lr[T - 1]).toBeCloseTo(0.05 / 25 / 1e4, 10);
    expect(momentum![0]).toBeCloseTo(0.95, 7);
    expect(momentum![peak]).toBeCloseTo(0.85, 7);
    expect(momentum![T - 1]).toBeCloseTo(0.95, 7);
  });

  it('matches torch.optim.lr_scheduler.OneCycleLR(max_lr=0.05, total_steps=10) with SGD momentum', () => {
    // Printed by PyTorch 1.13 (Debian python3-torch): param_groups[0]['lr'] and ['momentum'] before
    // each of the 10 optimizer steps.
    const torchLr = [0.002, 0.026, 0.05, 0.0475242, 0.0405873, 0.0305631, 0.0194371, 0.00941292, 0.00247597, 2e-7];
    const torchMomentum = [0.95, 0.9, 0.85, 0.854952, 0.868826, 0.888874, 0.911126, 0.931174, 0.945048, 0.95];
    const { lr, momentum } = oneCycle({ maxLr: 0.05, totalSteps: 10 });
    for (let k = 0; k < 10; k++) {
      expect(lr[k]! / torchLr[k]!).toBeCloseTo(1, 5);
      expect(momentum![k]).toBeCloseTo(torchMomentum[k]!, 5);
    }
  });
});

describe('step decay', () => {
  it('divides by 10 every stepEpochs epochs', () => {
    const { lr } = stepDecay(0.1, 3, 4, 2);
    expect(Array.from(lr).map((v) => +v.toPrecision(3))).toEqual([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
  });
});
