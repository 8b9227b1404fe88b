// The CIFAR-10 binary format (https://www.cs.toronto.edu/~kriz/cifar.html): data_batch_1.bin ..
// data_batch_5.bin and test_batch.bin, each a sequence of 3073-byte records (1 label byte, then
// 1024 red, 1024 green and 1024 blue bytes, each plane 32x32 row-major: already the CHW layout a
// Dataset holds), and batches.meta.txt with the class names, one per line. The format has no header,
// so every size is taken from the files' real sizes, checked to be whole records before the arrays
// are allocated, and a bad file gets one line naming it and the problem.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../engine/errors.js';
import type { Dataset, Split } from './dataset.js';

export const CIFAR10_SUBDIR = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_META_FILE = 'batches.meta.txt';
/** Every .bin file CIFAR-10 needs, training batches first. */
export const CIFAR10_BIN_FILES = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE] as const;

/** Used when batches.meta.txt is absent; the same names, in the same order, as the official file. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

const CHANNELS = 3;
const SIZE = 32;
const PIXELS = CHANNELS * SIZE * SIZE; // 3072
const RECORD = 1 + PIXELS; // 3073
const CLASSES = 10;
/** Records read per readSync: about 3 MB, so a 30 MB batch file never sits in memory twice. */
const RECORDS_PER_READ = 1024;
/** batches.meta.txt is 10 short lines (about 70 bytes); anything far larger is the wrong file. */
const MAX_META_BYTES = 64 << 10;

function fail(path: string, what: string): never {
  throw new UserError(`${path}: ${what}`);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Which of CIFAR-10's .bin files are present in dir (exactly there, not below). */
export function cifar10FilesIn(dir: string): string[] {
  return CIFAR10_BIN_FILES.filter((f) => existsSync(join(dir, f)));
}

/**
 * The directory holding the .bin files: dir itself when it holds any of them, else its
 * cifar-10-batches-bin/ (what the official archive unpacks to), else dir unchanged.
 */
export function resolveCifar10Dir(dir: string): string {
  if (cifar10FilesIn(dir).length > 0) return dir;
  const sub = join(dir, CIFAR10_SUBDIR);
  return isDirectory(sub) ? sub : dir;
}

/** True when dir (or its cifar-10-batches-bin/) holds all six CIFAR-10 .bin files. Sizes are checked by loadCifar10. */
export function isCifar10Dir(dir: string): boolean {
  return cifar10FilesIn(resolveCifar10Dir(dir)).length === CIFAR10_BIN_FILES.length;
}

/** Size in bytes of a batch file, checked to be a non-empty whole number of records. */
function recordCount(path: string): number {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) fail(path, 'not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(path, `cannot read (${errCode(e)})`);
  }
  if (size === 0) fail(path, 'empty (a CIFAR-10 batch file holds 3073-byte records)');
  const extra = size % RECORD;
  if (extra !== 0) {
    const whole = Math.floor(size / RECORD);
    fail(
      path,
      `${size} bytes is not a whole number of 3073-byte CIFAR-10 records: ${whole} record${whole === 1 ? '' : 's'} and ` +
        `${extra} byte${extra === 1 ? '' : 's'} extra (truncated, or not a CIFAR-10 batch file)`,
    );
  }
  return size / RECORD;
}

