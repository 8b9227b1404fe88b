// Max-pool 2x2 stride 2 and global average pool (NCHW). Kernels: src/shaders/pool.wgsl.
import wgsl from '../../shaders/pool.wgsl';
import type { Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
/** Must match GAP_WG in pool.wgsl: gap_forward runs one workgroup of this size per plane. */
const GAP_WG = 64;
const kernel = (entryPoint: string): Kernel => ({ name: `pool.${entryPoint}`, code: wgsl, entryPoint });
const MAXPOOL_FORWARD = kernel('maxpool_forward');
const MAXPOOL_BACKWARD = kernel('maxpool_backward');
const GAP_FORWARD = kernel('gap_forward');
const GAP_BACKWARD = kernel('gap_backward');

function nchw(op: string, x: Tensor): [number, number, number, number] {
  if (x.shape.length !== 4) throw new Error(`${op}: expected an NCHW tensor, got [${x.shape}]`);
  if (x.dtype !== 'f32') throw new Error(`${op}: expected f32, got ${x.dtype}`);
  return x.shape as unknown as [number, number, number, number];
}

/**
 * Max-pool with a 2x2 window and stride 2: [N,C,H,W] -> [N,C,floor(H/2),floor(W/2)], PyTorch's
 * MaxPool2d(2). Backward sends dy to the window's max; of equal values, the first in row-major order.
 *
 * The backward recomputes the argmax from x rather than saving a u32 index tensor in the forward:
 * every activation of a step stays alive until its tidy() ends anyway, so x costs nothing extra,
 * while an index tensor would add a quarter of x's bytes and a write to every forward (evaluation
 * included). Both passes call the same WGSL function on the same values, so they cannot disagree
 * on ties. The price is reading four floats instead of one index per window in the backward.
 */
export function maxPool2d(x: Tensor): Tensor {
  const [n, c, h, w] = nchw('maxPool2d', x);
  if (h < 2 || w < 2) throw new Error(`maxPool2d: a 2x2 window does not fit in ${h}x${w}`);
  const constants = { WG, NC: n * c, H: h, W: w };
  const y = x.engine.empty([n, c, Math.floor(h / 2), Math.floor(w / 2)], 'f32', 'maxPool2d');
  x.engine.dispatch(MAXPOOL_FORWARD, { constants, bindings: [x, null, y], workgroups: workgroups1d(y.size, WG) });
  return record(y, 'maxPool2d', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'maxPool2d grad');
    x.engine.dispatch(MAXPOOL_BACKWARD, { constants, bindings: [x, dy, dx], workgroups: workgroups1d(dx.size, WG) });
    return [dx];
  });
}

/** Mean over each H x W plane: [N,C,H,W] -> [N,C,1,1]. Backward: dx = dy / (H*W) over the plane. */
export function globalAvgPool(x: Tensor): Tensor {
  const [n, c, h, w] = nchw('globalAvgPool', x);
  const constants = { WG, NC: n * c, H: h, W: w };
  const y = x.engine.empty([n, c, 1, 1], 'f32', 'globalAvgPool');
  // One workgroup per plane; workgroups1d spreads the N*C workgroups over x and y.
  x.engine.dispatch(GAP_FORWARD, {
    constants: { NC: n * c, H: h, W: w },
    bindings: [x, null, y],
    workgroups: workgroups1d(n * c * GAP_WG, GAP_WG),
  });
  return record(y, 'globalAvgPool', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'globalAvgPool grad');
    x.engine.dispatch(GAP_BACKWARD, { constants, bindings: [null, dy, dx], workgroups: workgroups1d(dx.size, WG) });
    return [dx];
  });
}
