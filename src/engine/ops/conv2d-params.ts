// What every convolution launcher shares: kernel objects, the small uniform buffers of sizes the
// kernels read, the zero-padded copy, the workgroup grid, and the weight gradient's chunking.
import type { Engine, Kernel, Constants } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { paramBuffer } from '../params.js';
import type { Tensor } from '../tensor.js';
import type { Conv2dDims } from './conv2d-select.js';
import prepOwnWgsl from '../../shaders/conv2d_prep.wgsl';
import tiledOwnWgsl from '../../shaders/conv2d_tiled.wgsl';
import sgCommonSource from '../../shaders/conv2d_sg_common.wgsl';
import shift4Wgsl from '../../shaders/shift4.wgsl';

export const WG = 64;
const MAX_GROUPS = 65535;

export const kernel = (code: string, entryPoint: string, name = entryPoint): Kernel => ({ name: `conv2d.${name}`, code, entryPoint });

// A helper the modules share, appended (WGSL allows functions after their use; `enable` must stay first).
export const withShift4 = (code: string): string => `${code}\n${shift4Wgsl}`;
export const prepWgsl = withShift4(prepOwnWgsl);
export const tiledWgsl = withShift4(`${prepOwnWgsl}\n${tiledOwnWgsl}`);
/** A subgroup family's module: the common part (`common`: a variant of it), the family, shift4. */
/** conv2d_sg_common.wgsl's text (a const, so the declarations need no .wgsl module). */
export const sgCommonWgsl: string = sgCommonSource;
export const sgModule = (family: string, common = sgCommonWgsl): string => withShift4(`${common}\n${family}`);
const K_PAD = kernel(prepWgsl, 'pad');

// The kernels read sizes from a small uniform buffer (`prm` in the WGSL): src/engine/params.ts.

/** conv2d_prep.wgsl's Params (conv2d_tiled.wgsl shares them), in field order. */
export interface HelperParams {
  n?: number;
  ci?: number;
  co?: number;
  h?: number;
  w?: number;
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

export function helperParams(engine: Engine, p: HelperParams): GPUBuffer {
  return paramBuffer(engine, 'conv2d', [
    p.n ?? 0, p.ci ?? 0, p.co ?? 0, p.h ?? 0, p.w ?? 0, p.hp ?? 0, p.wp ?? 0,
    p.segs ?? 0, p.k ?? 0, p.transpose ? 1 : 0, p.tot ?? 0, p.nch ?? 0, p.swap ? 1 : 0, p.count ?? 0, p.kk ?? 0,
  ]);
}

/** The subgroup kernels' Params (conv2d_sg_common.wgsl), in field order. */
export interface SgParams {
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
}

export function sgParams(engine: Engine, p: SgParams): GPUBuffer {
  const w4 = Math.max(1, Math.floor(p.w / 4));
  const hw4 = Math.floor((p.h * p.w) / 4);
  return paramBuffer(engine, 'conv2d_sg', [
    p.n, p.ci, p.co, p.h, p.w, p.tx ?? 0, p.ty ?? 0, p.wv ?? 0,
    p.hp ?? 0, w4, p.rc ?? 0, hw4, p.tiles1 ?? 0, p.seg1 ?? 0, p.dwv ?? 0,
  ]);
}

export function outSize(d: Conv2dDims): [number, number] {
  return [d.h + 2 * d.pad - d.kh + 1, d.w + 2 * d.pad - d.kw + 1];
}

export function naiveParams(engine: Engine, d: Conv2dDims, count: number, rc = 0): GPUBuffer {
  const [oh, ow] = outSize(d);
  return paramBuffer(engine, 'conv2d_naive', [d.n, d.ci, d.co, d.h, d.w, d.kh, d.kw, d.pad, oh, ow, rc, count]);
}

/** Splits `count` workgroups over x and y (each <= 65535); kernels use wid.x + wid.y * nwg.x. */
export function grid2(count: number): [number, number] {
  if (count <= MAX_GROUPS) return [Math.max(1, count), 1];
  const y = Math.ceil(count / MAX_GROUPS);
  return [Math.ceil(count / y), y];
}

export function checkGrid(groups: number, what: string): void {
  if (groups > MAX_GROUPS) throw new Error(`conv2d: ${what} exceed the kernel's grid`);
}

/**
 * Weight gradients are split into at most this many partial sums over the rows (strips, segments)
 * of the batch, summed afterwards in a fixed order. 32 gives lavapipe's 2 threads and a GPU's SMs
 * enough workgroups for SeedNet's layers (channel blocks x 32 chunks >= 64) while the partials stay
 * small (32 x CO x CI x 9 floats) and their sum cheap (0.2-2 ms at batch 128 on lavapipe).
 */
const MAX_CHUNKS = 32;

/** rows split into at most MAX_CHUNKS chunks of `per` rows: [per, chunks]. Depends on the shape only. */
export function chunking(rows: number): [number, number] {
  const per = Math.ceil(rows / Math.min(MAX_CHUNKS, rows));
  return [per, Math.ceil(rows / per)];
}

/**
 * Zero-pads planes [planes, H, W] into [planes, hp, wp] with pad rows/columns before the data:
 * xp[i][j] = x[i - pad][j - pad]. wp must be a multiple of 4.
 */
export function padded(t: Tensor, planes: number, h: number, w: number, pad: number, hp: number, wp: number): Tensor {
  const engine = t.engine;
  const xp = engine.empty([planes * hp * wp], 'f32', 'conv2d padded');
  // Sizes as override constants here (see the kernel: divisions by constants are much cheaper).
  const constants: Constants = { PLANES: planes, PH: h, PW: w, PAD: pad, HP: hp, WP4: wp / 4, WG };
  engine.dispatch(K_PAD, { constants, bindings: [t, xp], workgroups: workgroups1d(planes * hp, WG), op: 'conv2d.pad' });
  return xp;
}

/** Reading in place means reading whole vec4s to the end of the buffer (pooled ones are: sizeClass). */
export function wholeVec4s(...ts: Tensor[]): boolean {
  return ts.every((t) => t.buffer.size % 16 === 0);
}
