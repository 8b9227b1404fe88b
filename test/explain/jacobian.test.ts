// The norms' full Jacobian from the backward kernels (src/explain/jacobian.ts): equal to the
// float64 reference's, zero outside each output's reduction set, zero across samples for group,
// layer and instance norm and not for batch norm, and the two invariants of the closed form per set.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { formatJacobian, normJacobian } from '../../src/explain/jacobian.js';
import { normlab } from '../helpers/cli.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

describe('the Jacobian dy/dx of each norm on the tiny tensor', () => {
  for (const norm of ['batch', 'group', 'layer', 'instance'] as const) {
    it(`${norm} norm: the kernels' J is the float64 one, with the block structure and invariants of the closed form`, async () => {
      const r = await normJacobian(engine, norm, { trials: 6 });
      expect(r.jacobian).toHaveLength(32 * 32);
      expect(r.maxAbsError).toBeLessThan(1e-5);
      // y_o depends only on the inputs of o's own set: every other entry is exactly 0.
      const setOf = new Map<number, number>();
      r.sets.forEach((s, k) => s.forEach((i) => setOf.set(i, k)));
      let inside = 0;
      for (let o = 0; o < 32; o++) {
        for (let i = 0; i < 32; i++) {
          const v = r.jacobian[o * 32 + i]!;
          if (setOf.get(o) !== setOf.get(i)) expect(v, `J[${o}][${i}]`).toBe(0);
          else inside = Math.max(inside, Math.abs(v));
        }
      }
      expect(inside).toBeGreaterThan(0.1);
      // Each set's name (as explain prints it) names the (n, c) planes its indices lie in.
      r.sets.forEach((set, k) => {
        for (const i of set) {
          const [n, c] = [Math.floor(i / 16), Math.floor(i / 4) % 4];
          const name = r.setNames[k]!;
          const g = Number(/g(\d)/.exec(name)?.[1] ?? NaN);
          const ok = norm === 'batch' ? name === `c${c}` : norm === 'layer' ? name === `n${n}` : norm === 'instance' ? name === `n${n} c${c}` : name.startsWith(`n${n} `) && Math.floor(c / (4 / r.groups)) === g;
          expect(ok, `${name} holds ${i}`).toBe(true);
        }
      });
      if (norm === 'batch') expect(r.crossSample).toBeGreaterThan(0.1);
      else expect(r.crossSample).toBe(0);
      expect(r.invariants.pass).toBe(true);
      expect(r.invariants.sumDx).toBeLessThan(1e-5);
      expect(r.invariants.sumDxXhat).toBeLessThan(1e-5);
      // The eps term is real: without it the second invariant would read as broken.
      expect(r.invariants.epsTerm).toBeGreaterThan(r.invariants.sumDxXhat);
      const text = formatJacobian(r);
      expect(text.split('\n').filter((l) => / y\d+ in (c\d|n\d( [gc]\d)?)$/.test(l))).toHaveLength(32);
      expect(text).toMatch(norm === 'batch' ? /batch norm couples the samples of a batch/ : /no output depends on another sample's input/);
      expect(text).toMatch(/both 0 within 0\.00001/);
    }, 60_000);
  }

  it('normlab explain --jacobian prints the map and exits 0; --json gives the matrix', async () => {
    const r = await normlab('explain', '--norm', 'group', '--jacobian');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Jacobian dy\/dx of group norm \(G = 2\)/);
    for (const l of r.stdout.trimEnd().split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
    const j = await normlab('explain', '--norm', 'layer', '--jacobian', '--json');
    expect(j.status, j.stderr).toBe(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.jacobian).toHaveLength(1024);
    expect(parsed.crossSample).toBe(0);
  }, 120_000);
});
