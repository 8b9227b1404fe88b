// conv2d: stride 1, no bias, zero padding, NCHW activations and OIHW weights; forward pass, and the
// backward rule right below it (input gradient and weight gradient).
// Kernels: src/shaders/conv2d_sg.wgsl (fast paths on adapters with subgroups),
// src/shaders/conv2d.wgsl (padding, weight packing, a subgroup-free tiled forward, the partial-sum
// reduction), src/shaders/conv2d_naive.wgsl (naive reference / generic fallback) and
// src/shaders/shift4.wgsl (a helper of the first two).
//
// Which kernel runs is decided by planConv2d() from explicit conditions only:
//   fast shape  = KH == KW == K in {1, 3} and padding == (K - 1) / 2 (the output keeps H x W);
//   subgroups   = the device has 'subgroups' and the adapter's smallest subgroup size is a power of
//                 two in [8, 64] (the kernels' register arrays assume at least 8 lanes);
//   forward and input gradient: 'subgroup' if fast shape, subgroups, and for K = 1 also
//                 H*W % 4 == 0; else 'tiled' if fast shape; else 'naive';
//   weight gradient: 'subgroup' under the same conditions; else 'naive';
//   engine.debug.naive (NORMLAB_DEBUG=naive) forces 'naive' everywhere.
// Inside 'subgroup', also explicit: the 3x3 kernels read x (or dy) in place when W % 4 == 0, else
// through a zero-padded copy, except planes narrower than 8: the weight gradient's A is read in
// place at any W, and the forward reads planes of at most 8 rows whole, in place (WHOLE); tile
// rows are 8 or the divisor of H in 5..7 (tileRows); the 3x3 weight gradient of one input channel
// on rows of W % 4 == 0, W <= 4 min(SG, 8) runs by whole rows (weightSg3Rows), the others with x
// and dy swapped when the output channels fill more subgroup lanes than the input channels
// (laneUse); on CPU adapters, 3x3 convolutions to one output channel on rows of W % 4 == 0,
// W <= 32 run the kernel whose lanes are images (oneOutputByImages); on rows of W % 4 == 0, the
// other 3x3 convolutions with at most 4 output channels and at most 2 SG input channels run the
// strip kernel whose lanes are input channels (fewOutputs), and the others with at most 4 input
// channels the row-streaming one (fewInputs), by whole rows when
// W <= 32 and the row fits the load rounds (WROW), with a window of input rows for one input
// channel (RWIN); on CPU adapters the 3x3 forward kernels read their packed weights through a
// uniform buffer when they fit 64 KB (uniformWeights).
// The input gradient of a stride-1 "same" convolution is the same convolution of dy with the
// kernel rotated by 180 degrees and its channel axes swapped, so it reuses the forward kernels
// with weights packed that way (TRANSPOSE = 1).
import convOwnWgsl from '../../shaders/conv2d.wgsl';
import convSgOwnWgsl from '../../shaders/conv2d_sg.wgsl';
import shift4Wgsl from '../../shaders/shift4.wgsl';
import naiveWgsl from '../../shaders/conv2d_naive.wgsl';
import type { Engine, Kernel, Constants } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

// A helper both modules use, appended (WGSL allows functions after their use; `enable` must stay first).
const convWgsl = `${convOwnWgsl}\n${shift4Wgsl}`;
const convSgWgsl = `${convSgOwnWgsl}\n${shift4Wgsl}`;

const WG = 64;
const kernel = (code: string, entryPoint: string, name = entryPoint): Kernel => ({ name: `conv2d.${name}`, code, entryPoint });
const K_PAD = kernel(convWgsl, 'pad');
const K_PACK_TILED = kernel(convWgsl, 'pack', 'pack_tiled');
const K_PACK3_SG = kernel(convWgsl, 'pack3x3_sg');
const K_PACK1_SG = kernel(convWgsl, 'pack1x1_sg');
const K_WEIGHT_SUM = kernel(convWgsl, 'weight_sum');
const K_WEIGHT_SUM4 = kernel(convWgsl, 'weight_sum4');
const K_TILED = kernel(convWgsl, 'forward', 'tiled');
const K_TILED_V4 = kernel(convWgsl, 'forward_v4', 'tiled_v4');
const K_SG3 = kernel(convSgWgsl, 'forward3x3', 'sg3x3');
const K_SG3_V4 = kernel(convSgWgsl, 'forward3x3_v4', 'sg3x3_v4');
const K_SG1 = kernel(convSgWgsl, 'forward1x1', 'sg1x1');

