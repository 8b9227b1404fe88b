// normlab summary: SeedNet layer by layer, like torchsummary.
import { summary, NORM_KINDS, validateConfig, type NormKind } from '../../model/seednet.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { loadDataset } from '../../train/data/load.js';

export const summaryCommand: Command = {
  name: 'summary',
  summary: "print SeedNet's layers, output shapes and parameter counts",
  usage: 'normlab summary [--norm batch|group|layer|instance|none] [--data DIR | --input-channels N --size S] [--json]',
  flags: [
    { name: 'norm', type: 'enum', choices: NORM_KINDS, default: 'batch', help: 'normalisation' },
    { name: 'groups', type: 'int', min: 1, default: 4, help: 'GroupNorm groups' },
    { name: 'data', type: 'string', metavar: 'DIR', help: 'take input channels and size from this dataset' },
    { name: 'input-channels', type: 'int', min: 1, max: 64, default: 3, help: 'input channels when no --data (3: CIFAR-10)' },
    { name: 'size', type: 'int', min: 4, max: 1024, default: 32, help: 'input height and width when no --data' },
    { name: 'batch', type: 'int', min: 1, default: 1, help: 'batch size shown in the shapes' },
    { name: 'json', type: 'bool', help: 'print JSON' },
  ],
  async run(args: ParsedArgs) {
    const dir = str(args, 'data');
    let c = num(args, 'input-channels');
    let h = num(args, 'size');
    let w = h;
    if (dir) {
      const ds = loadDataset(dir);
      [c, h, w] = [ds.channels, ds.height, ds.width];
    }
    const cfg = { inChannels: c, norm: str(args, 'norm') as NormKind, groups: num(args, 'groups'), classes: 10 };
    validateConfig(cfg);
    const { rows, total } = summary(cfg, [num(args, 'batch'), c, h, w]);
    if (bool(args, 'json')) {
      out.line(JSON.stringify({ config: cfg, input: [num(args, 'batch'), c, h, w], layers: rows, totalParams: total }, null, 2));
      return 0;
    }
    out.line(`SeedNet, ${cfg.norm} norm${cfg.norm === 'group' ? ` (G = ${cfg.groups})` : ''}, input [${num(args, 'batch')}, ${c}, ${h}, ${w}]`);
    out.line('-'.repeat(72));
    out.line(`${'layer'.padEnd(7)}${'op'.padEnd(38)}${'output shape'.padEnd(18)}${'params'.padStart(9)}`);
    out.line('='.repeat(72));
    for (const r of rows) {
      out.line(`${r.name.padEnd(7)}${r.op.padEnd(38)}${`[${r.outShape.join(', ')}]`.padEnd(18)}${r.params.toLocaleString('en-US').padStart(9)}`);
    }
    out.line('='.repeat(72));
    out.line(`Total params: ${total.toLocaleString('en-US')}`);
    return 0;
  },
};
