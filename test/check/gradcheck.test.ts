import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { Engine, ops, record, workgroups1d, type Tensor } from '../../src/engine/index.js';
import { runAll, runGradCase, type GradRow } from '../../src/check/gradcheck.js';
import { createRng, deriveSeed, normalAwayFromZero } from '../../src/check/rng.js';
import { allCases } from '../../src/check/cases/index.js';
import type { GradCase } from '../../src/check/types.js';
import { main } from '../../src/cli/main.js';
import { formatTable, TABLE_WIDTH } from '../../src/cli/commands/gradcheck.js';
import elementwiseWgsl from '../../src/shaders/elementwise.wgsl';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => engine?.destroy());

// ---- cases local to these tests: the runner's own fixtures, built on the real kernels ----------

// Piecewise-linear ops are exact under central differences away from their kinks, so eps is only
// limited by float32 resolution of x +- eps; 1e-2 keeps the relative rounding of the step small
// and the margin 0.05 keeps every x two steps away from the kink.
const LINEAR = {
  eps: 1e-2,
  atol: 1e-4,
  rtol: 1e-3,
  why: 'piecewise linear: central differences are exact away from the kink; atol covers float32 rounding of the outputs over 2*eps',
};

function reluCase(op: string, size: number, forward: GradCase['forward'], referenceBackward?: GradCase['reference']['backward']): GradCase {
  return {
    op,
    inputs: [{ name: 'x', shape: [size], init: normalAwayFromZero(0.05) }],
    wrt: ['x'],
    forward: (_, [x]) => forward(engine, [x!]),
    reference: {
      forward: ([x]) => x!.map((v) => Math.max(v, 0)),
      backward:
        referenceBackward ??
        (([x], g) => [g.map((gi, i) => (x![i]! > 0 ? gi : 0))]),
    },
    ...LINEAR,
  };
}

function addCase(shape: number[]): GradCase {
  return {
    op: `add [${shape}]`,
    inputs: [
      { name: 'a', shape },
      { name: 'b', shape },
    ],
    wrt: ['a', 'b'],
    forward: (_, [a, b]) => ops.add(a!, b!),
    reference: {
      forward: ([a, b]) => a!.map((v, i) => v + b![i]!),
      backward: (_, g) => [g.slice(), g.slice()],
    },
    ...LINEAR,
  };
}

/** ReLU's forward with a backward that passes dy through unmasked: the classic bug. */
function reluUnmasked(x: Tensor): Tensor {
  const y = ops.relu(x);
  y.node = null;
  return record(y, 'relu (unmasked)', [x], (dy) => [dy]);
}

/** ReLU's forward with its real backward kernel, then the gradient doubled: dx = 2 * [x > 0] * dy. */
const RELU_BACKWARD = { name: 'elementwise.relu_backward', code: elementwiseWgsl, entryPoint: 'relu_backward' };
function reluDoubled(x: Tensor): Tensor {
  const y = ops.relu(x);
  y.node = null;
  return record(y, 'relu (doubled)', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'relu grad');
    x.engine.dispatch(RELU_BACKWARD, { constants: { WG: 256, N: dx.size }, bindings: [x, dy, dx], workgroups: workgroups1d(dx.size, 256) });
    const doubled = ops.add(dx, dx);
    dx.dispose();
    return [doubled];
  });
}

const runnerCases: GradCase[] = [
  // 1, 257 (one past a 256 workgroup), 1000: none a multiple of any workgroup size but the first.
  reluCase('relu [1]', 1, (_, [x]) => ops.relu(x!)),
  reluCase('relu [257]', 257, (_, [x]) => ops.relu(x!)),
  addCase([1, 1, 3, 5]),
  addCase([2, 3, 7, 13]),
  // Many elements but a seeded subset: exercises maxElements.
  { ...reluCase('relu [5000] subset', 5000, (_, [x]) => ops.relu(x!)), maxElements: 40 },
];

function expectAllPass(rows: GradRow[]): void {
  const failed = rows.filter((r) => !r.pass);
  expect(failed.map((r) => `${r.op}/${r.wrt}: ${r.failures.join('; ')}`)).toEqual([]);
}