/** Reads `count` records of `path` into images/labels starting at record `first`, checking every label. */
function readRecords(path: string, count: number, images: Uint8Array, labels: Uint8Array, first: number): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    fail(path, `cannot read (${errCode(e)})`);
  }
  try {
    const chunk = Buffer.allocUnsafe(Math.min(count, RECORDS_PER_READ) * RECORD);
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, RECORDS_PER_READ);
      const want = n * RECORD;
      let got = 0;
      while (got < want) {
        let r: number;
        try {
          r = readSync(fd, chunk, got, want - got, done * RECORD + got);
        } catch (e) {
          fail(path, `cannot read (${errCode(e)})`);
        }
        if (r === 0) fail(path, `shrank while being read (ended after ${done * RECORD + got} bytes)`);
        got += r;
      }
      for (let i = 0; i < n; i++) {
        const at = i * RECORD;
        const label = chunk[at]!;
        if (label >= CLASSES) fail(path, `label ${label} in record ${done + i} is out of range (0..${CLASSES - 1})`);
        labels[first + done + i] = label;
        images.set(chunk.subarray(at + 1, at + RECORD), (first + done + i) * PIXELS);
      }
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The class names in batches.meta.txt: exactly 10 non-empty, distinct lines (trailing blank lines allowed). */
export function parseCifar10Meta(path: string, text: string): string[] {
  if (text.includes('\0')) fail(path, 'not a text file (expected 10 class names, one per line)');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const blank = lines.indexOf('');
  if (blank !== -1) fail(path, `line ${blank + 1} is empty (expected ${CLASSES} class names, one per line)`);
  if (lines.length !== CLASSES) fail(path, `expected ${CLASSES} class names, one per line, but found ${lines.length}`);
  const dup = lines.findIndex((l, i) => lines.indexOf(l) !== i);
  if (dup !== -1) fail(path, `class name '${lines[dup]}' appears twice (lines ${lines.indexOf(lines[dup]!) + 1} and ${dup + 1})`);
  return lines;
}

function readMeta(dir: string): readonly string[] {
  const path = join(dir, CIFAR10_META_FILE);
  if (!existsSync(path)) return CIFAR10_CLASSES;
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) fail(path, 'not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    fail(path, `cannot read (${errCode(e)})`);
  }
  if (size > MAX_META_BYTES) fail(path, `${size} bytes is too large for a list of ${CLASSES} class names`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(path, `cannot read (${errCode(e)})`);
  }
  return parseCifar10Meta(path, text);
}

/**
 * Loads CIFAR-10 from its binary files in dir, or in dir/cifar-10-batches-bin/. All five training
 * batches and the test batch are required; the training images are one array, allocated once.
 */
export function loadCifar10(dir: string): Dataset {
  if (!isDirectory(dir)) throw new UserError(existsSync(dir) ? `${dir}: not a directory` : `${dir}: does not exist`);
  const root = resolveCifar10Dir(dir);
  const missing = CIFAR10_BIN_FILES.filter((f) => !existsSync(join(root, f)));
  if (missing.length > 0) {
    const others = missing.length > 1 ? ` (also missing: ${missing.slice(1).join(', ')})` : '';
    fail(
      join(root, missing[0]!),
      `missing${others}; CIFAR-10 needs data_batch_1.bin .. data_batch_5.bin and test_batch.bin ` +
        '(`normlab download cifar10` fetches them)',
    );
  }
  // Every size and every meta line is checked before the 150 MB are allocated.
  const trainPaths = CIFAR10_TRAIN_FILES.map((f) => join(root, f));
  const testPath = join(root, CIFAR10_TEST_FILE);
  const trainCounts = trainPaths.map(recordCount);
  const testCount = recordCount(testPath);
  const classes = readMeta(root);

  const trainTotal = trainCounts.reduce((a, b) => a + b, 0);
  const train: Split = { images: new Uint8Array(trainTotal * PIXELS), labels: new Uint8Array(trainTotal), count: trainTotal };
  let first = 0;
  trainPaths.forEach((p, i) => {
    readRecords(p, trainCounts[i]!, train.images, train.labels, first);
    first += trainCounts[i]!;
  });
  const test: Split = { images: new Uint8Array(testCount * PIXELS), labels: new Uint8Array(testCount), count: testCount };
  readRecords(testPath, testCount, test.images, test.labels, 0);

  return {
    name: 'cifar-10',
    source: root,
    classes,
    channels: CHANNELS,
    height: SIZE,
    width: SIZE,
    // SEEDNET.md's standardisation constants.
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    train,
    test,
  };
}
