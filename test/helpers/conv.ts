// The convolution tests' shapes and helpers (conv2d.test.ts, conv2d-select.test.ts); the shapes
// and the comparison with the float64 reference live in src/check/, which `normlab selftest` runs.
import { expect } from 'vitest';
import type { Engine } from '../../src/engine/index.js';
import type { Conv2dDims, Conv2dPath } from '../../src/engine/ops/conv2d.js';
import type { ConvShape } from '../../src/reference/conv2d.js';
import { convErrors, VS_REFERENCE } from '../../src/check/conv-conformance.js';
export { GENERIC, ODD, SEEDNET, shapeOf } from '../../src/check/conv-shapes.js';
export { normals, PATHS, relError, run, referenceCase, tryPlan, VS_REFERENCE, type Results } from '../../src/check/conv-conformance.js';

export function dims(s: ConvShape): Conv2dDims {
  return { ...s };
}

/** Runs s on the engine (path forced or not) and checks y, dx and dw against the reference. */
export async function expectMatchesReference(engine: Engine, s: ConvShape, what: string, path?: Conv2dPath): Promise<void> {
  const e = await convErrors(engine, s, path);
  expect(e.forward, `${what} forward`).toBeLessThan(VS_REFERENCE);
  expect(e.input, `${what} input gradient`).toBeLessThan(VS_REFERENCE);
  if (e.weight !== null) expect(e.weight, `${what} weight gradient`).toBeLessThan(VS_REFERENCE);
}
