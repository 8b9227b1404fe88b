// conv2d: stride 1, no bias, zero padding, NCHW activations and OIHW weights; the forward pass,
// and the backward rule right below it (input gradient and weight gradient).
// Which kernel runs each pass: the table in conv2d-select.ts. The launchers: conv2d-forward.ts
// (forward, and the input gradient as a forward pass with the weights rotated and swapped) and
// conv2d-weight.ts. The kernels, one family per file: src/shaders/conv2d_*.wgsl.
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { selectConv2d, type Conv2dDims, type Conv2dPath } from './conv2d-select.js';
import { outSize } from './conv2d-params.js';
import { naive, sg1x1, sg3x3Tile, tiled, type ConvJob } from './conv2d-forward.js';
import { naiveWeight, sgWeight1x1, sgWeight3x3, type WeightJob } from './conv2d-weight.js';

export { planConv2d, selectConv2d, subgroupLanes, CONV_ROWS, CONV_OPTIONS, convOff, setConvOff } from './conv2d-select.js';
export type { Conv2dDims, Conv2dPath, Conv2dPass, ConvRow, ConvOption, ConvChoice } from './conv2d-select.js';

/** The launcher of each row of the table (conv2d-select.ts CONV_ROWS), by pass. */
const FORWARD: Record<string, (j: ConvJob) => Tensor> = {
  'naive-generic': naive,
  'sg3x3-tile': sg3x3Tile,
  sg1x1,
  tiled,
  naive,
};
const WEIGHT: Record<string, (j: WeightJob) => Tensor> = {
  'naive-generic': naiveWeight,
  'sg-weight3x3': sgWeight3x3,
  'sg-weight1x1': sgWeight1x1,
  naive: naiveWeight,
};

export interface Conv2dOptions {
  /** Zero padding on each of the four sides. Default 0, as in PyTorch. */
  padding?: number;
  /**
   * Forces a kernel family (tests and benchmarks): the first row of that family whose condition
   * holds. 'naive' always applies; 'tiled' needs a fast shape; 'subgroup' needs a fast shape and
   * subgroups. The backward passes inherit it.
   */
  path?: Conv2dPath;
}

function dimsOf(x: readonly number[], w: readonly number[], pad: number): Conv2dDims {
  return { n: x[0]!, ci: x[1]!, h: x[2]!, w: x[3]!, co: w[0]!, kh: w[2]!, kw: w[3]!, pad };
}

function checkPadding(op: string, pad: number): void {
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: padding must be a non-negative integer, got ${pad}`);
}

/**
 * y = conv2d(x, w): x [N, C, H, W], w [CO, C, KH, KW] -> y [N, CO, H + 2p - KH + 1, W + 2p - KW + 1].
 * Backward: dx = conv2dBackwardInput(dy, w), dw = conv2dBackwardWeight(x, dy), each only for an
 * input that requires grad.
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const pad = options.padding ?? 0;
  checkPadding('conv2d', pad);
  if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error(`conv2d: x [${x.shape}] and w [${w.shape}] must both be 4-D (NCHW, OIHW)`);
  if (x.shape[1] !== w.shape[1]) throw new Error(`conv2d: x has ${x.shape[1]} channels, w expects ${w.shape[1]} (x [${x.shape}], w [${w.shape}])`);
  const d = dimsOf(x.shape, w.shape, pad);
  const [oh, ow] = outSize(d);
  if (oh < 1 || ow < 1) throw new Error(`conv2d: a ${d.kh}x${d.kw} kernel with padding ${pad} leaves no output on a ${d.h}x${d.w} input`);
  const y = convolve(x, w, d, false, options.path);
  // y is linear in x and in w: d<dy, y>/dx is the transposed convolution of dy (same kernel,
  // rotated, channels swapped) and d<dy, y>/dw correlates dy with x (see src/reference/conv2d.ts).
  const back: Conv2dOptions = { padding: pad, path: options.path };
  return record(y, 'conv2d', [x, w], (dy) => [
    x.requiresGrad ? conv2dBackwardInput(dy, w, [d.h, d.w], back) : null,
    w.requiresGrad ? conv2dBackwardWeight(x, dy, [d.kh, d.kw], back) : null,
  ]);
}

/** dx [N, CI, H, W] of conv2d(x, w) for dy [N, CO, OH, OW]; inputSize = [H, W]. */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, inputSize: readonly [number, number], options: Conv2dOptions = {}): Tensor {
  const pad = options.padding ?? 0;
  checkPadding('conv2dBackwardInput', pad);
  const [h, wd] = inputSize;
  const d: Conv2dDims = { n: dy.shape[0]!, ci: w.shape[1]!, h, w: wd, co: w.shape[0]!, kh: w.shape[2]!, kw: w.shape[3]!, pad };
  const [oh, ow] = outSize(d);
  if (dy.shape.length !== 4 || dy.shape[1] !== d.co || dy.shape[2] !== oh || dy.shape[3] !== ow) {
    throw new Error(`conv2dBackwardInput: dy [${dy.shape}] does not match w [${w.shape}] on a ${h}x${wd} input with padding ${pad}`);
  }
  return convolve(dy, w, d, true, options.path);
}

/** dw [CO, CI, KH, KW] of conv2d(x, w) for dy [N, CO, OH, OW]; kernelSize = [KH, KW]. */
export function conv2dBackwardWeight(x: Tensor, dy: Tensor, kernelSize: readonly [number, number], options: Conv2dOptions = {}): Tensor {
  const pad = options.padding ?? 0;
  checkPadding('conv2dBackwardWeight', pad);
  const d: Conv2dDims = { n: x.shape[0]!, ci: x.shape[1]!, h: x.shape[2]!, w: x.shape[3]!, co: dy.shape[1]!, kh: kernelSize[0], kw: kernelSize[1], pad };
  const [oh, ow] = outSize(d);
  if (dy.shape.length !== 4 || dy.shape[0] !== d.n || dy.shape[2] !== oh || dy.shape[3] !== ow) {
    throw new Error(`conv2dBackwardWeight: dy [${dy.shape}] does not match x [${x.shape}] with a ${d.kh}x${d.kw} kernel and padding ${pad}`);
  }
  const choice = selectConv2d(x.engine, d, 'weight', options.path);
  const launch = WEIGHT[choice.row.id];
  if (!launch) throw new Error(`conv2d: no weight-gradient launcher for row ${choice.row.id}`);
  return launch({ x, dy, d, options: choice.options });
}

/**
 * The forward convolution (transpose = false: input x, output channels d.co) or the input gradient
 * (transpose = true: input dy, output channels d.ci, weights rotated and swapped).
 */
function convolve(input: Tensor, w: Tensor, d: Conv2dDims, transpose: boolean, force?: Conv2dPath): Tensor {
  const { row, options } = selectConv2d(input.engine, d, transpose ? 'input' : 'forward', force);
  const launch = FORWARD[row.id];
  if (!launch) throw new Error(`conv2d: no forward launcher for row ${row.id}`);
  const [a, b] = transpose ? [d.co, d.ci] : [d.ci, d.co];
  return launch({ input, w, d, a, b, transpose, label: transpose ? 'conv2d input grad' : 'conv2d', options });
}
