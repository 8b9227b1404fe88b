// Float64 reference for conv2d (stride 1, no bias, zero padding `pad` on all four sides, any
// KH x KW), NCHW activations and OIHW weights: the forward pass and both vector-Jacobian products.
// Plain loops over explicit indices, written to be checked by eye; signed row/column arithmetic.
//
//   y[n][co][oy][ox]  = sum_{ci,kh,kw} x[n][ci][oy+kh-pad][ox+kw-pad] * w[co][ci][kh][kw]
//   dx[n][ci][iy][ix] = sum_{co,kh,kw} dy[n][co][iy+pad-kh][ix+pad-kw] * w[co][ci][kh][kw]
//   dw[co][ci][kh][kw] = sum_{n,oy,ox} dy[n][co][oy][ox] * x[n][ci][oy+kh-pad][ox+kw-pad]
// (terms with an index outside its tensor are zero). dx and dw are d<r, y>/dx and d<r, y>/dw for
// r = dy: y is linear in x and in w, and each product x*w appears in y with coefficient 1.

import type { Conv2dDims } from '../engine/ops/conv2d-select.js';

/** Input [n, ci, h, w], weight [co, ci, kh, kw], padding pad: the engine's Conv2dDims. */
export type ConvShape = Conv2dDims;

export function convOutputSize(s: ConvShape): { oh: number; ow: number } {
  return { oh: s.h + 2 * s.pad - s.kh + 1, ow: s.w + 2 * s.pad - s.kw + 1 };
}

export function conv2dForwardRef(x: ArrayLike<number>, wt: ArrayLike<number>, s: ConvShape): Float64Array {
  const { oh, ow } = convOutputSize(s);
  const y = new Float64Array(s.n * s.co * oh * ow);
  for (let n = 0; n < s.n; n++) {
    for (let co = 0; co < s.co; co++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0;
          for (let ci = 0; ci < s.ci; ci++) {
            for (let kh = 0; kh < s.kh; kh++) {
              const iy = oy + kh - s.pad;
              if (iy < 0 || iy >= s.h) continue;
              for (let kw = 0; kw < s.kw; kw++) {
                const ix = ox + kw - s.pad;
                if (ix < 0 || ix >= s.w) continue;
                acc += x[((n * s.ci + ci) * s.h + iy) * s.w + ix]! * wt[((co * s.ci + ci) * s.kh + kh) * s.kw + kw]!;
              }
            }
          }
          y[((n * s.co + co) * oh + oy) * ow + ox] = acc;
        }
      }
    }
  }
  return y;
}

export function conv2dInputGradRef(dy: ArrayLike<number>, wt: ArrayLike<number>, s: ConvShape): Float64Array {
  const { oh, ow } = convOutputSize(s);
  const dx = new Float64Array(s.n * s.ci * s.h * s.w);
  for (let n = 0; n < s.n; n++) {
    for (let ci = 0; ci < s.ci; ci++) {
      for (let iy = 0; iy < s.h; iy++) {
        for (let ix = 0; ix < s.w; ix++) {
          let acc = 0;
          for (let co = 0; co < s.co; co++) {
            for (let kh = 0; kh < s.kh; kh++) {
              const oy = iy + s.pad - kh;
              if (oy < 0 || oy >= oh) continue;
              for (let kw = 0; kw < s.kw; kw++) {
                const ox = ix + s.pad - kw;
                if (ox < 0 || ox >= ow) continue;
                acc += dy[((n * s.co + co) * oh + oy) * ow + ox]! * wt[((co * s.ci + ci) * s.kh + kh) * s.kw + kw]!;
              }
            }
          }
          dx[((n * s.ci + ci) * s.h + iy) * s.w + ix] = acc;
        }
      }
    }
  }
  return dx;
}

export function conv2dWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, s: ConvShape): Float64Array {
  const { oh, ow } = convOutputSize(s);
  const dw = new Float64Array(s.co * s.ci * s.kh * s.kw);
  for (let co = 0; co < s.co; co++) {
    for (let ci = 0; ci < s.ci; ci++) {
      for (let kh = 0; kh < s.kh; kh++) {
        for (let kw = 0; kw < s.kw; kw++) {
          let acc = 0;
          for (let n = 0; n < s.n; n++) {
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy + kh - s.pad;
              if (iy < 0 || iy >= s.h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox + kw - s.pad;
                if (ix < 0 || ix >= s.w) continue;
                acc += dy[((n * s.co + co) * oh + oy) * ow + ox]! * x[((n * s.ci + ci) * s.h + iy) * s.w + ix]!;
              }
            }
          }
          dw[((co * s.ci + ci) * s.kh + kh) * s.kw + kw] = acc;
        }
      }
    }
  }
  return dw;
}
