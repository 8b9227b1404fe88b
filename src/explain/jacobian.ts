// `normlab explain --norm N --jacobian`: the full Jacobian dy/dx of a norm on the tiny tensor
// (2x4x2x2: 32 x 32), computed by the real backward kernels, one one-hot upstream gradient per
// output element (row o of J is the dx the kernel returns for dy = e_o; no finite differences),
// against the float64 reference's, with its block structure (batch norm couples the samples of a
// batch; group, layer and instance norm never do) and, per reduction set, the closed form's two
// invariants for random dy: sum(dx) = 0 and sum(dx * xhat) = 0 over the set (the projection view:
// dx is g with its components along 1 and along xhat removed, scaled by rstd).
import type { Engine } from '../engine/engine.js';
import { noGrad } from '../engine/autograd.js';
import { initBatchNormState, normBackwardKernels, normForwardKernels, planNorm, type NormKind } from '../engine/ops/norm.js';
import { channelOf, hashRng, normBackwardRef, normForwardRef, reductionSets } from '../reference/norm.js';
import { SHAPE, setNames, tinyInputs } from './explain.js';

export interface JacobianResult {
  norm: NormKind;
  shape: [number, number, number, number];
  groups: number;
  /** J[o * 32 + i] = d y_o / d x_i, from the kernels; `reference` the same from float64. */
  jacobian: number[];
  reference: number[];
  maxAbsError: number;
  /** Per reduction set, the flat indices it holds, and its name as `normlab explain` gives it (c0, n0 g1, n0, n0 c2). */
  sets: number[][];
  setNames: string[];
  /** The largest |J| between an output of sample a and an input of sample b, a != b. */
  crossSample: number;
  /**
   * For `trials` random dy, the largest over any set (`perSet`: over each set, the kernels') of |sum(dx)| and of |sum(dx * xhat) - e|, kernels
   * and float64 reference. e = rstd * eps / (var + eps) * sum(g * xhat) is what eps leaves of the
   * second: with eps, |xhat|^2 = M var / (var + eps), not M, so the projection is exact only as eps -> 0
   * (`epsTerm`: the largest |e|).
   */
  invariants: { trials: number; sumDx: number; sumDxXhat: number; refSumDx: number; refSumDxXhat: number; epsTerm: number; tolerance: number; pass: boolean; perSet: { sumDx: number; sumDxXhat: number }[] };
}

const SIZE = SHAPE.reduce((a, b) => a * b, 1);

export async function normJacobian(engine: Engine, norm: NormKind, opts: { seed?: number; groups?: number; trials?: number } = {}): Promise<JacobianResult> {
  const seed = opts.seed ?? 7;
  const eps = 1e-5;
  const groups = norm === 'group' ? (opts.groups ?? 2) : norm === 'instance' ? SHAPE[1] : 1;
  const plan = planNorm(norm, SHAPE, { groups, eps });
  const { x, gamma, beta } = tinyInputs(seed);
  const c = SHAPE[1];
  const trials = opts.trials ?? 4;
  const rng = hashRng(seed + 1000);
  const randomDy = Array.from({ length: trials }, () => Array.from({ length: SIZE }, () => rng.normal()));
  const upstream = [...Array.from({ length: SIZE }, (_, o) => Array.from({ length: SIZE }, (_, i) => (i === o ? 1 : 0))), ...randomDy];
  // One forward (training mode, as in a step), then one backward per upstream gradient, all recorded before any read.
  const reads = noGrad(() =>
    engine.tidy(() => {
      const state = norm === 'batch' ? initBatchNormState(engine, c) : undefined;
      const xT = engine.tensor(x, SHAPE);
      const gT = engine.tensor(gamma, [c]);
      const bT = engine.tensor(beta, [c]);
      const fwd = normForwardKernels(plan, xT, gT, bT, { training: true, momentum: 0.1, running: state });
      const out = upstream.map((dy) => normBackwardKernels(plan, xT, gT, bT, fwd.stats, engine.tensor(dy, SHAPE), {}).dx!.read());
      state?.runningMean.dispose();
      state?.runningVar.dispose();
      return out;
    }),
  );
  const dxs = await Promise.all(reads);
  const spec = { kind: norm, shape: SHAPE, groups, eps } as const;
  const jacobian = dxs.slice(0, SIZE).flatMap((d) => Array.from(d));
  const reference = upstream.slice(0, SIZE).flatMap((dy) => Array.from(normBackwardRef(x, gamma, beta, dy, spec).dx));
  const maxAbsError = Math.max(...jacobian.map((v, k) => Math.abs(v - reference[k]!)));
  const sets = reductionSets(spec);
  const perSample = SIZE / SHAPE[0];
  let crossSample = 0;
  for (let o = 0; o < SIZE; o++) for (let i = 0; i < SIZE; i++) if (Math.floor(o / perSample) !== Math.floor(i / perSample)) crossSample = Math.max(crossSample, Math.abs(jacobian[o * SIZE + i]!));
  const ref0 = normForwardRef(x, new Array<number>(c).fill(1), new Array<number>(c).fill(0), spec);
  const xhat = ref0.y;
  let epsTerm = 0;
  const perSet = sets.map(() => ({ sumDx: 0, sumDxXhat: 0 }));
  const sums = (dx: ArrayLike<number>, dy: readonly number[], record = false) => {
    let a = 0;
    let b = 0;
    sets.forEach((set, k) => {
      const e = ((ref0.rstd[k]! * eps) / (ref0.variance[k]! + eps)) * set.reduce((s, i) => s + dy[i]! * gamma[channelOf(i, SHAPE)]! * xhat[i]!, 0);
      epsTerm = Math.max(epsTerm, Math.abs(e));
      const sumDx = Math.abs(set.reduce((s, i) => s + dx[i]!, 0));
      const sumDxXhat = Math.abs(set.reduce((s, i) => s + dx[i]! * xhat[i]!, 0) - e);
      if (record) perSet[k] = { sumDx: Math.max(perSet[k]!.sumDx, sumDx), sumDxXhat: Math.max(perSet[k]!.sumDxXhat, sumDxXhat) };
      a = Math.max(a, sumDx);
      b = Math.max(b, sumDxXhat);
    });
    return [a, b] as const;
  };
  const gpu = dxs.slice(SIZE).map((d, t) => sums(d, randomDy[t]!, true));
  const ref = randomDy.map((dy) => sums(normBackwardRef(x, gamma, beta, dy, spec).dx, dy));
  const worst = (v: (readonly [number, number])[], k: 0 | 1) => Math.max(...v.map((p) => p[k]));
  // float32: each dx is about 1 in size; a sum over 8 to 16 of them cancels to ~1e-6.
  const tolerance = 1e-5;
  const invariants = { trials, sumDx: worst(gpu, 0), sumDxXhat: worst(gpu, 1), refSumDx: worst(ref, 0), refSumDxXhat: worst(ref, 1), epsTerm, tolerance, pass: worst(gpu, 0) <= tolerance && worst(gpu, 1) <= tolerance, perSet };
  return { norm, shape: SHAPE, groups, jacobian, reference, maxAbsError, sets, setNames: setNames(plan).map((s) => s.name), crossSample, invariants };
}

