// docs/api.md's examples, and README.md's, run as written: each ```js block as an ES module inside
// this package (so 'normlab' resolves to its own dist/index.js), and where a ```text block follows,
// its output must be exactly that text.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

const ROOT = join(__dirname, '..', '..');
const jsBlocks = (file: string) =>
  [...readFileSync(join(ROOT, file), 'utf8').matchAll(/```js\n([\s\S]*?)```(?:\n\n```text\n([\s\S]*?)```)?/g)].map((m) => ({ code: m[1]!, output: m[2] }));
const blocks = jsBlocks('docs/api.md');
const readme = jsBlocks('README.md');
const dir = join(ROOT, 'test-results', 'api-docs');

describe('docs/api.md', () => {
  it('has examples, most with their output', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.filter((b) => b.output !== undefined).length).toBeGreaterThanOrEqual(3);
  });
  blocks.forEach((b, k) => {
    const title = b.code.split('\n').find((l) => /^(const|await|console)/.test(l))?.slice(0, 60) ?? `block ${k + 1}`;
    it(`example ${k + 1} runs${b.output !== undefined ? ' and prints what the page says' : ''}: ${title}`, async () => {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `example-${k + 1}.mjs`);
      writeFileSync(file, b.code);
      const r = await runAsync(process.execPath, [file], { cwd: ROOT });
      expect(r.status, r.stderr).toBe(0);
      if (b.output !== undefined) expect(r.stdout).toBe(b.output);
    });
  });
  it("README.md's library example runs", async () => {
    expect(readme).toHaveLength(1);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'readme.mjs'), readme[0]!.code);
    const r = await runAsync(process.execPath, [join(dir, 'readme.mjs')], { cwd: ROOT });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^test accuracy 0\.\d+$/m);
  });
});
