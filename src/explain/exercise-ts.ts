// The TypeScript exercise: a learner's `backward(dy, saved)` over arrays, compiled by esbuild (types
// stripped, not checked) and run in a worker thread, inside a vm context with no require, files or
// modules, bounded in time (vm's timeout, then terminate()) and in memory (resourceLimits). Every
// failure is one line naming the learner's file and line (runtime errors are mapped back through
// esbuild's source map). Node only.
import { Worker } from 'node:worker_threads';
import { UserError } from '../engine/errors.js';
import { EXERCISE_NORMS, type Attempt, type CaseParts, type ExerciseNorm } from './exercise-check.js';
import { MAX_SOLUTION_BYTES } from './exercise-wgsl.js';

/** What one call of backward may take, and the worker's heap. */
export const TS_TIMEOUT_MS = 10_000;
const HEAP_MB = 256;

/** The learner's `export const norm = '...'`, read from the source, with its line for errors. */
export function tsSolutionNorm(source: string, file: string): ExerciseNorm {
  const m = /export\s+const\s+norm\b[^=]*=\s*['"]([^'"]*)['"]/.exec(source);
  if (!m) throw new UserError(`${file}: no 'export const norm = '${EXERCISE_NORMS.join("' | '")}'' says which norm this solves`);
  if (!EXERCISE_NORMS.includes(m[1] as ExerciseNorm)) {
    throw new UserError(`${file}:${source.slice(0, m.index).split('\n').length}: '${m[1]}' is not a norm of the exercise (${EXERCISE_NORMS.join(', ')})`);
  }
  return m[1] as ExerciseNorm;
}

/** Runs in the worker (eval'd as CommonJS): evaluates the module, calls backward once per case. */
const WORKER = String.raw`(function () {
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const { SourceMap } = require('node:module');
const { code, map, file, cases, timeoutMs } = workerData;
const sourceMap = new SourceMap(JSON.parse(map));
// The first frame in the learner's code, mapped to its file's line and column.
function where(err) {
  const stack = String((err && err.stack) || '');
  // The stack opens with 'FILE:LINE' and a code frame; the frames have 'FILE:LINE:COLUMN'.
  let m = null;
  for (let at = stack.indexOf(file + ':'); at >= 0 && !m; at = stack.indexOf(file + ':', at + 1)) {
    m = /^(\d+):(\d+)/.exec(stack.slice(at + file.length + 1));
  }
  if (!m) return null;
  const e = sourceMap.findEntry(Number(m[1]) - 1, Number(m[2]) - 1);
  return e && typeof e.originalLine === 'number' ? (e.originalLine + 1) + ':' + (e.originalColumn + 1) : m[1] + ':' + m[2];
}
function describe(err) {
  if (err && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { timeout: true };
  const name = err && err.name ? err.name : 'Error';
  return { message: name + ': ' + (err && err.message !== undefined ? err.message : String(err)), where: where(err) };
}
const module = { exports: {} };
const context = vm.createContext({ module, exports: module.exports });
try {
  vm.runInContext(code, context, { filename: file, timeout: timeoutMs });
} catch (err) {
  parentPort.postMessage(Object.assign({ stage: 'load' }, describe(err)));
  return;
}
if (typeof module.exports.backward !== 'function') {
  parentPort.postMessage({ stage: 'load', missing: 'backward' });
  return;
}
const results = [];
for (const c of cases) {
  context.__dy = c.dy;
  context.__saved = c.saved;
  let r;
  try {
    r = vm.runInContext('module.exports.backward(__dy, __saved)', context, { timeout: timeoutMs });
  } catch (err) {
    parentPort.postMessage(Object.assign({ stage: 'run' }, describe(err)));
    return;
  }
  const pick = (k) => (r && r[k] != null && typeof r[k].length === 'number' && r[k].length <= 1e6 ? Array.from(r[k], Number) : null);
  results.push({ dx: pick('dx'), dgamma: pick('dgamma'), dbeta: pick('dbeta') });
}
parentPort.postMessage({ stage: 'done', results });
})();
`;