/**
 * Packed 3x3 weights that fit 64 KB (WebGPU's default maxUniformBufferBindingSize; SeedNet's largest
 * layer needs 48 KB) are read through a uniform buffer on CPU adapters. Each invocation reads the
 * weights of its own channel, so the addresses differ across the subgroup: lavapipe (Mesa 25.0)
 * emits such a storage load as a loop over the SIMD lanes with a branch and a bounds check per lane
 * and component, but such a uniform load as one straight gather with a single bounds mask. On
 * lavapipe this made the tile kernel's 3x3 forward and input gradient of SeedNet's layers 4-9%
 * faster (same-process A/B over the rows whose rounds agreed; bench/README.md); the strip kernels
 * read their weights once per strip, the same way.
 * GPUs keep storage: divergent indexing into a uniform buffer serializes on constant caches.
 */
const UNIFORM_WEIGHT_VEC4S = 4096;
const STORAGE_WEIGHTS = '@group(0) @binding(1) var<storage, read> wq: array<vec4f>;';
if (!convSgWgsl.includes(STORAGE_WEIGHTS)) throw new Error('conv2d_sg.wgsl: the packed-weight declaration that the uniform variant replaces is missing');
const convSgUniformWgsl = convSgWgsl.replace(STORAGE_WEIGHTS, `@group(0) @binding(1) var<uniform> wq: array<vec4f, ${UNIFORM_WEIGHT_VEC4S}>;`);
const K_SG3_U = kernel(convSgUniformWgsl, 'forward3x3', 'sg3x3_uniform_weights');
const K_SG3_V4_U = kernel(convSgUniformWgsl, 'forward3x3_v4', 'sg3x3_v4_uniform_weights');
const K_SG3_ROWS = kernel(convSgWgsl, 'forward3x3_rows', 'sg3x3_rows');
const K_SG3_ROWS_U = kernel(convSgUniformWgsl, 'forward3x3_rows', 'sg3x3_rows_uniform_weights');
const K_SG3_FEW = kernel(convSgWgsl, 'forward3x3_few', 'sg3x3_few');
const K_SG3_FEW_U = kernel(convSgUniformWgsl, 'forward3x3_few', 'sg3x3_few_uniform_weights');
const K_SG3_IMAGES = kernel(convSgWgsl, 'forward3x3_images', 'sg3x3_images');
const K_SG3_IMAGES_U = kernel(convSgUniformWgsl, 'forward3x3_images', 'sg3x3_images_uniform_weights');

/**
 * 3x3 convolutions with at most 4 output channels and at most two subgroups of input channels
 * (SeedNet: b1's input gradient, 16 -> 3, and 16 -> 1 except on CPU adapters, oneOutputByImages)
 * run the kernel whose lanes are input channels (forward3x3_few), when W % 4 == 0 (it reads rows
 * in place). The tile kernel's lanes are output
 * channels: it would fill 1 or 3 of 8 lanes.
 */
function fewOutputs(a: number, b: number, w: number, sg: number): boolean {
  return b <= 4 && a <= 2 * sg && w % 4 === 0;
}

function uniformWeights(engine: Engine, vec4s: number): boolean {
  return engine.adapterInfo.software && vec4s <= UNIFORM_WEIGHT_VEC4S && engine.device.limits.maxUniformBufferBindingSize >= 16 * UNIFORM_WEIGHT_VEC4S;
}
const K_SG_W3 = kernel(convSgWgsl, 'weight3x3', 'sg_weight3x3');
const K_SG_W1 = kernel(convSgWgsl, 'weight1x1', 'sg_weight1x1');
const K_SG_W3_ROWS = kernel(convSgWgsl, 'weight3x3_rows', 'sg_weight3x3_rows');
const K_NAIVE_FWD = kernel(naiveWgsl, 'forward', 'naive_forward');
const K_NAIVE_DX = kernel(naiveWgsl, 'input_grad', 'naive_input_grad');
const K_NAIVE_DW = kernel(naiveWgsl, 'weight_grad', 'naive_weight_grad');

const MAX_GROUPS = 65535;

/**
 * Weight gradients are split into at most this many partial sums over the rows (strips, segments)
 * of the batch, summed afterwards in a fixed order. 32 gives lavapipe's 2 threads and a GPU's SMs
 * enough workgroups for SeedNet's layers (channel blocks x 32 chunks >= 64) while the partials stay small
 * (32 x CO x CI x 9 floats) and their sum cheap (0.2-2 ms at batch 128 on lavapipe). 8 chunks
 * measured no differently on b7 (within the shared machine's noise).
 */
const MAX_CHUNKS = 32;
/**
 * Channels of B shared per workgroup by the 3x3 weight-gradient kernel (at most 10, its register
 * array: 9 x 10 accumulators per invocation), and input channels per workgroup of the 1x1 one (at
 * most 16). More channels share each invocation's loads. 10 rather than 8 for SeedNet's c9
 * (32 -> 10): one block of 10 instead of two of 5 took its kernel from 2.6 to 2.1 ms at batch 128
 * on lavapipe; blocks are made equal, so 16 and 32 channels still go 8 at a time.
 */
const W3_SHARED = 10;
const W1_CIT = 16;

