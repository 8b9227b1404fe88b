// The web pages' Node side: the static server (what it serves and what it refuses) and the dataset
// sample format. The pages themselves run in test/browser/.
import { existsSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, normlab } from '../helpers/cli.js';
import { findProjectRoot, resolveWebPath, startWebServer, type WebServer } from '../../src/web/server.js';
import { decodeSample, encodeSample, takeImages } from '../../src/web/sample.js';
import type { Dataset } from '../../src/train/data/dataset.js';

function tinyDataset(): Dataset {
  const per = 2 * 3 * 3;
  return {
    name: 'tiny',
    source: 'generated',
    classes: ['a', 'b', 'c'],
    channels: 2,
    height: 3,
    width: 3,
    mean: [0.5, 0.4],
    std: [0.2, 0.3],
    train: { images: Uint8Array.from({ length: 5 * per }, (_, i) => i % 251), labels: Uint8Array.of(0, 1, 2, 1, 0), count: 5 },
    test: { images: Uint8Array.from({ length: 2 * per }, (_, i) => (i * 7) % 256), labels: Uint8Array.of(2, 2), count: 2 },
  };
}

describe('dataset sample', () => {
  it('round-trips the first images of each split, byte for byte', () => {
    const ds = tinyDataset();
    const back = decodeSample(encodeSample(ds, 3, 5, 'test licence'));
    expect(back.train.count).toBe(3);
    expect(back.test.count).toBe(2); // only 2 exist
    expect(back.train.images).toEqual(ds.train.images.subarray(0, 3 * 18));
    expect(back.train.labels).toEqual(Uint8Array.of(0, 1, 2));
    expect(back.test.images).toEqual(ds.test.images);
    expect([back.channels, back.height, back.width, back.classes, back.mean, back.std]).toEqual([2, 3, 3, ['a', 'b', 'c'], [0.5, 0.4], [0.2, 0.3]]);
    const few = takeImages(back, 2, 1);
    expect([few.train.count, few.train.images.length, few.test.count, few.test.labels.length]).toEqual([2, 36, 1, 1]);
  });

  it('refuses damaged files with the reason', () => {
    const good = encodeSample(tinyDataset(), 5, 2, 'x');
    expect(() => decodeSample(good.subarray(0, good.length - 1), 's.bin')).toThrow(/s\.bin: .* bytes, the header describes/);
    const bad = good.slice();
    bad[0] = 0x41;
    expect(() => decodeSample(bad)).toThrow(/not a normlab dataset sample/);
    const label = good.slice();
    label[good.length - 1] = 9;
    expect(() => decodeSample(label)).toThrow(/label is out of range/);
  });

  it('the build wrote the Fashion-MNIST sample the training page loads', () => {
    const file = join(findProjectRoot(), 'web', 'dist', 'sample.bin.gz');
    expect(existsSync(file), `${file} is missing: npm test builds it`).toBe(true);
    const ds = decodeSample(new Uint8Array(gunzipSync(readFileSync(file))));
    expect([ds.name, ds.train.count, ds.test.count, ds.channels, ds.height, ds.width]).toEqual(['fashion-mnist', 2000, 500, 1, 28, 28]);
    expect(ds.classes[9]).toBe('Ankle boot');
    // Every class is represented in the slice the software preset trains on.
    expect(new Set(ds.train.labels.subarray(0, 128)).size).toBe(10);
  });
});

