// What the subgroup kernels assume (src/engine/subgroups.ts): the decision per adapter, the pinned
// WGSL, the probe's reading, and the engine's fallbacks, each run on lavapipe.
import { describe, it, expect, afterAll } from 'vitest';
import { Engine, ops } from '../../src/engine/index.js';
import { planSubgroups, pinSubgroupSize, probeFinding, subgroupMode, type SubgroupCaps } from '../../src/engine/subgroups.js';
import { SEEDNET } from '../../src/check/conv-shapes.js';
import { convErrors, VS_REFERENCE } from '../../src/check/conv-conformance.js';

const caps = (minSize: number | null, maxSize: number | null, sizeControl: boolean, feature = true): SubgroupCaps => ({ feature, sizeControl, minSize, maxSize });

describe('the subgroup plan', () => {
  it('uses the one size there is, pins a range where it can, and falls back where it cannot', () => {
    const rows: [string, SubgroupCaps, number, boolean][] = [
      ['NVIDIA (32 only)', caps(32, 32, true), 32, true],
      ['Apple (32 only), no size control', caps(32, 32, false), 32, false],
      ['AMD RDNA (32 or 64), size control', caps(32, 64, true), 32, true],
      ['AMD RDNA (32 or 64), no size control', caps(32, 64, false), 0, false],
      ['Intel (8 to 32), size control', caps(8, 32, true), 8, true],
      ['Intel (8 to 32), no size control', caps(8, 32, false), 0, false],
      ['lavapipe (8)', caps(8, 8, true), 8, true],
      ['lavapipe at 16', caps(16, 16, true), 16, true],
      ['lavapipe at 4, SwiftShader (4)', caps(4, 4, true), 0, false],
      ['a 128-lane subgroup', caps(128, 128, true), 0, false],
      ['a size that is not a power of two', caps(24, 24, true), 0, false],
      ['sizes not reported', caps(null, null, true), 0, false],
      ['no subgroups feature', caps(32, 32, true, false), 0, false],
    ];
    for (const [what, c, lanes, pinned] of rows) {
      const p = planSubgroups(c);
      expect([p.lanes, p.pinned], what).toEqual([lanes, pinned]);
      expect(p.reason, what).not.toBe('');
    }
    expect(planSubgroups(caps(8, 8, true), 'unpinned')).toMatchObject({ lanes: 8, pinned: false });
    expect(planSubgroups(caps(8, 32, true), 'unpinned')).toMatchObject({ lanes: 0 });
    expect(planSubgroups(caps(8, 8, true), 'off')).toMatchObject({ lanes: 0, reason: expect.stringMatching(/NORMLAB_SUBGROUPS=off/) });
    expect(() => subgroupMode('sometimes')).toThrow(/NORMLAB_SUBGROUPS: 'sometimes' is not one of auto, unpinned, off/);
  });

  it('pins every SG-wide entry point and enables the extension once', () => {
    const code = 'enable subgroups;\noverride SG: u32 = 8u;\n@compute @workgroup_size(SG)\nfn a() {}\n@compute @workgroup_size(SG)\nfn b() {}';
    const pinned = pinSubgroupSize(code);
    expect(pinned.match(/@subgroup_size\(SG\)/g)).toHaveLength(2);
    expect(pinned.match(/enable subgroup_size_control;/g)).toHaveLength(1);
    expect(() => pinSubgroupSize('enable subgroups;\n@compute @workgroup_size(64)\nfn c() {}')).toThrow(/@workgroup_size\(SG\)/);
  });

  it("reads the probe: the size, the lanes' numbering and the shuffles", () => {
    const words = (f: (li: number) => [number, number, number, number]) => Uint32Array.from({ length: 32 }, (_, i) => f(Math.floor(i / 4))[i % 4]!);
    const good = (li: number): [number, number, number, number] => [8, li, 1000 + ((li + 1) % 8), 1007];
    expect(probeFinding(8, words(good)).pass).toBe(true);
    expect(probeFinding(8, words((li) => [16, li, 1000 + ((li + 1) % 8), 1007]))).toMatchObject({ pass: false, detail: expect.stringMatching(/subgroup of 16 lanes, not 8/) });
    expect(probeFinding(8, words((li) => [8, 7 - li, 1000 + ((li + 1) % 8), 1007]))).toMatchObject({ pass: false, detail: expect.stringMatching(/is lane/) });
    expect(probeFinding(8, words((li) => [8, li, 0, 1007])).pass).toBe(false);
  });
});

describe('the engine on each subgroup mode (lavapipe)', () => {
  const engines: Engine[] = [];
  afterAll(() => engines.forEach((e) => e.destroy()));
  const [name, b2] = SEEDNET[1]!;

  for (const mode of ['auto', 'unpinned', 'off'] as const) {
    it(`${mode}: the plan holds, the probe agrees, and a SeedNet convolution (${name}) matches the float64 reference`, async () => {
      const engine = await Engine.create({ subgroups: mode });
      engines.push(engine);
      const p = engine.subgroups;
      const lanes = engine.adapter.info.subgroupMinSize ?? 0;
      if (mode === 'off' || lanes < 8) expect(p.lanes).toBe(0);
      else {
        expect(p.lanes).toBe(lanes);
        expect(p.pinned).toBe(mode === 'auto' && engine.device.features.has('subgroup-size-control' as GPUFeatureName));
        expect(p.probe?.pass, p.probe?.detail).toBe(true);
      }
      expect(ops.selectConv2d(engine, { ...b2 }, 'forward').row.id).toBe(p.lanes > 0 ? 'sg3x3-tile' : 'tiled');
      const e = await convErrors(engine, b2);
      expect(Math.max(e.forward, e.input, e.weight ?? 0)).toBeLessThan(VS_REFERENCE);
    });
  }

  it('refuses to build a subgroup kernel with other lanes than planned, or on an engine without them', async () => {
    const [on, off] = [engines[0]!, engines[2]!];
    const k = { name: 'probe-like', code: 'enable subgroups;\noverride SG: u32 = 8u;\n@compute @workgroup_size(SG)\nfn main() {}' };
    if (on.subgroups.lanes > 0) expect(() => on.pipeline(k, { SG: on.subgroups.lanes * 2 })).toThrow(/probe-like: SG = \d+, but this engine's subgroups are \d+ lanes/);
    expect(() => off.pipeline(k, { SG: 8 })).toThrow(/probe-like uses subgroups, which this engine does not use: switched off/);
  });
});
