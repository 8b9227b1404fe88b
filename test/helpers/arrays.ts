// Small numeric helpers the op tests share: seeded normal inputs, element counts and the largest
// elementwise difference.
import { expect } from 'vitest';
import { hashRng } from '../../src/reference/norm.js';

/** n values shift + scale * N(0, 1), from the integer hash (the same on every machine). */
export const randn = (seed: number, n: number, scale = 1, shift = 0): Float32Array => {
  const rng = hashRng(seed);
  return Float32Array.from({ length: n }, () => shift + scale * rng.normal());
};

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** max |a[i] - b[i]|, after checking the lengths agree. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** What a norm test reads back from one forward and backward. */
export interface NormOutputs {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
  runningMean?: Float32Array;
  runningVar?: Float32Array;
}
