// WebGPU failures reach the user as one GpuError naming the op (or step) that caused them: a shader
// that does not compile, a command the device refuses, and a lost device.
import { describe, it, expect } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { GpuError } from '../../src/engine/errors.js';

const BROKEN = `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  out[gid.x] = undefined_function(1.0);
}`;

async function caught(p: Promise<unknown>): Promise<GpuError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(GpuError);
  return e as GpuError;
}

describe('GPU errors', () => {
  it('a kernel that does not compile is reported with its name and the compiler message', async () => {
    const engine = await Engine.create();
    try {
      const t = engine.zeros([64], 'f32', 'out');
      engine.dispatch({ name: 'test.broken_kernel', code: BROKEN }, { bindings: [t], workgroups: 1, op: 'the broken op' });
      const e = await caught(engine.sync());
      expect(e.kind).toBe('validation');
      expect(e.message).toMatch(/test\.broken_kernel/);
      expect(e.message).toMatch(/undefined_function/);
    } finally {
      engine.destroy();
    }
  });

  it('a command the device refuses names the step it was in', async () => {
    const engine = await Engine.create();
    try {
      const a = engine.zeros([16], 'f32', 'a');
      const b = engine.zeros([16], 'f32', 'b');
      // A copy past the end of the destination: a validation error at submit.
      engine.copy(a, b, 4096);
      const e = await caught(engine.sync());
      expect(e.kind).toBe('validation');
      expect(e.message).toMatch(/^WebGPU validation error in the step \[clear, clear, copy\]: Copy range .* does not fit/);
      expect(e.message).not.toContain('\n');
      expect(e.detail).toMatch(/While encoding/);
    } finally {
      engine.destroy();
    }
  });

  it('a lost device ends the next sync with a device-lost error, not a hang or a crash', async () => {
    const engine = await Engine.create();
    try {
      const t = engine.tensor(Float32Array.of(1, 2, 3, 4), [4], 'f32', 't');
      expect(Array.from(await t.read())).toEqual([1, 2, 3, 4]);
      engine.device.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const e = await caught(t.read());
      expect(e.kind).toBe('device-lost');
      expect(e.message).toMatch(/^WebGPU device-lost error/);
    } finally {
      engine.destroy();
    }
  });
});
