// The convolution kernel table (src/engine/ops/conv2d-select.ts): every row and option is reached
// by some shape, names a kernel that exists, and states what it serves and why it is kept; and
// every one of them switched off falls back to a row below it that still computes the same sums.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { Engine, ops } from '../../src/engine/index.js';
import { parseConvOff } from '../../src/engine/ops/conv2d-select.js';
import { convLayers } from '../../src/model/seednet.js';
import { GENERIC, ODD, SEEDNET, dims, expectMatchesReference } from '../helpers/conv.js';
import type { ConvShape } from '../../src/reference/conv2d.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create();
});
afterAll(() => {
  if (engine) ops.setConvOff(engine, []);
  engine?.destroy();
});

const PASSES = ['forward', 'input', 'weight'] as const;
const SHAPES: [string, ConvShape][] = [...SEEDNET, ...ODD, ...GENERIC];

/** Every (row, options) the shapes get, as 'row' and 'row+option' keys. */
function choicesOf(s: ConvShape): { rows: string[]; options: string[] } {
  const rows: string[] = [];
  const options: string[] = [];
  for (const pass of PASSES) {
    const c = ops.selectConv2d(engine, dims(s), pass);
    rows.push(c.row.id);
    options.push(...c.options);
  }
  return { rows, options };
}

/** The shapes whose choice of row or options differs with `id` switched off. */
function shapesChangedBy(id: string): [string, ConvShape][] {
  const on = SHAPES.map(([, s]) => JSON.stringify(choicesOf(s)));
  ops.setConvOff(engine, [id]);
  try {
    return SHAPES.filter(([, s], i) => JSON.stringify(choicesOf(s)) !== on[i]);
  } finally {
    ops.setConvOff(engine, []);
  }
}

describe('the convolution kernel table', () => {
  it('states for every row and option what it serves and why it is kept, and names kernels that exist', () => {
    for (const r of [...ops.CONV_ROWS, ...ops.CONV_OPTIONS]) {
      expect(r.serves, r.id).not.toBe('');
      expect(r.gain, r.id).not.toBe('');
      expect(r.when, r.id).not.toBe('');
    }
    for (const r of ops.CONV_ROWS) {
      const [file, ...entries] = r.kernel.split(' ');
      const wgsl = readFileSync(new URL(`../../src/shaders/${file}`, import.meta.url), 'utf8');
      for (const e of entries.filter((x) => x !== '/')) expect(wgsl, `${r.id}: ${file} has no entry point ${e}`).toMatch(new RegExp(`@compute[^\\n]*\\n\\s*fn ${e}\\(`));
    }
    const ids = [...ops.CONV_ROWS, ...ops.CONV_OPTIONS].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const o of ops.CONV_OPTIONS) for (const row of o.rows) expect(ops.CONV_ROWS.map((r) => r.id), o.id).toContain(row);
  });

  it('reaches every row and every option from the tested shapes on a subgroup adapter', () => {
    if (ops.subgroupLanes(engine) === 0) return; // only the tiled and naive rows can run here
    const rows = new Set<string>();
    const options = new Set<string>();
    for (const [, s] of SHAPES) {
      const c = choicesOf(s);
      c.rows.forEach((r) => rows.add(r));
      c.options.forEach((o) => options.add(o));
    }
    const software = engine.adapterInfo.software;
    // 'naive' (the last resort) is reached by the weight gradient of a 1x1 convolution on planes of
    // H*W % 4 != 0 (c10); uniform-weights only on CPU adapters.
    expect([...rows].sort()).toEqual(ops.CONV_ROWS.map((r) => r.id).sort());
    expect([...options].sort()).toEqual(ops.CONV_OPTIONS.map((o) => o.id).filter((id) => software || id !== 'uniform-weights').sort());
  });

  it('switched off, every row and option falls back to kernels that compute the same (float64 reference)', async () => {
    if (ops.subgroupLanes(engine) === 0) return;
    for (const id of [...ops.CONV_ROWS, ...ops.CONV_OPTIONS].map((r) => r.id).filter((id) => id !== 'naive')) {
      const changed = shapesChangedBy(id);
      if (id !== 'uniform-weights' || engine.adapterInfo.software) expect(changed.length, `${id} changes no tested shape`).toBeGreaterThan(0);
      ops.setConvOff(engine, [id]);
      try {
        // The first two shapes it changes: enough to run the fallback's kernels, in bounded time.
        for (const [name, s] of changed.slice(0, 2)) await expectMatchesReference(engine, s, `${id} off, ${name}`);
      } finally {
        ops.setConvOff(engine, []);
      }
    }
  });

  it('names the unknown when NORMLAB_CONV_OFF is wrong, and keeps the last resort', () => {
    expect(() => parseConvOff('sg3x3-tile,nonsense')).toThrow(/no convolution row or option 'nonsense' \(rows: naive-generic, sg3x3-tile/);
    expect(() => parseConvOff('naive')).toThrow(/last resort/);
    expect([...parseConvOff(' tile-direct , sg1x1 ')]).toEqual(['tile-direct', 'sg1x1']);
  });

  it("gives SeedNet's training passes the rows the table says they serve", () => {
    if (ops.subgroupLanes(engine) === 0) return;
    // serves: 'b2, b4, ... forward and input gradient' and the like, per row: every layer pass a
    // row is chosen for on the two inputs appears in that row's text.
    for (const input of [[128, 3, 32, 32], [128, 1, 28, 28]] as const) {
      for (const l of convLayers({ classes: 10 }, [...input])) {
        for (const pass of PASSES) {
          if (pass === 'input' && !l.inputGrad) continue;
          const c = ops.selectConv2d(engine, l, pass);
          expect(c.row.serves, `${l.name} ${pass} on ${input.slice(1).join('x')}: ${c.row.id}`).toContain(l.name);
        }
      }
    }
  });
});
