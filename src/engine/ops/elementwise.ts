// add (the skip connection) and ReLU. Kernels: src/shaders/elementwise.wgsl.
import wgsl from '../../shaders/elementwise.wgsl';
import type { Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
const kernel = (entryPoint: string): Kernel => ({ name: `elementwise.${entryPoint}`, code: wgsl, entryPoint });
const ADD_FORWARD = kernel('add_forward');
const RELU_FORWARD = kernel('relu_forward');
const RELU_BACKWARD = kernel('relu_backward');

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] differ`);
  }
}

/** y = a + b. Backward: both inputs receive dy unchanged. */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape('add', a, b);
  const y = a.engine.empty(a.shape, 'f32', 'add');
  a.engine.dispatch(ADD_FORWARD, {
    constants: { WG, N: y.size },
    bindings: [a, b, y],
    workgroups: workgroups1d(y.size, WG),
  });
  // d(a+b)/da = d(a+b)/db = 1: the gradient passes through to both (autograd copies it for the second).
  return record(y, 'add', [a, b], (dy) => [dy, dy]);
}

/** y = max(x, 0). Backward: dx = dy where x > 0, else 0. */
export function relu(x: Tensor): Tensor {
  const y = x.engine.empty(x.shape, 'f32', 'relu');
  x.engine.dispatch(RELU_FORWARD, {
    constants: { WG, N: y.size },
    bindings: [x, null, y],
    workgroups: workgroups1d(y.size, WG),
  });
  return record(y, 'relu', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'relu grad');
    x.engine.dispatch(RELU_BACKWARD, {
      constants: { WG, N: dx.size },
      bindings: [x, dy, dx],
      workgroups: workgroups1d(dx.size, WG),
    });
    return [dx];
  });
}
