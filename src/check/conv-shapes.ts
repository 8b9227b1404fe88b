// The convolution shapes every kernel path is checked on: SeedNet's layers (at batch 2), odd shapes
// that reach each row's edge cases (widths, channel blocks, chunking), and generic shapes only the
// naive kernels take. Shared by the tests (test/helpers/conv.ts) and `normlab selftest`.
import type { ConvShape } from '../reference/conv2d.js';

export function shapeOf(n: number, ci: number, h: number, w: number, co: number, k: number, pad = (k - 1) / 2): ConvShape {
  return { n, ci, h, w, co, kh: k, kw: k, pad };
}

export const SEEDNET: [string, ConvShape][] = [
  ['b1 cifar', shapeOf(2, 3, 32, 32, 16, 3)],
  ['b2', shapeOf(2, 16, 32, 32, 16, 3)],
  ['b3', shapeOf(2, 16, 32, 32, 16, 1)],
  ['b4', shapeOf(2, 16, 16, 16, 32, 3)],
  ['b5', shapeOf(2, 32, 16, 16, 32, 3)],
  ['b6', shapeOf(2, 32, 16, 16, 32, 1)],
  ['b7', shapeOf(2, 32, 8, 8, 32, 3)],
  ['c9 (dW: one block of 10 shared channels)', shapeOf(2, 32, 8, 8, 10, 3)],
  ['c10', shapeOf(2, 10, 1, 1, 10, 1)],
  ['b1 mnist', shapeOf(2, 1, 28, 28, 16, 3)],
  ['b4 mnist (W % 4 != 0: padded copies)', shapeOf(2, 16, 14, 14, 32, 3)],
  ['c9 mnist', shapeOf(2, 32, 7, 7, 10, 3)],
];

export const ODD: [string, ConvShape][] = [
  ['batch 1, C_in 1, C_out 3, 5x7', shapeOf(1, 1, 5, 7, 3, 3)],
  ['C_in 3, C_out 5, 9x13', shapeOf(3, 3, 9, 13, 5, 3)],
  ['W % 8 == 4, C_out 10', shapeOf(1, 5, 6, 12, 10, 3)],
  ['13x6, C_in 24, C_out 3', shapeOf(2, 24, 13, 6, 3, 3)],
  ['3x3 plane', shapeOf(1, 2, 3, 3, 2, 3)],
  ['tall and narrow 17x3', shapeOf(1, 9, 17, 3, 7, 3)],
  ['C_in 40 (several channel blocks)', shapeOf(1, 40, 6, 6, 20, 3)],
  // 48 x 32 x 3 packed weight vec4s exceed the 4096 that CPU adapters read as a uniform buffer:
  // there the 3x3 forward and input gradient read them from storage, as GPUs always do.
  ['weights over 64 KB packed (storage on CPUs too)', shapeOf(1, 48, 4, 8, 32, 3)],
  // More than 32 strips (N x ceil(W / 8)): the 3x3 weight gradient's chunks then hold several
  // strips, some crossing from one image to the next; in place (W 12) and padded (W 10).
  ['dW chunks of several strips, W 12', shapeOf(17, 3, 3, 12, 4, 3)],
  ['dW chunks of several strips, W 10', shapeOf(20, 5, 2, 10, 9, 3)],
  ['one row, W 4', shapeOf(3, 5, 1, 4, 6, 3)],
  // Input gradient 10 -> 3 channels and forward 9 -> 2: the tile kernel with most lanes of its
  // channel block idle (the b1 input gradient's case, which training never computes).
  ['C_in 3, C_out 10, W 20', shapeOf(1, 3, 5, 20, 10, 3)],
  ['C_in 9, C_out 2, W 8', shapeOf(2, 9, 3, 8, 2, 3)],
  // Few input channels; a tile of which half lies past the image (W 4).
  ['C_in 4, C_out 9, W 16', shapeOf(2, 4, 5, 16, 9, 3)],
  ['C_in 2, C_out 8, W 4', shapeOf(1, 2, 6, 4, 8, 3)],
  ['W 2', shapeOf(2, 3, 4, 2, 9, 3)],
  // Planes narrower than a tile (padded copies): 8 rows of 7, and 1 column.
  ['8x7 planes', shapeOf(2, 5, 8, 7, 6, 3)],
  ['W 1', shapeOf(3, 3, 8, 1, 5, 3)],
  // One input channel (one lane of the weight gradient's block busy): 33 images in chunks of two
  // with a short last, and a single row.
  ['C_in 1, W 32, 33 images', shapeOf(33, 1, 3, 32, 5, 3)],
  ['C_in 1, W 4, one row', shapeOf(2, 1, 1, 4, 9, 3)],
  // Few input channels on rows of 5 tiles.
  ['C_in 2, W 40', shapeOf(1, 2, 3, 40, 5, 3)],
  ['C_in 1, W 36', shapeOf(2, 1, 4, 36, 3, 3)],
  // One output channel: one lane of the tile kernel's block busy; 21 rows in tiles of 7.
  ['one output channel: 9 images, 11 -> 1, 21 rows', shapeOf(9, 1, 21, 12, 11, 3)],
  ['forward to one output channel, W 8', shapeOf(2, 5, 6, 8, 1, 3)],
  ['1x1, H*W % 4 != 0', shapeOf(1, 3, 5, 7, 6, 1)],
  ['1x1, C_in 20 (two channel blocks), C_out 9', shapeOf(2, 20, 12, 12, 9, 1)],
  ['1x1, batch 1, 3 -> 5', shapeOf(1, 3, 4, 4, 5, 1)],
];

// Generic shapes no fast path takes: only the naive kernels run them.
export const GENERIC: [string, ConvShape][] = [
  ['3x3 without padding', shapeOf(2, 2, 6, 5, 3, 3, 0)],
  ['5x5, padding 2', shapeOf(1, 3, 7, 6, 4, 5, 2)],
  ['3x3, padding 2 (grows)', shapeOf(1, 2, 4, 5, 3, 3, 2)],
  ['1x1, padding 1', shapeOf(1, 2, 3, 4, 2, 1, 1)],
  ['3x1 kernel', { n: 1, ci: 2, h: 6, w: 5, co: 3, kh: 3, kw: 1, pad: 1 }],
];
