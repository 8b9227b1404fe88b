// The gradient-check runner. For one GradCase it proves three things, one row per input it
// differentiates:
//   1. the float64 reference backward agrees with central differences of the float64 reference
//      forward (tight tolerance: this is what makes the reference trustworthy);
//   2. the GPU backward agrees with central differences of the GPU forward in float32 (the case's
//      eps/atol/rtol);
//   3. the GPU forward output and GPU gradient agree with the float64 reference.
// Everything goes through a random projection r of the output, L = sum(r * out), so an output of
// any shape reduces to one scalar whose gradient is the vector-Jacobian product backward(r).
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { noGrad } from '../engine/autograd.js';
import { GpuError } from '../engine/errors.js';
import type { CaseInput, GradCase, Rng } from './types.js';
import { createRng, deriveSeed } from './rng.js';
import { compareWithReference, referenceCheck, WorstElement, type Comparison } from './gradcheck-compare.js';
export { RUNNER_TOLERANCES } from './gradcheck-compare.js';

export interface GradRow {
  op: string;
  /** The input this row differentiates. */
  wrt: string;
  shape: number[];
  /** Elements of `wrt` that were perturbed (a seeded subset when the case sets maxElements). */
  checked: number;
  size: number;
  /** The case's seed (derived from the run's seed and the op name). */
  seed: number;

  // GPU analytic gradient vs central differences of the GPU forward (float32).
  maxAbsErr: number;
  /** max |analytic - numeric| / max(|numeric|, 0.1 * max|numeric|), see relativeFloor. */
  maxRelErr: number;
  eps: number;
  atol: number;
  rtol: number;
  fdPass: boolean;

  // float64 reference backward vs central differences of the float64 reference forward.
  refMaxAbsErr: number;
  /** Relative as maxRelErr is. */
  refMaxRelErr: number;
  refPass: boolean;

  // GPU vs float64 reference, on the same float32-rounded inputs; relative as maxRelErr is.
  fwdMaxAbsErr: number;
  fwdMaxRelErr: number;
  fwdPass: boolean;
  gradVsRefMaxAbsErr: number;
  gradVsRefMaxRelErr: number;
  gradVsRefPass: boolean;

  /** True only when every check above passed. */
  pass: boolean;
  /** One line per failed check, naming the worst element. */
  failures: string[];
  /** Set when the case itself threw (a bug in the case or the op); all checks then count as failed. */
  error?: string;
  /** The case's justification of eps and tolerances. */
  why: string;
  /** Wall time of the whole case (all its rows), in milliseconds. */
  ms: number;
}

/** The collection buffer of perturbed outputs is read in chunks of at most this many bytes. */
const COLLECT_BYTES = 16 << 20;
/**
 * Perturbed forwards recorded between submits. Each forward's temporaries return to the pool only
 * after a submit, so this bounds the pool's growth to this many forwards' worth. On lavapipe 1, 16
 * and 64 ran a 4000-forward check equally fast (~0.15 ms a forward, recording-bound); 16 divides
 * the per-submit cost on drivers where it is larger while keeping the growth small.
 */
const FORWARDS_PER_SUBMIT = 16;

export interface RunOptions {
  seed: number;
}

export interface RunAllOptions {
  /** Base seed; each case derives its own from it and its op name. Default 1. */
  seed?: number;
  /** Runs only the cases whose op name matches. */
  only?: RegExp;
  /** Called as each case's rows arrive (progress output). */
  onRows?: (rows: GradRow[]) => void;
}

/** Runs every case (optionally filtered), in order, on one engine. */
export async function runAll(engine: Engine, cases: readonly GradCase[], opts: RunAllOptions = {}): Promise<GradRow[]> {
  const seed = opts.seed ?? 1;
  const rows: GradRow[] = [];
  for (const c of cases) {
    if (opts.only && !opts.only.test(c.op)) continue;
    const caseRows = await runGradCase(engine, c, { seed: deriveSeed(seed, c.op) });
    opts.onRows?.(caseRows);
    rows.push(...caseRows);
  }
  return rows;
}

/**
 * Checks one case: one row per name in case.wrt. A case that throws gives failing rows carrying
 * the error; a WebGPU error is rethrown, because the engine is unusable after it.
 */
