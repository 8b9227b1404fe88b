// `normlab exercise norm-backward`: the scaffold a learner fills in, in TypeScript (the whole
// backward over arrays) or WGSL (three expressions spliced into the real kernel). Browser-safe: the
// explainer page starts its editor from the WGSL one.
import { EXERCISE_GROUPS, SET_KINDS, type ExerciseNorm } from './exercise-check.js';
import { WGSL_VALUES } from './exercise-wgsl.js';

export type ExerciseLang = 'ts' | 'wgsl';

const TITLE: Record<ExerciseNorm, string> = {
  batch: 'batch norm (BatchNorm2d in training: statistics over the batch)',
  group: `group norm (GroupNorm(${EXERCISE_GROUPS}, C): ${EXERCISE_GROUPS} groups of C/${EXERCISE_GROUPS} channels)`,
  layer: 'layer norm (GroupNorm(1, C): statistics over all of a sample)',
};

/** The scaffold's reduction set, as TypeScript returning a set number for (n, c). */
const SET_OF: Record<ExerciseNorm, string> = {
  batch: '  return c; // batch norm: its channel, over every sample and pixel (n, h, w)',
  group: `  const G = ${EXERCISE_GROUPS};\n  return n * G + Math.floor(c / (C / G)); // group norm: its sample and group of C/G channels`,
  layer: '  return n; // layer norm: its sample, over every channel and pixel (c, h, w)',
};

const checkText = (file: string) => [
  `// Then check it:  normlab exercise check ${file}`,
  '// It runs on a 2x4x2x2 and a 3x6x2x3 tensor against normlab\'s float64 reference, the fused WGSL',
  '// kernel (src/shaders/norm.wgsl) and finite differences, and when something is wrong it says which',
  '// term of the derivation is (docs/normalization-backprop.md, sections 5 and 8).',
];

function tsScaffold(norm: ExerciseNorm, file: string): string {
  return `// normlab exercise norm-backward --norm ${norm} --lang ts
//
// Write the backward pass of ${TITLE[norm]} in backward() below.
${checkText(file).join('\n')}
// Your code runs in a worker with no files or modules, for at most 10 s.
//
// Tensors are flat arrays in (n, c, h, w) order: element i = ((n * C + c) * H + h) * W + w.

export const norm = '${norm}';

export type Shape = [number, number, number, number];

/** What the forward keeps for the backward, per element. The check builds the same in float64. */
export interface Saved {
  shape: Shape;
  x: number[];
  gamma: number[]; // per channel
  xhat: number[]; // (x - mean) * rstd
  rstd: number[]; // 1 / sqrt(var + eps) of the element's reduction set
}

/** The reduction set of element i: the elements that share its mean and variance. */
export function setOf(i: number, shape: Shape): number {
  const [, C, H, W] = shape;
  const n = Math.floor(i / (C * H * W));
  const c = Math.floor(i / (H * W)) % C;
${SET_OF[norm]}
}

/** The forward pass (given): y = gamma[c] * xhat + beta[c], xhat = (x - mean) * rstd per set. */
export function forward(x: number[], gamma: number[], beta: number[], shape: Shape, eps = 1e-5): { y: number[]; saved: Saved } {
  const [, C, H, W] = shape;
  const channel = (i: number) => Math.floor(i / (H * W)) % C;
  const sets = new Map<number, number[]>();
  x.forEach((_, i) => sets.set(setOf(i, shape), [...(sets.get(setOf(i, shape)) ?? []), i]));
  const xhat = new Array<number>(x.length).fill(0);
  const rstd = new Array<number>(x.length).fill(0);
  for (const members of sets.values()) {
    const mean = members.reduce((s, i) => s + x[i]!, 0) / members.length;
    const variance = members.reduce((s, i) => s + (x[i]! - mean) ** 2, 0) / members.length; // biased
    for (const i of members) {
      rstd[i] = 1 / Math.sqrt(variance + eps);
      xhat[i] = (x[i]! - mean) * rstd[i]!;
    }
  }
  const y = xhat.map((v, i) => gamma[channel(i)]! * v + beta[channel(i)]!);
  return { y, saved: { shape, x, gamma, xhat, rstd } };
}

/** The backward pass (yours): dy = dL/dy; return dL/dx, dL/dgamma and dL/dbeta. */
export function backward(dy: number[], saved: Saved): { dx: number[]; dgamma: number[]; dbeta: number[] } {
  const [, C] = saved.shape;
  const dx = new Array<number>(dy.length).fill(0);
  const dgamma = new Array<number>(C).fill(0);
  const dbeta = new Array<number>(C).fill(0);
  // Your code here.
  return { dx, dgamma, dbeta };
}
`;
}

function wgslScaffold(norm: ExerciseNorm, file: string): string {
  const kinds = SET_KINDS.map((k) => `//     ${k.id.padEnd(4)} ${k.words}`);
  return `// normlab exercise norm-backward --norm ${norm} --lang wgsl
// norm: ${norm}
//
// The backward pass of ${TITLE[norm]}, as three WGSL expressions.
// normlab splices each into the real kernel (src/shaders/norm.wgsl: the dx entry point and
// plane_grad_sums) and runs it on your GPU.
${checkText(file).join('\n')}
//
// Named values at one element (all f32):
//   x, dy, gamma        the input, the upstream gradient dL/dy, gamma of the element's channel
//   g                   dy * gamma
//   xhat, rstd, mean    (x - mean) * rstd, and the statistics of the element's reduction set
//   M                   elements per reduction set of ${norm} norm
//   mean_g_S, mean_gxhat_S   (dx only) the mean of g and of g * xhat over the set of kind S that
//                       holds the element:
${kinds.join('\n')}
//   Which set ${norm} norm's backward needs is part of the exercise.
//
// Only the three 'let NAME = EXPRESSION;' lines are read (an expression may span lines). No
// statements, braces, loops or functions: an expression always ends, so nothing can hang.

${WGSL_VALUES.map((v) => `let ${v.name} = 0.0; // ${v.says}`).join('\n')}
`;
}

export function exerciseScaffold(norm: ExerciseNorm, lang: ExerciseLang, file: string): string {
  return lang === 'ts' ? tsScaffold(norm, file) : wgslScaffold(norm, file);
}