export interface Conv2dOptions {
  /** Zero padding on each of the four sides. Default 0, as in PyTorch. */
  padding?: number;
  /**
   * Forces a kernel family (tests and benchmarks). 'naive' always applies; 'tiled' needs a fast
   * shape; 'subgroup' needs a fast shape and subgroups. The backward passes inherit it.
   */
  path?: Conv2dPath;
}

export type Conv2dPath = 'subgroup' | 'tiled' | 'naive';
export type Conv2dPass = 'forward' | 'input' | 'weight';

/** The dimensions of one convolution: input [n, ci, h, w], weight [co, ci, kh, kw]. */
export interface Conv2dDims {
  n: number;
  ci: number;
  h: number;
  w: number;
  co: number;
  kh: number;
  kw: number;
  pad: number;
}

/** The subgroup size the fast kernels use on this engine, or 0 if they cannot run. */
export function subgroupLanes(engine: Engine): number {
  if (!engine.device.features.has('subgroups')) return 0;
  const min = engine.adapter.info.subgroupMinSize ?? 0;
  return min >= 8 && min <= 64 && (min & (min - 1)) === 0 ? min : 0;
}

/**
 * Which kernel family runs a pass of a convolution (see the header for the conditions). A forced
 * path that cannot run this convolution is an error rather than a silent substitute.
 */
export function planConv2d(engine: Engine, d: Conv2dDims, pass: Conv2dPass, force?: Conv2dPath): Conv2dPath {
  const k = d.kh;
  const fastShape = d.kh === d.kw && (k === 1 || k === 3) && d.pad === (k - 1) / 2;
  const sgOk = fastShape && subgroupLanes(engine) > 0 && (k === 3 || (d.h * d.w) % 4 === 0);
  const tiledOk = fastShape && pass !== 'weight';
  if (force) {
    if ((force === 'subgroup' && !sgOk) || (force === 'tiled' && !tiledOk)) {
      throw new Error(`conv2d: the ${force} kernels cannot run the ${pass} pass of a ${d.kh}x${d.kw} convolution with padding ${d.pad} here`);
    }
    return force;
  }
  if (engine.debug.naive || !fastShape) return 'naive';
  if (sgOk) return 'subgroup';
  return tiledOk ? 'tiled' : 'naive';
}

function dimsOf(x: readonly number[], w: readonly number[], pad: number): Conv2dDims {
  return { n: x[0]!, ci: x[1]!, h: x[2]!, w: x[3]!, co: w[0]!, kh: w[2]!, kw: w[3]!, pad };
}

function outSize(d: Conv2dDims): [number, number] {
  return [d.h + 2 * d.pad - d.kh + 1, d.w + 2 * d.pad - d.kw + 1];
}

