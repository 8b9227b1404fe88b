// What identifies a dataset across machines: a sha256 of the training images and labels a run
// used (after --subset) and of the test images and labels, so `normlab report` can refuse to merge
// comparisons of different data, or to draw one's report from another copy that differs.
import { createHash } from 'node:crypto';
import type { Dataset } from './dataset.js';

export function datasetFingerprint(ds: Dataset): string {
  const h = createHash('sha256');
  h.update(`${ds.channels}x${ds.height}x${ds.width};train ${ds.train.count};test ${ds.test.count};`);
  for (const part of [ds.train.images, ds.train.labels, ds.test.images, ds.test.labels]) h.update(part);
  return `sha256:${h.digest('hex')}`;
}
