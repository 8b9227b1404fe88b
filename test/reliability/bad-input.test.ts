// Bad input as users produce it, through the real CLI: every case ends in one line naming what is
// wrong (flags: exit 2 with the usage; files: exit 1), never a stack trace, never a partial load.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { normlab, ourErrors, writeCifarDir, type Run } from '../helpers/cli.js';
import { encodeSafetensors, type StTensor } from '../../src/model/safetensors.js';
import { checkpointMeta } from '../../src/model/checkpoint.js';
import { paramSpecs } from '../../src/model/seednet.js';
import { loadDataset } from '../../src/train/data/load.js';
import { DEFAULT_TRAIN_CONFIG } from '../../src/train/trainer.js';

let dir = '';
let cifar = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'normlab-bad-'));
  cifar = writeCifarDir(join(dir, 'cifar'), 10, 10);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The run failed with `code` and exactly one line of its own, matching `line`; no stack trace. */
function failsWith(r: Run, code: number, line: RegExp): void {
  expect(r.status, r.stderr).toBe(code);
  const ours = ourErrors(r).filter((l) => !l.startsWith('Usage: normlab'));
  expect(ours, r.stderr).toHaveLength(1);
  expect(ours[0]).toMatch(line);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  if (code === 2) expect(r.stderr).toMatch(/^Usage: normlab /m);
}

describe('bad flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['batch size 0', ['train', '--batch-size', '0'], /--batch-size.*0.*at least 1|--batch-size/],
    ['negative learning rate', ['train', '--lr', '-1'], /--lr/],
    ['unknown norm', ['train', '--norm', 'weight'], /--norm.*weight.*batch, group, layer, instance, none/],
    ['groups that do not divide the channels', ['train', '--norm', 'group', '--groups', '3'], /--groups 3 does not divide/],
    ['epochs 0', ['train', '--epochs', '0'], /--epochs/],
    ['not a number', ['train', '--epochs', 'ten'], /--epochs/],
    ['unknown flag', ['train', '--learning-rate', '0.1'], /unknown flag '--learning-rate'/],
    ['missing value', ['train', '--lr'], /--lr needs a value/],
    ['a flag given twice', ['train', '--lr', '0.1', '--lr', '0.2'], /--lr given twice/],
    ['a sweep size beyond the training set', ['sweep', 'batch-size', '--sizes', '2,4096', '--subset', '2000'], /--sizes: a batch of 4096 is larger than the 2000 training images/],
    // 60,000 images of b1's 16 x 28 x 28 activations are 3 GB, beyond any adapter's binding limit.
    ['--probe-every 0', ['train', '--probe-every', '0'], /--probe-every: '0' is not valid; expected an integer >= 1/],
    ['--probe-every negative', ['compare', '--probe-every', '-5'], /--probe-every: '-5' is not valid/],
    ['--probe-every not a number', ['sweep', 'lr', '--probe-every', 'often'], /--probe-every: 'often' is not valid/],
    ['--lrs with 0', ['sweep', 'lr', '--lrs', '0.1,0'], /--lrs: '0' is not a learning rate/],
    ['--lrs negative', ['sweep', 'lr', '--lrs', '-0.1'], /--lrs: '-0.1' is not a learning rate/],
    ['--lrs not a number', ['sweep', 'lr', '--lrs', '0.1,fast'], /--lrs: 'fast' is not a learning rate/],
    ['--lrs twice the same', ['sweep', 'lr', '--lrs', '0.1,0.10'], /--lrs: .* names a learning rate twice/],
    ['--sizes in an lr sweep', ['sweep', 'lr', '--sizes', '4,8'], /--sizes is not for sweep lr/],
    ['--lrs in a batch-size sweep', ['sweep', 'batch-size', '--lrs', '0.1'], /--lrs is not for sweep batch-size/],
    ['an unknown sweep', ['sweep', 'momentum'], /unknown sweep 'momentum' \(expected batch-size or lr\)/],
    ['a sweep size beyond the adapter', ['sweep', 'batch-size', '--sizes', '60000', '--subset', '60000'], /--sizes:.*60000/],
  ];
  for (const [what, args, line] of cases) {
    it(`${what}: one line naming the flag, the usage, exit 2`, async () => failsWith(await normlab(...args), 2, line));
  }

  it('unknown command: one line, then the list of commands, exit 2', async () => {
    const r = await normlab('trian');
    expect(r.status).toBe(2);
    expect(ourErrors(r)[0]).toBe("normlab: unknown command 'trian'");
    expect(r.stderr).toMatch(/^Commands:$/m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

// A small Fashion-MNIST-format directory, then one broken copy per case.
function idx(magic: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(body)]);
}

function idxDir(name: string, change: (files: Record<string, Buffer>) => void = () => {}): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idx(0x803, [20, 28, 28], new Uint8Array(20 * 784).fill(7)),
    'train-labels-idx1-ubyte': idx(0x801, [20], Uint8Array.from({ length: 20 }, (_, i) => i % 10)),
    't10k-images-idx3-ubyte': idx(0x803, [10, 28, 28], new Uint8Array(10 * 784).fill(9)),
    't10k-labels-idx1-ubyte': idx(0x801, [10], Uint8Array.from({ length: 10 }, (_, i) => i % 10)),
  };
  change(files);
  for (const [f, b] of Object.entries(files)) writeFileSync(join(d, f), b);
  return d;
}