function checkPadding(op: string, pad: number): void {
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: padding must be a non-negative integer, got ${pad}`);
}

/** Splits `count` workgroups over x and y (each <= 65535); kernels use wid.x + wid.y * nwg.x. */
function grid2(count: number): [number, number] {
  if (count <= MAX_GROUPS) return [Math.max(1, count), 1];
  const y = Math.ceil(count / MAX_GROUPS);
  return [Math.ceil(count / y), y];
}

// ---- shape parameters ----------------------------------------------------------------------------
// The kernels read sizes from a small uniform buffer (`prm` in the WGSL) instead of override
// constants, so each kernel compiles once per structural choice rather than once per layer shape
// (lavapipe takes 1-3 s per large kernel). One buffer per distinct parameter list, made once with
// mappedAtCreation (no queue write, so no submit inside a step) and kept for the engine's life;
// steady training reuses the same buffers, and with them the cached bind groups.
const PARAM_WORDS = 16;
const paramBuffers = new WeakMap<Engine, Map<string, GPUBuffer>>();

function paramBuffer(engine: Engine, module: string, words: number[]): GPUBuffer {
  if (words.length > PARAM_WORDS || words.some((v) => !Number.isInteger(v) || v < 0 || v >= 2 ** 32)) {
    throw new Error(`conv2d: bad kernel parameters ${words.join(',')}`);
  }
  let cache = paramBuffers.get(engine);
  if (!cache) paramBuffers.set(engine, (cache = new Map()));
  const key = `${module}:${words.join(',')}`;
  let buffer = cache.get(key);
  if (!buffer) {
    buffer = engine.device.createBuffer({ label: `conv2d params ${key}`, size: 4 * PARAM_WORDS, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    cache.set(key, buffer);
  }
  return buffer;
}

/** conv2d.wgsl's Params, in its field order. */
interface HelperParams {
  n?: number;
  ci?: number;
  co?: number;
  h?: number;
  w?: number;
  pad?: number;
  hp?: number;
  wp?: number;
  segs?: number;
  k?: number;
  transpose?: boolean;
  tot?: number;
  nch?: number;
  swap?: boolean;
  count?: number;
  kk?: number;
}

function helperParams(engine: Engine, p: HelperParams): GPUBuffer {
  const b = (v?: boolean): number => (v ? 1 : 0);
  return paramBuffer(engine, 'conv2d', [
    p.n ?? 0, p.ci ?? 0, p.co ?? 0, p.h ?? 0, p.w ?? 0, p.pad ?? 0, p.hp ?? 0, p.wp ?? 0,
    p.segs ?? 0, p.k ?? 0, b(p.transpose), p.tot ?? 0, p.nch ?? 0, b(p.swap), p.count ?? 0, p.kk ?? 0,
  ]);
}

/** conv2d_sg.wgsl's Params, in its field order. */
interface SgParams {
  n: number;
  ci: number;
  co: number;
  h: number;
  w: number;
  tx?: number;
  ty?: number;
  wv?: number;
  hp?: number;
  rc?: number;
  tiles1?: number;
  seg1?: number;
  dwv?: number;
  rb?: number;
}

function sgParams(engine: Engine, p: SgParams): GPUBuffer {
  const w4 = Math.max(1, Math.floor(p.w / 4));
  const hw4 = Math.floor((p.h * p.w) / 4);
  return paramBuffer(engine, 'conv2d_sg', [
    p.n, p.ci, p.co, p.h, p.w, p.tx ?? 0, p.ty ?? 0, p.wv ?? 0,
    p.hp ?? 0, w4, p.rc ?? 0, hw4, p.tiles1 ?? 0, p.seg1 ?? 0, p.dwv ?? 0, p.rb ?? 0,
  ]);
}

function naiveParams(engine: Engine, d: Conv2dDims, count: number, rc = 0): GPUBuffer {
  const [oh, ow] = outSize(d);
  return paramBuffer(engine, 'conv2d_naive', [d.n, d.ci, d.co, d.h, d.w, d.kh, d.kw, d.pad, oh, ow, rc, count]);
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
  const engine = x.engine;
  const path = planConv2d(engine, d, 'weight', options.path);
  if (path === 'subgroup') return d.kh === 3 ? weightSg3(x, dy, d) : weightSg1(x, dy, d);
  return weightNaive(x, dy, d);
}

// ---- forward and input gradient ----------------------------------------------------------------

/**
 * The forward convolution (transpose = false: input x, output channels d.co) or the input gradient
 * (transpose = true: input dy, output channels d.ci, weights rotated and swapped).
 */
function convolve(input: Tensor, w: Tensor, d: Conv2dDims, transpose: boolean, force?: Conv2dPath): Tensor {
  const engine = input.engine;
  const path = planConv2d(engine, d, transpose ? 'input' : 'forward', force);
  if (path === 'naive') return transpose ? naiveInputGrad(input, w, d) : naiveForward(input, w, d);
  // Fast shapes keep H x W, so the input gradient is a forward pass with a and b swapped.
  const a = transpose ? d.co : d.ci;
  const b = transpose ? d.ci : d.co;
  const label = transpose ? 'conv2d input grad' : 'conv2d';
  if (path === 'subgroup') return d.kh === 3 ? sg3x3(input, w, d, a, b, transpose, label) : sg1x1(input, w, d, a, b, transpose, label);
  return tiled(input, w, d, a, b, transpose, label);
}

/**
 * Zero-pads planes [planes, H, W] into [planes, hp, wp] with pad rows/columns before the data:
 * xp[i][j] = x[i - pad][j - pad]. wp must be a multiple of 4.
 */
function padded(t: Tensor, planes: number, h: number, w: number, pad: number, hp: number, wp: number): Tensor {
  const engine = t.engine;
  const xp = engine.empty([planes * hp * wp], 'f32', 'conv2d padded');
  // Sizes as override constants here (see the kernel: divisions by constants are much cheaper).
  const constants: Constants = { PLANES: planes, PH: h, PW: w, PAD: pad, HP: hp, WP4: wp / 4, WG };
  engine.dispatch(K_PAD, { constants, bindings: [t, xp], workgroups: workgroups1d(planes * hp, WG), op: 'conv2d.pad' });
  return xp;
}

/** Tile height of the 3x3 subgroup kernel: 8, or the divisor of H in 5..7 (14, 28 -> 7). */
function tileRows(h: number): number {
  if (h % 8 === 0 || h > 64) return Math.min(8, h);
  for (const t of [7, 6, 5]) if (h % t === 0) return t;
  return Math.min(8, h);
}

function sg3x3(input: Tensor, w: Tensor, d: Conv2dDims, a: number, b: number, transpose: boolean, label: string): Tensor {
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  if (oneOutputByImages(engine, b, d.w)) return sg3x3Images(input, w, d, a, transpose, label);
  if (fewOutputs(a, b, d.w, sg)) return sg3x3Strips('few', input, w, d, a, b, transpose, label);
  if (fewInputs(a, d.w)) return sg3x3Strips('rows', input, w, d, a, b, transpose, label);
  const th = tileRows(d.h);
  const tx = Math.ceil(d.w / 8);
  const ty = Math.ceil(d.h / th);
  // With W % 4 == 0 the kernel reads the input directly (DIRECT); otherwise from a zero-padded
  // copy whose rows start on vec4 boundaries. The copy costs a pass over the input (30% of the
  // kernel's time for SeedNet's b2 on lavapipe), the direct reads a third more loads in the kernel.
  const direct = d.w % 4 === 0;
  // Planes narrower than 8 and at most 8 high (SeedNet's 7x7 layers) are one tile each, read in
  // place (WHOLE in the kernel): 2 vec4 loads per invocation and channel instead of the copy's 4,
  // and no copy. The kernel reads whole vec4s up to the end of the buffer (pooled ones: sizeClass).
  const whole = !direct && d.w < 8 && d.h <= 8 && input.buffer.size % 16 === 0;
  const wv = 2 * tx + 1;
  const hp = ty * th + 2;
  const xp = direct || whole ? null : padded(input, d.n * a, d.h, d.w, 1, hp, 4 * wv);
  const ubo = uniformWeights(engine, a * b * 3);
  const wq = packedWeights3x3(engine, w, a, b, transpose, ubo);
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', label);
  const [gx, gy] = grid2(d.n * ty * tx);
  engine.dispatch(ubo ? (direct ? K_SG3_V4_U : K_SG3_U) : direct ? K_SG3_V4 : K_SG3, {
    constants: { SG: sg, TH: th, DIRECT: direct ? 1 : 0, WHOLE: whole ? 1 : 0 },
    bindings: [xp ?? input, wq, y, sgParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, tx, ty, wv, hp })],
    workgroups: [gx, gy, Math.ceil(b / sg)],
    op: transpose ? 'conv2d.input3x3' : 'conv2d.forward3x3',
  });
  xp?.dispose();
  wq.dispose();
  return y;
}

function packedWeights3x3(engine: Engine, w: Tensor, a: number, b: number, transpose: boolean, ubo: boolean): Tensor {
  const wq = ubo
    ? engine.empty([UNIFORM_WEIGHT_VEC4S * 4], 'f32', 'conv2d packed weights', GPUBufferUsage.UNIFORM)
    : engine.empty([a * b * 3 * 4], 'f32', 'conv2d packed weights');
  engine.dispatch(K_PACK3_SG, {
    constants: { WG },
    bindings: [w, wq, null, helperParams(engine, { ci: a, co: b, k: 3, transpose, count: a * b * 3 })],
    workgroups: workgroups1d(a * b * 3, WG),
    op: 'conv2d.pack',
  });
  return wq;
}

/**
 * 3x3 convolutions from at most 4 input channels on rows of W % 4 == 0 (SeedNet: b1's forward,
 * 1 or 3 channels) run the row-streaming kernel (forward3x3_rows), whose loop body stays small.
 */
function fewInputs(a: number, w: number): boolean {
  return a <= 4 && w % 4 === 0;
}

/**
 * The strip kernels: a workgroup walks one strip of columns of one image down its rows, either
 * with lanes = output channels and few inputs (rows, forward3x3_rows) or lanes = input channels
 * and few outputs (few, forward3x3_few).
 */
function sg3x3Strips(kind: 'rows' | 'few', input: Tensor, w: Tensor, d: Conv2dDims, a: number, b: number, transpose: boolean, label: string): Tensor {
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  const ubo = uniformWeights(engine, a * b * 3);
  const wq = packedWeights3x3(engine, w, a, b, transpose, ubo);
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', label);
  // forward3x3_rows: whole rows where they fit (WROW), else strips of 16 columns (faster than 8,
  // see the kernel); forward3x3_few: strips of 8.
  const wrow = kind === 'rows' && d.w % 4 === 0 && d.w <= 32 && a * (d.w / 4) <= 3 * sg;
  const rq = kind === 'rows' ? (wrow ? d.w / 4 : 4) : 2;
  // The kernels' register arrays and load rounds assume these (fewInputs, fewOutputs choose within
  // them); past them robust access would clamp the indices and give wrong sums, not an error.
  const fits = d.w % 4 === 0 && (kind === 'rows' ? a <= 4 && a * (wrow ? rq : rq + 2) <= 3 * sg : b <= 4 && a <= 2 * sg);
  if (!fits) throw new Error(`conv2d: the ${kind} strip kernel cannot run ${a} -> ${b} channels of width ${d.w} with subgroups of ${sg}`);
  const tx = Math.ceil(d.w / (4 * rq));
  const [gx, gy] = grid2(d.n * tx);
  const k = kind === 'rows' ? (ubo ? K_SG3_ROWS_U : K_SG3_ROWS) : ubo ? K_SG3_FEW_U : K_SG3_FEW;
  engine.dispatch(k, {
    constants: kind === 'rows' ? { SG: sg, RCI: a, RQ: rq, WROW: wrow ? 1 : 0, RWIN: a === 1 ? 1 : 0 } : { SG: sg, BO: b, CG: Math.ceil(a / sg) },
    bindings: [input, wq, y, sgParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, tx })],
    workgroups: [gx, gy, kind === 'rows' ? Math.ceil(b / sg) : 1],
    op: transpose ? 'conv2d.input3x3' : 'conv2d.forward3x3',
  });
  wq.dispose();
  return y;
}

/**
 * 3x3 convolutions to one output channel on rows of W % 4 == 0, W <= 32 (SeedNet: b1's input
 * gradient on 28x28) run, on CPU adapters, the kernel whose lanes are images (forward3x3_images):
 * each lane reads its own image's rows once, where the strip kernel's lanes (input channels) read
 * each row twice over, and a storage load costs a loop over the lanes on lavapipe. On GPUs the lanes
 * would read addresses a whole plane apart; they keep the strip kernel.
 */
function oneOutputByImages(engine: Engine, b: number, w: number): boolean {
  return engine.adapterInfo.software && b === 1 && w % 4 === 0 && w <= 32;
}

function sg3x3Images(input: Tensor, w: Tensor, d: Conv2dDims, a: number, transpose: boolean, label: string): Tensor {
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  const ubo = uniformWeights(engine, a * 3);
  const wq = packedWeights3x3(engine, w, a, 1, transpose, ubo);
  const y = engine.empty([d.n, 1, d.h, d.w], 'f32', label);
  // Whole planes per workgroup unless the batch gives fewer than 8 groups of images: then bands of
  // at least 8 rows. Each band reads 2 rows more than it stores; at batch 128 (16 groups) bands of
  // 14 rows measured slower than whole 28-row planes (4.46 vs 4.00 ms, a first version of the kernel).
  const groups = Math.ceil(d.n / sg);
  const bands = Math.max(1, Math.min(Math.floor(d.h / 8), Math.ceil(8 / groups)));
  const rb = Math.ceil(d.h / bands);
  engine.dispatch(ubo ? K_SG3_IMAGES_U : K_SG3_IMAGES, {
    constants: { SG: sg, IW4: d.w / 4 },
    bindings: [input, wq, y, sgParams(engine, { n: d.n, ci: a, co: 1, h: d.h, w: d.w, rb })],
    workgroups: [groups, Math.ceil(d.h / rb), 1],
    op: transpose ? 'conv2d.input3x3' : 'conv2d.forward3x3',
  });
  wq.dispose();
  return y;
}

function sg1x1(input: Tensor, w: Tensor, d: Conv2dDims, a: number, b: number, transpose: boolean, label: string): Tensor {
  const engine = input.engine;
  const sg = subgroupLanes(engine);
  const wq = engine.empty([a * b], 'f32', 'conv2d packed weights');
  engine.dispatch(K_PACK1_SG, {
    constants: { WG },
    bindings: [w, wq, null, helperParams(engine, { ci: a, co: b, k: 1, transpose, count: a * b })],
    workgroups: workgroups1d(a * b, WG),
    op: 'conv2d.pack',
  });
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', label);
  const tiles = Math.ceil((d.h * d.w) / 4 / 16);
  const [gx, gy] = grid2(d.n * tiles);
  engine.dispatch(K_SG1, {
    constants: { SG: sg },
    bindings: [input, wq, y, sgParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, tiles1: tiles })],
    workgroups: [gx, gy, Math.ceil(b / sg)],
    op: transpose ? 'conv2d.input1x1' : 'conv2d.forward1x1',
  });
  wq.dispose();
  return y;
}

/**
 * The subgroup-free tiled kernel: P pixels x 4*CV channels per invocation. P = 8 unless a row
 * split into 8s wastes more than one split into 4s (W % 8 in 1..4); CV = 1: on lavapipe, SeedNet b2
 * at batch 16, P=8 CV=1 ran 4.5 GFLOP/s, P=4 CV=2 4.1, P=4 CV=1 3.6 (register tiles above 32
 * floats spill).
 */
function tiled(input: Tensor, w: Tensor, d: Conv2dDims, a: number, b: number, transpose: boolean, label: string): Tensor {
  const engine = input.engine;
  const k = d.kh;
  const p = Math.ceil(d.w / 8) * 8 > Math.ceil(d.w / 4) * 4 ? 4 : 8;
  const cv = 1;
  const segs = Math.ceil(d.w / p);
  const wp = Math.ceil((segs * p + k - 1) / 4) * 4;
  const hp = d.h + k - 1;
  const pad = (k - 1) / 2;
  // A 1x1 convolution whose rows need no padding reads its input as it is.
  const xp = wp === d.w && hp === d.h ? null : padded(input, d.n * a, d.h, d.w, pad, hp, wp);
  const cob = Math.ceil(b / (4 * cv));
  const wq = engine.empty([cob * a * k * k * cv * 4], 'f32', 'conv2d packed weights');
  const constants: Constants = { K: k, P: p, CV: cv, WG };
  engine.dispatch(K_PACK_TILED, {
    constants,
    bindings: [w, wq, null, helperParams(engine, { ci: a, co: b, k, transpose, count: cob * a * k * k * cv })],
    workgroups: workgroups1d(cob * a * k * k * cv, WG),
    op: 'conv2d.pack',
  });
  const y = engine.empty([d.n, b, d.h, d.w], 'f32', label);
  const [gx, gy] = workgroups1d(d.n * d.h * segs, WG);
  if (cob > MAX_GROUPS) throw new Error(`conv2d: ${b} output channels exceed the tiled kernel's grid`);
  engine.dispatch(d.w % 4 === 0 ? K_TILED_V4 : K_TILED, {
    constants,
    bindings: [xp ?? input, wq, y, helperParams(engine, { n: d.n, ci: a, co: b, h: d.h, w: d.w, hp, wp, segs, count: d.n * d.h * segs })],
    workgroups: [gx, gy, cob],
    op: transpose ? 'conv2d.input_tiled' : 'conv2d.forward_tiled',
  });
  xp?.dispose();
  wq.dispose();
  return y;
}

