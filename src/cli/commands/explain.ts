// normlab explain: normalisation backprop, term by term, computed by the real kernels on a tiny
// tensor, with the WGSL line of each term (docs/normalization-backprop.md derives them).
import { Engine } from '../../engine/engine.js';
import { explainNorm, formatExplain } from '../../explain/explain.js';
import { formatJacobian, normJacobian } from '../../explain/jacobian.js';
import type { NormKind } from '../../engine/ops/norm.js';

/** The norms with statistics to explain ('none' has none; ghost batch norm is batch norm per sub-batch). */
const EXPLAINED: readonly NormKind[] = ['batch', 'group', 'layer', 'instance'];
import { bool, num, optNum, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show how a norm backpropagates, term by term, on a tiny tensor (real kernels)',
  usage: 'normlab explain --norm batch|group|layer|instance [--seed N] [--groups G] [--jacobian] [--json]',
  flags: [
    { name: 'norm', type: 'enum', choices: EXPLAINED, default: 'batch', help: 'the norm to explain' },
    { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, default: 7, help: 'seed of the tiny input' },
    { name: 'groups', type: 'enum', choices: ['1', '2', '4'], metavar: 'G', help: 'groups for --norm group (default 2 of the 4 channels)' },
    { name: 'jacobian', type: 'bool', help: "the full 32 x 32 Jacobian dy/dx from the backward kernels, its block structure and the invariants per set" },
    { name: 'json', type: 'bool', help: 'print JSON for tools' },
  ],
  details: 'The derivation, with every term pointing at its kernel line: docs/normalization-backprop.md',
  async run(args: ParsedArgs) {
    const engine = await Engine.create();
    try {
      const g = str(args, 'groups');
      if (bool(args, 'jacobian')) {
        const j = await normJacobian(engine, str(args, 'norm') as NormKind, { seed: num(args, 'seed'), groups: g ? Number(g) : undefined });
        out.line(bool(args, 'json') ? JSON.stringify(j, null, 2) : formatJacobian(j));
        return j.invariants.pass ? 0 : 1;
      }
      const r = await explainNorm(engine, str(args, 'norm') as NormKind, { seed: num(args, 'seed'), groups: g ? Number(g) : optNum(args, 'groups') });
      out.line(bool(args, 'json') ? JSON.stringify(r, null, 2) : formatExplain(r));
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