const SHADES = ' .:-=+*#%@';

/**
 * The Jacobian as characters: one per entry, ordered by (n, c, h, w), darker for larger |J| (a
 * space: exactly 0), samples separated by '|' and '-', each row ended with its output's set.
 */
export function formatJacobian(r: JacobianResult): string {
  const max = Math.max(...r.jacobian.map(Math.abs));
  const per = SIZE / r.shape[0];
  const setOf = new Map<number, number>();
  r.sets.forEach((set, k) => set.forEach((i) => setOf.set(i, k)));
  const shade = (v: number) => (v === 0 ? ' ' : SHADES[Math.max(1, Math.min(SHADES.length - 1, Math.ceil((Math.abs(v) / max) * (SHADES.length - 1))))]!);
  const lines = [
    `Jacobian dy/dx of ${r.norm} norm${r.norm === 'group' ? ` (G = ${r.groups})` : ''} on a ${r.shape.join('x')} tensor, from the backward`,
    'kernels (one one-hot dy per output; no finite differences).',
    'Rows: outputs y; columns: inputs x; both ordered (n, c, h, w).',
    `' ' is exactly 0, '@' is |J| = ${max.toFixed(3)}.`,
    '',
  ];
  for (let o = 0; o < SIZE; o++) {
    if (o > 0 && o % per === 0) lines.push(`  ${'-'.repeat(per)}+${'-'.repeat(per)}`);
    let row = '  ';
    for (let i = 0; i < SIZE; i++) {
      if (i > 0 && i % per === 0) row += '|';
      row += shade(r.jacobian[o * SIZE + i]!);
    }
    lines.push(`${row}  y${o} in ${r.setNames[setOf.get(o)!]}`);
  }
  const couples = r.crossSample > 0;
  const e = (v: number) => v.toExponential(2);
  const inv = r.invariants;
  lines.push(
    '',
    `Across samples (the off-diagonal blocks): max |J| = ${e(r.crossSample)}:`,
    couples ? `  ${r.norm} norm couples the samples of a batch.` : "  no output depends on another sample's input.",
    `Against the float64 reference: max |J - J_ref| = ${e(r.maxAbsError)}.`,
    `Invariants per set, for ${inv.trials} random dy (float64 in brackets):`,
    `  max |sum(dx)|            = ${e(inv.sumDx)}  [${e(inv.refSumDx)}]`,
    `  max |sum(dx * xhat) - e| = ${e(inv.sumDxXhat)}  [${e(inv.refSumDxXhat)}]`,
    `  ${inv.pass ? 'both 0 within' : 'NOT both 0 within'} ${inv.tolerance}. e = rstd eps / (var + eps) sum(g xhat),`,
    `  at most ${e(inv.epsTerm)}, is what eps leaves of the second: 0 as eps -> 0.`,
    'Why: dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy gamma, removes from g',
    'its components along 1 and along xhat (docs/normalization-backprop.md).',
  );
  return lines.join('\n');
}
