// Solutions to `normlab exercise norm-backward`, right and deliberately wrong, built from the
// scaffolds the command writes, in both languages: one per diagnosis the check must give.
import { exerciseScaffold } from '../../src/explain/exercise-scaffold.js';
import type { Diagnosis, ExerciseNorm, SetKind } from '../../src/explain/exercise-check.js';

export type Mistake = 'correct' | 'mean-g' | 'mean-gxhat' | 'set' | 'scale' | 'sign';
export const MISTAKES: readonly Mistake[] = ['correct', 'mean-g', 'mean-gxhat', 'set', 'scale', 'sign'];
/** The diagnosis each mistake must get (none for the correct one). */
export const EXPECTED: Record<Mistake, Diagnosis[]> = { correct: [], 'mean-g': ['mean-g'], 'mean-gxhat': ['mean-gxhat'], set: ['set'], scale: ['scale'], sign: ['sign'] };

const OWN: Record<ExerciseNorm, SetKind> = { batch: 'nhw', group: 'ghw', layer: 'chw' };
/** The set a wrong-set solution sums over instead (batch's is across samples, the others' within one). */
const WRONG: Record<ExerciseNorm, SetKind> = { batch: 'chw', group: 'nhw', layer: 'nhw' };

/** dx in terms of g, the two means, xhat and rstd, as each language names them. */
function dxExpression(m: Mistake, v: { g: string; a: string; b: string; xhat: string; rstd: string }): string {
  return {
    correct: `${v.rstd} * (${v.g} - ${v.a} - ${v.xhat} * ${v.b})`,
    'mean-g': `${v.rstd} * (${v.g} - ${v.xhat} * ${v.b})`,
    'mean-gxhat': `${v.rstd} * (${v.g} - ${v.a})`,
    set: `${v.rstd} * (${v.g} - ${v.a} - ${v.xhat} * ${v.b})`,
    scale: `(${v.g} - ${v.a} - ${v.xhat} * ${v.b})`,
    sign: `${v.rstd} * (${v.a} + ${v.xhat} * ${v.b} - ${v.g})`,
  }[m];
}

export function wgslSolution(norm: ExerciseNorm, m: Mistake, dx?: string): string {
  const set = m === 'set' ? WRONG[norm] : OWN[norm];
  const expr = dx ?? dxExpression(m, { g: 'g', a: `mean_g_${set}`, b: `mean_gxhat_${set}`, xhat: 'xhat', rstd: 'rstd' });
  return exerciseScaffold(norm, 'wgsl', 'solution.wgsl')
    .replace(/^let dx = 0\.0;/m, `let dx = ${expr};`)
    .replace(/^let dgamma_term = 0\.0;/m, 'let dgamma_term = dy * xhat;')
    .replace(/^let dbeta_term = 0\.0;/m, 'let dbeta_term = dy;');
}

/** The other norm's set, written in the scaffold's terms. */
const WRONG_SET_TS: Record<ExerciseNorm, string> = {
  batch: 'Math.floor(i / (C * H * W))',
  group: 'Math.floor(i / (H * W)) % C',
  layer: 'Math.floor(i / (H * W)) % C',
};

export function tsSolution(norm: ExerciseNorm, m: Mistake, body?: string): string {
  const set = m === 'set' ? WRONG_SET_TS[norm] : 'setOf(i, saved.shape)';
  const dx = dxExpression(m, { g: 'g(i)', a: 'meanG', b: 'meanGXhat', xhat: 'saved.xhat[i]!', rstd: 'saved.rstd[i]!' });
  const code =
    body ??
    `  const [, , H, W] = saved.shape;
  const channel = (i: number) => Math.floor(i / (H * W)) % C;
  const g = (i: number) => dy[i]! * saved.gamma[channel(i)]!;
  const sets = new Map<number, number[]>();
  dy.forEach((_, i) => sets.set(${set}, [...(sets.get(${set}) ?? []), i]));
  for (const members of sets.values()) {
    const meanG = members.reduce((s, i) => s + g(i), 0) / members.length;
    const meanGXhat = members.reduce((s, i) => s + g(i) * saved.xhat[i]!, 0) / members.length;
    for (const i of members) dx[i] = ${dx};
  }
  dy.forEach((d, i) => {
    dgamma[channel(i)] += d * saved.xhat[i]!;
    dbeta[channel(i)] += d;
  });
`;
  return exerciseScaffold(norm, 'ts', 'solution.ts').replace('  // Your code here.\n', code);
}