export async function runGradCase(engine: Engine, gradCase: GradCase, opts: RunOptions): Promise<GradRow[]> {
  const started = performance.now();
  try {
    const rows = await checkCase(engine, gradCase, opts.seed);
    const ms = performance.now() - started;
    for (const r of rows) r.ms = ms;
    return rows;
  } catch (e) {
    if (e instanceof GpuError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const ms = performance.now() - started;
    return gradCase.wrt.map((wrt) => errorRow(gradCase, wrt, opts.seed, message, ms));
  }
}

// ---- one case -------------------------------------------------------------------------------

async function checkCase(engine: Engine, gradCase: GradCase, seed: number): Promise<GradRow[]> {
  const wrtIndex = validateCase(gradCase);
  const rng = createRng(seed);

  // Inputs are rounded to float32 once, so the reference sees exactly what the GPU sees and any
  // difference between them is arithmetic, not input rounding.
  const values = gradCase.inputs.map((input) => drawInput(rng, input));
  const refOut = gradCase.reference.forward(values.map((v) => v.slice()));
  const projection = Float64Array.from({ length: refOut.length }, () => Math.fround(rng.normal()));
  const subsets = wrtIndex.map((k) => pickElements(rng, values[k]!.length, gradCase.maxElements));

  const refGrads = gradCase.reference.backward(values.map((v) => v.slice()), projection.slice());
  const refChecks = wrtIndex.map((k, w) => referenceCheck(gradCase, values, projection, k, refGrads[k] ?? null, subsets[w]!));

  const gpu = await gpuCheck(engine, gradCase, values, projection, wrtIndex, subsets);

  const fwd = compareWithReference(gpu.out, refOut, 'GPU forward vs float64 reference');
  return wrtIndex.map((k, w) => {
    const name = gradCase.wrt[w]!;
    const input = gradCase.inputs[k]!;
    const fd = gpu.finiteDifference[w]!;
    const ref = refChecks[w]!;
    const refGrad = refGrads[k];
    const gpuGrad = gpu.grads[w];
    const vsRef: Comparison = !gpuGrad
      ? { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `no gradient reached '${name}' on the GPU (backward returned null for it?)` }
      : !refGrad
        ? { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `the reference backward returns no gradient for '${name}'` }
        : compareWithReference(gpuGrad, refGrad, 'GPU gradient vs float64 reference');
    const failures = [fd, ref, fwd, vsRef].filter((c) => !c.pass).map((c) => c.failure ?? 'failed');
    return {
      op: gradCase.op,
      wrt: name,
      shape: [...input.shape],
      checked: subsets[w]!.length,
      size: values[k]!.length,
      seed,
      maxAbsErr: fd.maxAbsErr,
      maxRelErr: fd.maxRelErr,
      eps: gradCase.eps,
      atol: gradCase.atol,
      rtol: gradCase.rtol,
      fdPass: fd.pass,
      refMaxAbsErr: ref.maxAbsErr,
      refMaxRelErr: ref.maxRelErr,
      refPass: ref.pass,
      fwdMaxAbsErr: fwd.maxAbsErr,
      fwdMaxRelErr: fwd.maxRelErr,
      fwdPass: fwd.pass,
      gradVsRefMaxAbsErr: vsRef.maxAbsErr,
      gradVsRefMaxRelErr: vsRef.maxRelErr,
      gradVsRefPass: vsRef.pass,
      pass: failures.length === 0,
      failures,
      why: gradCase.why,
      ms: 0,
    };
  });
}

/** Checks the case's declarations and returns the input index of each wrt name. */
function validateCase(c: GradCase): number[] {
  if (!(c.eps > 0) || !(c.atol >= 0) || !(c.rtol >= 0)) throw new Error(`case '${c.op}': eps must be > 0 and atol, rtol >= 0`);
  if (c.maxElements !== undefined && !(Number.isInteger(c.maxElements) && c.maxElements >= 1)) {
    throw new Error(`case '${c.op}': maxElements must be a positive integer, got ${c.maxElements}`);
  }
  const names = c.inputs.map((i) => i.name);
  if (new Set(names).size !== names.length) throw new Error(`case '${c.op}': input names repeat (${names.join(', ')})`);
  for (const input of c.inputs) {
    if (input.dtype === 'u32' && !input.init) throw new Error(`case '${c.op}': u32 input '${input.name}' needs an init`);
  }
  return c.wrt.map((name) => {
    const k = names.indexOf(name);
    if (k === -1) throw new Error(`case '${c.op}': wrt '${name}' is not one of its inputs (${names.join(', ')})`);
    const input = c.inputs[k]!;
    if (input.differentiable === false || input.dtype === 'u32') throw new Error(`case '${c.op}': wrt '${name}' is not differentiable`);
    return k;
  });
}

function drawInput(rng: Rng, input: CaseInput): Float64Array {
  const size = input.shape.reduce((a, b) => a * b, 1);
  const raw = input.init ? input.init(rng, size) : Array.from({ length: size }, () => rng.normal());
  if (raw.length !== size) throw new Error(`input '${input.name}': init gave ${raw.length} values for shape [${input.shape}] (${size})`);
  if (input.dtype === 'u32') {
    for (const v of raw) if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) throw new Error(`input '${input.name}': ${v} is not a u32`);
    return Float64Array.from(raw);
  }
  return Float64Array.from(raw, Math.fround);
}

