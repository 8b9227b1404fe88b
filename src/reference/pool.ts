// Float64 references for max-pool 2x2 stride 2 and global average pool (NCHW), forward and the
// vector-Jacobian product. Plain loops over explicit indices, written to be checked by eye.

export type Shape4 = readonly [number, number, number, number];

export function maxPool2dForward(x: ArrayLike<number>, shape: Shape4): Float64Array {
  const [n, c, h, w] = shape;
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const y = new Float64Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const [r, s] = windowArgmax(x, p, h, w, i, j);
        y[(p * oh + i) * ow + j] = x[(p * h + r) * w + s]!;
      }
    }
  }
  return y;
}

/** dx: each window's dy goes to its max element (the first in row-major order among equals). */
export function maxPool2dBackward(x: ArrayLike<number>, shape: Shape4, dy: ArrayLike<number>): Float64Array {
  const [n, c, h, w] = shape;
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const dx = new Float64Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const [r, s] = windowArgmax(x, p, h, w, i, j);
        dx[(p * h + r) * w + s] += dy[(p * oh + i) * ow + j]!;
      }
    }
  }
  return dx;
}

/** Row and column of the max of window (i, j) in plane p; strict '>' keeps the first of ties. */
function windowArgmax(x: ArrayLike<number>, p: number, h: number, w: number, i: number, j: number): [number, number] {
  let best = -Infinity;
  let at: [number, number] = [2 * i, 2 * j];
  for (let r = 2 * i; r < 2 * i + 2; r++) {
    for (let s = 2 * j; s < 2 * j + 2; s++) {
      const v = x[(p * h + r) * w + s]!;
      if (v > best) {
        best = v;
        at = [r, s];
      }
    }
  }
  return at;
}

export function globalAvgPoolForward(x: ArrayLike<number>, shape: Shape4): Float64Array {
  const [n, c, h, w] = shape;
  const y = new Float64Array(n * c);
  for (let p = 0; p < n * c; p++) {
    let s = 0;
    for (let k = 0; k < h * w; k++) s += x[p * h * w + k]!;
    y[p] = s / (h * w);
  }
  return y;
}

export function globalAvgPoolBackward(shape: Shape4, dy: ArrayLike<number>): Float64Array {
  const [n, c, h, w] = shape;
  const dx = new Float64Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let k = 0; k < h * w; k++) dx[p * h * w + k] = dy[p]! / (h * w);
  }
  return dx;
}
