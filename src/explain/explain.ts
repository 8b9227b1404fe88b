// `normlab explain --norm batch|group|layer|instance`: one forward and backward of the real norm kernels on
// a tiny tensor (N=2, C=4, H=W=2, fixed seed), every intermediate read back, in the order the
// maths flows; then a finite-difference check of dx. explainNorm() returns plain data (the --json
// output); formatExplain() renders it for an 80-column terminal.
import type { Engine } from '../engine/engine.js';
import { noGrad } from '../engine/autograd.js';
import {
  initBatchNormState,
  normBackwardKernels,
  normForwardKernels,
  planNorm,
  type NormKind,
  type NormPlan,
} from '../engine/ops/norm.js';
import normWgsl from '../shaders/norm.wgsl';
import { hashRng } from '../reference/norm.js';

export interface ExplainOptions {
  /** Input seed (default 7). */
  seed?: number;
  /** Groups for `group` (default 2, so that a group holds two of the four channels). */
  groups?: number;
  eps?: number;
  /** Central-difference step for the dx check (default 1e-2, as the gradcheck rows). */
  fdStep?: number;
}

export interface ExplainResult {
  norm: NormKind;
  shape: [number, number, number, number];
  groups: number;
  eps: number;
  seed: number;
  /** For each reduction set, its name (c0, n1 g0, n0) and the (n, c) planes it gathers. */
  sets: { name: string; planes: [number, number][] }[];
  /** Elements per set (M). */
  setSize: number;
  x: number[];
  gamma: number[];
  beta: number[];
  /** Per set, as the kernels save them; var is recovered as 1/rstd^2 - eps. */
  stats: { mean: number[]; rstd: number[]; var: number[] };
  xhat: number[];
  y: number[];
  dy: number[];
  /** Per set: mean(g) and mean(g * xhat), g = dy * gamma[c]: the two reductions dx is built from. */
  reductions: { meanG: number[]; meanGXhat: number[] };
  dx: number[];
  dgamma: number[];
  dbeta: number[];
  /** Batch norm (training): the running statistics after this step, from mean 0 and var 1. */
  running?: { mean: number[]; var: number[] };
  fdCheck: { step: number; numeric: number[]; maxAbsError: number; tolerance: number; pass: boolean };
  /** Where each quantity is computed: 'src/shaders/norm.wgsl:LINE'. */
  wgsl: Record<string, string>;
}

export const SHAPE: [number, number, number, number] = [2, 4, 2, 2];

/** Element i of an N x C x H x W tensor by its coordinates: 'n0 c3 h0 w1'. */
export function elementName(i: number, shape: readonly number[]): string {
  const [, c, h, w] = shape as [number, number, number, number];
  return `n${Math.floor(i / (c * h * w))} c${Math.floor(i / (h * w)) % c} h${Math.floor(i / w) % h} w${i % w}`;
}

/** file:line of the first line of norm.wgsl containing `snippet`. */
export function normWgslLine(snippet: string): string {
  const index = normWgsl.split('\n').findIndex((l) => l.includes(snippet));
  if (index < 0) throw new Error(`norm.wgsl has no line containing '${snippet}'`);
  return `src/shaders/norm.wgsl:${index + 1}`;
}

/** The kernel line behind each printed quantity (searched, so it follows edits of the WGSL). */
const WGSL_SNIPPETS: Record<string, string> = {
  'plane moments (Welford)': 'm.z += d * (v - m.y);',
  'merge (Chan)': 'a.z + b.z + d * d * a.x * f',
  'mean, rstd': 'stats[s] = vec2f(m.y, 1.0 / sqrt(variance + EPS));',
  'running statistics': 'running_var[c] = (1.0 - MOMENTUM)',
  xhat: 'return (v - st.x) * st.y;',
  y: 'return xh * gamma[c] + beta[c];',
  'sum dy, sum dy*xhat (per plane)': 'acc.y += d * xh;',
  'dbeta, dgamma / mean(g), mean(g*xhat)': 'if (WEIGHTED) { v = v * gamma[q % C]; }',
  dx: 'out[i] = st.y * (g - red_a[s] - xh * red_b[s]);',
};

const round2 = (v: number): number => Math.round(v * 100) / 100;