describe('gradcheck gate', () => {
  it('every registered case passes, and leaves the pool as it found it', async () => {
    for (const c of allCases) {
      const before = engine.pool.snapshot().bytesInUse;
      const rows = await runGradCase(engine, c, { seed: deriveSeed(1, c.op) });
      expect(rows.map((r) => r.wrt)).toEqual(c.wrt);
      expectAllPass(rows);
      expect(engine.pool.snapshot().bytesInUse).toBe(before);
    }
  });
});

describe('gradcheck runner', () => {
  it('passes correct ops on odd sizes, batch 1 and a single channel, and frees everything', async () => {
    for (const c of runnerCases) {
      const before = engine.pool.snapshot().bytesInUse;
      const rows = await runGradCase(engine, c, { seed: 7 });
      expectAllPass(rows);
      expect(engine.pool.snapshot().bytesInUse).toBe(before);
      for (const r of rows) {
        expect(r.checked).toBe(Math.min(r.size, c.maxElements ?? Infinity));
        expect(r.refMaxRelErr).toBeLessThan(1e-6);
        expect(r.gradVsRefMaxAbsErr).toBe(0); // add and relu are exact in float32
      }
    }
  });

  it('is deterministic for a seed', async () => {
    const c = runnerCases[1]!;
    const a = await runGradCase(engine, c, { seed: 3 });
    const b = await runGradCase(engine, c, { seed: 3 });
    const strip = (rows: GradRow[]) => rows.map(({ ms: _ms, ...rest }) => rest);
    expect(strip(a)).toEqual(strip(b));
  });

  it('catches a backward that passes dy through unmasked', async () => {
    const before = engine.pool.snapshot().bytesInUse;
    const [row] = await runGradCase(engine, reluCase('relu unmasked', 257, (_, [x]) => reluUnmasked(x!)), { seed: 7 });
    expect(row!.pass).toBe(false);
    expect(row!.fdPass).toBe(false);
    expect(row!.gradVsRefPass).toBe(false);
    expect(row!.refPass).toBe(true); // the reference is right; the GPU rule is wrong
    expect(row!.fwdPass).toBe(true);
    expect(row!.failures.join('\n')).toMatch(/GPU backward vs float32 central differences/);
    expect(engine.pool.snapshot().bytesInUse).toBe(before);
  });

  it('catches a gradient scaled by 2 from the real kernels', async () => {
    const [row] = await runGradCase(engine, reluCase('relu doubled', 100, (_, [x]) => reluDoubled(x!)), { seed: 7 });
    expect(row!.pass).toBe(false);
    expect(row!.fdPass).toBe(false);
    expect(row!.maxRelErr).toBeGreaterThan(0.5);
  });

  it('catches a wrong reference backward in the float64 check', async () => {
    const wrongRef = reluCase('relu bad reference', 50, (_, [x]) => ops.relu(x!), (_, g) => [g.slice()]);
    const [row] = await runGradCase(engine, wrongRef, { seed: 7 });
    expect(row!.refPass).toBe(false);
    expect(row!.fdPass).toBe(true); // the GPU op is right
    expect(row!.pass).toBe(false);
    expect(row!.failures.join('\n')).toMatch(/float64 reference backward/);
  });

  it('catches a reference forward that disagrees with the GPU', async () => {
    const c = reluCase('relu bad forward', 50, (_, [x]) => ops.relu(x!));
    const wrongFwd: GradCase = { ...c, reference: { ...c.reference, forward: ([x]) => x!.map((v) => Math.max(v, 0) * 1.001) } };
    const [row] = await runGradCase(engine, wrongFwd, { seed: 7 });
    expect(row!.fwdPass).toBe(false);
    expect(row!.pass).toBe(false);
  });

  it('turns a throwing case into failing rows and frees what it made', async () => {
    const before = engine.pool.snapshot().bytesInUse;
    const throwing: GradCase = {
      ...addCase([4]),
      op: 'throws',
      forward: (e, [a]) => {
        e.empty([1000]);
        ops.relu(a!);
        throw new Error('boom');
      },
    };
    const rows = await runGradCase(engine, throwing, { seed: 1 });
    expect(rows.map((r) => [r.wrt, r.pass, r.error])).toEqual([
      ['a', false, 'boom'],
      ['b', false, 'boom'],
    ]);
    expect(engine.pool.snapshot().bytesInUse).toBe(before);
  });

  it('reports a wrt that gets no gradient', async () => {
    const c: GradCase = { ...addCase([5]), op: 'add without b', forward: (_, [a, b]) => record(ops.add(a!, b!), 'x', [a!], (dy) => [dy]) };
    const rows = await runGradCase(engine, c, { seed: 1 });
    expect(rows.find((r) => r.wrt === 'a')!.pass).toBe(true);
    const b = rows.find((r) => r.wrt === 'b')!;
    expect(b.pass).toBe(false);
    expect(b.failures.join('\n')).toMatch(/no gradient reached 'b'/);
  });

  it('runAll filters by op name and derives per-case seeds from the base seed', async () => {
    const rows = await runAll(engine, runnerCases, { seed: 5, only: /^add/ });
    expect(new Set(rows.map((r) => r.op))).toEqual(new Set(['add [1,1,3,5]', 'add [2,3,7,13]']));
    expect(rows[0]!.seed).toBe(deriveSeed(5, 'add [1,1,3,5]'));
  });

  it('lays the table out within 100 columns, failures included', async () => {
    const rows = [
      ...(await runAll(engine, runnerCases.slice(0, 3), { seed: 1 })),
      ...(await runGradCase(engine, reluCase('a rather long op name (unmasked relu)', 20, (_, [x]) => reluUnmasked(x!)), { seed: 1 })),
    ];
    const lines = formatTable(rows);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(TABLE_WIDTH);
    expect(lines.join('\n')).toMatch(/5 rows, 4 pass, 1 fail/);
  });
});