function naiveForward(x: Tensor, w: Tensor, d: Conv2dDims): Tensor {
  const [oh, ow] = outSize(d);
  const y = x.engine.empty([d.n, d.co, oh, ow], 'f32', 'conv2d');
  x.engine.dispatch(K_NAIVE_FWD, { constants: { WG }, bindings: [x, w, y, naiveParams(x.engine, d, y.size)], workgroups: workgroups1d(y.size, WG), op: 'conv2d.naive_forward' });
  return y;
}

function naiveInputGrad(dy: Tensor, w: Tensor, d: Conv2dDims): Tensor {
  const dx = dy.engine.empty([d.n, d.ci, d.h, d.w], 'f32', 'conv2d input grad');
  dy.engine.dispatch(K_NAIVE_DX, { constants: { WG }, bindings: [dy, w, dx, naiveParams(dy.engine, d, dx.size)], workgroups: workgroups1d(dx.size, WG), op: 'conv2d.naive_input_grad' });
  return dx;
}

// ---- weight gradient ----------------------------------------------------------------------------

/** rows split into at most MAX_CHUNKS chunks of `per` rows: [per, chunks]. Depends on the shape only. */
function chunking(rows: number): [number, number] {
  const per = Math.ceil(rows / Math.min(MAX_CHUNKS, rows));
  return [per, Math.ceil(rows / per)];
}

