// `normlab exercise check`: judges a learner's backward pass of a norm, in the derivation's terms.
// Everything here is float64 and browser-safe; the learner's code runs elsewhere (exercise-ts.ts in
// a worker, exercise-wgsl.ts on the GPU) and hands back dx, dgamma and dbeta per case.
//
// The closed form, per reduction set (docs/normalization-backprop.md, sections 5 and 8):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = dy * gamma[c]
// A wrong dx is fitted, set by set, as rstd^p * (k1 g - k2 mean(g) - k3 xhat mean(g * xhat)) for
// p = 1, 0, 2: the coefficients say which term is missing (k = 0), flipped (k = -1) or scaled;
// p says whether rstd is missing or applied twice. Before that, dx is compared with the closed form
// over every other kind of set: a right formula summed over the wrong set.
import { planNorm } from '../engine/ops/norm.js';
import { channelOf, hashRng, normBackwardRef, normForwardRef, reductionSets, type NormRefSpec } from '../reference/norm.js';
import { elementName, setNames, tinyInputs } from './explain.js';

export type ExerciseNorm = 'batch' | 'group' | 'layer';
export const EXERCISE_NORMS: readonly ExerciseNorm[] = ['batch', 'group', 'layer'];
/** Group norm's groups in the exercise (the tiny tensor has 4 channels: 2 per group). */
export const EXERCISE_GROUPS = 2;
const EPS = 1e-5;

export interface ExerciseCase {
  name: string;
  shape: [number, number, number, number];
  x: number[];
  gamma: number[];
  beta: number[];
  dy: number[];
}

/** The tiny tensor of `normlab explain` (seed 7), and a second shape so nothing tuned to the first passes. */
export function exerciseCases(): ExerciseCase[] {
  const tiny = tinyInputs(7);
  const shape: [number, number, number, number] = [3, 6, 2, 3];
  const rng = hashRng(11);
  const size = shape.reduce((a, b) => a * b, 1);
  const round = (v: number) => Math.round(v * 100) / 100;
  return [
    { name: '2x4x2x2 (seed 7)', shape: [2, 4, 2, 2], ...tiny },
    {
      name: '3x6x2x3 (seed 11)',
      shape,
      x: Array.from({ length: size }, (_, i) => round(0.3 * (Math.floor(i / 6) % 6) - 0.7 + rng.normal())),
      gamma: Array.from({ length: 6 }, () => round(0.5 + rng.next())),
      beta: Array.from({ length: 6 }, () => round(0.5 * rng.normal())),
      dy: Array.from({ length: size }, () => round(rng.normal())),
    },
  ];
}

/** The kinds of reduction set a learner might sum over: a table, each the set of one norm. */
export const SET_KINDS = [
  { id: 'nhw', norm: 'batch', words: 'its channel, over every sample and pixel (n, h, w)' },
  { id: 'chw', norm: 'layer', words: 'its sample, over every channel and pixel (c, h, w)' },
  { id: 'ghw', norm: 'group', words: `its sample's group of C/G channels (G = ${EXERCISE_GROUPS}), over their pixels (c in the group, h, w)` },
  { id: 'hw', norm: 'instance', words: 'its plane (n, c), over its pixels (h, w)' },
] as const;
export type SetKind = (typeof SET_KINDS)[number]['id'];

export const spec = (kind: NormRefSpec['kind'], shape: readonly number[]): NormRefSpec => ({ kind, shape, groups: kind === 'group' ? EXERCISE_GROUPS : undefined, eps: EPS });
const kindOf = (norm: ExerciseNorm): SetKind => SET_KINDS.find((k) => k.norm === norm)!.id;

/** One case worked out in float64: what the learner's code sees and what it should return. */
export interface CaseParts {
  norm: ExerciseNorm;
  case: ExerciseCase;
  /** Per element: xhat, the set's rstd and mean, g = dy * gamma[c], the set it belongs to. */
  xhat: Float64Array;
  rstd: Float64Array;
  mean: Float64Array;
  g: Float64Array;
  setOf: Int32Array;
  setNames: string[];
  /** Per element, mean(g) and mean(g * xhat) over the set of each kind that holds it. */
  means: Record<SetKind, { g: Float64Array; gxhat: Float64Array }>;
  dx: Float64Array;
  dgamma: Float64Array;
  dbeta: Float64Array;
  /** dL/dx by central differences of L = sum(y * dy) through the float64 forward. */
  fd: Float64Array;
}

