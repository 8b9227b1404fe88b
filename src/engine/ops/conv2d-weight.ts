// The launchers of the weight gradient: dw[co][ci][kh][kw] = sum over the batch and the pixels q of
// dy[co][q] x[ci][q + (kh - pad, kw - pad)]. Every kernel writes partial sums over chunks of the
// batch's rows, which sumPartials adds in a fixed order: the result does not depend on the
// adapter's scheduling (bit-identical runs). Which launcher runs: conv2d-select.ts.
import sgWeight3x3Wgsl from '../../shaders/conv2d_sg_weight3x3.wgsl';
import sg1x1Wgsl from '../../shaders/conv2d_sg_1x1.wgsl';
import naiveWgsl from '../../shaders/conv2d_naive.wgsl';
import { workgroups1d } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { subgroupLanes, type Conv2dDims } from './conv2d-select.js';
import { WG, chunking, helperParams, kernel, naiveParams, outSize, padded, prepWgsl, sgModule, sgParams, wholeVec4s } from './conv2d-params.js';

/** One weight gradient to launch, with the options of conv2d-select.ts that hold. */
export interface WeightJob {
  x: Tensor;
  dy: Tensor;
  d: Conv2dDims;
  options: ReadonlySet<string>;
}

const K_SG_W3 = kernel(sgModule(sgWeight3x3Wgsl), 'weight3x3', 'sg_weight3x3');
const K_SG_W1 = kernel(sgModule(sg1x1Wgsl), 'weight1x1', 'sg_weight1x1');
const K_NAIVE_DW = kernel(naiveWgsl, 'weight_grad', 'naive_weight_grad');
const K_WEIGHT_SUM = kernel(prepWgsl, 'weight_sum');
const K_WEIGHT_SUM4 = kernel(prepWgsl, 'weight_sum4');

/**
 * Channels of B shared per workgroup by the 3x3 weight-gradient kernel (at most 10, its register
 * array: 9 x 10 accumulators per invocation), and input channels per workgroup of the 1x1 one (at
 * most 16). More channels share each invocation's loads. 10 rather than 8 for SeedNet's c9
 * (32 -> 10): one block of 10 instead of two of 5 took its kernel from 2.6 to 2.1 ms at batch 128
 * on lavapipe; blocks are made equal, so 16 and 32 channels still go 8 at a time.
 */
const W3_SHARED = 10;
const W1_CIT = 16;

/**
 * dw[i] = sum over chunks c = 0, 1, ... of part[c][i], in that order; with option weight-swap the
 * partials are [CI][CO][KK] with the kernel rotated (see sgWeight3x3) and are read back
 * transposed. Option weight-sum4 (never with swapped partials): four outputs at a time, each
 * component summed in the same order.
 */
function sumPartials(j: WeightJob, part: Tensor, chunks: number): Tensor {
  const { d } = j;
  const engine = part.engine;
  const kk = d.kh * d.kw;
  const tot = d.co * d.ci * kk;
  const swap = j.options.has('weight-swap');
  const by4 = j.options.has('weight-sum4');
  const dw = engine.empty([d.co, d.ci, d.kh, d.kw], 'f32', 'conv2d weight grad');
  engine.dispatch(by4 ? K_WEIGHT_SUM4 : K_WEIGHT_SUM, {
    constants: { WG },
    bindings: [part, dw, null, helperParams(engine, { ci: d.ci, co: d.co, kk, tot, nch: chunks, swap })],
    workgroups: workgroups1d(by4 ? tot / 4 : tot, WG),
    op: 'conv2d.weight_sum',
  });
  part.dispose();
  return dw;
}

/**
 * Row sg-weight3x3: invocations are channels of A, read with the 3x3 neighbourhood, and the
 * channels of B are shared up to W3_SHARED at a time.
 * dw[co][ci][kh][kw] = sum_q dy[co][q] x[ci][q + (kh-1, kw-1)] takes A = x, B = dy; it is also
 * sum_q x[ci][q] dy[co][q + (1-kh, 1-kw)], so A = dy, B = x (option weight-swap, when the output
 * channels fill more lanes) gives G[ci][co][2-kh][2-kw] = dw[co][ci][kh][kw], which weight_sum
 * reads back transposed and rotated.
 */