export function setNames(plan: NormPlan): { name: string; planes: [number, number][] }[] {
  const [n, c] = plan.shape;
  const sets: { name: string; planes: [number, number][] }[] = [];
  if (plan.kind === 'batch') {
    for (let ch = 0; ch < c; ch++) sets.push({ name: `c${ch}`, planes: Array.from({ length: n }, (_, s) => [s, ch] as [number, number]) });
    return sets;
  }
  const cg = c / plan.groups;
  for (let s = 0; s < n; s++) {
    for (let g = 0; g < plan.groups; g++) {
      sets.push({
        name: plan.kind === 'layer' ? `n${s}` : plan.kind === 'instance' ? `n${s} c${g}` : `n${s} g${g}`,
        planes: Array.from({ length: cg }, (_, k) => [s, g * cg + k] as [number, number]),
      });
    }
  }
  return sets;
}

/**
 * The tiny tensor's inputs for a seed: x, gamma, beta and an upstream gradient dy. Two decimals, so
 * the printed inputs are the exact inputs; channel offsets make the means differ.
 */
export function tinyInputs(seed: number): { x: number[]; gamma: number[]; beta: number[]; dy: number[] } {
  const [, c, h, w] = SHAPE;
  const size = SHAPE.reduce((a, b) => a * b, 1);
  const rng = hashRng(seed);
  const x = Array.from({ length: size }, (_, i) => round2(0.5 * (Math.floor(i / (h * w)) % c) - 0.5 + rng.normal()));
  const gamma = Array.from({ length: c }, () => round2(0.5 + rng.next()));
  const beta = Array.from({ length: c }, () => round2(rng.normal() * 0.5));
  const dy = Array.from({ length: size }, () => round2(rng.normal()));
  return { x, gamma, beta, dy };
}

export async function explainNorm(engine: Engine, norm: NormKind, opts: ExplainOptions = {}): Promise<ExplainResult> {
  const seed = opts.seed ?? 7;
  const eps = opts.eps ?? 1e-5;
  const groups = norm === 'group' ? (opts.groups ?? 2) : norm === 'instance' ? SHAPE[1] : 1;
  const plan = planNorm(norm, SHAPE, { groups, eps });
  const [, c] = SHAPE;
  const size = SHAPE.reduce((a, b) => a * b, 1);
  const { x, gamma, beta, dy } = tinyInputs(seed);

  const read = (t: { read(): Promise<Float32Array> }): Promise<number[]> => t.read().then((a) => Array.from(a));
  const fresh = () => (norm === 'batch' ? initBatchNormState(engine, c) : undefined);
  const disposeState = (s: ReturnType<typeof fresh>): void => {
    s?.runningMean.dispose();
    s?.runningVar.dispose();
  };

  // tidy() is synchronous: the reads are recorded inside it (each submits its copy at once) and
  // awaited after it has freed the tensors.
  const pending = noGrad(() =>
    engine.tidy(() => {
      const xT = engine.tensor(x, SHAPE);
      const gT = engine.tensor(gamma, [c]);
      const bT = engine.tensor(beta, [c]);
      const dyT = engine.tensor(dy, SHAPE);
      const state = fresh();
      const fwd = normForwardKernels(plan, xT, gT, bT, { training: true, momentum: 0.1, running: state });
      const bwd = normBackwardKernels(plan, xT, gT, bT, fwd.stats, dyT, {});
      // xhat itself is never stored by the kernels (each recomputes it); the apply kernel with
      // gamma = 1 and beta = 0 produces it.
      const xhatState = fresh();
      const ones = engine.tensor(new Array<number>(c).fill(1), [c]);
      const zeros = engine.zeros([c]);
      const xhatRun = normForwardKernels(plan, xT, ones, zeros, { training: true, running: xhatState });
      const reads = {
        stats: read(fwd.stats),
        y: read(fwd.y),
        xhat: read(xhatRun.y),
        dx: read(bwd.dx!),
        dgamma: read(bwd.dgamma),
        dbeta: read(bwd.dbeta),
        meanG: read(bwd.meanG!),
        meanGXhat: read(bwd.meanGXhat!),
        runningMean: state ? read(state.runningMean) : null,
        runningVar: state ? read(state.runningVar) : null,
      };
      disposeState(state);
      disposeState(xhatState);
      return reads;
    }),
  );
  const result = {
    stats: await pending.stats,
    y: await pending.y,
    xhat: await pending.xhat,
    dx: await pending.dx,
    dgamma: await pending.dgamma,
    dbeta: await pending.dbeta,
    meanG: await pending.meanG,
    meanGXhat: await pending.meanGXhat,
    running: pending.runningMean && pending.runningVar ? { mean: await pending.runningMean, var: await pending.runningVar } : undefined,
  };

  // dL/dx by central differences of L = sum(y * dy) through the same forward kernels.
  const step = opts.fdStep ?? 1e-2;
  const loss = async (xs: Float32Array): Promise<number> => {
    const yv = await noGrad(() =>
      engine.tidy(() => {
        const state = fresh();
        const xT = engine.tensor(xs, SHAPE);
        const out = normForwardKernels(plan, xT, engine.tensor(gamma, [c]), engine.tensor(beta, [c]), { training: true, running: state });
        const r = out.y.read();
        disposeState(state);
        return r;
      }),
    );
    let s = 0;
    for (let i = 0; i < size; i++) s += yv[i]! * dy[i]!;
    return s;
  };
  const numeric: number[] = [];
  const base = Float32Array.from(x);
  for (let i = 0; i < size; i++) {
    const plus = base.slice();
    const minus = base.slice();
    plus[i] = base[i]! + step;
    minus[i] = base[i]! - step;
    numeric.push(((await loss(plus)) - (await loss(minus))) / (plus[i]! - minus[i]!));
  }
  const maxAbsError = Math.max(...numeric.map((v, i) => Math.abs(v - result.dx[i]!)));
  const tolerance = 2e-3;

  const mean = result.stats.filter((_, k) => k % 2 === 0);
  const rstd = result.stats.filter((_, k) => k % 2 === 1);
  const wgsl: Record<string, string> = {};
  for (const [k, snippet] of Object.entries(WGSL_SNIPPETS)) wgsl[k] = normWgslLine(snippet);
  return {
    norm,
    shape: SHAPE,
    groups,
    eps,
    seed,
    sets: setNames(plan),
    setSize: plan.setSize,
    x,
    gamma,
    beta,
    stats: { mean, rstd, var: rstd.map((r) => 1 / (r * r) - eps) },
    xhat: result.xhat,
    y: result.y,
    dy,
    reductions: { meanG: result.meanG, meanGXhat: result.meanGXhat },
    dx: result.dx,
    dgamma: result.dgamma,
    dbeta: result.dbeta,
    ...(result.running ? { running: result.running } : {}),
    fdCheck: { step, numeric, maxAbsError, tolerance, pass: maxAbsError <= tolerance },
    wgsl,
  };
}

