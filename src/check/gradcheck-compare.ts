// The gradient check's criteria: the runner's own tolerances, check 1 (the float64 reference
// backward against float64 central differences), and the comparisons every check reports through
// (largest absolute and relative error, the worst failing element). The runner is gradcheck.ts.
import type { GradCase } from './types.js';

// ---- tolerances of the checks the runner owns ------------------------------------------------
//
// Reference check, float64. Step h = REF_STEP * max(1, |x|). Central differences err by
// h^2/6 * |L'''| (about 2e-13 for the O(1) third derivatives of these ops) plus rounding: if each
// output is computed to within REF_ROUNDING_ULPS units of roundoff (room for reductions over a few
// hundred terms and exp/log), the difference quotient errs by at most
// 2 * REF_ROUNDING_ULPS * 2^-53 * S / (2h), S = sum over the outputs the step changed of |r_i| * |f_i|.
// That bound is the per-element absolute tolerance (plus REF_ATOL for the truncation term);
// REF_RTOL = 1e-6 is far above the truncation error yet five orders below any real mistake in
// a backward formula, which shows up as O(1) relative error.
const REF_STEP = 1e-6;
const REF_RTOL = 1e-6;
const REF_ATOL = 1e-9;
const REF_ROUNDING_ULPS = 256;
const F64_UNIT_ROUNDOFF = 2 ** -53;

/** See relativeFloor. */
const REL_ERR_FLOOR = 0.1;

// GPU vs float64 reference. Float32 roundoff is 6e-8 per operation; a kernel that sums K terms
// errs by about sqrt(K) * 6e-8 of the terms' magnitude (K * 6e-8 at worst), so for the K <= a few
// hundred of the check cases 1e-4 relative leaves an order of magnitude of room, and covers WGSL's
// exp/log/inverseSqrt, which may be a few ULP off. Relative errors use relativeFloor, so an element
// that is small by cancellation is held to 1e-4 of the tensor's scale rather than of itself.
const VS_REF_RTOL = 1e-4;

/** The runner's own tolerances, for legends and reports. */
export const RUNNER_TOLERANCES = {
  referenceStep: REF_STEP,
  referenceRtol: REF_RTOL,
  referenceAtol: REF_ATOL,
  vsReferenceRtol: VS_REF_RTOL,
  relativeErrorFloor: REL_ERR_FLOOR,
} as const;

export interface Comparison {
  maxAbsErr: number;
  maxRelErr: number;
  pass: boolean;
  /** Describes the worst failing element, when one fails. */
  failure?: string;
}

// ---- 1. the float64 reference ------------------------------------------------------------------

export function referenceCheck(
  c: GradCase,
  values: Float64Array[],
  projection: Float64Array,
  k: number,
  analytic: Float64Array | null,
  elements: number[],
): Comparison {
  const name = c.inputs[k]!.name;
  if (!analytic) return { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `the reference backward returns no gradient for '${name}'` };
  if (analytic.length !== values[k]!.length) {
    return { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `the reference gradient of '${name}' has ${analytic.length} elements, not ${values[k]!.length}` };
  }
  const x = values.map((v) => v.slice());
  const tracker = new WorstElement('float64 reference backward vs central differences', name);
  for (const j of elements) {
    const original = x[k]![j]!;
    const h = REF_STEP * Math.max(1, Math.abs(original));
    const up = original + h;
    const down = original - h;
    x[k]![j] = up;
    const fUp = Float64Array.from(c.reference.forward(x));
    x[k]![j] = down;
    const fDown = c.reference.forward(x);
    x[k]![j] = original;
    let dot = 0;
    let scale = 0;
    for (let i = 0; i < fUp.length; i++) {
      const a = fUp[i]!;
      const b = fDown[i]!;
      if (a === b) continue;
      dot += projection[i]! * (a - b);
      scale += (Math.abs(projection[i]!) * (Math.abs(a) + Math.abs(b))) / 2;
    }
    const step = up - down;
    const numeric = dot / step;
    const atol = REF_ATOL + (2 * REF_ROUNDING_ULPS * F64_UNIT_ROUNDOFF * scale) / step;
    tracker.add(j, analytic[j]!, numeric, atol, REF_RTOL);
  }
  return tracker.result();
}