describe('a batch too large for the adapter', () => {
  it('is refused before training, with the limit and the largest batch that fits', async () => {
    const r = await normlab('train', '--data', cifar, '--batch-size', '20000', '--epochs', '1', '--out', join(dir, 'never'));
    expect(r.status).toBe(1);
    const lines = ourErrors(r).filter((l) => !/^normlab train: batch norm on/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^normlab train: --batch-size 20000 is too large for this adapter: .* binds at most \d+ MiB per buffer .*the largest batch that fits is \d+$/);
  });
});

describe('bad dataset files', () => {
  const train = (d: string) => normlab('train', '--data', d, '--epochs', '1', '--out', join(dir, 'never'));

  it('the good directory trains (the cases below differ from it in one thing)', async () => {
    const r = await train(idxDir('good'));
    expect(r.status, r.stderr).toBe(0);
  });

  const cases: [string, (f: Record<string, Buffer>) => void, RegExp][] = [
    ['wrong magic number', (f) => f['train-images-idx3-ubyte']!.writeUInt32BE(0x804, 0), /train-images-idx3-ubyte: wrong magic number 0x00000804/],
    ['truncated images', (f) => (f['train-images-idx3-ubyte'] = f['train-images-idx3-ubyte']!.subarray(0, 5000)), /train-images-idx3-ubyte: truncated: header says 20 images/],
    ['header count larger than the file', (f) => f['t10k-images-idx3-ubyte']!.writeUInt32BE(2_000_000_000, 4), /t10k-images-idx3-ubyte: truncated: header says 2000000000 images/],
    ['images and labels disagree', (f) => (f['train-labels-idx1-ubyte'] = idx(0x801, [19], new Uint8Array(19))), /train-labels-idx1-ubyte: 19 labels but train-images-idx3-ubyte holds 20 images/],
    ['label out of range', (f) => (f['t10k-labels-idx1-ubyte']![8 + 3] = 12), /t10k-labels-idx1-ubyte: label 12 at index 3 is out of range \(0\.\.9\)/],
    ['a missing file', (f) => delete f['t10k-labels-idx1-ubyte'], /t10k-labels-idx1-ubyte: missing/],
  ];
  for (const [what, change, line] of cases) {
    it(`${what}: one line naming the file, exit 1`, async () => failsWith(await train(idxDir(what.replace(/\W+/g, '-'), change)), 1, line));
  }

  it('a directory mixing IDX and CIFAR-10 files', async () => {
    const d = idxDir('mixed');
    copyFileSync(join(cifar, 'data_batch_1.bin'), join(d, 'data_batch_1.bin'));
    failsWith(await train(d), 1, /mixed: mixes MNIST IDX and CIFAR-10 files/);
  });

  it('a truncated CIFAR-10 batch', async () => {
    const d = writeCifarDir(join(dir, 'cifar-cut'), 10, 10);
    truncateSync(join(d, 'data_batch_3.bin'), 3073 * 4 + 100);
    failsWith(await train(d), 1, /data_batch_3\.bin: 12392 bytes is not a whole number of 3073-byte CIFAR-10 records: 4 records and 100 bytes extra/);
  });

  it('paths that are not dataset directories', async () => {
    failsWith(await train(join(dir, 'nowhere')), 1, /nowhere: does not exist/);
    writeFileSync(join(dir, 'plain-file'), 'x');
    failsWith(await train(join(dir, 'plain-file')), 1, /plain-file: not a directory/);
    mkdirSync(join(dir, 'empty'));
    failsWith(await train(join(dir, 'empty')), 1, /empty: no dataset found/);
  });
});