export function caseParts(norm: ExerciseNorm, c: ExerciseCase): CaseParts {
  const s = spec(norm, c.shape);
  const size = c.x.length;
  const fwd = normForwardRef(c.x, c.gamma, c.beta, s);
  const sets = reductionSets(s);
  const setOf = new Int32Array(size);
  sets.forEach((idx, k) => idx.forEach((i) => (setOf[i] = k)));
  const g = Float64Array.from(c.dy, (d, i) => d * c.gamma[channelOf(i, c.shape)]!);
  const means = {} as CaseParts['means'];
  for (const kind of SET_KINDS) {
    const m = { g: new Float64Array(size), gxhat: new Float64Array(size) };
    for (const idx of reductionSets(spec(kind.norm, c.shape))) {
      let a = 0;
      let b = 0;
      for (const i of idx) {
        a += g[i]!;
        b += g[i]! * fwd.xhat[i]!;
      }
      for (const i of idx) {
        m.g[i] = a / idx.length;
        m.gxhat[i] = b / idx.length;
      }
    }
    means[kind.id] = m;
  }
  const bwd = normBackwardRef(c.x, c.gamma, c.beta, c.dy, s);
  const h = 1e-5;
  const loss = (x: number[]) => normForwardRef(x, c.gamma, c.beta, s).y.reduce((acc, y, i) => acc + y * c.dy[i]!, 0);
  const fd = Float64Array.from(c.x, (v, i) => {
    const plus = c.x.slice();
    const minus = c.x.slice();
    plus[i] = v + h;
    minus[i] = v - h;
    return (loss(plus) - loss(minus)) / (2 * h);
  });
  return {
    norm,
    case: c,
    xhat: fwd.xhat,
    rstd: Float64Array.from(setOf, (k) => fwd.rstd[k]!),
    mean: Float64Array.from(setOf, (k) => fwd.mean[k]!),
    g,
    setOf,
    setNames: setNames(planNorm(norm, c.shape, { groups: EXERCISE_GROUPS })).map((n) => n.name),
    means,
    dx: bwd.dx,
    dgamma: bwd.dgamma,
    dbeta: bwd.dbeta,
    fd,
  };
}

/** What the learner's code returned for one case. */
export interface Attempt {
  dx: ArrayLike<number>;
  dgamma: ArrayLike<number>;
  dbeta: ArrayLike<number>;
}

export type Diagnosis = 'mean-g' | 'mean-gxhat' | 'scale' | 'set' | 'sign' | 'dgamma' | 'dbeta' | 'not-finite' | 'other';

export interface Verdict {
  norm: ExerciseNorm;
  correct: boolean;
  /** What is wrong, most telling first; empty when correct. */
  diagnoses: Diagnosis[];
  lines: string[];
  /** Largest |dx - X| over both cases, X = the float64 reference, the fused kernel, finite differences. */
  errors: { reference: number; kernel: number | null; finiteDifferences: number; dgamma: number; dbeta: number };
}

/** Relative to the largest reference value: float32 kernels land near 1e-7, float64 code near 1e-15. */
const TOLERANCE = 1e-4;
/** A fitted form or another set counts as what the learner wrote when it leaves less than this. */
const FIT_TOLERANCE = 1e-3;

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const maxAbs = (a: ArrayLike<number>): number => Math.max(1e-12, ...Array.from(a, Math.abs));
const fmt = (v: number): string => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(2));
const short = (v: number): string => String(Number(v.toPrecision(3)));
const near = (v: number, target: number): boolean => Math.abs(v - target) <= 0.02;

