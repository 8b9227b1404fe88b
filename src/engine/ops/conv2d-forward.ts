// The launchers of the forward convolution, which also run the input gradient: the input gradient
// of a stride-1 "same" convolution is the same convolution of dy with the kernel rotated by 180
// degrees and its channel axes swapped, so these take a = input channels, b = output channels of
// the pass and pack the weights that way (transpose). Which launcher runs: conv2d-select.ts.
import sgTileWgsl from '../../shaders/conv2d_sg_tile.wgsl';
import sg1x1Wgsl from '../../shaders/conv2d_sg_1x1.wgsl';
import naiveWgsl from '../../shaders/conv2d_naive.wgsl';
import type { Constants } from '../engine.js';
import { workgroups1d } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { UNIFORM_WEIGHT_VEC4S, subgroupLanes, type Conv2dDims } from './conv2d-select.js';
import { WG, checkGrid, grid2, helperParams, kernel, naiveParams, outSize, padded, prepWgsl, sgCommonWgsl, sgModule, sgParams, tiledWgsl } from './conv2d-params.js';

/** One pass to launch: its input (x or dy), the weights, and the channels a -> b of the pass. */
export interface ConvJob {
  input: Tensor;
  w: Tensor;
  d: Conv2dDims;
  a: number;
  b: number;
  transpose: boolean;
  label: string;
  /** The options of conv2d-select.ts that hold. */
  options: ReadonlySet<string>;
}

/**
 * Option uniform-weights: packed 3x3 weights that fit 64 KB (WebGPU's default
 * maxUniformBufferBindingSize; SeedNet's largest layer needs 48 KB) are read through a uniform
 * buffer on CPU adapters. Each invocation reads the weights of its own channel, so the addresses
 * differ across the subgroup: lavapipe (Mesa 25.0) emits such a storage load as a loop over the
 * SIMD lanes with a branch and a bounds check per lane and component, but such a uniform load as
 * one straight gather with a single bounds mask. GPUs keep storage: divergent indexing into a
 * uniform buffer serializes on constant caches.
 */
const STORAGE_WEIGHTS = '@group(0) @binding(1) var<storage, read> wq: array<vec4f>;';
if (!sgCommonWgsl.includes(STORAGE_WEIGHTS)) throw new Error('conv2d_sg_common.wgsl: the packed-weight declaration that uniform-weights replaces is missing');
const uniformCommonWgsl = sgCommonWgsl.replace(STORAGE_WEIGHTS, `@group(0) @binding(1) var<uniform> wq: array<vec4f, ${UNIFORM_WEIGHT_VEC4S}>;`);

/** [storage weights, uniform weights] of one entry point of the tile kernel. */
const both = (entry: string, name: string) =>
  [kernel(sgModule(sgTileWgsl), entry, name), kernel(sgModule(sgTileWgsl, uniformCommonWgsl), entry, `${name}_uniform_weights`)] as const;
const K_SG3 = both('forward3x3', 'sg3x3');
const K_SG3_V4 = both('forward3x3_v4', 'sg3x3_v4');
const K_SG1 = kernel(sgModule(sg1x1Wgsl), 'forward1x1', 'sg1x1');
const K_PACK3_SG = kernel(prepWgsl, 'pack3x3_sg');
const K_PACK1_SG = kernel(prepWgsl, 'pack1x1_sg');
const K_PACK_TILED = kernel(tiledWgsl, 'pack', 'pack_tiled');
const K_TILED = kernel(tiledWgsl, 'forward', 'tiled');
const K_TILED_V4 = kernel(tiledWgsl, 'forward_v4', 'tiled_v4');
const K_NAIVE_FWD = kernel(naiveWgsl, 'forward', 'naive_forward');
const K_NAIVE_DX = kernel(naiveWgsl, 'input_grad', 'naive_input_grad');

const opName = (j: ConvJob, k: '3x3' | '1x1' | '_tiled'): string => (j.transpose ? `conv2d.input${k}` : `conv2d.forward${k}`);

function packedWeights3x3(j: ConvJob, ubo: boolean): Tensor {
  const engine = j.input.engine;
  const wq = ubo
    ? engine.empty([UNIFORM_WEIGHT_VEC4S * 4], 'f32', 'conv2d packed weights', GPUBufferUsage.UNIFORM)
    : engine.empty([j.a * j.b * 3 * 4], 'f32', 'conv2d packed weights');
  engine.dispatch(K_PACK3_SG, {
    constants: { WG },
    bindings: [j.w, wq, null, helperParams(engine, { ci: j.a, co: j.b, k: 3, transpose: j.transpose, count: j.a * j.b * 3 })],
    workgroups: workgroups1d(j.a * j.b * 3, WG),
    op: 'conv2d.pack',
  });
  return wq;
}

/** Tile height of the 3x3 subgroup kernel: 8, or the divisor of H in 5..7 (14, 28 -> 7). */
function tileRows(h: number): number {
  if (h % 8 === 0 || h > 64) return Math.min(8, h);
  for (const t of [7, 6, 5]) if (h % t === 0) return t;
  return Math.min(8, h);
}

