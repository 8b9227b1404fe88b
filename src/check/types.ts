// What a gradient check needs to know about one op. Each op family lists its cases in
// src/check/cases/<family>.ts; src/check/cases/index.ts gathers them for `normlab gradcheck` and the tests.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';

/** A deterministic source of numbers (see src/check/rng.ts). */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal. */
  normal(): number;
  /** Integer in [0, n). */
  int(n: number): number;
}

export interface CaseInput {
  name: string;
  shape: number[];
  /** Values for this input; default: standard normal. Use it to keep inputs away from kinks. */
  init?: (rng: Rng, size: number) => number[];
  dtype?: 'f32' | 'u32';
  /** Inputs that are not differentiated (labels, running stats) set this to false. Default true. */
  differentiable?: boolean;
}

export interface GradCase {
  /** Row name in `normlab gradcheck`, e.g. 'relu', 'conv3x3', 'batchnorm (train)'. */
  op: string;
  inputs: CaseInput[];
  /** Names of the inputs to check, one gradcheck row each. */
  wrt: string[];
  /** The GPU op, recorded through the autograd. Returns the output whose gradient is projected. */
  forward: (engine: Engine, inputs: Tensor[]) => Tensor;
  /** Float64 reference: forward, and the vector-Jacobian product for the given output gradient. */
  reference: {
    forward: (inputs: Float64Array[]) => Float64Array;
    backward: (inputs: Float64Array[], gradOut: Float64Array) => (Float64Array | null)[];
  };
  /**
   * Central-difference step and tolerance for the float32 GPU check, with the reason in `why`.
   * The check passes when |analytic - numeric| <= atol + rtol * |numeric| for every element.
   */
  eps: number;
  atol: number;
  rtol: number;
  why: string;
  /** Check at most this many elements per input (a seeded random subset); default all. */
  maxElements?: number;
}
