import { describe, expect, it } from 'vitest';
import { speedChangeNote } from '../../bench/conv.js';

describe('conv bench speed-change note', () => {
  const run = (perRound: number[]) => ({ probe: 'subgroup 32x4', ceilingGflops: 22, ceilingPerRound: perRound, rounds: perRound.length });
  it('stays silent while the probe agrees with itself within 1.5x', () => {
    expect(speedChangeNote(run([20, 22, 21.5, 15]))).toBeNull();
    expect(speedChangeNote(run([11]))).toBeNull();
  });
  it('says so when the machine changed speed during the run', () => {
    const note = speedChangeNote(run([11.3, 10.5, 22.0, 9.5]));
    expect(note).toMatch(/9\.5-22\.0 GFLOP\/s/);
    expect(note).toMatch(/rerun when it is quiet/);
  });
});