/** All indices, or a seeded subset of `max` of them in increasing order. */
function pickElements(rng: Rng, size: number, max: number | undefined): number[] {
  const all = Array.from({ length: size }, (_, i) => i);
  if (max === undefined || max >= size) return all;
  for (let i = 0; i < max; i++) {
    const j = i + rng.int(size - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, Math.max(0, max)).sort((a, b) => a - b);
}

// ---- 2. the GPU, float32 ----------------------------------------------------------------------

interface GpuResults {
  out: Float64Array;
  /** The GPU gradient of each wrt input, or null where none reached it. */
  grads: (Float64Array | null)[];
  finiteDifference: Comparison[];
}

/**
 * Runs fn inside engine.tidy and rethrows its error only after tidy has freed the scope: tidy frees
 * nothing when fn throws, so an exception would otherwise leak every tensor fn made.
 */
function tidyOrThrow<T>(engine: Engine, fn: () => T): T {
  let error: unknown = null;
  let failed = false;
  const result = engine.tidy(() => {
    try {
      return fn();
    } catch (e) {
      failed = true;
      error = e;
      return null;
    }
  });
  if (failed) throw error;
  return result as T;
}

async function gpuCheck(
  engine: Engine,
  c: GradCase,
  values: Float64Array[],
  projection: Float64Array,
  wrtIndex: number[],
  subsets: number[][],
): Promise<GpuResults> {
  const inputs = tidyOrThrow(engine, () =>
    c.inputs.map((input, k) => {
      const dtype = input.dtype ?? 'f32';
      const t = engine.tensor(values[k]!, input.shape, dtype, input.name);
      if (dtype === 'f32' && input.differentiable !== false) t.requireGrad();
      return t;
    }),
  );
  try {
    // Forward with the graph, backward(r), and the output and gradients packed into one buffer
    // so they come back in one read.
    let outSize = 0;
    const hasGrad: boolean[] = [];
    const wrtSizes = wrtIndex.map((k) => inputs[k]!.size);
    const packed = tidyOrThrow(engine, () => {
      const out = c.forward(engine, inputs);
      if (out.dtype !== 'f32') throw new Error(`case '${c.op}': forward returns a ${out.dtype} tensor; the check needs f32`);
      if (out.size !== projection.length) {
        throw new Error(`case '${c.op}': GPU output [${out.shape}] has ${out.size} elements, the reference ${projection.length}`);
      }
      outSize = out.size;
      if (wrtIndex.length > 0) {
        if (!out.requiresGrad) throw new Error(`case '${c.op}': the forward recorded no graph (its output does not require grad)`);
        out.backward(engine.tensor(Float32Array.from(projection), out.shape, 'f32', 'gradcheck projection'));
      }
      const pack = engine.empty([out.size + wrtSizes.reduce((a, b) => a + b, 0)], 'f32', 'gradcheck results');
      engine.copy(out, pack, out.bytes, 0, 0);
      let offset = out.bytes;
      for (const k of wrtIndex) {
        const grad = inputs[k]!.grad;
        hasGrad.push(grad !== null);
        if (grad) {
          if (grad.size !== inputs[k]!.size) throw new Error(`case '${c.op}': gradient of '${c.inputs[k]!.name}' has ${grad.size} elements, not ${inputs[k]!.size}`);
          engine.copy(grad, pack, grad.bytes, 0, offset);
        }
        offset += inputs[k]!.bytes;
      }
      return pack;
    });
    let data: Float32Array;
    try {
      data = new Float32Array(await engine.read(packed, 'gradcheck results'));
    } finally {
      packed.dispose();
    }
    const out = Float64Array.from(data.subarray(0, outSize));
    const grads: (Float64Array | null)[] = [];
    let offset = outSize;
    wrtIndex.forEach((k, w) => {
      grads.push(hasGrad[w] ? Float64Array.from(data.subarray(offset, offset + inputs[k]!.size)) : null);
      offset += inputs[k]!.size;
    });

    const numeric = await centralDifferences(engine, c, inputs, values, projection, wrtIndex, subsets, outSize);
    const finiteDifference = wrtIndex.map((k, w) => {
      const name = c.inputs[k]!.name;
      const grad = grads[w];
      if (!grad) return { maxAbsErr: NaN, maxRelErr: NaN, pass: false, failure: `no gradient reached '${name}' on the GPU (backward returned null for it?)` };
      const tracker = new WorstElement('GPU backward vs float32 central differences', name);
      subsets[w]!.forEach((j, e) => tracker.add(j, grad[j]!, numeric[w]![e]!, c.atol, c.rtol));
      return tracker.result();
    });
    return { out, grads, finiteDifference };
  } finally {
    for (const t of inputs) t.dispose();
  }
}

/**
 * Numeric gradients of L = sum(r * forward) on the GPU. Each perturbed value is copied into the
 * input buffer by a 4-byte buffer copy recorded in the same command stream as the forwards (the
 * values themselves are uploaded once per chunk), each perturbed output is copied into its slot of
 * one collection buffer, and the buffer is read once per chunk: no readback per perturbation.
 * Numbers returned are per wrt input, per checked element.
 */
async function centralDifferences(
  engine: Engine,
  c: GradCase,
  inputs: Tensor[],
  values: Float64Array[],
  projection: Float64Array,
  wrtIndex: number[],
  subsets: number[][],
  outSize: number,
): Promise<number[][]> {
  const perturbations: { w: number; k: number; j: number; up: number; down: number; original: number }[] = [];
  wrtIndex.forEach((k, w) => {
    for (const j of subsets[w]!) {
      const original = values[k]![j]!;
      // The steps actually taken are the float32 neighbours of x +- eps; dividing by their true
      // distance removes the representation error of the step from the quotient.
      const up = Math.fround(original + c.eps);
      const down = Math.fround(original - c.eps);
      if (up === down) throw new Error(`case '${c.op}': eps ${c.eps} is below float32 resolution at ${c.inputs[k]!.name}[${j}] = ${original}`);
      perturbations.push({ w, k, j, original, up, down });
    }
  });
  const numeric = subsets.map((s) => new Array<number>(s.length));
  const position = subsets.map(() => 0);
  const outBytes = outSize * 4;
  const perChunk = Math.max(1, Math.floor(COLLECT_BYTES / (2 * outBytes)));
  for (let start = 0; start < perturbations.length; start += perChunk) {
    const chunk = perturbations.slice(start, start + perChunk);
    const collected = tidyOrThrow(engine, () => {
      const steps = engine.tensor(
        chunk.flatMap((p) => [p.up, p.down, p.original]),
        [3 * chunk.length],
        'f32',
        'gradcheck steps',
      );
      const collect = engine.empty([2 * chunk.length * outSize], 'f32', 'gradcheck perturbed outputs');
      let forwards = 0;
      chunk.forEach((p, e) => {
        for (const side of [0, 1]) {
          engine.copy(steps, inputs[p.k]!, 4, (3 * e + side) * 4, p.j * 4);
          tidyOrThrow(engine, () => {
            const out = noGrad(() => c.forward(engine, inputs));
            engine.copy(out, collect, outBytes, 0, (2 * e + side) * outBytes);
          });
          if (++forwards % FORWARDS_PER_SUBMIT === 0) engine.flush();
        }
        engine.copy(steps, inputs[p.k]!, 4, (3 * e + 2) * 4, p.j * 4);
      });
      return collect;
    });
    let outputs: Float32Array;
    try {
      outputs = new Float32Array(await engine.read(collected, 'gradcheck perturbed outputs'));
    } finally {
      collected.dispose();
    }
    chunk.forEach((p, e) => {
      // Differences of float32 values are exact in float64, and outputs the step did not reach
      // cancel exactly: the quotient's only error is the GPU's rounding of the outputs it changed.
      const up = outputs.subarray(2 * e * outSize, (2 * e + 1) * outSize);
      const down = outputs.subarray((2 * e + 1) * outSize, (2 * e + 2) * outSize);
      let dot = 0;
      for (let i = 0; i < outSize; i++) if (up[i] !== down[i]) dot += projection[i]! * (up[i]! - down[i]!);
      numeric[p.w]![position[p.w]!++] = dot / (p.up - p.down);
    });
  }
  return numeric;
}

function errorRow(c: GradCase, wrt: string, seed: number, message: string, ms: number): GradRow {
  const input = c.inputs.find((i) => i.name === wrt);
  const shape = input ? [...input.shape] : [];
  return {
    op: c.op,
    wrt,
    shape,
    checked: 0,
    size: shape.reduce((a, b) => a * b, 1),
    seed,
    maxAbsErr: NaN,
    maxRelErr: NaN,
    eps: c.eps,
    atol: c.atol,
    rtol: c.rtol,
    fdPass: false,
    refMaxAbsErr: NaN,
    refMaxRelErr: NaN,
    refPass: false,
    fwdMaxAbsErr: NaN,
    fwdMaxRelErr: NaN,
    fwdPass: false,
    gradVsRefMaxAbsErr: NaN,
    gradVsRefMaxRelErr: NaN,
    gradVsRefPass: false,
    pass: false,
    failures: [`the case threw: ${message}`],
    error: message,
    why: c.why,
    ms,
  };
}