/** Least squares: the coefficients of `basis` closest to `target`, and the largest residual. */
function fit(basis: Float64Array[], target: ArrayLike<number>): { k: number[]; residual: number } {
  const n = basis.length;
  const a = basis.map((u) => basis.map((v) => u.reduce((s, ui, i) => s + ui * v[i]!, 0)));
  const b = basis.map((u) => u.reduce((s, ui, i) => s + ui * target[i]!, 0));
  // Gaussian elimination with partial pivoting on the small normal equations.
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[p]![col]!)) p = r;
    [a[col], a[p]] = [a[p]!, a[col]!];
    [b[col], b[p]] = [b[p]!, b[col]!];
    if (Math.abs(a[col]![col]!) < 1e-12) return { k: new Array(n).fill(0), residual: Infinity };
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let q = col; q < n; q++) a[r]![q]! -= f * a[col]![q]!;
      b[r]! -= f * b[col]!;
    }
  }
  const k = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) k[r] = (b[r]! - a[r]!.slice(r + 1).reduce((s, v, q) => s + v * k[r + 1 + q]!, 0)) / a[r]![r]!;
  let residual = 0;
  for (let i = 0; i < target.length; i++) residual = Math.max(residual, Math.abs(target[i]! - basis.reduce((s, u, j) => s + k[j]! * u[i]!, 0)));
  return { k, residual };
}

/** The closed form's three terms, in the fit's basis order, and what dropping each does to dx. */
const TERMS = [
  { words: 'the g term (rstd * g)', missing: 'other' as const, off: '' },
  { words: 'the mean(g) term', missing: 'mean-g' as const, off: 'dx is off by a constant within each set (rstd * mean(g)' },
  { words: 'the xhat * mean(g * xhat) term', missing: 'mean-gxhat' as const, off: 'dx is off along xhat within each set (rstd * xhat * mean(g * xhat)' },
];