export function sgWeight3x3(j: WeightJob): Tensor {
  const { x, dy, d } = j;
  const engine = x.engine;
  const sg = subgroupLanes(engine);
  const swap = j.options.has('weight-swap');
  const [a, b, cA, cB] = swap ? [dy, x, d.co, d.ci] : [x, dy, d.ci, d.co];
  const tx = Math.ceil(d.w / 8);
  const wv = 2 * tx + 1;
  const hp = d.h + 2;
  // weight-direct: both read in place (A with one more vec4 per row). Otherwise B is copied into
  // rows of 8 tx columns and A into a zero-padded copy (rows of 2 tx + 1 vec4s).
  const direct = j.options.has('weight-direct') && wholeVec4s(a, b);
  const ap = direct ? null : padded(a, d.n * cA, d.h, d.w, 1, hp, 4 * wv);
  const bRows = direct ? null : padded(b, d.n * cB, d.h, d.w, 0, d.h, 8 * tx);
  const [rc, chunks] = chunking(d.n * tx);
  // Blocks of B channels of equal size (16 go as 8 + 8, 32 as 4 x 8, 10 as one block).
  const sb = Math.ceil(cB / Math.ceil(cB / W3_SHARED));
  const part = engine.empty([chunks * d.co * d.ci * 9], 'f32', 'conv2d weight partials');
  engine.dispatch(K_SG_W3, {
    constants: { SG: sg, SB: sb, WDIRECT: direct ? 1 : 0 },
    bindings: [ap ?? a, bRows ?? b, part, sgParams(engine, { n: d.n, ci: cA, co: cB, h: d.h, w: d.w, tx, wv, hp, rc, dwv: direct ? d.w / 4 : 2 * tx })],
    workgroups: [Math.ceil(cA / sg), Math.ceil(cB / sb), chunks],
    op: 'conv2d.weight3x3',
  });
  ap?.dispose();
  bRows?.dispose();
  return sumPartials(j, part, chunks);
}

/** Row sg-weight1x1: lanes are output channels, CIT input channels per workgroup. */
export function sgWeight1x1(j: WeightJob): Tensor {
  const { x, dy, d } = j;
  const engine = x.engine;
  const sg = subgroupLanes(engine);
  const segments = d.n * Math.ceil((d.h * d.w) / 8);
  const [rc, chunks] = chunking(segments);
  const cit = Math.ceil(d.ci / Math.ceil(d.ci / W1_CIT));
  const part = engine.empty([chunks * d.co * d.ci], 'f32', 'conv2d weight partials');
  engine.dispatch(K_SG_W1, {
    constants: { SG: sg, CIT: cit },
    bindings: [x, dy, part, sgParams(engine, { n: d.n, ci: d.ci, co: d.co, h: d.h, w: d.w, rc, seg1: Math.ceil((d.h * d.w) / 8) })],
    workgroups: [Math.ceil(d.co / sg), Math.ceil(d.ci / cit), chunks],
    op: 'conv2d.weight1x1',
  });
  return sumPartials(j, part, chunks);
}

/** Rows naive-generic and naive: one partial sum per invocation, any shape. */
export function naiveWeight(j: WeightJob): Tensor {
  const { x, dy, d } = j;
  const engine = x.engine;
  const [oh] = outSize(d);
  const [rc, chunks] = chunking(d.n * oh);
  const tot = d.co * d.ci * d.kh * d.kw;
  const part = engine.empty([chunks * tot], 'f32', 'conv2d weight partials');
  engine.dispatch(K_NAIVE_DW, {
    constants: { WG },
    bindings: [x, dy, part, naiveParams(engine, d, chunks * tot, rc)],
    workgroups: workgroups1d(chunks * tot, WG),
    op: 'conv2d.naive_weight_grad',
  });
  return sumPartials(j, part, chunks);
}
