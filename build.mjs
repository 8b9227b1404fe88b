// Bundles the CLI into one file, dist/normlab.js. WGSL is inlined as text; `webgpu` stays external
// (it loads a native dawn.node).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/normlab.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu'],
  loader: { '.wgsl': 'text' },
  banner: { js: "import { createRequire as __nlCreateRequire } from 'node:module'; const require = __nlCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
