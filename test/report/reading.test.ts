import { describe, it, expect } from 'vitest';
import { readResults } from '../../src/report/reading.js';
import { syntheticResult, epochs } from './synthetic.js';
import type { ComparisonResult } from '../../src/report/types.js';

const text = (r: ComparisonResult) => readResults(r).join(' ');

describe('readResults', () => {
  it('names the norm with the best final test accuracy and its lead, from the numbers', () => {
    const a = text(syntheticResult('fashion', 3));
    expect(a).toMatch(/^Batch norm has the best final test accuracy, 91\.00%: 2\.00 points ahead of group norm \(G=4\) at 89\.00% and 3\.00 points ahead of layer norm at 88\.00%\./);
    // Swap the winner: layer norm now leads.
    const b = text(syntheticResult('fashion', 3, { layer: { finalTest: 0.935, finalTrain: 0.94 } }));
    expect(b).toMatch(/^Layer norm has the best final test accuracy, 93\.50%: 2\.50 points ahead of batch norm at 91\.00%/);
    expect(b).not.toMatch(/^Batch norm has the best/);
  });

  it('calls a lead under the noise level unsettled', () => {
    const close = text(syntheticResult('fashion', 3, { group: { finalTest: 0.909, finalTrain: 0.92 } }));
    expect(close).toMatch(/lead of 0\.10 points over group norm \(G=4\) is within the run-to-run noise/);
    expect(text(syntheticResult('fashion', 3))).not.toMatch(/run-to-run noise/);
  });

  it('reports the train-test gap per norm and which overfits most', () => {
    const a = text(syntheticResult('fashion', 3));
    expect(a).toContain('batch norm 4.00, group norm (G=4) 1.00 and layer norm 0.50');
    expect(a).toContain('Batch norm overfits most (gap 4.00 points); layer norm least (0.50).');
    const b = text(
      syntheticResult('fashion', 3, {
        batch: { finalTest: 0.91, finalTrain: 0.912 },
        group: { finalTest: 0.89, finalTrain: 0.96 },
        layer: { finalTest: 0.88, finalTrain: 0.884 },
      }),
    );
    expect(b).toContain('Group norm (G=4) overfits most (gap 7.00 points); batch norm least (0.20).');
    const none = text(
      syntheticResult('fashion', 3, {
        batch: { finalTest: 0.91, finalTrain: 0.912 },
        group: { finalTest: 0.89, finalTrain: 0.885 },
        layer: { finalTest: 0.88, finalTrain: 0.884 },
      }),
    );
    expect(none).toContain('no norm overfits noticeably');
    expect(none).toMatch(/Group norm \(G=4\) has a negative gap/);
  });

  it('reads the curves: rising test loss with falling train loss is an overfitting signal', () => {
    const over = text(syntheticResult('fashion', 8, { group: { finalTest: 0.89, finalTrain: 0.97, overfit: true } }));
    expect(over).toMatch(/Group norm \(G=4\): test loss bottomed at 0\.\d{4} \(epoch \d\) and rose to 0\.5500 by epoch 8 while train loss kept falling .*an overfitting signal/);
    expect(over).toMatch(/Batch norm: test loss fell from 0\.9000 to 0\.4000 and was still at its lowest at the last epoch/);
    // A best epoch before the last one is named, with its margin over the final.
    const r = syntheticResult('fashion', 4);
    r.runs[2]!.epochs[1]!.testAccuracy = 0.9;
    expect(text(r)).toContain('Layer norm: test loss fell from 0.9000 to 0.4000');
    expect(text(r)).toContain('its best test accuracy, 90.00% at epoch 2, is 2.00 points above the final');
    expect(text(r)).not.toContain('Ranked by each norm');
    r.runs[2]!.epochs[1]!.testAccuracy = 0.95;
    expect(text(r)).toContain("Ranked by each norm's best epoch instead, layer norm leads with 95.00% at epoch 2");
  });

  it('compares speed from the measured seconds per epoch', () => {
    const a = text(syntheticResult('fashion', 3));
    expect(a).toContain('Mean seconds per training epoch: batch norm 10.00 s, group norm (G=4) 13.00 s and layer norm 12.00 s; group norm (G=4) is the slowest, 30% slower than batch norm');
    const b = text(
      syntheticResult('fashion', 3, {
        batch: { finalTest: 0.91, finalTrain: 0.95, seconds: 20 },
        group: { finalTest: 0.89, finalTrain: 0.9, seconds: 10 },
        layer: { finalTest: 0.88, finalTrain: 0.885, seconds: 10.1 },
      }),
    );
    expect(b).toContain('batch norm is the slowest, 100% slower than group norm (G=4)');
    const same = syntheticResult('fashion', 3);
    for (const run of same.runs) run.epochs = run.epochs.map((e) => ({ ...e, seconds: 10 }));
    expect(text(same)).toContain('all within 5% of each other');
    const warm = syntheticResult('fashion', 4);
    warm.runs[0]!.epochs[0]!.seconds = 25;
    expect(text(warm)).toMatch(/The first epoch was slower than the later ones \(batch norm 2\.5x\)/);
  });

  it('adds caveats from the recipe: short runs, subsets, single epochs, divergence', () => {
    expect(text(syntheticResult('fashion', 3, {}, { subset: 10000 }))).toContain('short run (3 epochs on 10000 training images)');
    expect(text(syntheticResult('fashion', 3))).toContain('only 3 epochs');
    expect(text(syntheticResult('fashion', 20, {}, { subset: 5000 }))).toContain('trained on a subset of 5000 training images');
    const long = text(syntheticResult('fashion', 20));
    expect(long).not.toMatch(/Caveat/);
    const one = text(syntheticResult('fashion', 1));
    expect(one).toContain('only 1 epoch,');
    expect(one).toContain('ran a single epoch, so its curves are single points');
    const diverged = syntheticResult('fashion', 3);
    diverged.runs[1]!.epochs = epochs(3, { finalTest: 0.1, finalTrain: 0.1 }).map((e, i) => (i >= 1 ? { ...e, trainLoss: NaN } : e));
    expect(text(diverged)).toContain('Group norm (G=4) diverged: its loss is not finite from epoch 2 on');
  });

  it('compares with the seed scale only for the 5-epoch Fashion-MNIST recipe', () => {
    expect(text(syntheticResult('fashion', 5))).toContain('batch 91.00% vs about 92%');
    expect(text(syntheticResult('cifar', 5))).not.toContain('vs about');
    expect(text(syntheticResult('fashion', 5, {}, { subset: 1000 }))).not.toContain('vs about');
  });
});
