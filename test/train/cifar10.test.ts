import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_CLASSES, isCifar10Dir, loadCifar10, parseCifar10Meta } from '../../src/train/data/cifar10.js';
import { loadDataset } from '../../src/train/data/load.js';
import { UserError } from '../../src/engine/errors.js';

const RECORD = 3073;
const NAMES = ['Plane', 'Car', 'Bird', 'Cat', 'Deer', 'Dog', 'Frog', 'Horse', 'Ship', 'Truck'];

/** The byte a test batch holds for file f (0..4 train, 5 test), record r, channel c, row y, column x. */
function pixel(f: number, r: number, c: number, y: number, x: number): number {
  return (f * 37 + r * 11 + c * 101 + y * 7 + x * 3) % 256;
}

/** A CIFAR-10 batch file in the exact binary format: per record a label byte, then R, G, B planes. */
function cifarBatch(f: number, labels: number[]): Buffer {
  const b = Buffer.alloc(labels.length * RECORD);
  labels.forEach((label, r) => {
    b[r * RECORD] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) b[r * RECORD + 1 + c * 1024 + y * 32 + x] = pixel(f, r, c, y, x);
    }
  });
  return b;
}

const TRAIN_LABELS = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [9, 0, 1],
  [2, 3, 4],
];
const TEST_LABELS = [5, 6, 9];

function writeCifar(dir: string, meta: string | null = `${NAMES.join('\n')}\n\n`): string {
  mkdirSync(dir, { recursive: true });
  TRAIN_LABELS.forEach((l, f) => writeFileSync(join(dir, `data_batch_${f + 1}.bin`), cifarBatch(f, l)));
  writeFileSync(join(dir, 'test_batch.bin'), cifarBatch(5, TEST_LABELS));
  if (meta !== null) writeFileSync(join(dir, 'batches.meta.txt'), meta);
  return dir;
}

function idxImages(count: number, rows: number, cols: number): Buffer {
  const b = Buffer.alloc(16 + count * rows * cols);
  b.writeUInt32BE(0x803, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  return b;
}
function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x801, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}
function writeIdx(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxImages(2, 28, 28));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxLabels([1, 2]));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxImages(1, 28, 28));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([3]));
  return dir;
}

/** The one-line message a loader throws (and that it is a UserError). */
function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected an error');
}

