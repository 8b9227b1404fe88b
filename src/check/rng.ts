// A seeded, deterministic random source for gradient checks and tests: xoshiro128** (32-bit words,
// so it runs on plain JS numbers with Math.imul, no BigInt), seeded through splitmix32 because
// xoshiro must never start from an all-zero state and small seeds (0, 1, 2) would otherwise give
// nearly equal first draws. Not cryptographic; only reproducible.
import type { Rng } from './types.js';

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32: a counter through a 32-bit avalanche mix; each call returns the next seed word. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Xoshiro128 implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box-Muller yields normals in pairs; the second waits here for the next call. */
  private spareNormal: number | null = null;

  /** Any finite number is a valid seed; seeds differing anywhere in their low 53 bits give different streams. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`rng: seed ${seed} is not a finite number`);
    const whole = Math.trunc(Math.abs(seed));
    const high = Math.floor(whole / 2 ** 32);
    const words = splitmix32((whole >>> 0) ^ Math.imul(high, 0x27d4eb2d) ^ (seed < 0 ? 0x5bd1e995 : 0));
    this.s0 = words();
    this.s1 = words();
    this.s2 = words();
    this.s3 = words();
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits, so every float64 multiple of 2^-53 is reachable. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /** Standard normal by Box-Muller. u1 is taken in (0, 1] so log(u1) is finite. */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = 1 - this.next();
    const u2 = this.next();
    const radius = Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** Integer in [0, n). The bias of flooring a 53-bit uniform is below 2^-21 for any n < 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new Error(`rng.int: n must be an integer in [1, 2^32], got ${n}`);
    return Math.floor(this.next() * n);
  }
}

export function createRng(seed: number): Xoshiro128 {
  return new Xoshiro128(seed);
}

/**
 * A seed for one named stream derived from a base seed (FNV-1a over the name, then mixed with the
 * seed), so a gradient case draws the same inputs whether it runs alone (--only) or among others.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  const mix = splitmix32((h ^ (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x85ebca6b)) >>> 0);
  return mix();
}

/**
 * Standard normals shifted away from 0 by `margin` (z -> z + sign(z) * margin): inputs of a kink at
 * 0, such as ReLU's, that a finite-difference step smaller than margin never crosses. Shifting
 * rather than clamping keeps the values distinct, which max-pool cases need to avoid ties.
 */
export function normalAwayFromZero(margin: number): (rng: Rng, size: number) => number[] {
  return (rng, size) =>
    Array.from({ length: size }, () => {
      const z = rng.normal();
      return z < 0 ? z - margin : z + margin;
    });
}
