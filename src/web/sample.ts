// The web pages' built-in dataset sample: a few thousand images of the real dataset in one small
// file that the build writes (src/web/make-sample.ts) and the training page fetches. Layout, all
// little-endian, then gzip over the whole file:
//   bytes 0-7   "NLSAMPLE"          bytes 8-11  format version (1)
//   bytes 12-15 length L of the JSON header that follows (name, source, classes, shape, mean, std,
//               counts)
//   then the header, then train images (N x C x H x W bytes), train labels (N bytes), test images,
//   test labels: the same byte layout as a Dataset's splits.
import type { Dataset } from '../train/data/dataset.js';

const MAGIC = 'NLSAMPLE';
const VERSION = 1;

interface SampleHeader {
  name: string;
  source: string;
  license: string;
  classes: string[];
  channels: number;
  height: number;
  width: number;
  mean: number[];
  std: number[];
  trainCount: number;
  testCount: number;
}

/** The sample's bytes (before gzip): the first `trainCount` and `testCount` images of each split. */
export function encodeSample(ds: Dataset, trainCount: number, testCount: number, license: string): Uint8Array {
  const per = ds.channels * ds.height * ds.width;
  const nTrain = Math.min(trainCount, ds.train.count);
  const nTest = Math.min(testCount, ds.test.count);
  const header: SampleHeader = {
    name: ds.name,
    source: ds.source,
    license,
    classes: [...ds.classes],
    channels: ds.channels,
    height: ds.height,
    width: ds.width,
    mean: [...ds.mean],
    std: [...ds.std],
    trainCount: nTrain,
    testCount: nTest,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const parts = [
    ds.train.images.subarray(0, nTrain * per),
    ds.train.labels.subarray(0, nTrain),
    ds.test.images.subarray(0, nTest * per),
    ds.test.labels.subarray(0, nTest),
  ];
  const out = new Uint8Array(16 + json.length + parts.reduce((a, p) => a + p.length, 0));
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let at = 16 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A Dataset from the sample's bytes (after gunzip); every size is checked against the file. */
export function decodeSample(bytes: Uint8Array, what = 'sample'): Dataset {
  const fail = (why: string): never => {
    throw new Error(`${what}: ${why}`);
  };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('not a normlab dataset sample');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) fail(`format version ${version}, expected ${VERSION}`);
  const jsonLength = view.getUint32(12, true);
  if (16 + jsonLength > bytes.length) fail('header runs past the end of the file');
  let h: SampleHeader;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + jsonLength))) as SampleHeader;
  } catch {
    return fail('header is not JSON');
  }
  const per = h.channels * h.height * h.width;
  if (!(per > 0) || !(h.classes?.length > 1) || h.mean?.length !== h.channels || h.std?.length !== h.channels) fail('header has bad shapes');
  const sizes = [h.trainCount * per, h.trainCount, h.testCount * per, h.testCount];
  const expected = 16 + jsonLength + sizes.reduce((a, b) => a + b, 0);
  if (bytes.length !== expected) fail(`${bytes.length} bytes, the header describes ${expected}`);
  let at = 16 + jsonLength;
  const [trainImages, trainLabels, testImages, testLabels] = sizes.map((n) => {
    const part = bytes.subarray(at, at + n);
    at += n;
    return part;
  }) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  for (const labels of [trainLabels, testLabels]) {
    if (labels.some((l) => l >= h.classes.length)) fail('a label is out of range');
  }
  return {
    name: h.name,
    source: `${h.source} (normlab's web sample: ${h.trainCount} training and ${h.testCount} test images)`,
    classes: h.classes,
    channels: h.channels,
    height: h.height,
    width: h.width,
    mean: h.mean,
    std: h.std,
    train: { images: trainImages, labels: trainLabels, count: h.trainCount },
    test: { images: testImages, labels: testLabels, count: h.testCount },
  };
}

/** The first n training and m test images of a dataset (the page's run sizes). */
export function takeImages(ds: Dataset, train: number, test: number): Dataset {
  const per = ds.channels * ds.height * ds.width;
  const n = Math.min(train, ds.train.count);
  const m = Math.min(test, ds.test.count);
  return {
    ...ds,
    train: { images: ds.train.images.subarray(0, n * per), labels: ds.train.labels.subarray(0, n), count: n },
    test: { images: ds.test.images.subarray(0, m * per), labels: ds.test.labels.subarray(0, m), count: m },
  };
}
