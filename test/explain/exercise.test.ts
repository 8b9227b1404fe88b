// `normlab exercise`: the check's diagnoses (src/explain/exercise-check.ts) on float64 attempts, on
// TypeScript solutions run in the worker (exercise-ts.ts) and on WGSL solutions spliced into the
// real kernel (exercise-wgsl.ts); then the command itself, and bad solution files: one line naming
// the file and line, exit 1, nothing hangs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { EXERCISE_NORMS, caseParts, exerciseCases, judge, type Attempt, type CaseParts, type ExerciseNorm } from '../../src/explain/exercise-check.js';
import { runTsSolution, TS_TIMEOUT_MS } from '../../src/explain/exercise-ts.js';
import { fusedDx, parseWgslSolution, runWgslSolution } from '../../src/explain/exercise-wgsl.js';
import { normlab, ourErrors, type Run } from '../helpers/cli.js';
import { EXPECTED, MISTAKES, tsSolution, wgslSolution, type Mistake } from './exercise-solutions.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

const partsOf = (norm: ExerciseNorm): CaseParts[] => exerciseCases().map((c) => caseParts(norm, c));
const dir = mkdtempSync(join(tmpdir(), 'normlab-exercise-'));

describe('the check on float64 attempts', () => {
  const attempt = (p: CaseParts, dx: (i: number) => number): Attempt => ({ dx: p.dx.map((_, i) => dx(i)), dgamma: p.dgamma, dbeta: p.dbeta });
  for (const norm of EXERCISE_NORMS) {
    it(`${norm} norm: the reference passes; each term dropped, flipped or scaled is named`, () => {
      const parts = partsOf(norm);
      const own = { batch: 'nhw', group: 'ghw', layer: 'chw' }[norm] as 'nhw';
      const run = (f: (p: CaseParts, i: number) => number) => judge(parts, parts.map((p) => attempt(p, (i) => f(p, i))), parts.map(() => null));
      const ok = run((p, i) => p.dx[i]!);
      expect(ok.correct).toBe(true);
      expect(ok.errors.kernel).toBeNull();
      const m = (p: CaseParts) => p.means[own];
      expect(run((p, i) => p.rstd[i]! * (p.g[i]! - p.xhat[i]! * m(p).gxhat[i]!)).diagnoses).toEqual(['mean-g']);
      expect(run((p, i) => p.rstd[i]! * (p.g[i]! - m(p).g[i]!)).diagnoses).toEqual(['mean-gxhat']);
      expect(run((p, i) => -p.dx[i]!).diagnoses).toEqual(['sign']);
      expect(run((p, i) => p.dx[i]! / p.rstd[i]!).diagnoses).toEqual(['scale']);
      expect(run((p, i) => p.dx[i]! * p.rstd[i]!).diagnoses).toEqual(['scale']);
      expect(run((p, i) => 3 * p.dx[i]!).diagnoses).toEqual(['scale']);
      expect(run((p, i) => p.rstd[i]! * (p.g[i]! + m(p).g[i]! - p.xhat[i]! * m(p).gxhat[i]!)).diagnoses).toEqual(['sign']);
      expect(run((p, i) => p.rstd[i]! * (p.g[i]! - 0.5 * m(p).g[i]! - p.xhat[i]! * m(p).gxhat[i]!)).diagnoses).toEqual(['scale']);
      const other = norm === 'batch' ? 'chw' : 'nhw';
      const wrongSet = run((p, i) => p.rstd[i]! * (p.g[i]! - p.means[other].g[i]! - p.xhat[i]! * p.means[other].gxhat[i]!));
      expect(wrongSet.diagnoses).toEqual(['set']);
      expect(wrongSet.lines.join('\n')).toContain(`${other === 'nhw' ? 'batch' : 'layer'} norm's set`);
      expect(run((p, i) => Math.sin(i) * p.dx[i]!).diagnoses).toEqual(['other']);
      expect(run(() => 0).lines.join('\n')).toMatch(/0 everywhere/);
    });
  }

  it('names the set and element where dx differs most, and a wrong dgamma or dbeta', () => {
    const parts = partsOf('group');
    const bad = parts.map((p) => ({ dx: p.dx.map((v, i) => (i === 13 ? v + 1 : v)), dgamma: p.dbeta, dbeta: p.dbeta.map((v) => -v) }));
    const v = judge(parts, bad, parts.map(() => null));
    const text = v.lines.join('\n');
    // Element 13 of 2x4x2x2 is n0 c3 h0 w1, in group n0 g1.
    expect(text).toContain('largest difference at x[n0 c3 h0 w1] (set n0 g1)');
    expect(text).toMatch(/dgamma: WRONG: it is sum\(dy\): that is dbeta/);
    expect(text).toMatch(/dbeta: WRONG: it has the wrong sign/);
    expect(v.diagnoses).toEqual(['other', 'dgamma', 'dbeta']);
  });

  it('a solution right on the tiny tensor only is wrong on the second case', () => {
    const parts = partsOf('layer');
    const v = judge(parts, [{ dx: parts[0]!.dx, dgamma: parts[0]!.dgamma, dbeta: parts[0]!.dbeta }, { dx: parts[1]!.dx.map((x) => x * 1.01), dgamma: parts[1]!.dgamma, dbeta: parts[1]!.dbeta }], [null, null]);
    expect(v.correct).toBe(false);
    expect(v.lines[0]).toMatch(/WRONG on 3x6x2x3 .*passed/);
  });
});

