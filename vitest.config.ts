import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

// Kernels live in src/shaders/*.wgsl and are imported as text, as esbuild's text loader does for
// the bundle, so tests run exactly the WGSL that ships.
const wgslAsText = {
  name: 'wgsl-as-text',
  load(id: string) {
    if (id.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
    return null;
  },
};

export default defineConfig({
  plugins: [wgslAsText],
  test: {
    include: ['test/**/*.test.ts'],
    // Lavapipe already uses every core, so test files run one at a time.
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  },
});
