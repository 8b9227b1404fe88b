// normlab as a package: `npm pack` ships what `npm test`'s build made (the CLI bundle, the library's
// Node and browser entries, the types, the pages); the tarball installed into an empty directory
// runs `npx normlab info` and an example that imports the API, and a consumer's TypeScript that
// uses the API type-checks with `tsc --strict`. The install fetches normlab's three dependencies
// (npm's cache first); without a registry the test says so and skips.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'normlab-pack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** A consumer's code: a model of its own, trained a step, with the types checked under --strict. */
const CONSUMER_TS = `import { Engine, Model, Trainer, DEFAULT_TRAIN_CONFIG, block, globalAvgPool, linear, maxPool2d, sequential, initParams, noGrad, type Dataset, type EpochMetrics, type Module } from 'normlab';

const net: Module = sequential({ stem: block(1, 8, 3, 'group', { groups: 2 }), pool: maxPool2d(), gap: globalAvgPool(), head: linear(8, 10) });

export async function train(data: Dataset): Promise<EpochMetrics[]> {
  const engine = await Engine.create();
  const model = new Model(engine, net, initParams(1));
  const logits = noGrad(() => engine.tidy(() => model.forward(engine.zeros([2, 1, 8, 8]), false).shape));
  const classes: number = logits[1]!;
  const trainer = new Trainer(engine, data, { ...DEFAULT_TRAIN_CONFIG, epochs: 1 }, model);
  const metrics = await trainer.run({ onEpoch: (m) => void m.testAccuracy.toFixed(classes) });
  trainer.dispose();
  return metrics;
}
`;

describe('the packed tarball', () => {
  it('installs into an empty directory, runs the CLI and an example, and type-checks a consumer (tsc --strict)', async (ctx) => {
    for (const f of ['dist/normlab.js', 'dist/index.js', 'dist/browser.js', 'dist/types/index.d.ts']) expect(existsSync(join(ROOT, f)), `${f}: npm test builds it (node build.mjs --types)`).toBe(true);
    // --ignore-scripts: what the build already made is packed (prepack would rebuild dist under the other tests).
    const pack = await runAsync(NPM, ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(dir, pack.stdout.trim().split('\n').pop()!);
    const listing = await runAsync('tar', ['tzf', tarball]);
    const files = listing.stdout.split('\n');
    for (const f of ['package/bin/normlab.js', 'package/dist/normlab.js', 'package/dist/index.js', 'package/dist/browser.js', 'package/dist/types/index.d.ts', 'package/dist/types/browser.d.ts', 'package/web/explain.html', 'package/examples/plain-cnn.mjs']) expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/src/engine/'))).toEqual([]);

    const consumer = join(dir, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    const install = await runAsync(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: consumer, timeoutMs: 180_000 });
    if (install.status !== 0 && /ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ENOTCACHED|ECONNREFUSED/.test(install.stderr)) {
      ctx.skip(`npm install could not reach the registry for normlab's dependencies: ${install.stderr.split('\n')[0]}`);
    }
    expect(install.status, install.stderr).toBe(0);
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', 'normlab', 'package.json'), 'utf8')) as { version: string };
    expect(installed.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

    const info = await runAsync(NPM, ['exec', '--no', '--', 'normlab', 'info'], { cwd: consumer });
    expect(info.status, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^adapter {7}\S/m);

    copyFileSync(join(ROOT, 'examples', 'plain-cnn.mjs'), join(consumer, 'plain-cnn.mjs'));
    const example = await runAsync(process.execPath, ['plain-cnn.mjs', '--subset', '128', '--test-subset', '100', '--epochs', '1'], { cwd: consumer });
    expect(example.status, example.stderr).toBe(0);
    expect(example.stdout).toMatch(/^epoch 1: train loss \d+\.\d+, test accuracy \d+\.\d% \(100 images\)/m);

    writeFileSync(join(consumer, 'use.ts'), CONSUMER_TS);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
        files: ['use.ts'],
      }),
    );
    const tsc = await runAsync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    // ... and the check can fail: a wrong type in the consumer's code is an error.
    writeFileSync(join(consumer, 'use.ts'), `${CONSUMER_TS}\nexport const wrong: string = new Model(undefined as never, net, initParams(1)).parameterCount;\n`);
    const bad = await runAsync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer]);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/use\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/);
  }, 400_000);
});
