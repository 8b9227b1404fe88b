#!/usr/bin/env node
// Runs the bundled CLI (dist/normlab.js), building it first if it is missing.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'normlab.js');
if (!existsSync(bundle)) {
  if (!existsSync(join(root, 'node_modules', 'esbuild'))) {
    console.error('normlab: not built and no dev dependencies to build with. Run `npm ci` (or `npm test`) in ' + root);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [join(root, 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