describe('the bundles', () => {
  it('take their kernels from the same src/shaders/*.wgsl files, Node and browser alike', () => {
    const root = findProjectRoot();
    type Meta = { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const kernels = (file: string, output: string): string[] => {
      const meta = JSON.parse(readFileSync(join(root, file), 'utf8')) as Meta;
      return Object.keys(meta.outputs[output]!.inputs).filter((k) => k.endsWith('.wgsl')).sort();
    };
    const cli = kernels('dist/normlab.meta.json', 'dist/normlab.js');
    const trainPage = kernels('web/dist/meta.json', 'web/dist/train-page.js');
    const explainPage = kernels('web/dist/meta.json', 'web/dist/explain-page.js');
    for (const k of [...trainPage, ...explainPage]) expect(k).toMatch(/^src\/shaders\/[a-z0-9_-]+\.wgsl$/);
    // Training in the page needs every kernel a CLI training step runs; the CLI has more (bench's matmul).
    expect(trainPage).toEqual(expect.arrayContaining(['src/shaders/conv2d_prep.wgsl', 'src/shaders/conv2d_sg_tile.wgsl', 'src/shaders/norm.wgsl', 'src/shaders/sgd.wgsl', 'src/shaders/data.wgsl', 'src/shaders/loss.wgsl']));
    expect(cli).toEqual(expect.arrayContaining([...trainPage, ...explainPage]));
  });
});

describe('web server', () => {
  const root = mkdtempSync(join(tmpdir(), 'normlab-web-'));
  let web: WebServer;
  beforeAll(async () => {
    for (const d of ['web/dist', 'docs', 'src/shaders', 'secret']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'web', 'index.html'), '<p>index</p>');
    writeFileSync(join(root, 'web', 'dist', 'train-page.js'), 'export {}');
    writeFileSync(join(root, 'docs', 'a.md'), '# doc');
    writeFileSync(join(root, 'src', 'shaders', 'k.wgsl'), 'fn main() {}');
    writeFileSync(join(root, 'secret', 'key'), 'no');
    web = await startWebServer({ root, port: 0 });
  });
  afterAll(() => web.close());

  it('maps web/ to /, docs/ and src/shaders/ to their own paths, and nothing else', () => {
    expect(resolveWebPath(root, '/')).toBe(join(root, 'web', 'index.html'));
    expect(resolveWebPath(root, '/dist/train-page.js?v=1')).toBe(join(root, 'web', 'dist', 'train-page.js'));
    expect(resolveWebPath(root, '/docs/a.md')).toBe(join(root, 'docs', 'a.md'));
    expect(resolveWebPath(root, '/src/shaders/k.wgsl')).toBe(join(root, 'src', 'shaders', 'k.wgsl'));
    for (const p of ['/../secret/key', '/%2e%2e/secret/key', '/docs/../../secret/key', '/src/engine/engine.ts', '/a%00b', '/%E0%A4%A']) {
      const r = resolveWebPath(root, p);
      expect(r === null || r.startsWith(join(root, 'web')), p).toBe(true);
    }
  });

  it('serves files with their types, 404 for the rest, GET and HEAD only', async () => {
    const get = (p: string, method = 'GET') => fetch(new URL(p, web.url), { method });
    const index = await get('/');
    expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([200, 'text/html; charset=utf-8', '<p>index</p>']);
    expect((await get('/src/shaders/k.wgsl')).headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await get('/dist/train-page.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('/nothing.html')).status).toBe(404);
    expect((await get('/%2e%2e/secret/key')).status).toBe(404);
    expect((await get('/', 'POST')).status).toBe(405);
    const head = await get('/docs/a.md', 'HEAD');
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '5', '']);
  });

  it('says what to do when the bundle is missing or the port is taken', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'normlab-web-empty-'));
    await expect(startWebServer({ root: empty, port: 0 })).rejects.toThrow(/web bundle is missing .*npm run build/);
    const port = Number(new URL(web.url).port);
    await expect(startWebServer({ root, port })).rejects.toThrow(`port ${port} on 127.0.0.1 is in use: pass --port N`);
  });
});

describe('normlab serve', () => {
  it('prints the URLs, serves both pages and stops cleanly on Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let stdout = '';
    const url = await new Promise<string>((found, fail) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /normlab serve: (http:\/\/127\.0\.0\.1:\d+\/) \(training page\)/.exec(stdout);
        if (m) found(m[1]!);
      });
      child.on('exit', () => fail(new Error(`serve exited: ${stdout}`)));
    });
    expect(stdout).toContain(`${url}explain.html (how the norms backpropagate)`);
    for (const page of ['', 'explain.html', 'dist/train-page.js', 'dist/explain-page.js', 'dist/sample.bin.gz']) {
      expect((await fetch(url + page)).status, page).toBe(200);
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('refuses a bad port with the flag and the range', async () => {
    const r = await normlab('serve', '--port', '70000');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/--port.*65535/);
  });
});