// ---- text ---------------------------------------------------------------------------------------

const num = (v: number, width = 7, digits = 3): string => {
  const s = Math.abs(v) < 0.5 * 10 ** -digits ? (0).toFixed(digits) : v.toFixed(digits);
  return s.padStart(width);
};

/** An N x C x H x W tensor (H = W = 2 here) as rows (n, h), columns c0..c3 each with its W values. */
function block(title: string, values: number[], shape: readonly number[], where?: string): string[] {
  const [n, c, h, w] = shape as [number, number, number, number];
  const lines = [heading(title, where)];
  const colWidth = w * 8;
  lines.push(`         ${Array.from({ length: c }, (_, k) => `c${k}`.padStart(colWidth - 2).padEnd(colWidth)).join(' ')}`.trimEnd());
  for (let s = 0; s < n; s++) {
    for (let r = 0; r < h; r++) {
      const cols: string[] = [];
      for (let ch = 0; ch < c; ch++) {
        let cell = '';
        for (let q = 0; q < w; q++) cell += ` ${num(values[((s * c + ch) * h + r) * w + q]!)}`;
        cols.push(cell);
      }
      lines.push(`  n${s} h${r} ${cols.join(' ')}`);
    }
  }
  return lines;
}

function heading(title: string, where?: string): string {
  if (!where) return title;
  const pad = Math.max(1, 78 - title.length - where.length);
  return `${title}${' '.repeat(pad)}${where}`;
}

function perChannel(title: string, values: number[], where?: string): string[] {
  return [heading(title, where), `  ${values.map((v, k) => `c${k} ${num(v)}`).join('   ')}`];
}