const RUNNERS = {
  ts: { title: 'TypeScript solutions, run in the worker', run: (norm: ExerciseNorm, m: Mistake, parts: CaseParts[]) => runTsSolution(tsSolution(norm, m), 'solution.ts', parts), referenceError: 1e-12 },
  wgsl: { title: 'WGSL solutions, spliced into norm.wgsl and run on the GPU', run: (norm: ExerciseNorm, m: Mistake, parts: CaseParts[]) => runWgslSolution(engine, parseWgslSolution(wgslSolution(norm, m), 'solution.wgsl'), parts), referenceError: 1e-5 },
};

for (const [lang, runner] of Object.entries(RUNNERS)) {
  describe(runner.title, () => {
    for (const norm of EXERCISE_NORMS) {
      it(`${norm} norm: the correct solution passes and each wrong one gets its diagnosis (${lang})`, async () => {
        const parts = partsOf(norm);
        const kernel = await fusedDx(engine, norm, parts);
        for (const m of MISTAKES) {
          const v = judge(parts, await runner.run(norm, m, parts), kernel);
          expect(v.diagnoses, `${m}: ${v.lines.join(' / ')}`).toEqual(EXPECTED[m]);
          expect(v.correct).toBe(m === 'correct');
          if (m === 'correct') {
            expect(v.errors.reference).toBeLessThan(runner.referenceError);
            expect(v.errors.kernel).toBeLessThan(1e-5);
            expect(v.errors.finiteDifferences).toBeLessThan(1e-5);
          }
        }
      });
    }
  });
}

describe('what a solution may not do', () => {
  it('an endless loop is stopped and named, with the line of backward', async () => {
    const src = tsSolution('batch', 'correct', '  while (true) {}\n');
    const t0 = Date.now();
    await expect(runTsSolution(src, 'loop.ts', partsOf('batch'))).rejects.toThrow(/^loop\.ts:\d+: backward did not return within 10 s/);
    expect(Date.now() - t0).toBeLessThan(TS_TIMEOUT_MS + 20_000);
  }, 60_000);

  it("compile errors carry the line and column of the learner's file, even across lines", async () => {
    const parts = partsOf('group');
    const src = wgslSolution('group', 'correct', 'rstd * (g - mean_g_ghw\n      - xhat * mean_gxhat_gh)');
    const line = src.split('\n').findIndex((l) => l.includes('- xhat * mean_gxhat_gh)')) + 1;
    const col = src.split('\n')[line - 1]!.indexOf('mean_gxhat_gh') + 1;
    await expect(runWgslSolution(engine, parseWgslSolution(src, 'mine.wgsl'), parts)).rejects.toThrow(`mine.wgsl:${line}:${col}: unresolved value 'mean_gxhat_gh'`);
    const typed = wgslSolution('group', 'correct', 'xhat > 0.0');
    await expect(runWgslSolution(engine, parseWgslSolution(typed, 'mine.wgsl'), parts)).rejects.toThrow(/^mine\.wgsl:\d+: dx must be one f32 value/);
  });
});

