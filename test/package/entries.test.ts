// The library's two entries (package.json "exports"): the Node one exports all of the public API;
// the browser one the same minus the Node-only file functions, built from no module that touches
// the file system (esbuild's metafile lists what each bundle took).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const NODE_ONLY = ['loadDataset', 'detectFormat', 'saveModel', 'loadModel', 'saveCheckpoint', 'readCheckpoint'];

describe('the library entries', () => {
  it('Node: the engine, models, training and checkpoints, with the names PyTorch users expect', async () => {
    const api = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as Record<string, unknown>;
    for (const name of ['Engine', 'Tensor', 'ops', 'noGrad', 'SGD', 'Model', 'SeedNet', 'sequential', 'block', 'conv2d', 'linear', 'Trainer', 'oneCycle', 'stateDict', 'pytorchSource', ...NODE_ONLY]) expect(api, name).toHaveProperty(name);
    const t = (api.Tensor as { prototype: object }).prototype;
    for (const m of ['backward', 'requireGrad', 'read', 'dispose']) expect(t, m).toHaveProperty(m);
  });

  it('browser: everything but the file functions, and no module of the file system in the bundle', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'browser.meta.json'), 'utf8')) as { inputs: Record<string, unknown>; outputs: Record<string, { exports: string[]; imports: { path: string }[] }> };
    const out = meta.outputs['dist/browser.js']!;
    const node = JSON.parse(readFileSync(join(ROOT, 'dist', 'index.meta.json'), 'utf8')).outputs['dist/index.js'].exports as string[];
    expect(new Set(out.exports)).toEqual(new Set(node.filter((e) => !NODE_ONLY.includes(e))));
    for (const input of Object.keys(meta.inputs)) expect(input).not.toMatch(/checkpoint-files|train\/data\/(load|mnist|cifar10)\.ts|util\/atomic-file/);
    expect(out.imports.filter((i) => i.path.startsWith('node:'))).toEqual([]);
  });
});
