// A write killed at any moment leaves the old file or the new one, never a torn one: a child process
// rewrites a large file over and over with writeFileAtomic and is SIGKILLed at random moments.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

let dir = '';
let writer = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'normlab-atomic-'));
  const lib = join(dir, 'atomic-file.mjs');
  buildSync({ entryPoints: [join(__dirname, '../../src/util/atomic-file.ts')], bundle: true, platform: 'node', format: 'esm', outfile: lib, logLevel: 'silent' });
  // Each version is 8 MiB of one repeated byte: a torn file would mix bytes or be short.
  writer = join(dir, 'writer.mjs');
  writeFileSync(
    writer,
    `import { writeFileAtomic } from ${JSON.stringify(lib)};
const target = process.argv[2];
for (let v = 1; ; v++) writeFileAtomic(target, new Uint8Array(8 << 20).fill(v % 251));
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function whole(path: string): boolean {
  const b = readFileSync(path);
  return b.length === 8 << 20 && b.every((x) => x === b[0]);
}

describe('writeFileAtomic', () => {
  it('leaves a whole file however often the writer is killed mid-write', async () => {
    const target = join(dir, 'model.safetensors');
    writeFileSync(target, new Uint8Array(8 << 20).fill(250));
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, [writer, target], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 150 + 97 * round));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      expect(whole(target), `round ${round}`).toBe(true);
    }
    // Killed writers leave their temporary files behind (a dot file per pid), never in the target's place.
    expect(readdirSync(dir).filter((f) => !f.startsWith('.') && f.endsWith('.safetensors'))).toEqual(['model.safetensors']);
  }, 60_000);
});
