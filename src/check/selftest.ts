// `normlab selftest`: the kernels' conformance on the current adapter, with no test runner and no
// Python. Groups, in order:
//   subgroups   the subgroup plan and its probe (src/engine/subgroups.ts)
//   conv        every convolution shape with the rows the table picks here, and with each family
//               forced (subgroup, tiled, naive where it applies), against the float64 reference
//   conv-off    each row and option of the table switched off: its fallback on the first shape it
//               changes (full run only)
//   gradcheck   every op's gradient-check rows (src/check/gradcheck.ts), fast paths
//   naive       the norm and convolution gradient checks again on the naive kernels
//   training    SeedNet steps per norm against the recorded lavapipe trajectory
// `quick` keeps SeedNet's shapes and a few odd ones, the conv and norm gradient checks and two
// norms' trajectories: what `npm test` runs on a second adapter.
import type { Engine } from '../engine/engine.js';
import { ops } from '../engine/index.js';
import type { Conv2dPass, Conv2dPath } from '../engine/ops/conv2d.js';
import type { ConvShape } from '../reference/conv2d.js';
import { allCases } from './cases/index.js';
import { runAll } from './gradcheck.js';
import { GENERIC, ODD, SEEDNET } from './conv-shapes.js';
import { convErrors, PATHS, tryPlan, VS_REFERENCE } from './conv-conformance.js';
import { compareTrajectory, trainTrajectory, TRAJECTORY, TRAJECTORY_RTOL, type Trajectory } from './trajectory.js';
import recorded from './trajectory-lavapipe.json';

export const SELFTEST_GROUPS = ['subgroups', 'conv', 'conv-off', 'gradcheck', 'naive', 'training'] as const;
export type SelftestGroup = (typeof SELFTEST_GROUPS)[number];

export interface SelfCheck {
  group: SelftestGroup;
  name: string;
  pass: boolean;
  /** The measured error (relative), where the check measures one. */
  err: number | null;
  tol: number | null;
  detail: string;
  ms: number;
}

export interface SelftestOptions {
  quick?: boolean;
  /** Only these groups (default all). */
  groups?: readonly SelftestGroup[];
  onCheck?: (c: SelfCheck) => void;
  /** Record the training trajectory instead of comparing it (`--record-trajectory`). */
  record?: (t: Trajectory[]) => void;
}

const PASSES: Conv2dPass[] = ['forward', 'input', 'weight'];
const QUICK_ODD = new Set(['batch 1, C_in 1, C_out 3, 5x7', 'W % 8 == 4, C_out 10', 'C_in 40 (several channel blocks)', 'W 1', '1x1, H*W % 4 != 0']);
const QUICK_NORMS = ['batch', 'group'];

const describeShape = (s: ConvShape): string => `${s.n}x${s.ci}x${s.h}x${s.w} -> ${s.co}, ${s.kh}x${s.kw} pad ${s.pad}`;
/** The rows of the three passes ('-': a pass this family does not compute, the tiled weight gradient). */
function rowsOf(engine: Engine, s: ConvShape, path?: Conv2dPath): string {
  return PASSES.map((p) => {
    try {
      return ops.selectConv2d(engine, { ...s }, p, path).row.id;
    } catch {
      return '-';
    }
  }).join(' / ');
}

