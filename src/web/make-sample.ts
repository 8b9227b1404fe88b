// Writes the web pages' dataset sample (sample.ts has the format): run by build.mjs as
//   node dist/make-web-sample.mjs OUT [--data DIR]
// It reads the dataset through the same validating loaders as the CLI (default: Fashion-MNIST).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadDataset } from '../train/data/load.js';
import { encodeSample } from './sample.js';

/** Enough for a real run on a GPU in a few seconds; the page takes fewer on a software adapter. */
export const SAMPLE_TRAIN_IMAGES = 2000;
export const SAMPLE_TEST_IMAGES = 500;

const LICENSES: Record<string, string> = {
  'fashion-mnist': 'Fashion-MNIST, (c) Zalando SE, MIT licence',
  mnist: 'MNIST, Yann LeCun and Corinna Cortes, CC BY-SA 3.0',
  cifar10: 'CIFAR-10, Alex Krizhevsky, 2009',
};

const args = process.argv.slice(2);
const out = args[0];
const dataAt = args.indexOf('--data');
if (!out || out.startsWith('--')) {
  console.error('usage: node dist/make-web-sample.mjs OUT [--data DIR]');
  process.exit(2);
}
try {
  const ds = loadDataset(dataAt >= 0 ? args[dataAt + 1] : undefined);
  const bytes = gzipSync(encodeSample(ds, SAMPLE_TRAIN_IMAGES, SAMPLE_TEST_IMAGES, LICENSES[ds.name] ?? ds.name), { level: 9 });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  console.log(`web sample: ${ds.name}, ${SAMPLE_TRAIN_IMAGES} + ${SAMPLE_TEST_IMAGES} images, ${(bytes.length / 1024).toFixed(0)} KiB -> ${out}`);
} catch (e) {
  console.error(`web sample not written: ${(e as Error).message}`);
  process.exit(1);
}
