// normlab exercise: write a norm's backward pass yourself and have the engine check it.
//   normlab exercise norm-backward [--norm N] [--lang ts|wgsl] [--out FILE]   writes a scaffold
//   normlab exercise check FILE                                              judges it, term by term
// The check: src/explain/exercise-check.ts; the runners: exercise-ts.ts (a worker), exercise-wgsl.ts
// (spliced into the real kernel).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { UsageError, UserError } from '../../engine/errors.js';
import { EXERCISE_NORMS, caseParts, exerciseCases, judge, type ExerciseNorm } from '../../explain/exercise-check.js';
import { exerciseScaffold, type ExerciseLang } from '../../explain/exercise-scaffold.js';
import { runTsSolution, tsSolutionNorm } from '../../explain/exercise-ts.js';
import { MAX_SOLUTION_BYTES, fusedDx, parseWgslSolution, runWgslSolution } from '../../explain/exercise-wgsl.js';
import { bool, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

const EXERCISES = ['norm-backward', 'check'] as const;

function langOf(file: string): ExerciseLang {
  const ext = extname(file);
  if (ext === '.wgsl') return 'wgsl';
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) return 'ts';
  throw new UserError(`${file}: a solution is a .ts (or .js) or a .wgsl file, as 'normlab exercise norm-backward' writes them`);
}

function readSolution(file: string): string {
  if (!existsSync(file)) throw new UserError(`${file}: no such file (write one with 'normlab exercise norm-backward --out ${file}')`);
  const st = statSync(file);
  if (!st.isFile()) throw new UserError(`${file}: not a file`);
  if (st.size > MAX_SOLUTION_BYTES) throw new UserError(`${file}: ${st.size} bytes is too large for a solution (the limit is ${MAX_SOLUTION_BYTES})`);
  const text = readFileSync(file, 'utf8');
  if (text.includes('\u0000')) throw new UserError(`${file}: a binary file, not a solution`);
  return text;
}

async function check(file: string): Promise<number> {
  const lang = langOf(file);
  const source = readSolution(file);
  // Everything about the file is checked before the GPU starts.
  const wgsl = lang === 'wgsl' ? parseWgslSolution(source, file) : null;
  const norm: ExerciseNorm = wgsl ? wgsl.norm : tsSolutionNorm(source, file);
  const parts = exerciseCases().map((c) => caseParts(norm, c));
  const tsAttempts = wgsl ? null : await runTsSolution(source, file, parts);
  // TypeScript needs no GPU: without one, only the comparison with the fused kernel is skipped.
  const engine = await Engine.create().catch((e: unknown) => {
    if (wgsl || !(e instanceof UserError)) throw e;
    out.err(`normlab exercise: no GPU (${e.message}); checking without the fused kernel`);
    return null;
  });
  try {
    const attempts = wgsl ? await runWgslSolution(engine!, wgsl, parts) : tsAttempts!;
    const verdict = judge(parts, attempts, engine ? await fusedDx(engine, norm, parts) : parts.map(() => null));
    out.line(`normlab exercise check ${file}: ${norm} norm's backward, ${lang === 'wgsl' ? 'WGSL spliced into src/shaders/norm.wgsl' : 'TypeScript'}`);
    for (const l of verdict.lines) out.line(l);
    return verdict.correct ? 0 : 1;
  } finally {
    engine?.destroy();
  }
}

export const exerciseCommand: Command = {
  name: 'exercise',
  summary: "write a norm's backward pass yourself (TypeScript or WGSL) and have the engine check it term by term",
  usage: 'normlab exercise norm-backward [--norm batch|group|layer] [--lang ts|wgsl] [--out FILE] [--force] | normlab exercise check FILE',
  positional: { name: 'EXERCISE', help: 'norm-backward (write a scaffold) or check FILE (judge a solution)', min: 1, max: 2 },
  flags: [
    { name: 'norm', type: 'enum', choices: EXERCISE_NORMS, default: 'batch', help: 'norm-backward: the norm whose backward you write' },
    { name: 'lang', type: 'enum', choices: ['ts', 'wgsl'], default: 'ts', help: 'norm-backward: TypeScript over arrays, or WGSL expressions spliced into the real kernel' },
    { name: 'out', type: 'string', metavar: 'FILE', help: 'norm-backward: where to write the scaffold (default norm-backward-NORM.ts or .wgsl)' },
    { name: 'force', type: 'bool', help: 'norm-backward: overwrite FILE if it exists' },
  ],
  details:
    "The check runs your backward on two tensors against the float64 reference, the fused kernel and finite differences, and names what is wrong: the mean(g) term, the mean(g * xhat) term, the scale (rstd), the set summed over, the sign. The derivation: docs/normalization-backprop.md.",
  async run(args: ParsedArgs) {
    const [what, file] = args.positional;
    if (!(EXERCISES as readonly string[]).includes(what!)) throw new UsageError(`unknown exercise '${what}' (expected ${EXERCISES.join(' or ')})`);
    if (what === 'check') {
      if (!file) throw new UsageError('missing FILE: normlab exercise check FILE');
      return check(file);
    }
    if (file) throw new UsageError(`unexpected argument '${file}' (the scaffold's file is --out FILE)`);
    const norm = str(args, 'norm') as ExerciseNorm;
    const lang = str(args, 'lang') as ExerciseLang;
    const target = str(args, 'out') ?? `norm-backward-${norm}.${lang}`;
    if (langOf(target) !== lang) throw new UsageError(`--out ${target}: a ${lang} scaffold goes in a .${lang} file`);
    if (existsSync(target) && !bool(args, 'force')) throw new UserError(`${target} exists: not overwritten (your work may be in it); pass --force or another --out`);
    writeFileSync(target, exerciseScaffold(norm, lang, target));
    out.line(`wrote ${target}: ${norm} norm's backward to write in ${lang === 'ts' ? 'TypeScript' : 'WGSL'}.`);
    out.line(`Fill it in, then: normlab exercise check ${target}`);
    return 0;
  },
};
