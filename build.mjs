// Builds, with esbuild:
//   dist/index.js, dist/browser.js  the library's Node and browser entries (src/index.ts, src/browser.ts);
//                         with --types, their declarations in dist/types/ (tsc, tsconfig.types.json)
//   dist/normlab.js       the CLI, one file; `webgpu` stays external (it loads a native dawn.node), and
//                         `esbuild` (exercise check compiles a learner's TypeScript with it)
//   web/dist/*.js         the two web pages, for the browser, from the same engine sources
//   web/dist/sample.bin.gz  the pages' dataset sample, written from the dataset (src/web/make-sample.ts)
// WGSL is inlined as text in both bundles: every kernel comes from src/shaders/*.wgsl, for Node and
// the browser alike; dist/normlab.meta.json and web/dist/meta.json (esbuild's metafiles) list the
// source files each bundle took. `node build.mjs --no-web` builds the CLI alone.
import { build } from 'esbuild';
import { existsSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const common = { bundle: true, format: 'esm', sourcemap: true, loader: { '.wgsl': 'text' }, logLevel: 'warning' };

const cli = await build({
  ...common,
  metafile: true,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/normlab.js',
  platform: 'node',
  target: 'node20',
  external: ['webgpu', 'esbuild'],
  banner: { js: "import { createRequire as __nlCreateRequire } from 'node:module'; const require = __nlCreateRequire(import.meta.url);" },
});
writeFileSync('dist/normlab.meta.json', JSON.stringify(cli.metafile));

// The library (package.json "exports"): the Node entry and the browser entry, each one ESM file.
const lib = await build({ ...common, metafile: true, entryPoints: ['src/index.ts'], outfile: 'dist/index.js', platform: 'node', target: 'node20', external: ['webgpu', 'esbuild'] });
writeFileSync('dist/index.meta.json', JSON.stringify(lib.metafile));
const libBrowser = await build({ ...common, metafile: true, entryPoints: ['src/browser.ts'], outfile: 'dist/browser.js', platform: 'browser', target: ['chrome113', 'firefox141', 'safari26'] });
writeFileSync('dist/browser.meta.json', JSON.stringify(libBrowser.metafile));
if (process.argv.includes('--types')) {
  // dist/types/*.d.ts for both entries (npm pack's prepack asks for them; the tests type-check a consumer with them).
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.types.json'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!process.argv.includes('--no-web')) {
  const web = await build({
    ...common,
    metafile: true,
    entryPoints: { 'train-page': 'src/web/train-page.ts', 'explain-page': 'src/web/explain-page.ts' },
    outdir: 'web/dist',
    platform: 'browser',
    target: ['chrome113', 'firefox141', 'safari26'],
  });
  writeFileSync('web/dist/meta.json', JSON.stringify(web.metafile));
  const sample = 'web/dist/sample.bin.gz';
  if (!existsSync(sample)) {
    await build({ ...common, entryPoints: ['src/web/make-sample.ts'], outfile: 'dist/make-web-sample.mjs', platform: 'node', target: 'node20', sourcemap: false });
    const r = spawnSync(process.execPath, ['dist/make-web-sample.mjs', sample], { stdio: 'inherit' });
    // A missing dataset leaves the pages without a sample (the training page says so), not the CLI unbuilt.
    if (r.status !== 0) console.error('build: the training page has no dataset sample; run `node scripts/setup.mjs`, then build again');
  }
}