let root: string;
let n = 0;
/** A fresh directory under the test's temp root. */
const fresh = (label: string) => join(root, `${label}-${n++}`);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'normlab-cifar-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('CIFAR-10 loader', () => {
  it('loads all six batch files with shapes, labels, class names and SEEDNET constants', () => {
    const dir = writeCifar(fresh('good'));
    expect(isCifar10Dir(dir)).toBe(true);
    const ds = loadCifar10(dir);
    expect(ds.name).toBe('cifar-10');
    expect(ds.source).toBe(dir);
    expect([ds.channels, ds.height, ds.width]).toEqual([3, 32, 32]);
    expect(ds.train.count).toBe(15);
    expect(ds.train.images.length).toBe(15 * 3072);
    expect(Array.from(ds.train.labels)).toEqual(TRAIN_LABELS.flat());
    expect(ds.test.count).toBe(3);
    expect(ds.test.images.length).toBe(3 * 3072);
    expect(Array.from(ds.test.labels)).toEqual(TEST_LABELS);
    expect(ds.classes).toEqual(NAMES);
    expect(ds.mean).toEqual([0.4914, 0.4822, 0.4465]);
    expect(ds.std).toEqual([0.247, 0.2435, 0.2616]);
  });

  it('places each pixel at [image, channel, row, column], images in file order', () => {
    const ds = loadCifar10(writeCifar(fresh('pixels')));
    const at = (images: Uint8Array, i: number, c: number, y: number, x: number) => images[((i * 3 + c) * 32 + y) * 32 + x];
    // Training image 7 is record 1 of data_batch_3.bin; blue (channel 2), row 5, column 30.
    expect(at(ds.train.images, 7, 2, 5, 30)).toBe(pixel(2, 1, 2, 5, 30));
    expect(at(ds.train.images, 0, 0, 0, 0)).toBe(pixel(0, 0, 0, 0, 0));
    expect(at(ds.train.images, 14, 1, 31, 31)).toBe(pixel(4, 2, 1, 31, 31));
    expect(at(ds.test.images, 2, 2, 31, 0)).toBe(pixel(5, 2, 2, 31, 0));
    // And every byte, the long way.
    for (let i = 0; i < 15; i++) {
      const f = Math.floor(i / 3);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) if (at(ds.train.images, i, c, y, x) !== pixel(f, i % 3, c, y, x)) throw new Error(`pixel ${i},${c},${y},${x}`);
        }
      }
    }
  });

  it('uses the standard class names when batches.meta.txt is absent, and CRLF meta files load', () => {
    expect(loadCifar10(writeCifar(fresh('nometa'), null)).classes).toEqual(CIFAR10_CLASSES);
    expect(loadCifar10(writeCifar(fresh('crlf'), `${NAMES.join('\r\n')}\r\n`)).classes).toEqual(NAMES);
  });

  it('accepts the parent directory of cifar-10-batches-bin/', () => {
    const parent = fresh('parent');
    writeCifar(join(parent, 'cifar-10-batches-bin'));
    expect(isCifar10Dir(parent)).toBe(true);
    const ds = loadCifar10(parent);
    expect(ds.source).toBe(join(parent, 'cifar-10-batches-bin'));
    expect(ds.train.count).toBe(15);
  });

  it('refuses a truncated record, naming the file and the extra bytes', () => {
    const dir = writeCifar(fresh('trunc'));
    truncateSync(join(dir, 'data_batch_3.bin'), 3 * RECORD - 1);
    expect(message(() => loadCifar10(dir))).toBe(
      `${join(dir, 'data_batch_3.bin')}: 9218 bytes is not a whole number of 3073-byte CIFAR-10 records: ` +
        '2 records and 3072 bytes extra (truncated, or not a CIFAR-10 batch file)',
    );
    expect(isCifar10Dir(dir)).toBe(true); // presence only; loading checks sizes
  });

  it('refuses trailing bytes after the last record', () => {
    const dir = writeCifar(fresh('extra'));
    appendFileSync(join(dir, 'test_batch.bin'), Buffer.from([1, 2]));
    expect(message(() => loadCifar10(dir))).toMatch(/test_batch\.bin: 9221 bytes is not a whole number of 3073-byte CIFAR-10 records: 3 records and 2 bytes extra/);
  });

  it('refuses an empty batch file', () => {
    const dir = writeCifar(fresh('empty'));
    writeFileSync(join(dir, 'data_batch_5.bin'), '');
    expect(message(() => loadCifar10(dir))).toBe(`${join(dir, 'data_batch_5.bin')}: empty (a CIFAR-10 batch file holds 3073-byte records)`);
  });

  it('refuses label 10, naming the file and the record', () => {
    const dir = writeCifar(fresh('label'));
    writeFileSync(join(dir, 'data_batch_2.bin'), cifarBatch(1, [3, 10, 5]));
    expect(message(() => loadCifar10(dir))).toBe(`${join(dir, 'data_batch_2.bin')}: label 10 in record 1 is out of range (0..9)`);
  });

  it('requires all five training batches and the test batch, naming the missing file', () => {
    const dir = writeCifar(fresh('missing'));
    unlinkSync(join(dir, 'data_batch_4.bin'));
    expect(isCifar10Dir(dir)).toBe(false);
    expect(message(() => loadCifar10(dir))).toBe(
      `${join(dir, 'data_batch_4.bin')}: missing; CIFAR-10 needs data_batch_1.bin .. data_batch_5.bin and test_batch.bin ` +
        '(`normlab download cifar10` fetches them)',
    );
    unlinkSync(join(dir, 'test_batch.bin'));
    expect(message(() => loadCifar10(dir))).toMatch(/data_batch_4\.bin: missing \(also missing: test_batch\.bin\); CIFAR-10 needs/);
  });

  it('refuses a malformed batches.meta.txt', () => {
    const nine = writeCifar(fresh('meta9'), NAMES.slice(0, 9).join('\n'));
    expect(message(() => loadCifar10(nine))).toBe(`${join(nine, 'batches.meta.txt')}: expected 10 class names, one per line, but found 9`);
    const gap = writeCifar(fresh('metagap'), [...NAMES.slice(0, 4), '', ...NAMES.slice(4)].join('\n'));
    expect(message(() => loadCifar10(gap))).toBe(`${join(gap, 'batches.meta.txt')}: line 5 is empty (expected 10 class names, one per line)`);
    const dup = writeCifar(fresh('metadup'), [...NAMES.slice(0, 9), 'Cat'].join('\n'));
    expect(message(() => loadCifar10(dup))).toBe(`${join(dup, 'batches.meta.txt')}: class name 'Cat' appears twice (lines 4 and 10)`);
    const empty = writeCifar(fresh('metaempty'), '');
    expect(message(() => loadCifar10(empty))).toMatch(/batches\.meta\.txt: expected 10 class names, one per line, but found 0$/);
    expect(() => parseCifar10Meta('/m', 'a\0b')).toThrow(/^\/m: not a text file/);
  });

  it('refuses a directory that does not exist', () => {
    const d = join(root, 'nope');
    expect(message(() => loadCifar10(d))).toBe(`${d}: does not exist`);
  });
});

