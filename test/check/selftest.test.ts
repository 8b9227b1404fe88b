// normlab selftest: on lavapipe at 4 lanes (the second adapter of `npm test`: its convolutions run
// the subgroup-free kernels) every check passes; the trajectory comparison catches a wrong step.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/index.js';
import { selftest } from '../../src/check/selftest.js';
import { compareTrajectory, TRAJECTORY, TRAJECTORY_RTOL, type Trajectory } from '../../src/check/trajectory.js';
import recorded from '../../src/check/trajectory-lavapipe.json';
import { normlab, ourErrors } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'normlab-selftest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('normlab selftest', () => {
  it('--quick on lavapipe at 4 lanes: every check passes, each group ran, the result is JSON on file', async () => {
    const file = join(dir, 'lavapipe4.json');
    const r = await normlab('selftest', '--quick', '--adapter', 'lavapipe4', '--out', file);
    expect(r.status, r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n')).toBe(0);
    const report = JSON.parse(readFileSync(file, 'utf8'));
    expect(report.failed).toBe(0);
    expect(report.subgroups.convolutionLanes).toBe(0);
    expect(Object.keys(report.groups).sort()).toEqual(['conv', 'gradcheck', 'naive', 'subgroups', 'training']);
    expect(report.groups.conv.passed).toBeGreaterThanOrEqual(40);
    expect(report.groups.training.passed).toBe(2);
    // No subgroup kernel on 4 lanes: the rows are tiled and naive only.
    for (const c of report.checks.filter((x: { group: string }) => x.group === 'conv')) expect(c.name).not.toMatch(/sg/);
    expect(r.stdout).toMatch(/^\d+ of \d+ checks passed in \d+ s/m);
  });

  it('--json: the result alone on stdout, the progress on stderr', async () => {
    const r = await normlab('selftest', '--only', 'subgroups,training', '--quick', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ failed: 0, passed: 3, quick: true, groups: { subgroups: { passed: 1, failed: 0 }, training: { passed: 2, failed: 0 } } });
    expect(report.checks.map((c: { group: string }) => c.group)).toEqual(['subgroups', 'training', 'training']);
    expect(r.stderr).toMatch(/^ok +training +SeedNet batch norm/m);
  });

  it('names an unknown group in one line, exit 2', async () => {
    const r = await normlab('selftest', '--only', 'conv,everything');
    expect(r.status).toBe(2);
    expect(ourErrors(r)[0]).toBe("normlab selftest: --only: no group 'everything' (groups: subgroups, conv, conv-off, gradcheck, naive, training)");
  });
});

describe('the training trajectory', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create();
  });
  afterAll(() => engine?.destroy());

  it('is recorded for every norm and reproduced on the default adapter', async () => {
    expect((recorded as unknown as Trajectory[]).map((t) => t.norm)).toEqual(TRAJECTORY.norms);
    const checks = await selftest(engine, { groups: ['training'], quick: true });
    expect(checks.length).toBe(2);
    for (const c of checks) expect(c.pass, `${c.name}: ${c.detail}`).toBe(true);
  });

  it('fails a step that moved one of the larger tensors 1% further, or a loss off by as much', () => {
    const want = (recorded as unknown as Trajectory[])[1]!;
    expect(compareTrajectory(want, want).err).toBe(0);
    const name = 'b5.conv.weight';
    const moved = { ...want, moved: { ...want.moved, [name]: want.moved[name]! * 1.01 } };
    const c = compareTrajectory(moved, want);
    expect(c.err).toBeGreaterThan(TRAJECTORY_RTOL);
    expect(c.where).toContain(name);
    const loss = { ...want, losses: want.losses.map((l, i) => (i === 3 ? l * 1.01 : l)) };
    expect(compareTrajectory(loss, want)).toMatchObject({ where: 'loss at step 4' });
    expect(compareTrajectory({ ...want, losses: [NaN] }, want).err).toBe(Infinity);
  });
});