/**
 * dw[i] = sum over chunks c = 0, 1, ... of part[c][i], in that order; with `swapped` the partials
 * are [CI][CO][KK] with the kernel rotated (see weightSg3) and are read back transposed.
 * Unswapped partials of CO * CI * KK % 4 == 0 outputs are summed four at a time (weight_sum4),
 * each component in the same order.
 */
function sumPartials(part: Tensor, d: Conv2dDims, chunks: number, swapped = false): Tensor {
  const engine = part.engine;
  const kk = d.kh * d.kw;
  const tot = d.co * d.ci * kk;
  const dw = engine.empty([d.co, d.ci, d.kh, d.kw], 'f32', 'conv2d weight grad');
  const by4 = !swapped && tot % 4 === 0;
  engine.dispatch(by4 ? K_WEIGHT_SUM4 : K_WEIGHT_SUM, {
    constants: { WG },
    bindings: [part, dw, null, helperParams(engine, { ci: d.ci, co: d.co, kk, tot, nch: chunks, swap: swapped })],
    workgroups: workgroups1d(by4 ? tot / 4 : tot, WG),
    op: 'conv2d.weight_sum',
  });
  part.dispose();
  return dw;
}

/** Fraction of the lanes of ceil(c / sg) subgroups that a channel count c keeps busy. */
function laneUse(c: number, sg: number): number {
  return c / (Math.ceil(c / sg) * sg);
}

