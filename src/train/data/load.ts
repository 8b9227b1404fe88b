// --data DIR: which dataset a directory holds, decided by the files in it, then loaded by its format's
// loader. No directory: the default, Fashion-MNIST.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../engine/errors.js';
import type { Dataset } from './dataset.js';
import { defaultFashionMnistDir, isIdxDir, loadIdxDataset } from './mnist.js';
import { CIFAR10_SUBDIR, cifar10FilesIn, loadCifar10 } from './cifar10.js';

/** An MNIST-family IDX file name, gzipped or not (train-images-idx3-ubyte, t10k-labels-idx1-ubyte.gz, ...). */
const IDX_NAME = /^(train|t10k)-(images-idx3|labels-idx1)-ubyte(\.gz)?$/;

export type DatasetFormat = 'idx' | 'cifar10';

/** The format of the dataset in dir, or a one-line UserError saying why there is none. */
export function detectFormat(dir: string): DatasetFormat {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: not a directory (--data takes a dataset directory)`);
    entries = readdirSync(dir);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${dir}: does not exist` : `${dir}: cannot read (${code ?? (e as Error).message})`);
  }
  const idx = isIdxDir(dir) || entries.some((n) => IDX_NAME.test(n));
  let cifar = cifar10FilesIn(dir).length > 0;
  if (!cifar && entries.includes(CIFAR10_SUBDIR)) {
    const sub = join(dir, CIFAR10_SUBDIR);
    try {
      cifar = statSync(sub).isDirectory() && cifar10FilesIn(sub).length > 0;
    } catch {
      cifar = false;
    }
  }
  if (idx && cifar) throw new UserError(`${dir}: mixes MNIST IDX and CIFAR-10 files; point --data at one`);
  if (idx) return 'idx';
  if (cifar) return 'cifar10';
  throw new UserError(
    `${dir}: no dataset found; looked for MNIST/Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, ` +
      't10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz) and CIFAR-10 binary files ' +
      `(data_batch_1.bin .. data_batch_5.bin, test_batch.bin, here or in ${CIFAR10_SUBDIR}/)`,
  );
}

/**
 * The dataset in dir (MNIST or Fashion-MNIST IDX files, or CIFAR-10 binary files), or the default
 * Fashion-MNIST when dir is not given. IDX data is Fashion-MNIST when its path says 'fashion'.
 */
export function loadDataset(dir?: string): Dataset {
  if (dir === undefined) return loadIdxDataset(defaultFashionMnistDir(), 'fashion-mnist');
  switch (detectFormat(dir)) {
    case 'idx':
      return loadIdxDataset(dir, /fashion/i.test(resolve(dir)) ? 'fashion-mnist' : 'mnist');
    case 'cifar10':
      return loadCifar10(dir);
  }
}
