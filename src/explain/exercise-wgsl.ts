// The WGSL exercise: a learner writes dx, and the per-element terms of dgamma and dbeta, as WGSL
// expressions in named values; normlab splices them into the real kernel (src/shaders/norm.wgsl:
// the dx entry point and plane_grad_sums) and runs it on the GPU. The learner is kept to
// expressions (`let NAME = EXPRESSION;`, no braces, loops or functions): an expression always ends,
// so a solution cannot hang the GPU, and the kernels' own loops are the only loops. Browser-safe: the
// explainer page runs the same code.
import type { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import { noGrad } from '../engine/autograd.js';
import { normBackwardKernels, normChannelSums, normDx, normForwardKernels, normPlaneGradSums, normSetMeans, planNorm } from '../engine/ops/norm.js';
import normWgsl from '../shaders/norm.wgsl';
import { EXERCISE_GROUPS, EXERCISE_NORMS, SET_KINDS, type Attempt, type CaseParts, type ExerciseNorm } from './exercise-check.js';

/** The three values a WGSL solution defines, and the function each is spliced into. */
export const WGSL_VALUES = [
  { name: 'dx', fn: 'learner_dx', says: 'dL/dx at this element' },
  { name: 'dgamma_term', fn: 'learner_dgamma', says: 'summed by the kernel over (n, h, w) of each channel: dL/dgamma[c]' },
  { name: 'dbeta_term', fn: 'learner_dbeta', says: 'likewise: dL/dbeta[c]' },
] as const;
type ValueName = (typeof WGSL_VALUES)[number]['name'];

/** A solution larger than this is refused before it is parsed (a solution is three lines). */
export const MAX_SOLUTION_BYTES = 64 * 1024;
const FORBIDDEN = /[{}]|\b(let|var|const|fn|loop|for|while|return|if|switch|break|continue|discard)\b/;

export interface WgslStatement {
  name: ValueName;
  /** From `let` to `;`, as written. */
  text: string;
  line: number;
  column: number;
}

export interface WgslSolution {
  file: string;
  norm: ExerciseNorm;
  statements: Record<ValueName, WgslStatement>;
}

/** The learner's source with comments blanked (newlines kept), so positions stay those of the file. */
function blankComments(source: string): string {
  return source.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '));
}

function position(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** The norm a file's '// norm: NAME' line names. */
function normOf(source: string, file: string): ExerciseNorm {
  const normLine = /^\s*\/\/\s*norm:\s*(\S+)/m.exec(source);
  if (!normLine) throw new UserError(`${file}:1: no '// norm: ${EXERCISE_NORMS.join('|')}' line says which norm this solves`);
  const norm = normLine[1] as ExerciseNorm;
  if (!EXERCISE_NORMS.includes(norm)) throw new UserError(`${file}:${position(source, normLine.index).line}: '${normLine[1]}' is not a norm of the exercise (${EXERCISE_NORMS.join(', ')})`);
  return norm;
}

/**
 * Reads a solution; anything wrong is one UserError naming the file and line. `norm`: the norm
 * when the text has no '// norm:' line (the page's editor, whose norm is the page's).
 */
export function parseWgslSolution(source: string, file: string, given?: ExerciseNorm): WgslSolution {
  if (source.length > MAX_SOLUTION_BYTES) throw new UserError(`${file}: ${source.length} bytes is too large for a solution (the limit is ${MAX_SOLUTION_BYTES}; a solution is three lines)`);
  const norm = given ?? normOf(source, file);
  const code = blankComments(source);
  const statements: Partial<Record<ValueName, WgslStatement>> = {};
  const at = (offset: number) => {
    const p = position(source, offset);
    return `${file}:${p.line}:${p.column}`;
  };
  let rest = code;
  const head = /let\s+([A-Za-z_]\w*)\s*=/g;
  for (let m = head.exec(code); m; m = head.exec(code)) {
    const name = m[1] as ValueName;
    if (!WGSL_VALUES.some((v) => v.name === name)) throw new UserError(`${at(m.index)}: '${m[1]}' is not one of ${WGSL_VALUES.map((v) => v.name).join(', ')}`);
    if (statements[name]) throw new UserError(`${at(m.index)}: ${name} is defined twice`);
    const end = code.indexOf(';', m.index);
    if (end < 0) throw new UserError(`${at(m.index)}: no ';' ends 'let ${name} = ...'`);
    const expression = code.slice(m.index + m[0].length, end);
    const bad = FORBIDDEN.exec(expression);
    if (bad) throw new UserError(`${at(m.index + m[0].length + bad.index)}: '${bad[0]}': only an expression goes after 'let ${name} =' (no statements, braces or loops: an expression always ends)`);
    if (!expression.trim()) throw new UserError(`${at(m.index)}: 'let ${name} =' has no expression`);
    const { line, column } = position(source, m.index);
    statements[name] = { name, text: source.slice(m.index, end + 1), line, column };
    rest = rest.slice(0, m.index) + ' '.repeat(end + 1 - m.index) + rest.slice(end + 1);
    head.lastIndex = end + 1;
  }
  const stray = /\S/.exec(rest);
  if (stray) {
    const found = rest.slice(stray.index).split(/\s/)[0]!.slice(0, 20);
    throw new UserError(`${at(stray.index)}: only ${WGSL_VALUES.map((v) => `'let ${v.name} = ...;'`).join(', ')} are read; found '${found}' (no statements, braces or loops: an expression always ends)`);
  }
  for (const v of WGSL_VALUES) if (!statements[v.name]) throw new UserError(`${file}: no 'let ${v.name} = ...;' (${v.says})`);
  return { file, norm, statements: statements as Record<ValueName, WgslStatement> };
}

/** Replaces `find` in `code` exactly once (norm.wgsl changing under the exercise is a test failure, not a silent no-op). */
function replaceOnce(code: string, find: string, by: string): string {
  const at = code.indexOf(find);
  if (at < 0 || code.indexOf(find, at + 1) >= 0) throw new Error(`exercise: norm.wgsl no longer has exactly one '${find.trim()}'`);
  return code.slice(0, at) + by + code.slice(at + find.length);
}

export interface SplicedModule {
  code: string;
  /** The file's line and column for a line and column of `code`, or null outside the learner's text. */
  where(line: number, column: number): { value: ValueName; line: number; column: number; outside?: true } | null;
}

/**
 * norm.wgsl with the learner's three statements spliced in. The dx kernel's last line calls
 * learner_dx, plane_grad_sums adds learner_dbeta and learner_dgamma; each learner function binds the
 * named values, then holds the learner's text verbatim, at its own column, so the compiler's line
 * and column map back to the file.
 */
export function spliceSolution(s: WgslSolution, shape: readonly number[]): SplicedModule {
  const [n, c] = shape as [number, number];
  let code = replaceOnce(normWgsl, 'out[i] = st.y * (g - red_a[s] - xh * red_b[s]);', 'out[i] = learner_dx(x[i], dy[i], gamma[c], g, xh, st.y, st.x, p);');
  code = replaceOnce(code, 'acc.x += d;\n      acc.y += d * xh;', 'acc.x += learner_dbeta(x[base + i], d, gamma[c], d * gamma[c], xh, st.y, st.x);\n      acc.y += learner_dgamma(x[base + i], d, gamma[c], d * gamma[c], xh, st.y, st.x);');
  const setSize = planNorm(s.norm, shape, { groups: EXERCISE_GROUPS }).setSize;
  // red_a / red_b hold mean(g) / mean(g * xhat) for every kind of set, one block per kind (SET_KINDS' order).
  const offsets = { nhw: 0, chw: c, ghw: c + n, hw: c + n + n * EXERCISE_GROUPS };
  const slot: Record<string, string> = {
    nhw: 'p % C',
    chw: `${offsets.chw}u + p / C`,
    ghw: `${offsets.ghw}u + (p / C) * ${EXERCISE_GROUPS}u + (p % C) / (C / ${EXERCISE_GROUPS}u)`,
    hw: `${offsets.hw}u + p`,
  };
  const lines = code.split('\n');
  lines.push('', '// ---- the learner\'s expressions (normlab exercise check), spliced in verbatim ----');
  const placed: { value: ValueName; start: number; count: number; line: number; returnLine: number }[] = [];
  for (const v of WGSL_VALUES) {
    const st = s.statements[v.name];
    const isDx = v.name === 'dx';
    lines.push(`fn ${v.fn}(x: f32, dy: f32, gamma: f32, g: f32, xhat: f32, rstd: f32, mean: f32${isDx ? ', p: u32' : ''}) -> f32 {`);
    lines.push(`  let M = ${setSize.toFixed(1)};`);
    if (isDx) for (const k of SET_KINDS) lines.push(`  let mean_g_${k.id} = red_a[${slot[k.id]}];`, `  let mean_gxhat_${k.id} = red_b[${slot[k.id]}];`);
    const text = st.text.split('\n');
    placed.push({ value: v.name, start: lines.length + 1, count: text.length, line: st.line, returnLine: lines.length + text.length + 1 });
    text[0] = ' '.repeat(st.column - 1) + text[0];
    lines.push(...text, `  return ${v.name};`, '}');
  }
  return {
    code: lines.join('\n'),
    where(line, column) {
      for (const p of placed) {
        if (line >= p.start && line < p.start + p.count) return { value: p.value, line: p.line + line - p.start, column };
        if (line === p.returnLine) return { value: p.value, line: p.line, column: 1, outside: true };
      }
      return null;
    },
  };
}

/** Compiles the spliced module; a compiler error becomes one line at the learner's file and line. */
export async function compileSolution(engine: Engine, s: WgslSolution, m: SplicedModule): Promise<void> {
  engine.device.pushErrorScope('validation');
  const module = engine.device.createShaderModule({ code: m.code, label: `exercise ${s.file}` });
  const info = await module.getCompilationInfo();
  await engine.device.popErrorScope();
  const errors = info.messages.filter((e) => e.type === 'error');
  if (errors.length === 0) return;
  const e = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const w = m.where(e.lineNum, e.linePos);
  if (!w) throw new UserError(`${s.file}: the WGSL compiler failed in normlab's code around your expressions: ${e.message}${more}`);
  if (w.outside) throw new UserError(`${s.file}:${w.line}: ${w.value} must be one f32 value: ${e.message}${more}`);
  throw new UserError(`${s.file}:${w.line}:${w.column}: ${e.message}${more}`);
}

/** The fused kernels' own dx (the path training takes) on every case: what a solution is also compared with. */
export async function fusedDx(engine: Engine, norm: ExerciseNorm, parts: CaseParts[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const { case: c } of parts) {
    const plan = planNorm(norm, c.shape, { groups: EXERCISE_GROUPS });
    const read = noGrad(() =>
      engine.tidy(() => {
        const [xT, gT, bT, dyT] = [engine.tensor(c.x, c.shape), engine.tensor(c.gamma, [c.shape[1]]), engine.tensor(c.beta, [c.shape[1]]), engine.tensor(c.dy, c.shape)];
        const { stats } = normForwardKernels(plan, xT, gT, bT, { training: true });
        return normBackwardKernels(plan, xT, gT, bT, stats, dyT).dx!.read();
      }),
    );
    out.push(await read);
  }
  return out;
}

/**
 * Runs a solution on every case: the forward and the reductions by the real kernels (scalar
 * path), then the learner's dx kernel and plane sums.
 */
export async function runWgslSolution(engine: Engine, s: WgslSolution, parts: CaseParts[]): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  for (const p of parts) {
    const m = spliceSolution(s, p.case.shape);
    await compileSolution(engine, s, m);
    const { shape, x, gamma, beta, dy } = p.case;
    const [n, c] = shape;
    const plan = planNorm(s.norm, shape, { groups: EXERCISE_GROUPS, naive: true });
    const reads = noGrad(() =>
      engine.tidy(() => {
        const xT = engine.tensor(x, shape);
        const gT = engine.tensor(gamma, [c]);
        const bT = engine.tensor(beta, [c]);
        const dyT = engine.tensor(dy, shape);
        const { stats } = normForwardKernels(plan, xT, gT, bT, { training: true });
        const plane = normPlaneGradSums(plan, xT, gT, bT, stats, dyT);
        const total = c + n + n * EXERCISE_GROUPS + n * c;
        const redA = engine.zeros([total]);
        const redB = engine.zeros([total]);
        let offset = 0;
        for (const k of SET_KINDS) {
          const means = normSetMeans(planNorm(k.norm, shape, { groups: EXERCISE_GROUPS, naive: true }), plane, gT);
          engine.copy(means.meanG, redA, means.meanG.bytes, 0, offset * 4);
          engine.copy(means.meanGXhat, redB, means.meanGXhat.bytes, 0, offset * 4);
          offset += means.meanG.size;
        }
        const dx = normDx(plan, xT, gT, bT, stats, dyT, redA, redB, m.code);
        const affine = normChannelSums(plan, normPlaneGradSums(plan, xT, gT, bT, stats, dyT, m.code), gT);
        return { dx: dx.read(), dgamma: affine.dgamma.read(), dbeta: affine.dbeta.read() };
      }),
    );
    attempts.push({ dx: await reads.dx, dgamma: await reads.dgamma, dbeta: await reads.dbeta });
  }
  return attempts;
}
