// A dataset as normlab holds it on the host: raw bytes (uint8, NCHW) and labels, uploaded to the
// GPU once and converted and standardised there batch by batch.
export interface Split {
  /** N x C x H x W bytes, channel-major per image (PyTorch's layout after ToTensor). */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  name: string;
  /** Where the files came from, for reports. */
  source: string;
  classes: readonly string[];
  channels: number;
  height: number;
  width: number;
  /** Per-channel standardisation (SEEDNET.md), applied on the GPU. */
  mean: readonly number[];
  std: readonly number[];
  train: Split;
  test: Split;
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** The first `n` test images (compare's --test-subset). */
export function subsetTest(ds: Dataset, n: number): Dataset {
  if (n >= ds.test.count) return ds;
  const per = ds.channels * ds.height * ds.width;
  return { ...ds, test: { images: ds.test.images.subarray(0, n * per), labels: ds.test.labels.subarray(0, n), count: n } };
}

/** The first `n` training images (the --subset flag). */
export function subsetTrain(ds: Dataset, n: number): Dataset {
  if (n >= ds.train.count) return ds;
  const per = ds.channels * ds.height * ds.width;
  return {
    ...ds,
    train: { images: ds.train.images.subarray(0, n * per), labels: ds.train.labels.subarray(0, n), count: n },
  };
}
