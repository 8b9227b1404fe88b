// scripts/vulkan-validation.sh (npm run test:validation): the Khronos layer really loads under Dawn
// and the script reads what it reports: clean on a kernel run, failing when the layer finds something.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { runAsync } from '../helpers/cli.js';

const hasLayer = existsSync('/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json') || existsSync('/usr/lib/chromium/libVkLayer_khronos_validation.so');
const script = (env: Record<string, string>, ...cmd: string[]) => runAsync('bash', ['scripts/vulkan-validation.sh', '--', ...cmd], { env: { ...process.env, ...env } });

describe.runIf(hasLayer)('the Vulkan validation run', () => {
  it('loads the layer into the CLI process and finds nothing in a gradient check', async () => {
    const r = await script({}, process.execPath, 'bin/normlab.js', 'gradcheck', '--only', '^relu$');
    expect(r.stdout).toContain('1 row, 1 pass, 0 fail');
    expect(r.stdout).toContain('the layer was active in 1 Vulkan instances; 0 errors and warnings');
    expect(r.status).toBe(0);
  });

  it('fails when the layer reports something (its best-practices checks flag Dawn allocations)', async () => {
    const r = await script({ VK_KHRONOS_VALIDATION_ENABLES: 'VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT' }, process.execPath, 'bin/normlab.js', 'gradcheck', '--only', '^relu$');
    expect(r.stdout).toMatch(/the layer was active in 1 Vulkan instances; [1-9]\d* errors and warnings/);
    expect(r.stdout).toMatch(/Validation (Performance )?Warning: \[ BestPractices-/);
    expect(r.status).toBe(1);
  });
});