/**
 * 3x3 weight gradient with the subgroup kernel (conv2d_sg.wgsl `weight3x3`): invocations are
 * channels of A, read with the 3x3 neighbourhood, and the channels of B are shared up to
 * W3_SHARED at a time.
 * dw[co][ci][kh][kw] = sum_q dy[co][q] x[ci][q + (kh-1, kw-1)] takes A = x, B = dy; it is also
 * sum_q x[ci][q] dy[co][q + (1-kh, 1-kw)], so A = dy, B = x gives G[ci][co][2-kh][2-kw] =
 * dw[co][ci][kh][kw], which weight_sum reads back transposed and rotated. The second form runs when
 * the output channels fill more lanes than the input channels (SeedNet's b1: 3 -> 16 and 1 -> 16).
 */
function weightSg3(x: Tensor, dy: Tensor, d: Conv2dDims): Tensor {
  const engine = x.engine;
  const sg = subgroupLanes(engine);
  if (d.ci === 1 && d.w % 4 === 0 && d.w / 4 <= Math.min(sg, 8)) return weightSg3Rows(x, dy, d, sg);
  const swap = laneUse(d.co, sg) > laneUse(d.ci, sg);
  const [a, b, cA, cB] = swap ? [dy, x, d.co, d.ci] : [x, dy, d.ci, d.co];
  const tx = Math.ceil(d.w / 8);
  const wv = 2 * tx + 1;
  const hp = d.h + 2;
  // W % 4 == 0: both read in place (A with one more vec4 per row, which measured no slower than
  // the padded copy's kernel and saves the copy: 31.4 -> 20.8 ms for SeedNet b2 at batch 128).
  // Otherwise B is copied into rows of 8 tx columns, and A is read in place, realigned per row,
  // when W < 8, else through a zero-padded copy (rows of 2 tx + 1 vec4s). For W < 8 the padded
  // copy of A is over twice the plane (7x7 -> 9 x 12) and reading in place won: SeedNet's 7x7
  // layers at batch 128 went 10.8 -> 9.2 ms (b7), 10.7 -> 9.4 (b8), 4.6 -> 3.1 (c9); for 14x14
  // the realigning kernel was slower than the copy it saves (b4 21.4 -> 25.0 ms, b5 39.1 -> 41.4).
  const direct = d.w % 4 === 0;
  const inplace = !direct && d.w < 8;
  // Reading in place means reading whole vec4s to the end of the buffer (a pooled one: sizeClass).
  if ((direct || inplace) && (a.buffer.size % 16 !== 0 || b.buffer.size % 16 !== 0)) {
    throw new Error(`conv2d weight gradient: buffers of ${a.buffer.size} and ${b.buffer.size} bytes are not whole vec4s`);
  }
  const ap = direct || inplace ? null : padded(a, d.n * cA, d.h, d.w, 1, hp, 4 * wv);
  const bRows = direct ? null : padded(b, d.n * cB, d.h, d.w, 0, d.h, 8 * tx);
  const [rc, chunks] = chunking(d.n * tx);
  // Blocks of B channels of equal size (16 go as 8 + 8, 32 as 4 x 8, 10 as one block).
  const sb = Math.ceil(cB / Math.ceil(cB / W3_SHARED));
  const part = engine.empty([chunks * d.co * d.ci * 9], 'f32', 'conv2d weight partials');
  engine.dispatch(K_SG_W3, {
    constants: { SG: sg, SB: sb, WDIRECT: direct ? 1 : 0, AINPLACE: inplace ? 1 : 0 },
    bindings: [ap ?? a, bRows ?? b, part, sgParams(engine, { n: d.n, ci: cA, co: cB, h: d.h, w: d.w, tx, wv, hp, rc, dwv: direct ? d.w / 4 : 2 * tx })],
    workgroups: [Math.ceil(cA / sg), Math.ceil(cB / sb), chunks],
    op: 'conv2d.weight3x3',
  });
  ap?.dispose();
  bRows?.dispose();
  return sumPartials(part, d, chunks, swap);
}

