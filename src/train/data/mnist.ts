// The MNIST IDX format (MNIST, Fashion-MNIST), gzipped or not. Every header field is checked against
// the file's real size before anything is allocated from it, and a bad file gets one line naming it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../../engine/errors.js';
import { FASHION_MNIST_CLASSES, MNIST_CLASSES, type Dataset, type Split } from './dataset.js';

const IMAGES_MAGIC = 0x00000803; // ubyte, 3 dimensions
const LABELS_MAGIC = 0x00000801; // ubyte, 1 dimension
/** Larger than any IDX file of the MNIST family (47 MB); bounds what a corrupt .gz can make us inflate. */
const MAX_INFLATED_BYTES = 256 << 20;

export const FASHION_MNIST_DIRS = ['/usr/share/datasets/fashion-mnist', 'data/fashion-mnist'];

function readMaybeGz(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (e) {
      throw new UserError(`${path}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  return raw;
}

function fail(path: string, what: string): never {
  throw new UserError(`${path}: ${what}`);
}

export function parseIdxImages(path: string, buf: Uint8Array): { images: Uint8Array; count: number; rows: number; cols: number } {
  if (buf.length < 16) fail(path, `too short for an IDX image header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic !== IMAGES_MAGIC) {
    fail(path, `wrong magic number 0x${magic.toString(16).padStart(8, '0')} (an IDX image file starts with 0x00000803)`);
  }
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows === 0 || cols === 0 || rows > 4096 || cols > 4096) fail(path, `implausible image size ${rows}x${cols}`);
  const expected = 16 + count * rows * cols;
  if (buf.length < expected) fail(path, `truncated: header says ${count} images of ${rows}x${cols} (${expected} bytes) but the file has ${buf.length}`);
  if (buf.length > expected) fail(path, `${buf.length - expected} unexpected bytes after ${count} images of ${rows}x${cols}`);
  return { images: buf.subarray(16, expected), count, rows, cols };
}

export function parseIdxLabels(path: string, buf: Uint8Array, classes: number): { labels: Uint8Array; count: number } {
  if (buf.length < 8) fail(path, `too short for an IDX label header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0);
  if (magic !== LABELS_MAGIC) {
    fail(path, `wrong magic number 0x${magic.toString(16).padStart(8, '0')} (an IDX label file starts with 0x00000801)`);
  }
  const count = view.getUint32(4);
  if (buf.length !== 8 + count) fail(path, `header says ${count} labels but the file holds ${buf.length - 8}`);
  const labels = buf.subarray(8);
  const bad = labels.findIndex((l) => l >= classes);
  if (bad !== -1) fail(path, `label ${labels[bad]} at index ${bad} is out of range (0..${classes - 1})`);
  return { labels, count };
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

function findFile(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** True when dir holds the four IDX files (gzipped or not). */
export function isIdxDir(dir: string): boolean {
  return Object.values(FILES).every((stem) => findFile(dir, stem) !== null);
}

function loadSplit(dir: string, images: string, labels: string, classes: number): Split & { rows: number; cols: number } {
  const imgPath = findFile(dir, images) ?? fail(join(dir, images), 'missing (also looked for .gz)');
  const lblPath = findFile(dir, labels) ?? fail(join(dir, labels), 'missing (also looked for .gz)');
  const img = parseIdxImages(imgPath, readMaybeGz(imgPath));
  const lbl = parseIdxLabels(lblPath, readMaybeGz(lblPath), classes);
  if (img.count !== lbl.count) {
    fail(lblPath, `${lbl.count} labels but ${basename(imgPath)} holds ${img.count} images`);
  }
  return { images: img.images, labels: lbl.labels, count: img.count, rows: img.rows, cols: img.cols };
}

/** Loads MNIST or Fashion-MNIST from a directory of IDX files. */
export function loadIdxDataset(dir: string, kind?: 'mnist' | 'fashion-mnist'): Dataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${dir}: not a directory`);
  const fashion = kind ? kind === 'fashion-mnist' : /fashion/i.test(dir);
  const train = loadSplit(dir, FILES.trainImages, FILES.trainLabels, 10);
  const test = loadSplit(dir, FILES.testImages, FILES.testLabels, 10);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new UserError(`${dir}: training images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`);
  }
  return {
    name: fashion ? 'fashion-mnist' : 'mnist',
    source: dir,
    classes: fashion ? FASHION_MNIST_CLASSES : MNIST_CLASSES,
    channels: 1,
    height: train.rows,
    width: train.cols,
    // SEEDNET.md's standardisation constants.
    mean: fashion ? [0.286] : [0.1307],
    std: fashion ? [0.353] : [0.3081],
    train: { images: train.images, labels: train.labels, count: train.count },
    test: { images: test.images, labels: test.labels, count: test.count },
  };
}

/** The default dataset: Fashion-MNIST from Debian's package or ./data/fashion-mnist. */
export function defaultFashionMnistDir(cwd = process.cwd()): string {
  for (const d of FASHION_MNIST_DIRS) {
    const p = d.startsWith('/') ? d : join(cwd, d);
    if (isIdxDir(p)) return p;
  }
  throw new UserError(
    'Fashion-MNIST not found in /usr/share/datasets/fashion-mnist or ./data/fashion-mnist. ' +
      'Run `node scripts/setup.mjs` (installs Debian\'s dataset-fashion-mnist), or pass --data DIR.',
  );
}
