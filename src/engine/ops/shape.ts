// reshape: same data, new shape. It copies (a buffer-to-buffer copy, no kernel) rather than
// aliasing, so every tensor owns its buffer and dispose() stays simple; SeedNet reshapes only its
// N x 10 head, where the copy is negligible.
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== x.size) throw new Error(`reshape: cannot view [${x.shape}] (${x.size} elements) as [${shape}]`);
  const y = x.engine.empty(shape, x.dtype, 'reshape');
  x.engine.copy(x, y, x.bytes);
  return record(y, 'reshape', [x], (dy) => {
    const dx = x.engine.empty(x.shape, 'f32', 'reshape grad');
    x.engine.copy(dy, dx, dy.bytes);
    return [dx];
  });
}
