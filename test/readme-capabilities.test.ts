// README.md's capability table is a claim about the code: each row's kernel files, gradcheck rows,
// references and fixtures must exist, and every registered gradcheck case must have its row.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allCases } from '../src/check/cases/index.js';

const ROOT = join(__dirname, '..');

interface Row {
  op: string;
  kernels: string[];
  gradcheck: Map<string, string[]>;
  reference: string;
  fixtures: string;
}

function capabilityRows(): Row[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n## Capabilities\n')[1]?.split('\n## ')[0];
  if (!section) throw new Error('README.md has no "## Capabilities" section');
  const lines = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| op |'));
  return lines.map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells, line).toHaveLength(7);
    const gradcheck = new Map<string, string[]>();
    if (cells[3] !== 'none') {
      for (const part of cells[3]!.split(';')) {
        const [name, wrt] = part.split(':').map((s) => s.trim());
        gradcheck.set(name!, wrt!.split(',').map((s) => s.trim()));
      }
    }
    return { op: cells[0]!, kernels: cells[1]!.split(',').map((k) => k.trim().replace(/ \(.*\)$/, '')), gradcheck, reference: cells[4]!, fixtures: cells[5]! };
  });
}

describe('README capability table', () => {
  const rows = capabilityRows();

  it('names kernel files, references and fixtures that exist', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const r of rows) {
      for (const k of r.kernels) expect(existsSync(join(ROOT, 'src', 'shaders', k)), `${r.op}: src/shaders/${k}`).toBe(true);
      const ref = /(src\/reference\/\S+\.ts|test\/\S+\.ts)/.exec(r.reference)?.[1];
      if (ref) expect(existsSync(join(ROOT, ref)), `${r.op}: ${ref}`).toBe(true);
      else expect(r.reference, r.op).toBe('in its gradcheck case');
      const fixture = /(\S+\.json)/.exec(r.fixtures)?.[1];
      if (fixture) expect(existsSync(join(ROOT, 'test', 'fixtures', fixture)), `${r.op}: test/fixtures/${fixture}`).toBe(true);
    }
  });

  it('lists exactly the registered gradcheck cases, each with the inputs it differentiates', () => {
    const claimed = new Map(rows.flatMap((r) => [...r.gradcheck]));
    const registered = new Map(allCases.map((c) => [c.op, [...c.wrt]]));
    expect(Object.fromEntries(claimed)).toEqual(Object.fromEntries(registered));
  });
});