describe('rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const r = createRng(seed);
      return [r.next(), r.normal(), r.int(10), r.next(), r.normal()];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(draw(1));
  });

  it('normal() has mean about 0 and variance about 1 over 1e5 draws', () => {
    const r = createRng(2024);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sumSq += z * z;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard errors: 1/sqrt(n) = 0.0032 for the mean, sqrt(2/n) = 0.0045 for the variance: 5 sigma.
    expect(Math.abs(mean)).toBeLessThan(0.016);
    expect(Math.abs(variance - 1)).toBeLessThan(0.023);
  });

  it('next() is uniform in [0, 1) and int(n) covers [0, n)', () => {
    const r = createRng(9);
    const counts = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 50_000; i++) {
      const u = r.next();
      if (!(u >= 0 && u < 1)) outside++;
      counts[r.int(10)]!++;
    }
    expect(outside).toBe(0);
    // Each bin expects 5000 with standard deviation 67.
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(400);
    expect(() => r.int(0)).toThrow();
  });
});

describe('normlab gradcheck', () => {
  async function capture(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await main(argv);
      return { code, stdout, stderr };
    } finally {
      outSpy.mockRestore();
      errSpy.mockRestore();
    }
  }

  it('prints passing relu rows as JSON and exits 0', async () => {
    const { code, stdout } = await capture(['gradcheck', '--json', '--only', 'relu']);
    const rows = JSON.parse(stdout) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.op).toMatch(/relu/);
      expect(typeof r.wrt).toBe('string');
      expect(typeof r.maxAbsErr).toBe('number');
      expect(typeof r.maxRelErr).toBe('number');
      expect(r.pass).toBe(true);
    }
    expect(code).toBe(0);
  });

  it('prints a table within 100 columns', async () => {
    const { code, stdout } = await capture(['gradcheck', '--only', 'relu']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^op\s+wrt\s+checked/m);
    for (const l of stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(TABLE_WIDTH);
  });

  it('rejects an unknown flag, a bad pattern and a pattern matching nothing with exit code 2', async () => {
    expect((await capture(['gradcheck', '--bogus'])).code).toBe(2);
    expect((await capture(['gradcheck', '--only', '('])).code).toBe(2);
    const none = await capture(['gradcheck', '--only', '^no such op$']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/matches no op/);
  });
});
