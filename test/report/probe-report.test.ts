// The probes' section of the report (src/report/probe-report.ts) on probe files written by hand:
// the contrasts against no normalisation are the paired differences of the numbers in the files,
// the reading's verdict follows the interval, and the figures are drawn. Also the probes file's
// reader: a resumed run's repeated steps, and malformed files named by file and line.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { probeContrasts, probeReading, probeSection, type ProbeRun } from '../../src/report/probe-report.js';
import { PROBE_CSV_HEADER } from '../../src/train/probe-records.js';
import { readProbeCsv } from '../../src/compare/probe-files.js';
import { namer } from '../../src/report/verdicts.js';

const dir = mkdtempSync(join(tmpdir(), 'normlab-probe-report-'));
const LAYERS = ['b1', 'b2', 'b3'];

/** A probes file: `ics(step, layer)` for ics_l2, cos 1 - ics, a loss band of width `band(step)`. */
function probesFile(name: string, steps: number[], ics: (s: number, l: number) => number, band: (s: number) => number): string {
  const lines = [PROBE_CSV_HEADER];
  for (const s of steps) {
    lines.push(`${s},1,,loss,,2.3`, `${s},1,,grad_norm,,1`);
    LAYERS.forEach((l, i) => {
      lines.push(`${s},1,${l},out_std,,${0.5 / (i + 1)}`, `${s},1,${l},conv_std,,0.4`);
      if (i > 0) lines.push(`${s},1,${l},ics_l2,,${ics(s, i)}`, `${s},1,${l},ics_cos,,${1 - ics(s, i)}`);
      lines.push(`${s},1,${l}.conv.weight,grad_norm,,${0.1 * (i + 1)}`);
    });
    for (const eta of [0.01, 0.1]) lines.push(`${s},1,,loss_eta,${eta},${2.3 - band(s) * eta * 10}`, `${s},1,,grad_pred,${eta},${eta}`);
    lines.push(`${s},1,,loss_band_min,,${2.3 - band(s)}`, `${s},1,,loss_band_max,,2.3`, `${s},1,,beta_smooth,,1.5`);
  }
  const p = join(dir, `${name}.csv`);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

const STEPS = [0, 10, 20, 30, 40];
const cost = { every: 10, steps: 5, seconds: 5, trainingSeconds: 20 };
const run = (norm: ProbeRun['norm'], seed: number, ics: (s: number, l: number) => number, band = (s: number) => 0.1 + s / 1000): ProbeRun => ({
  norm,
  seed,
  steps: readProbeCsv(probesFile(`${norm}-${seed}`, STEPS, ics, band)),
  cost,
});
const name = namer(4);

describe('the probes report', () => {
  it("contrasts each norm with no norm, paired by seed and step, and reads the interval", () => {
    const none = [0, 1].map((seed) => run('none', seed, (s, l) => 0.01 * l + 0.001 * s + 0.0001 * seed));
    // Batch norm: a shift lower by 0.004 to 0.006 everywhere; group norm: the same as none.
    const batch = [0, 1].map((seed) => run('batch', seed, (s, l) => 0.01 * l + 0.001 * s + 0.0001 * seed - 0.004 - 0.0005 * ((s / 10 + seed) % 5)));
    const group = [0, 1].map((seed) => run('group', seed, (s, l) => 0.01 * l + 0.001 * s + 0.0001 * seed + (((s / 10 + seed) % 2) - 0.5) * 1e-4));
    const cs = probeContrasts([...none, ...batch, ...group]);
    const bIcs = cs.find((c) => c.a === 'batch' && c.b === 'none' && c.measure.key === 'ics_l2')!;
    expect(bIcs.pairs).toBe(10);
    // By hand: mean over layers b2, b3 of the per-step differences.
    const diffs = [0, 1].flatMap((seed) => STEPS.map((s) => -0.004 - 0.0005 * ((s / 10 + seed) % 5)));
    expect(bIcs.diff).toBeCloseTo(diffs.reduce((a, b) => a + b, 0) / diffs.length, 12);
    expect(bIcs.side).toBe(-1);
    // Without batch norm the contrasts are each norm against none.
    expect(probeContrasts([...none, ...group]).find((c) => c.a === 'group' && c.b === 'none' && c.measure.key === 'ics_l2')!.side).toBe(0);
    // With it, batch norm against each other norm: batch - group has the opposite sign of the 0.004 shift.
    expect(cs.find((c) => c.a === 'batch' && c.b === 'group' && c.measure.key === 'ics_l2')!.side).toBe(-1);
    const reading = probeReading([...none, ...batch], name);
    expect(reading[0]).toMatch(/^In this run batch norm's internal covariate shift is lower than no normalisation's: \|\|G - G'\|\| .* 95% CI \[-0\.00\d+, -0\.00\d+\]; cos\(G, G'\) .*\. Along the gradient, batch norm's loss band width is not different beyond the interval .* over 10 \(seed, step\) pairs\.$/);
    // Every network's probed loss here is 2.3 throughout: each is named as not having learned.
    expect(reading.filter((l) => / did not learn: its loss at the probe steps went from 2\.3 to 2\.3/.test(l))).toHaveLength(2);
  });

  it('draws the per-layer and landscape figures and states the probes\' time share', () => {
    const runs = [run('none', 0, () => 0.01), run('layer', 0, () => 0.02)];
    const { blocks, images } = probeSection(runs, ['none', 'layer'], name);
    expect([...images.keys()]).toEqual(['probes-layers.png', 'probes-landscape.png']);
    const layersPng = PNG.sync.read(images.get('probes-layers.png')!);
    expect([layersPng.width, layersPng.height]).toEqual([760, 34 + 4 * 250]);
    const text = JSON.stringify(blocks);
    expect(text).toMatch(/every 10 steps, 5 probe steps, 5 s of 20 s of training \(25%\)/);
    expect(text).toMatch(/layer norm's internal covariate shift is higher than no normalisation's/);
    expect(probeSection([], ['none'], name).blocks).toEqual([]);
  });
});

describe('the probes file', () => {
  it('keeps the last value of a step written twice (a run resumed from a checkpoint before it appends it again)', () => {
    const p = join(dir, 'twice.csv');
    writeFileSync(p, `${PROBE_CSV_HEADER}\n0,1,,loss,,2.3\n5,1,,loss,,2.0\n5,1,b1,out_std,,0.3\n5,1,,loss,,1.9\n`);
    const steps = readProbeCsv(p);
    expect(steps.map((s) => s.step)).toEqual([0, 5]);
    expect(steps[1]!.values.get('loss')!.get('')).toBe(1.9);
  });

  it('names the file and line of what it cannot read', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, `${PROBE_CSV_HEADER}\n0,1,,loss,,2.3\nthree,1,,loss,,2\n`);
    expect(() => readProbeCsv(bad)).toThrow(/bad\.csv:3: expected step,epoch,layer,quantity,eta,value/);
    writeFileSync(bad, 'index,label\n');
    expect(() => readProbeCsv(bad)).toThrow(/bad\.csv:1: not a probes file/);
    expect(() => readProbeCsv(join(dir, 'missing.csv'))).toThrow(/no such probes file/);
  });
});