/**
 * 3x3 weight gradient of one input channel on rows of W % 4 == 0, W <= 4 min(SG, 8) (SeedNet: b1
 * of 28x28x1 inputs; conv2d_sg.wgsl `weight3x3_rows`): lanes are output channels, whole rows, each
 * value of dy loaded once. Chunks of consecutive images, summed in order by sumPartials.
 */
function weightSg3Rows(x: Tensor, dy: Tensor, d: Conv2dDims, sg: number): Tensor {
  const engine = x.engine;
  const [rc, chunks] = chunking(d.n);
  const part = engine.empty([chunks * d.co * 9], 'f32', 'conv2d weight partials');
  engine.dispatch(K_SG_W3_ROWS, {
    constants: { SG: sg, XW4: d.w / 4 },
    bindings: [x, dy, part, sgParams(engine, { n: d.n, ci: 1, co: d.co, h: d.h, w: d.w, rc })],
    workgroups: [Math.ceil(d.co / sg), 1, chunks],
    op: 'conv2d.weight3x3',
  });
  return sumPartials(part, d, chunks);
}

function weightSg1(x: Tensor, dy: Tensor, d: Conv2dDims): Tensor {
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
  return sumPartials(part, d, chunks);
}

function weightNaive(x: Tensor, dy: Tensor, d: Conv2dDims): Tensor {
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
  return sumPartials(part, d, chunks);
}