export function formatExplain(r: ExplainResult): string {
  const title = {
    batch: 'BatchNorm2d (training): statistics per channel over (n, h, w)',
    group: `GroupNorm(${r.groups}, ${r.shape[1]}): statistics per sample over ${r.shape[1] / r.groups} channels x (h, w)`,
    layer: `GroupNorm(1, ${r.shape[1]}) = LayerNorm: statistics per sample over (c, h, w)`,
    instance: `InstanceNorm2d(${r.shape[1]}, affine=True) = GroupNorm(${r.shape[1]}, ${r.shape[1]}): statistics per sample and channel over (h, w)`,
  }[r.norm];
  const out: string[] = [];
  out.push(`normlab explain --norm ${r.norm}: x is ${r.shape.join('x')} (NxCxHxW), seed ${r.seed}, eps ${r.eps.toExponential()}`);
  out.push(title);
  out.push(`reduction sets (${r.sets.length}, M = ${r.setSize} elements each):`);
  const setLine = r.sets.map((s) => `${s.name} = {${s.planes.map(([n, c]) => `n${n}c${c}`).join(',')}}`);
  for (let k = 0; k < setLine.length; k += 2) out.push(`  ${setLine.slice(k, k + 2).map((s) => s.padEnd(37)).join(' ')}`.trimEnd());
  out.push('');
  out.push(...block('x (input)', r.x, r.shape));
  out.push(...perChannel('gamma', r.gamma));
  out.push(...perChannel('beta', r.beta));
  out.push('');
  out.push(heading('1. statistics per set: mean, var = mean((x-mean)^2), rstd = 1/sqrt(var+eps)', ''));
  out.push(`   ${r.wgsl['plane moments (Welford)']}  Welford's update within each (n, c) plane`);
  out.push(`   ${r.wgsl['merge (Chan)']}   Chan's merge of planes into sets (fixed order)`);
  out.push(`   ${r.wgsl['mean, rstd']}  mean and rstd per set, saved for the backward`);
  out.push(`   set         mean        var       rstd`);
  r.sets.forEach((s, k) => out.push(`   ${s.name.padEnd(6)} ${num(r.stats.mean[k]!, 10, 4)} ${num(r.stats.var[k]!, 10, 4)} ${num(r.stats.rstd[k]!, 10, 4)}`));
  if (r.running) {
    out.push(`   running statistics after this step, from mean 0 and var 1 (momentum 0.1,`);
    out.push(`   variance unbiased: M2 / (M - 1))                   ${r.wgsl['running statistics']}`);
    out.push(`   mean ${r.running.mean.map((v) => num(v, 9, 4)).join(' ')}`);
    out.push(`   var  ${r.running.var.map((v) => num(v, 9, 4)).join(' ')}`);
  }
  out.push('');
  out.push(...block('2. xhat = (x - mean) * rstd', r.xhat, r.shape, r.wgsl.xhat));
  out.push('');
  out.push(...block('3. y = gamma[c] * xhat + beta[c]', r.y, r.shape, r.wgsl.y));
  out.push('');
  out.push(...block('4. dy (upstream gradient; loss L = sum(y * dy))', r.dy, r.shape));
  out.push('');
  out.push(heading('5. the two reductions per set, g = dy * gamma[c]', r.wgsl['sum dy, sum dy*xhat (per plane)']));
  out.push(`   (per-plane sums gathered per set at ${r.wgsl['dbeta, dgamma / mean(g), mean(g*xhat)']})`);
  if (r.norm === 'batch') out.push('   batch (a set is a channel): gamma[c] * dbeta[c] / M, gamma[c] * dgamma[c] / M');
  out.push(`   set      mean(g)  mean(g*xhat)`);
  r.sets.forEach((s, k) => out.push(`   ${s.name.padEnd(6)} ${num(r.reductions.meanG[k]!, 10, 4)} ${num(r.reductions.meanGXhat[k]!, 12, 4)}`));
  out.push('');
  out.push(...block('6. dx = rstd * (g - mean(g) - xhat * mean(g*xhat))', r.dx, r.shape, r.wgsl.dx));
  out.push('');
  out.push(...perChannel('7. dgamma[c] = sum over (n,h,w) of dy * xhat', r.dgamma));
  out.push(...perChannel('8. dbeta[c]  = sum over (n,h,w) of dy', r.dbeta));
  out.push('');
  const f = r.fdCheck;
  out.push(`9. finite differences: (L(x + h) - L(x - h)) / 2h per element, h = ${f.step}`);
  out.push(...block('   numeric dL/dx', f.numeric, r.shape));
  out.push(
    `   max |dx - numeric| = ${f.maxAbsError.toExponential(2)}  (tolerance ${f.tolerance}: float32 with h = ${f.step})  ${f.pass ? 'PASS' : 'FAIL'}`,
  );
  return out.join('\n');
}