/** What is wrong with a dx that is not the closed form, in the derivation's terms. */
function diagnoseDx(p: CaseParts, dx: ArrayLike<number>): { diagnoses: Diagnosis[]; lines: string[] } {
  const scale = maxAbs(p.dx);
  const own = kindOf(p.norm);
  const m = p.means[own];
  const setWord = SET_KINDS.find((k) => k.id === own)!.words;
  for (const kind of SET_KINDS) {
    if (kind.id === own) continue;
    const o = p.means[kind.id];
    const other = p.dx.map((_, i) => p.rstd[i]! * (p.g[i]! - o.g[i]! - p.xhat[i]! * o.gxhat[i]!));
    if (maxAbsDiff(dx, other) / scale <= FIT_TOLERANCE) {
      return {
        diagnoses: ['set'],
        lines: [
          'mean(g) and mean(g * xhat) are taken over the wrong set (the rest of the closed form is right):',
          `yours are over ${kind.words}: ${kind.norm} norm's set;`,
          `${p.norm} norm's set for an element is ${setWord}.`,
        ],
      };
    }
  }
  const forms = [1, 0, 2].map((power) => {
    const r = p.rstd.map((v) => v ** power);
    const basis = [r.map((v, i) => v * p.g[i]!), r.map((v, i) => v * m.g[i]!), r.map((v, i) => v * p.xhat[i]! * m.gxhat[i]!)];
    const f = fit(basis, dx);
    return { power, basis, k: [f.k[0]!, -f.k[1]!, -f.k[2]!], residual: f.residual / scale };
  });
  // The terms as the closed form has them (rstd^1): how much a missing one leaves.
  const terms = forms[0]!.basis;
  const best = forms.reduce((a, b) => (b.residual < a.residual ? b : a));
  if (best.residual > FIT_TOLERANCE) {
    return { diagnoses: ['other'], lines: ['dx is not rstd * (g - mean(g) - xhat * mean(g * xhat)) over any set, with any term missing, flipped or scaled.'] };
  }
  const [k1, k2, k3] = best.k as [number, number, number];
  const diagnoses: Diagnosis[] = [];
  const lines: string[] = [];
  if (best.power !== 1) {
    diagnoses.push('scale');
    lines.push(best.power === 0 ? 'the factor rstd = 1/sqrt(var + eps) in front is missing: yours is the correct dx divided by rstd, set by set.' : 'rstd is applied twice: dx is rstd^2 * (...) where the closed form has rstd * (...).');
  }
  const same = near(k1, k2) && near(k2, k3);
  if (same && near(k1, -1)) {
    diagnoses.push('sign');
    lines.push('dx has the wrong sign: it is -(the correct dx). dL/dx = +rstd * (g - mean(g) - xhat * mean(g * xhat)).');
  } else if (same && !near(k1, 1)) {
    diagnoses.push('scale');
    lines.push(`dx is ${short(k1)} times the correct dx: a constant factor too many (a count M, N or H*W where the formula has none?).`);
  } else if (!same) {
    const setSize = p.case.x.length / (p.setNames.length || 1);
    TERMS.forEach((t, j) => {
      const k = best.k[j]!;
      if (near(k, 1)) return;
      if (near(k, 0)) {
        diagnoses.push(t.missing);
        lines.push(`${t.words} is missing${t.off ? `: ${t.off}, up to ${fmt(maxAbs(terms[j]!))})` : ''}.`);
      } else if (near(k, -1)) {
        diagnoses.push('sign');
        lines.push(`${t.words} has the wrong sign: it is ${j === 0 ? 'subtracted' : 'added'} where the closed form ${j === 0 ? 'adds' : 'subtracts'} it.`);
      } else {
        diagnoses.push('scale');
        lines.push(`${t.words} is ${short(k)} times what it should be${j > 0 ? ` (a mean is a sum over the set's M = ${setSize} elements divided by M; k * M = ${short(k * setSize)})` : ''}.`);
      }
    });
  }
  if (diagnoses.length === 0) return { diagnoses: ['other'], lines: ['dx is close to the closed form but differs by more than rounding.'] };
  return { diagnoses, lines };
}

/** dgamma or dbeta against the reference and the mistakes commonly made in it (a table). */
function diagnoseAffine(p: CaseParts, which: 'dgamma' | 'dbeta', got: ArrayLike<number>): string | null {
  const want = p[which];
  const scale = maxAbs(want);
  if (maxAbsDiff(got, want) / scale <= TOLERANCE) return null;
  const [n, , h, w] = p.case.shape;
  const perChannel = (term: (i: number) => number) => {
    const out = new Float64Array(want.length);
    for (let i = 0; i < p.case.x.length; i++) out[channelOf(i, p.case.shape)] += term(i);
    return out;
  };
  const dy = p.case.dy;
  const mistakes: [string, Float64Array][] = [
    ['it is 0 everywhere (not written yet?)', new Float64Array(want.length)],
    ['it has the wrong sign', want.map((v) => -v)],
    [`it is a mean: divide by nothing (the sum is over (n, h, w), ${n * h * w} elements)`, want.map((v) => v / (n * h * w))],
    ...((which === 'dgamma'
      ? [
          ['it is sum(dy): that is dbeta', p.dbeta],
          ['it sums dy * x, not dy * xhat', perChannel((i) => dy[i]! * p.case.x[i]!)],
          ['it sums g * xhat = dy * gamma * xhat: gamma does not belong in it', perChannel((i) => p.g[i]! * p.xhat[i]!)],
        ]
      : [
          ['it is sum(dy * xhat): that is dgamma', p.dgamma],
          ['it sums g = dy * gamma: gamma does not belong in it', perChannel((i) => p.g[i]!)],
        ]) as [string, Float64Array][]),
  ];
  const known = mistakes.find(([, v]) => maxAbsDiff(got, v) / scale <= FIT_TOLERANCE);
  let worst = 0;
  for (let c = 0; c < want.length; c++) if (Math.abs(got[c]! - want[c]!) > Math.abs(got[worst]! - want[worst]!)) worst = c;
  const formula = which === 'dgamma' ? 'sum over (n, h, w) of dy * xhat' : 'sum over (n, h, w) of dy';
  return `${which}: WRONG${known ? `: ${known[0]}` : ''}. ${which}[c] = ${formula}; at c${worst} yours ${fmt(got[worst]!)}, expected ${fmt(want[worst]!)}.`;
}

/**
 * The verdict on a learner's attempts, one per case of `parts`. `kernelDx`: the fused kernel's dx on
 * the same cases (null where no GPU ran), for the figures a correct solution is shown with.
 */
export function judge(parts: CaseParts[], attempts: Attempt[], kernelDx: (ArrayLike<number> | null)[]): Verdict {
  const norm = parts[0]!.norm;
  const errors = { reference: 0, kernel: kernelDx.every((k) => k) ? 0 : null, finiteDifferences: 0, dgamma: 0, dbeta: 0 } as Verdict['errors'];
  parts.forEach((p, k) => {
    const a = attempts[k]!;
    errors.reference = Math.max(errors.reference, maxAbsDiff(a.dx, p.dx));
    errors.finiteDifferences = Math.max(errors.finiteDifferences, maxAbsDiff(a.dx, p.fd));
    if (errors.kernel !== null) errors.kernel = Math.max(errors.kernel, maxAbsDiff(a.dx, kernelDx[k]!));
    errors.dgamma = Math.max(errors.dgamma, maxAbsDiff(a.dgamma, p.dgamma));
    errors.dbeta = Math.max(errors.dbeta, maxAbsDiff(a.dbeta, p.dbeta));
  });
  const wrong = parts.findIndex((p, k) => {
    const a = attempts[k]!;
    return [[a.dx, p.dx], [a.dgamma, p.dgamma], [a.dbeta, p.dbeta]].some(([got, want]) => !(maxAbsDiff(got!, want!) / maxAbs(want!) <= TOLERANCE));
  });
  if (wrong < 0) {
    const e = (v: number) => v.toExponential(1);
    return {
      norm,
      correct: true,
      diagnoses: [],
      errors,
      lines: [
        `correct: dx, dgamma and dbeta match on ${parts.map((p) => p.case.name).join(' and ')}.`,
        `  max |dx - float64 reference|        = ${e(errors.reference)}`,
        `  max |dx - fused kernel (norm.wgsl)| = ${errors.kernel === null ? 'not run (no GPU)' : e(errors.kernel)}`,
        `  max |dx - finite differences|       = ${e(errors.finiteDifferences)} (central, h = 1e-5, float64 forward)`,
        `  max |dgamma - reference| = ${e(errors.dgamma)}, max |dbeta - reference| = ${e(errors.dbeta)}`,
      ],
    };
  }
  const p = parts[wrong]!;
  const a = attempts[wrong]!;
  const lines: string[] = [];
  const diagnoses: Diagnosis[] = [];
  const finite = Array.from(a.dx).every(Number.isFinite);
  if (!finite) {
    const i = Array.from(a.dx).findIndex((v) => !Number.isFinite(v));
    diagnoses.push('not-finite');
    lines.push(`dx: WRONG: it is ${a.dx[i]} at x[${elementName(i, p.case.shape)}] (a division by zero? var + eps is never 0).`);
  } else if (Array.from(a.dx).every((v) => v === 0)) {
    diagnoses.push('other');
    lines.push('dx: WRONG: it is 0 everywhere (not written yet?).');
  } else if (maxAbsDiff(a.dx, p.dx) / maxAbs(p.dx) > TOLERANCE) {
    const d = diagnoseDx(p, a.dx);
    diagnoses.push(...d.diagnoses);
    lines.push(`dx: WRONG: ${d.lines[0]}`, ...d.lines.slice(1).map((l) => `  ${l}`));
    let worst = 0;
    for (let i = 0; i < p.dx.length; i++) if (Math.abs(a.dx[i]! - p.dx[i]!) > Math.abs(a.dx[worst]! - p.dx[worst]!)) worst = i;
    lines.push(`  largest difference at x[${elementName(worst, p.case.shape)}] (set ${p.setNames[p.setOf[worst]!]}): yours ${fmt(a.dx[worst]!)}, expected ${fmt(p.dx[worst]!)}.`);
  } else {
    lines.push('dx: correct.');
  }
  for (const which of ['dgamma', 'dbeta'] as const) {
    const d = diagnoseAffine(p, which, a[which]);
    if (d) diagnoses.push(which);
    lines.push(d ?? `${which}: correct.`);
  }
  lines.unshift(`WRONG on ${p.case.name}${wrong > 0 ? ` (${parts[0]!.case.name} passed: is a size written in?)` : ''}:`);
  return { norm, correct: false, diagnoses, errors, lines };
}
