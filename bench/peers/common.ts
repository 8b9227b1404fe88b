// What every peer is asked to time and reports, and how its wall-clock figures are taken.
import type { NormKind } from '../../src/model/seednet.js';

/** The SeedNet 3x3 layers compared by default, as in bench/conv.ts: name, C_in, C_out, size. */
export const PEER_CONV_LAYERS = [
  { name: 'b2', ci: 16, co: 16, hw: 32 },
  { name: 'b5', ci: 32, co: 32, hw: 16 },
] as const;

export interface PeerOptions {
  batch: number;
  reps: number;
  /** Norms whose training step is timed (batch norm is the one the issue asks for). */
  stepNorms: NormKind[];
  stepInputs: { channels: number; size: number }[];
  /** Timed training steps, when fewer than `reps` (a step can take seconds). */
  stepReps?: number;
}

/** One timed operation of a peer, named like normlab's own bench row it is compared with. */
export interface PeerTiming {
  what: string;
  medianMs: number;
  minMs: number;
  reps: number;
}

/** A peer's figures, or why it could not run (then `rows` is empty). */
export interface PeerResult {
  peer: string;
  version: string | null;
  missing: string | null;
  rows: PeerTiming[];
  /** How the peer was run (layout, threads, sync), printed under the table. */
  notes: string[];
}

export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median and minimum wall-clock milliseconds of `fn` over `reps` calls after `warmup` untimed ones. */
export async function timeWallClock(what: string, fn: () => Promise<void>, reps: number, warmup: number): Promise<PeerTiming> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return { what, medianMs: median(times), minMs: Math.min(...times), reps };
}

export function missingPeer(peer: string, why: string): PeerResult {
  return { peer, version: null, missing: why, rows: [], notes: [] };
}