describe('loadDataset format detection', () => {
  it('loads IDX directories as MNIST, or Fashion-MNIST when the path says fashion', () => {
    const mnist = writeIdx(fresh('digits'));
    expect(loadDataset(mnist).name).toBe('mnist');
    const fashion = writeIdx(join(fresh('x'), 'Fashion-MNIST'));
    const ds = loadDataset(fashion);
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.channels).toBe(1);
  });

  it('loads CIFAR-10 from its directory or from the parent of cifar-10-batches-bin/', () => {
    const dir = writeCifar(fresh('cifar'));
    expect(loadDataset(dir).name).toBe('cifar-10');
    const parent = fresh('cifarparent');
    writeCifar(join(parent, 'cifar-10-batches-bin'));
    const ds = loadDataset(parent);
    expect(ds.name).toBe('cifar-10');
    expect(ds.train.count).toBe(15);
  });

  it('passes a partial CIFAR-10 directory to the loader, which names what is missing', () => {
    const dir = fresh('partial');
    mkdirSync(dir);
    writeFileSync(join(dir, 'data_batch_1.bin'), cifarBatch(0, [1]));
    expect(message(() => loadDataset(dir))).toMatch(/data_batch_2\.bin: missing \(also missing: data_batch_3\.bin, data_batch_4\.bin, data_batch_5\.bin, test_batch\.bin\)/);
  });

  it('refuses a directory that mixes MNIST IDX and CIFAR-10 files', () => {
    const mixed = writeCifar(writeIdx(fresh('mixed')));
    expect(message(() => loadDataset(mixed))).toBe(`${mixed}: mixes MNIST IDX and CIFAR-10 files; point --data at one`);
    // One IDX file beside a cifar-10-batches-bin/ is just as ambiguous.
    const mixed2 = fresh('mixed2');
    writeCifar(join(mixed2, 'cifar-10-batches-bin'));
    writeFileSync(join(mixed2, 't10k-labels-idx1-ubyte.gz'), '');
    expect(message(() => loadDataset(mixed2))).toBe(`${mixed2}: mixes MNIST IDX and CIFAR-10 files; point --data at one`);
  });

  it('says what it looked for when a directory holds neither', () => {
    const dir = fresh('neither');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    mkdirSync(join(dir, 'cifar-10-batches-bin')); // empty: not CIFAR-10 either
    expect(message(() => loadDataset(dir))).toBe(
      `${dir}: no dataset found; looked for MNIST/Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, ` +
        't10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz) and CIFAR-10 binary files ' +
        '(data_batch_1.bin .. data_batch_5.bin, test_batch.bin, here or in cifar-10-batches-bin/)',
    );
  });

  it('says so in one line when --data is a file or does not exist', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(message(() => loadDataset(file))).toBe(`${file}: not a directory (--data takes a dataset directory)`);
    const none = join(root, 'missing-dir');
    expect(message(() => loadDataset(none))).toBe(`${none}: does not exist`);
  });
});