describe('normlab exercise', () => {
  const write = (name: string, text: string): string => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('norm-backward writes a scaffold that check reads, and never overwrites one', async () => {
    const f = join(dir, 'scaffold.wgsl');
    const w = await normlab('exercise', 'norm-backward', '--norm', 'layer', '--lang', 'wgsl', '--out', f);
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toContain(`normlab exercise check ${f}`);
    const again = await normlab('exercise', 'norm-backward', '--norm', 'layer', '--lang', 'wgsl', '--out', f);
    expect(again.status).toBe(1);
    expect(ourErrors(again)).toEqual([`normlab exercise: ${f} exists: not overwritten (your work may be in it); pass --force or another --out`]);
    const c = await normlab('exercise', 'check', f);
    expect(c.status).toBe(1);
    expect(c.stdout).toMatch(/dx: WRONG: it is 0 everywhere/);
  });

  it('check: a correct TypeScript solution, exit 0; a wrong WGSL one, its diagnosis, exit 1', async () => {
    const ok = await normlab('exercise', 'check', write('right.ts', tsSolution('group', 'correct')));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^correct: dx, dgamma and dbeta match/m);
    expect(ok.stdout).toMatch(/max \|dx - fused kernel \(norm\.wgsl\)\| = \d/);
    const bad = await normlab('exercise', 'check', write('wrong.wgsl', wgslSolution('batch', 'mean-g')));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/dx: WRONG: the mean\(g\) term is missing: dx is off by a constant within each set/);
  });

  /** One line naming the file (and the line where there is one), exit 1, no stack trace. */
  const failsWith = (r: Run, line: RegExp): void => {
    expect(r.status, r.stderr).toBe(1);
    const ours = ourErrors(r);
    expect(ours, r.stderr).toHaveLength(1);
    expect(ours[0]).toMatch(line);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  };
  const bad: [string, string, string, RegExp][] = [
    ['a TypeScript syntax error', 'syntax.ts', tsSolution('batch', 'correct', '  const a = ;\n'), /syntax\.ts:\d+:\d+: syntax error: Unexpected ";"/],
    ['an error thrown at run time', 'throws.ts', tsSolution('batch', 'correct', '  const q: number[] = undefined as any;\n  dx[0] = q[0]!;\n'), /throws\.ts:\d+:\d+: TypeError: Cannot read properties of undefined/],
    ['no backward export', 'noexport.ts', tsSolution('batch', 'correct').replace('export function backward', 'function backward'), /noexport\.ts: no 'export function backward\(dy, saved\)'/],
    ['no norm export', 'nonorm.ts', tsSolution('batch', 'correct').replace("export const norm = 'batch';", ''), /nonorm\.ts: no 'export const norm/],
    ['a wrong length', 'short.ts', tsSolution('batch', 'correct', '  dx.length = 3;\n'), /short\.ts:\d+: backward returned dx with 3 values on 2x4x2x2 \(seed 7\); it needs 32/],
    ['WGSL that does not compile', 'nocompile.wgsl', wgslSolution('group', 'correct', 'rstd * (g - mean_g_ghw'), /nocompile\.wgsl:\d+:\d+: expected '\)'/],
    ['a WGSL loop', 'loop.wgsl', wgslSolution('group', 'correct', 'rstd; loop { }'), /loop\.wgsl:\d+:\d+: only 'let dx = \.\.\.;'|loop\.wgsl:\d+:\d+: 'loop'/],
    ['WGSL braces', 'braces.wgsl', wgslSolution('group', 'correct', 'select(0.0, 1.0, { true })'), /braces\.wgsl:\d+:\d+: '\{': only an expression goes after 'let dx ='/],
    ['a missing WGSL value', 'nodbeta.wgsl', wgslSolution('group', 'correct').replace(/^let dbeta_term = dy;/m, ''), /nodbeta\.wgsl: no 'let dbeta_term = \.\.\.;'/],
    ['no norm line', 'nonorm.wgsl', wgslSolution('group', 'correct').replace('// norm: group\n', ''), /nonorm\.wgsl:1: no '\/\/ norm: batch\|group\|layer' line/],
    ['a huge file', 'huge.ts', tsSolution('batch', 'correct') + `// ${'x'.repeat(200_000)}\n`, /huge\.ts: \d+ bytes is too large for a solution \(the limit is 65536\)/],
    ['a binary file', 'binary.wgsl', '\u0000\u0001\u0002', /binary\.wgsl: a binary file, not a solution/],
    ['another extension', 'solution.py', 'print(1)', /solution\.py: a solution is a \.ts \(or \.js\) or a \.wgsl file/],
  ];
  for (const [what, name, text, line] of bad) {
    it(`${what}: one line naming the file and line, exit 1`, async () => failsWith(await normlab('exercise', 'check', write(name, text)), line));
  }
  it('a file that is not there: one line, exit 1', async () => failsWith(await normlab('exercise', 'check', join(dir, 'absent.ts')), /absent\.ts: no such file/));
  it('an endless TypeScript loop: stopped and named, exit 1', async () => {
    failsWith(await normlab('exercise', 'check', write('spin.ts', tsSolution('layer', 'correct', '  for (;;) {}\n'))), /spin\.ts:\d+: backward did not return within 10 s \(an endless loop\?\); it was stopped/);
  }, 60_000);
});
