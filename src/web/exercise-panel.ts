// The explainer page's exercise: write the norm's dx (and the terms of dgamma and dbeta) as WGSL
// expressions; the page splices them into the real kernel on this browser's GPU and shows the same
// verdict as `normlab exercise check` (the same code: exercise-wgsl.ts, exercise-check.ts).
import type { Engine } from '../engine/engine.js';
import type { NormKind } from '../engine/ops/norm.js';
import { EXERCISE_NORMS, SET_KINDS, caseParts, exerciseCases, judge, type CaseParts, type ExerciseNorm } from '../explain/exercise-check.js';
import { fusedDx, parseWgslSolution, runWgslSolution } from '../explain/exercise-wgsl.js';
import { byId, el, status } from './page.js';

/** Where the learner starts: dgamma and dbeta given, dx only scaled g (wrong on purpose). */
const START = 'let dx = rstd * g;\nlet dgamma_term = dy * xhat;\nlet dbeta_term = dy;\n';

export interface ExerciseStatus {
  /** Counts checks, so a test can wait for the next one; `source` is the text that check read. */
  checks: number;
  source: string;
  norm: ExerciseNorm | null;
  correct: boolean;
  diagnoses: string[];
  lines: string[];
  error: string | null;
}

const exercise: ExerciseStatus = { checks: 0, source: '', norm: null, correct: false, diagnoses: [], lines: [], error: null };

function show(text: string, kind: 'pass' | 'fail' | 'error'): void {
  const out = byId('exercise-verdict');
  out.className = `verdict ${kind}`;
  out.textContent = text;
}

/** Per norm, the cases worked out in float64 and the fused kernel's dx: the same for every edit. */
const references = new Map<ExerciseNorm, Promise<{ parts: CaseParts[]; kernel: Float32Array[] }>>();
function reference(engine: Engine, norm: ExerciseNorm): Promise<{ parts: CaseParts[]; kernel: Float32Array[] }> {
  let r = references.get(norm);
  if (!r) {
    const parts = exerciseCases().map((c) => caseParts(norm, c));
    references.set(norm, (r = fusedDx(engine, norm, parts).then((kernel) => ({ parts, kernel }))));
  }
  return r;
}

async function check(engine: Engine, norm: NormKind): Promise<void> {
  if (!(EXERCISE_NORMS as readonly string[]).includes(norm)) return;
  const n = norm as ExerciseNorm;
  const source = byId<HTMLTextAreaElement>('exercise-code').value;
  // The status changes once, when the check is done, so a reader never sees half of one.
  const result: Omit<ExerciseStatus, 'checks'> = { source, norm: n, correct: false, diagnoses: [], lines: [], error: null };
  try {
    const { parts, kernel } = await reference(engine, n);
    const attempts = await runWgslSolution(engine, parseWgslSolution(source, 'editor', n), parts);
    const v = judge(parts, attempts, kernel);
    Object.assign(result, { correct: v.correct, diagnoses: v.diagnoses, lines: v.lines });
    show(v.lines.join('\n'), v.correct ? 'pass' : 'fail');
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    show(result.error, 'error');
  }
  Object.assign(exercise, result, { checks: exercise.checks + 1 });
}

/** Sets the panel up for a norm (the page's selection); checks on every edit, after a pause. */
export function showExercise(engine: Engine, norm: NormKind): void {
  status.exercise = exercise;
  const code = byId<HTMLTextAreaElement>('exercise-code');
  const usable = (EXERCISE_NORMS as readonly string[]).includes(norm);
  code.disabled = !usable;
  byId('exercise-norm').textContent = usable ? `${norm} norm` : `${norm} norm (the exercise covers batch, group and layer norm: pick one above)`;
  const names = byId('exercise-names');
  names.replaceChildren(
    ...[
      ['x, dy, gamma', "the input, the upstream gradient dL/dy, gamma of the element's channel"],
      ['g', 'dy * gamma'],
      ['xhat, rstd, mean', "(x − mean) · rstd, and the statistics of the element's set"],
      ['M', 'elements per set'],
      ...SET_KINDS.map((k) => [`mean_g_${k.id}, mean_gxhat_${k.id}`, `(dx only) means of g and g · x̂ over ${k.words}`]),
    ].map(([name, words]) => {
      const li = el('li');
      li.append(el('code', {}, name!), ` ${words}`);
      return li;
    }),
  );
  if (!code.value.trim()) code.value = START;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let queue = Promise.resolve();
  const run = (): void => {
    queue = queue.then(() => check(engine, norm));
  };
  code.oninput = () => {
    clearTimeout(timer);
    timer = setTimeout(run, 500);
  };
  byId('exercise-check').onclick = () => {
    clearTimeout(timer);
    run();
  };
  if (usable) run();
  else show('', 'pass');
}