interface WorkerReply {
  stage: 'load' | 'run' | 'done';
  message?: string;
  where?: string | null;
  timeout?: boolean;
  missing?: string;
  results?: { dx: number[] | null; dgamma: number[] | null; dbeta: number[] | null }[];
}

async function compile(source: string, file: string): Promise<{ code: string; map: string }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new UserError(`${file}: checking TypeScript needs esbuild (npm install esbuild), or write the solution as a .js file`);
  }
  try {
    const out = await esbuild.transform(source, { loader: /\.m?js$/.test(file) ? 'js' : 'ts', format: 'cjs', sourcemap: 'external', sourcefile: file, target: 'node20', logLevel: 'silent' });
    return { code: out.code, map: out.map };
  } catch (e) {
    const first = (e as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw e;
    const at = first.location ? `:${first.location.line}:${first.location.column + 1}` : '';
    throw new UserError(`${file}${at}: syntax error: ${first.text}`);
  }
}

/** Runs a TypeScript (or JavaScript) solution on every case; one UserError for anything wrong with it. */
export async function runTsSolution(source: string, file: string, parts: CaseParts[]): Promise<Attempt[]> {
  if (source.length > MAX_SOLUTION_BYTES) throw new UserError(`${file}: ${source.length} bytes is too large for a solution (the limit is ${MAX_SOLUTION_BYTES})`);
  const { code, map } = await compile(source, file);
  const backwardAt = source.split('\n').findIndex((l) => /\bbackward\b/.test(l) && /export/.test(l)) + 1;
  const backwardLine = backwardAt > 0 ? `${file}:${backwardAt}` : file;
  const cases = parts.map((p) => ({
    dy: p.case.dy,
    saved: { shape: [...p.case.shape], x: [...p.case.x], gamma: [...p.case.gamma], xhat: Array.from(p.xhat), rstd: Array.from(p.rstd) },
  }));
  const worker = new Worker(WORKER, { eval: true, workerData: { code, map, file, cases, timeoutMs: TS_TIMEOUT_MS }, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB }, stdout: true, stderr: true });
  const reply = await new Promise<WorkerReply>((resolve, reject) => {
    // vm's timeout stops a synchronous loop; this stops anything else (a promise chain, say).
    const guard = setTimeout(() => {
      void worker.terminate();
      resolve({ stage: 'run', timeout: true });
    }, TS_TIMEOUT_MS * (parts.length + 1) + 5000);
    worker.once('message', (m: WorkerReply) => {
      clearTimeout(guard);
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', (e: Error & { code?: string }) => {
      clearTimeout(guard);
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve({ stage: 'run', message: `used more than ${HEAP_MB} MB of memory` });
      else reject(e);
    });
  });
  if (reply.timeout) throw new UserError(`${backwardLine}: backward did not return within ${TS_TIMEOUT_MS / 1000} s (an endless loop?); it was stopped`);
  if (reply.missing) throw new UserError(`${file}: no 'export function backward(dy, saved)': the check calls it`);
  if (reply.stage !== 'done') {
    const at = reply.where ? `${file}:${reply.where}` : reply.stage === 'run' ? backwardLine : file;
    throw new UserError(`${at}: ${reply.message}`);
  }
  return reply.results!.map((r, k) => {
    const c = parts[k]!.case;
    const want = { dx: c.x.length, dgamma: c.gamma.length, dbeta: c.gamma.length };
    for (const key of ['dx', 'dgamma', 'dbeta'] as const) {
      const got = r[key];
      if (!got) throw new UserError(`${backwardLine}: backward must return { dx, dgamma, dbeta } as arrays; ${key} is missing or not an array`);
      if (got.length !== want[key]) throw new UserError(`${backwardLine}: backward returned ${key} with ${got.length} values on ${c.name}; it needs ${want[key]} (${key === 'dx' ? 'one per element of x' : 'one per channel'})`);
    }
    return { dx: r.dx!, dgamma: r.dgamma!, dbeta: r.dbeta! };
  });
}