// ---- comparisons ------------------------------------------------------------------------------

/** The larger of two errors, where NaN (a non-finite value somewhere) beats everything. */
function worse(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

/**
 * Collects elements for |analytic - numeric| <= atol + rtol * |numeric|; at the end reports the
 * largest errors and the worst failing element.
 */
export class WorstElement {
  private readonly elements: { index: number; analytic: number; numeric: number; tol: number }[] = [];

  constructor(
    private readonly check: string,
    private readonly input: string,
  ) {}

  add(index: number, analytic: number, numeric: number, atol: number, rtol: number): void {
    this.elements.push({ index, analytic, numeric, tol: atol + rtol * Math.abs(numeric) });
  }

  result(): Comparison {
    const floor = relativeFloor(this.elements.map((e) => e.numeric));
    let maxAbs = 0;
    let maxRel = 0;
    let worstExcess = -Infinity;
    let worst: string | null = null;
    for (const { index, analytic, numeric, tol } of this.elements) {
      const abs = Math.abs(analytic - numeric);
      maxAbs = worse(maxAbs, abs);
      maxRel = worse(maxRel, abs / Math.max(Math.abs(numeric), floor));
      if (abs <= tol) continue; // NaN falls through: it fails
      const excess = Number.isNaN(abs) ? Infinity : abs / Math.max(tol, Number.MIN_VALUE);
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = `${this.check}: '${this.input}'[${index}] analytic ${fmt(analytic)}, numeric ${fmt(numeric)}, |diff| ${fmt(abs)} > tolerance ${fmt(tol)}`;
      }
    }
    if (worst === null) return { maxAbsErr: maxAbs, maxRelErr: maxRel, pass: true };
    return { maxAbsErr: maxAbs, maxRelErr: maxRel, pass: false, failure: worst };
  }
}

/**
 * Every relative error in a row is taken against max(|v|, REL_ERR_FLOOR * max|v| over the
 * tensor): an element much smaller than the tensor's scale is the result of cancellation, and its
 * error is measured on the scale of the terms that cancelled, so one near-zero element cannot make
 * the figure explode.
 */
function relativeFloor(values: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = worse(largest, Math.abs(values[i]!));
  return Math.max(REL_ERR_FLOOR * largest, Number.MIN_VALUE);
}

/** GPU float32 values vs float64 reference values, by the VS_REF_* criterion. */
export function compareWithReference(gpu: Float64Array, ref: Float64Array, what: string): Comparison {
  if (gpu.length !== ref.length) return { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `${what}: ${gpu.length} elements vs ${ref.length}` };
  const floor = relativeFloor(ref);
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let worstRel = -Infinity;
  for (let i = 0; i < ref.length; i++) {
    const abs = Math.abs(gpu[i]! - ref[i]!);
    const rel = abs / Math.max(Math.abs(ref[i]!), floor);
    maxAbs = worse(maxAbs, abs);
    maxRel = worse(maxRel, rel);
    const rank = Number.isNaN(rel) ? Infinity : rel;
    if (rank > worstRel) {
      worstRel = rank;
      worst = i;
    }
  }
  if (maxRel <= VS_REF_RTOL) return { maxAbsErr: maxAbs, maxRelErr: maxRel, pass: true };
  return {
    maxAbsErr: maxAbs,
    maxRelErr: maxRel,
    pass: false,
    failure: `${what}: element ${worst}: GPU ${fmt(gpu[worst]!)}, reference ${fmt(ref[worst]!)}, relative error ${fmt(worstRel)} > ${VS_REF_RTOL}`,
  };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}
