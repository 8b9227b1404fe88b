// The examples (examples/*.mjs) train their models on a small Fashion-MNIST subset through the
// public API ('normlab' resolves to this package's own dist/index.js, as it will once installed).
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

const EXAMPLES: [string, RegExp][] = [
  ['examples/plain-cnn.mjs', /^plain CNN with layer norm: 24058 parameters \(conv1\.conv\.weight, conv1\.norm\.weight/m],
  ['examples/seednet-wide.mjs', /^SeedNet x2 with group norm: 150340 parameters$/m],
];

describe('the examples', () => {
  for (const [file, first] of EXAMPLES) {
    it(`${file} trains an epoch and reports its test accuracy`, async () => {
      const r = await runAsync(process.execPath, [file, '--subset', '256', '--test-subset', '200', '--epochs', '1']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(first);
      const m = /^epoch 1: train loss (\d+\.\d+), test accuracy (\d+\.\d)% \(200 images\)/m.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThan(0);
      expect(Number(m![2])).toBeGreaterThanOrEqual(0);
    });
  }
});
