import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadIdxDataset, parseIdxImages, parseIdxLabels, isIdxDir } from '../../src/train/data/mnist.js';
import { subsetTrain } from '../../src/train/data/dataset.js';

function idxImages(count: number, rows: number, cols: number, fill: (i: number) => number): Buffer {
  const b = Buffer.alloc(16 + count * rows * cols);
  b.writeUInt32BE(0x803, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(rows, 8);
  b.writeUInt32BE(cols, 12);
  for (let i = 0; i < count * rows * cols; i++) b[16 + i] = fill(i);
  return b;
}
function idxLabels(labels: number[]): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(0x801, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'normlab-fashion-'));
  writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(5, 4, 3, (i) => i % 256)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxLabels([0, 1, 2, 9, 4])));
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxImages(2, 4, 3, () => 7));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxLabels([3, 3]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('IDX loader', () => {
  it('loads gzipped and plain files with their shapes, labels and Fashion-MNIST class names', () => {
    expect(isIdxDir(dir)).toBe(true);
    const ds = loadIdxDataset(dir);
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.classes[9]).toBe('Ankle boot');
    expect([ds.channels, ds.height, ds.width]).toEqual([1, 4, 3]);
    expect(ds.train.count).toBe(5);
    expect(Array.from(ds.train.labels)).toEqual([0, 1, 2, 9, 4]);
    expect(ds.train.images[13]).toBe(13);
    expect(ds.test.count).toBe(2);
    expect(ds.mean).toEqual([0.286]);
    expect(subsetTrain(ds, 2).train.count).toBe(2);
    expect(subsetTrain(ds, 2).train.images.length).toBe(24);
  });

  it('names the file and the problem for a wrong magic number', () => {
    const b = idxImages(1, 2, 2, () => 0);
    b.writeUInt32BE(0x801, 0);
    expect(() => parseIdxImages('/x/imgs', b)).toThrow(/\/x\/imgs: wrong magic number 0x00000801/);
  });

  it('refuses a header that promises more than the file holds, before allocating', () => {
    const b = idxImages(1, 2, 2, () => 0);
    b.writeUInt32BE(0xffffffff, 4);
    expect(() => parseIdxImages('/x/imgs', b)).toThrow(/truncated: header says 4294967295 images/);
  });

  it('refuses labels out of range and label counts that disagree', () => {
    expect(() => parseIdxLabels('/x/lbl', idxLabels([1, 10]), 10)).toThrow(/label 10 at index 1 is out of range/);
    const b = idxLabels([1, 2]);
    b.writeUInt32BE(3, 4);
    expect(() => parseIdxLabels('/x/lbl', b, 10)).toThrow(/header says 3 labels but the file holds 2/);
  });

  it('refuses image and label files whose counts differ', () => {
    const d2 = mkdtempSync(join(tmpdir(), 'normlab-bad-'));
    try {
      writeFileSync(join(d2, 'train-images-idx3-ubyte'), idxImages(3, 2, 2, () => 0));
      writeFileSync(join(d2, 'train-labels-idx1-ubyte'), idxLabels([1, 2]));
      writeFileSync(join(d2, 't10k-images-idx3-ubyte'), idxImages(1, 2, 2, () => 0));
      writeFileSync(join(d2, 't10k-labels-idx1-ubyte'), idxLabels([1]));
      expect(() => loadIdxDataset(d2)).toThrow(/train-labels-idx1-ubyte: 2 labels but train-images-idx3-ubyte holds 3 images/);
    } finally {
      rmSync(d2, { recursive: true, force: true });
    }
  });

  it('reads the real Fashion-MNIST when Debian\'s package is installed', () => {
    const real = '/usr/share/datasets/fashion-mnist';
    if (!existsSync(real)) return; // the set-up step installs it; without it there is nothing to read
    const ds = loadIdxDataset(real);
    expect([ds.train.count, ds.test.count, ds.height, ds.width]).toEqual([60000, 10000, 28, 28]);
    const counts = new Array(10).fill(0);
    for (const l of ds.test.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});
