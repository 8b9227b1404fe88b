// normlab download cifar10: fetch CIFAR-10's binary archive, check its MD5, unpack it for --data.
import { UsageError } from '../../engine/errors.js';
import { CIFAR10_MD5, CIFAR10_URL, downloadCifar10 } from '../../train/download.js';
import { str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

const DATASETS = ['cifar10'];

export const downloadCommand: Command = {
  name: 'download',
  summary: 'download CIFAR-10 (binary version), verify its MD5 and unpack it for --data',
  usage: 'normlab download cifar10 [--dir DIR] [--url URL] [--md5 HEX]',
  positional: { name: 'dataset', help: 'cifar10 (Fashion-MNIST comes from `node scripts/setup.mjs`)', min: 1, max: 1 },
  flags: [
    { name: 'dir', type: 'string', metavar: 'DIR', default: 'data', help: 'unpack into DIR/cifar-10-batches-bin/' },
    { name: 'url', type: 'string', metavar: 'URL', default: CIFAR10_URL, help: 'where to fetch the archive (http or https)' },
    { name: 'md5', type: 'string', metavar: 'HEX', help: `expected MD5 of the archive (default ${CIFAR10_MD5}, the official one)` },
  ],
  details: [
    'The archive (170 MB) is streamed to a temporary file in DIR and its MD5 checked before anything is',
    'extracted; only the batch files and batches.meta.txt are unpacked, and the temporary archive is',
    'deleted. If DIR/cifar-10-batches-bin/ already holds a valid CIFAR-10, nothing is downloaded.',
    'Then train with --data DIR/cifar-10-batches-bin.',
  ].join('\n'),
  async run(args: ParsedArgs) {
    const name = args.positional[0]!.toLowerCase().replace(/-/g, '');
    if (!DATASETS.includes(name)) {
      throw new UsageError(`unknown dataset '${args.positional[0]}'; normlab download knows: ${DATASETS.join(', ')}`);
    }
    const url = str(args, 'url')!;
    if (!/^https?:\/\/[^/]/i.test(url)) throw new UsageError(`--url: '${url}' is not valid; expected an http:// or https:// URL`);
    const md5 = str(args, 'md5');
    if (md5 !== undefined && !/^[0-9a-f]{32}$/i.test(md5)) {
      throw new UsageError(`--md5: '${md5}' is not valid; expected 32 hexadecimal digits`);
    }
    const r = await downloadCifar10({ dir: str(args, 'dir')!, url, md5 });
    out.line(`CIFAR-10 ready: pass --data ${r.dataDir}`);
    return 0;
  },
};