describe('bad checkpoints', () => {
  // A valid 3-channel batch-norm checkpoint, built without a GPU, then broken one way per case.
  function tensorsFor(norm: 'batch' | 'group', inChannels = 3): Map<string, StTensor> {
    const t = new Map<string, StTensor>();
    for (const s of paramSpecs({ inChannels, norm, groups: 4, classes: 10 })) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      t.set(s.name, { dtype: 'F32', shape: s.shape, data: new Float32Array(n).fill(s.init === 'ones' ? 1 : 0.01) });
    }
    return t;
  }
  function meta(norm: 'batch' | 'group', inChannels = 3): Record<string, string> {
    const ds = loadDataset(cifar);
    const m = checkpointMeta({ ...ds, channels: inChannels }, { ...DEFAULT_TRAIN_CONFIG, norm }, 1);
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  }
  function write(name: string, bytes: Uint8Array): string {
    const p = join(dir, `${name}.safetensors`);
    writeFileSync(p, bytes);
    return p;
  }
  const evalOf = (p: string) => normlab('eval', '--checkpoint', p, '--data', cifar);
  const good = () => encodeSafetensors(tensorsFor('batch'), meta('batch'));

  it('the good checkpoint evaluates (the cases below differ from it in one thing)', async () => {
    const r = await evalOf(write('good', good()));
    expect(r.status, r.stderr).toBe(0);
  });

  /** The file with its JSON header replaced (the data bytes kept). */
  function withHeader(edit: (h: Record<string, { data_offsets?: number[]; dtype?: string; shape?: number[] }>) => void): Uint8Array {
    const b = Buffer.from(good());
    const n = Number(b.readBigUInt64LE(0));
    const h = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
    edit(h);
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, b.subarray(8 + n)]);
  }

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['header length beyond the file', () => { const b = Buffer.from(good()); b.writeBigUInt64LE(10n ** 12n, 0); return b; }, /not a valid safetensors file: header length 1000000000000 is beyond the file's \d+ bytes/],
    ['malformed JSON', () => { const b = Buffer.from(good()); b[8] = 0x7b; b[9] = 0x7b; return b; }, /not a valid safetensors file: malformed JSON header/],
    ['offsets beyond the data', () => withHeader((h) => { const o = h['c10.weight']!.data_offsets!; h['c10.weight']!.data_offsets = [o[0]! + 10_000_000, o[1]! + 10_000_000]; }), /tensor 'c10\.weight' ends at byte \d+, beyond the \d+ bytes of data/],
    ['overlapping tensors', () => withHeader((h) => { h['c10.weight']!.data_offsets = [...h['b1.norm.weight']!.data_offsets!]; h['c10.weight']!.shape = [16]; }), /tensors '.*' and '.*' overlap/],
    ['wrong dtype', () => withHeader((h) => { h['b2.conv.weight']!.dtype = 'I32'; }), /tensor 'b2\.conv\.weight' is I32, expected F32/],
    ['truncated file', () => good().subarray(0, good().length - 100), /tensor '[^']+' ends at byte \d+, beyond the \d+ bytes of data/],
    ['wrong shape', () => { const t = tensorsFor('batch'); t.set('b4.conv.weight', { dtype: 'F32', shape: [32, 16, 1, 1], data: new Float32Array(512) }); return encodeSafetensors(t, meta('batch')); }, /tensor 'b4\.conv\.weight' is \[32,16,1,1\], expected \[32,16,3,3\]/],
    ['a missing tensor', () => { const t = tensorsFor('batch'); t.delete('b7.norm.bias'); return encodeSafetensors(t, meta('batch')); }, /tensor 'b7\.norm\.bias' is missing/],
    ['an extra tensor', () => { const t = tensorsFor('batch'); t.set('fc.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }); return encodeSafetensors(t, meta('batch')); }, /unexpected tensor 'fc\.weight' for a batch-norm SeedNet/],
    ['batch-norm tensors under a group-norm label', () => encodeSafetensors(tensorsFor('batch'), meta('group')), /unexpected tensor 'b1\.norm\.running_mean' for a group-norm SeedNet/],
    ['not a checkpoint at all', () => new TextEncoder().encode('just some text, long enough'), /not a valid safetensors file/],
  ];
  for (const [what, bytes, line] of cases) {
    it(`${what}: one line naming the file, exit 1`, async () => {
      const p = write(what.replace(/\W+/g, '-'), bytes());
      failsWith(await evalOf(p), 1, new RegExp(`^normlab eval: ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (.*: )?${line.source}`));
    });
  }

  it('--bn-stats on a checkpoint without batch norm: one line naming the file, exit 1; on batch norm it runs', async () => {
    const p = write('group-norm', encodeSafetensors(tensorsFor('group'), meta('group')));
    failsWith(await normlab('eval', '--checkpoint', p, '--data', cifar, '--bn-stats', 'precise'), 1, /group-norm\.safetensors: has no batch norm \(its norm is group\)/);
    const r = await normlab('eval', '--checkpoint', write('bn-stats', good()), '--data', cifar, '--bn-stats', 'batch');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/each test batch's own statistics \(batches of 128\)/);
  });

  it('a checkpoint for another input size than the data', async () => {
    const p = write('mnist-sized', encodeSafetensors(tensorsFor('batch', 1), meta('batch', 1)));
    failsWith(await evalOf(p), 1, /mnist-sized\.safetensors was trained on cifar-10 \(1x32x32, 10 classes\) but .* holds cifar-10 \(3x32x32, 10 classes\)/);
  });

  describe('PNG inputs to predict', () => {
    let ckpt = '';
    beforeAll(() => {
      ckpt = write('predict', good());
    });
    function png(name: string, w: number, h: number): string {
      const img = new PNG({ width: w, height: h });
      img.data.fill(200);
      const p = join(dir, name);
      writeFileSync(p, PNG.sync.write(img));
      return p;
    }

    it('not a PNG, and a truncated PNG: one line naming the file, exit 1', async () => {
      const text = join(dir, 'notes.png');
      writeFileSync(text, 'these are not pixels');
      failsWith(await normlab('predict', '--checkpoint', ckpt, text), 1, /notes\.png: not a PNG file \(wrong signature\)/);
      const whole = readFileSync(png('whole.png', 32, 32));
      const cut = join(dir, 'cut.png');
      writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      failsWith(await normlab('predict', '--checkpoint', ckpt, cut), 1, /cut\.png: cannot decode PNG .*truncated/);
    });

    it('a PNG of another size is resized, and the output says so', async () => {
      const p = png('big.png', 100, 80);
      const r = await normlab('predict', '--checkpoint', ckpt, p);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`${p} (resized from 100x80 to 32x32)`);
    });
  });
});