/** Row sg3x3-tile: lanes are output channels, each holding a tile of TH x 8 outputs. */
export function sg3x3Tile(j: ConvJob): Tensor {
  const { input, d } = j;
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  const th = tileRows(d.h);
  const tx = Math.ceil(d.w / 8);
  const ty = Math.ceil(d.h / th);
  // tile-direct: the kernel reads x in place (rows of whole vec4s); else from a zero-padded copy
  // whose rows start on vec4 boundaries, which costs a pass over the input.
  const direct = j.options.has('tile-direct');
  const wv = 2 * tx + 1;
  const hp = ty * th + 2;
  const xp = direct ? null : padded(input, d.n * j.a, d.h, d.w, 1, hp, 4 * wv);
  const ubo = j.options.has('uniform-weights');
  const wq = packedWeights3x3(j, ubo);
  const y = engine.empty([d.n, j.b, d.h, d.w], 'f32', j.label);
  const [gx, gy] = grid2(d.n * ty * tx);
  engine.dispatch((direct ? K_SG3_V4 : K_SG3)[ubo ? 1 : 0], {
    constants: { SG: sg, TH: th, DIRECT: direct ? 1 : 0 },
    bindings: [xp ?? input, wq, y, sgParams(engine, { n: d.n, ci: j.a, co: j.b, h: d.h, w: d.w, tx, ty, wv, hp })],
    workgroups: [gx, gy, Math.ceil(j.b / sg)],
    op: opName(j, '3x3'),
  });
  xp?.dispose();
  wq.dispose();
  return y;
}

/** Row sg1x1: lanes are output channels, 64 consecutive pixels each. */
export function sg1x1(j: ConvJob): Tensor {
  const { input, d, a, b } = j;
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  const wq = engine.empty([a * b], 'f32', 'conv2d packed weights');
  engine.dispatch(K_PACK1_SG, {
    constants: { WG },
    bindings: [j.w, wq, null, helperParams(engine, { ci: a, co: b, k: 1, transpose: j.transpose, count: a * b })],
    workgroups: workgroups1d(a * b, WG),
    op: 'conv2d.pack',
  });
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', j.label);
  const tiles = Math.ceil((d.h * d.w) / 4 / 16);
  const [gx, gy] = grid2(d.n * tiles);
  engine.dispatch(K_SG1, {
    constants: { SG: sg },
    bindings: [input, wq, y, sgParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, tiles1: tiles })],
    workgroups: [gx, gy, Math.ceil(b / sg)],
    op: opName(j, '1x1'),
  });
  wq.dispose();
  return y;
}

/**
 * Row tiled (no subgroups): P pixels x 4*CV channels per invocation. P = 8 unless a row split into
 * 8s wastes more than one split into 4s (W % 8 in 1..4); CV = 1: on lavapipe, SeedNet b2 at batch
 * 16, P=8 CV=1 ran 4.5 GFLOP/s, P=4 CV=2 4.1, P=4 CV=1 3.6 (register tiles above 32 floats spill).
 */
export function tiled(j: ConvJob): Tensor {
  const { input, d, a, b } = j;
  const engine = input.engine;
  const k = d.kh;
  const p = Math.ceil(d.w / 8) * 8 > Math.ceil(d.w / 4) * 4 ? 4 : 8;
  const cv = 1;
  const segs = Math.ceil(d.w / p);
  const wp = Math.ceil((segs * p + k - 1) / 4) * 4;
  const hp = d.h + k - 1;
  // A 1x1 convolution whose rows need no padding reads its input as it is.
  const xp = wp === d.w && hp === d.h ? null : padded(input, d.n * a, d.h, d.w, (k - 1) / 2, hp, wp);
  const cob = Math.ceil(b / (4 * cv));
  checkGrid(cob, `${b} output channels`);
  const wq = engine.empty([cob * a * k * k * cv * 4], 'f32', 'conv2d packed weights');
  const constants: Constants = { K: k, P: p, CV: cv, WG };
  engine.dispatch(K_PACK_TILED, {
    constants,
    bindings: [j.w, wq, null, helperParams(engine, { ci: a, co: b, k, transpose: j.transpose, count: cob * a * k * k * cv })],
    workgroups: workgroups1d(cob * a * k * k * cv, WG),
    op: 'conv2d.pack',
  });
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', j.label);
  const [gx, gy] = workgroups1d(d.n * d.h * segs, WG);
  engine.dispatch(d.w % 4 === 0 ? K_TILED_V4 : K_TILED, {
    constants,
    bindings: [xp ?? input, wq, y, helperParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, hp, wp, segs, count: d.n * d.h * segs })],
    workgroups: [gx, gy, cob],
    op: opName(j, '_tiled'),
  });
  xp?.dispose();
  wq.dispose();
  return y;
}

/** Rows naive-generic and naive: one output element per invocation, any shape. */
export function naive(j: ConvJob): Tensor {
  const { input, d } = j;
  const engine = input.engine;
  if (j.transpose) {
    const dx = engine.empty([d.n, d.ci, d.h, d.w], 'f32', j.label);
    engine.dispatch(K_NAIVE_DX, { constants: { WG }, bindings: [input, j.w, dx, naiveParams(engine, d, dx.size)], workgroups: workgroups1d(dx.size, WG), op: 'conv2d.naive_input_grad' });
    return dx;
  }
  const [oh, ow] = outSize(d);
  const y = engine.empty([d.n, d.co, oh, ow], 'f32', j.label);
  engine.dispatch(K_NAIVE_FWD, { constants: { WG }, bindings: [input, j.w, y, naiveParams(engine, d, y.size)], workgroups: workgroups1d(y.size, WG), op: 'conv2d.naive_forward' });
  return y;
}
