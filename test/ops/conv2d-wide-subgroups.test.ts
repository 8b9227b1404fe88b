// The conv2d tests again with subgroups of 16 lanes. Lavapipe runs 8-wide here (256-bit vectors)
// and so covers only SG = 8, while the kernels' paths for wider subgroups (GPUs: 32, 64) differ:
// fewer load rounds per lane (LPL, LPB), one channel block where 8 lanes need two, shuffles from
// lanes 8 and more apart. LP_NATIVE_VECTOR_WIDTH=512 makes
// lavapipe 16-wide (subgroups of 16); vitest runs each test file in its own process (pool:
// 'forks'), so setting it before the first Engine takes effect. On other adapters it does nothing
// and these tests repeat conv2d.test.ts.
import { describe, expect, it } from 'vitest';
import { Engine, ops } from '../../src/engine/index.js';

process.env.LP_NATIVE_VECTOR_WIDTH = '512';
await import('./conv2d.test.js');
await import('./conv2d-select.test.js');

describe('conv2d with wide subgroups', () => {
  it('runs on subgroups of 16 lanes when the adapter is lavapipe', async () => {
    const engine = await Engine.create();
    try {
      const lavapipe = /llvmpipe/i.test(engine.adapterInfo.description);
      if (lavapipe) expect(ops.subgroupLanes(engine)).toBe(16);
    } finally {
      engine.destroy();
    }
  });
});