export async function selftest(engine: Engine, opts: SelftestOptions = {}): Promise<SelfCheck[]> {
  const want = new Set(opts.groups ?? SELFTEST_GROUPS);
  const checks: SelfCheck[] = [];
  const add = (c: SelfCheck) => {
    checks.push(c);
    opts.onCheck?.(c);
  };
  /** Runs one check; a throw is that check's failure (the message kept), not the run's end. */
  const check = async (group: SelftestGroup, name: string, tol: number | null, fn: () => Promise<{ err: number | null; detail: string; pass?: boolean }>) => {
    const t0 = performance.now();
    try {
      const r = await fn();
      const pass = r.pass ?? (r.err !== null && tol !== null && r.err <= tol);
      add({ group, name, pass, err: r.err, tol, detail: r.detail, ms: performance.now() - t0 });
    } catch (e) {
      add({ group, name, pass: false, err: null, tol, detail: (e as Error).message.split('\n')[0]!, ms: performance.now() - t0 });
    }
  };
  const worst = (e: { forward: number; input: number; weight: number | null }) => Math.max(e.forward, e.input, e.weight ?? 0);

  if (want.has('subgroups')) {
    const p = engine.subgroups;
    await check('subgroups', p.lanes > 0 ? `${p.lanes}-lane kernels${p.pinned ? ', pinned' : ''}` : 'subgroup kernels not used', null, async () => ({
      err: null, pass: p.probe === null || p.probe.pass, detail: `${p.reason}${p.probe ? `; probe: ${p.probe.detail}` : ''}`,
    }));
  }

  const shapes: [string, ConvShape][] = opts.quick ? [...SEEDNET, ...ODD.filter(([n]) => QUICK_ODD.has(n))] : [...SEEDNET, ...ODD, ...GENERIC];
  if (want.has('conv')) {
    for (const [what, s] of shapes) {
      for (const path of [undefined, ...PATHS]) {
        if (path && !tryPlan(engine, s, path)) continue;
        await check('conv', `${what} (${describeShape(s)}), ${path ?? 'as selected'}: ${rowsOf(engine, s, path)}`, VS_REFERENCE, async () => {
          const e = await convErrors(engine, s, path);
          return { err: worst(e), detail: `forward ${e.forward.toExponential(1)}, input ${e.input.toExponential(1)}, weight ${e.weight === null ? '-' : e.weight.toExponential(1)}` };
        });
      }
    }
  }

  if (want.has('conv-off') && !opts.quick) {
    const key = (s: ConvShape) => PASSES.map((p) => { const c = ops.selectConv2d(engine, { ...s }, p); return `${c.row.id}+${[...c.options].join('+')}`; }).join(',');
    for (const id of [...ops.CONV_ROWS, ...ops.CONV_OPTIONS].map((r) => r.id).filter((i) => i !== 'naive')) {
      const on = shapes.map(([, s]) => key(s));
      ops.setConvOff(engine, [id]);
      try {
        const changed = shapes.filter(([, s], i) => key(s) !== on[i]);
        if (changed.length === 0) continue; // the row or option does not apply on this adapter
        const [what, s] = changed[0]!;
        await check('conv-off', `${id} off: ${what}: ${rowsOf(engine, s)}`, VS_REFERENCE, async () => {
          const e = await convErrors(engine, s);
          return { err: worst(e), detail: `falls back to ${rowsOf(engine, s)}` };
        });
      } finally {
        ops.setConvOff(engine, []);
      }
    }
  }

  const gradRows = async (group: SelftestGroup, only?: RegExp) => {
    const rows = await runAll(engine, allCases, { only });
    for (const r of rows) {
      add({
        group, name: `${r.op} / ${r.wrt}`, pass: r.pass, err: Math.max(r.maxRelErr, r.fwdMaxRelErr, r.gradVsRefMaxRelErr), tol: null,
        detail: r.error ?? (r.pass ? `vs differences ${r.maxRelErr.toExponential(1)}, vs float64 ${Math.max(r.fwdMaxRelErr, r.gradVsRefMaxRelErr).toExponential(1)}` : r.failures.join('; ')),
        ms: r.ms,
      });
    }
  };
  if (want.has('gradcheck')) await gradRows('gradcheck', opts.quick ? /norm|conv/i : undefined);
  if (want.has('naive')) {
    const was = engine.debug.naive;
    engine.debug.naive = true;
    try {
      await gradRows('naive', /norm|conv/i);
    } finally {
      engine.debug.naive = was;
    }
  }

  if (want.has('training')) {
    const norms = opts.quick ? TRAJECTORY.norms.filter((n) => QUICK_NORMS.includes(n)) : TRAJECTORY.norms;
    const got: Trajectory[] = [];
    for (const norm of norms) {
      await check('training', `SeedNet ${norm} norm, ${TRAJECTORY.steps} steps of ${TRAJECTORY.shape.join('x')}`, opts.record ? null : TRAJECTORY_RTOL, async () => {
        const t = await trainTrajectory(engine, norm);
        got.push(t);
        if (opts.record) return { err: null, pass: t.losses.every(Number.isFinite), detail: `recorded: losses ${t.losses.map((l) => l.toFixed(5)).join(' ')}` };
        const want = (recorded as unknown as Trajectory[]).find((r) => r.norm === norm);
        if (!want) return { err: null, pass: false, detail: `no recorded trajectory for ${norm} norm (normlab selftest --record-trajectory)` };
        const c = compareTrajectory(t, want);
        return { err: c.err, detail: `worst at ${c.where}; losses ${t.losses.map((l) => l.toFixed(5)).join(' ')}` };
      });
    }
    opts.record?.(got);
  }
  return checks;
}
