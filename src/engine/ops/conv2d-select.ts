// Which kernel runs each pass of a convolution, as one table read top to bottom: for a pass, the
// first row whose condition holds (and that is not switched off) runs it. Options refine a row
// (how the chosen kernel reads its operands); they are listed, switched and reported the same way.
// `normlab info --kernels` prints the rows every SeedNet layer gets on this adapter;
// `normlab bench --variants` measures, in the training step, what each row and option saves
// against the row below it (the figures in `gain`; bench/README.md has the run).
//
// The fast kernels need a "fast shape": stride 1 (always), a square kernel of 1 or 3 with the
// padding that keeps H x W. Every pass of any other shape runs the naive kernels.
import type { Engine } from '../engine.js';
import { UserError } from '../errors.js';

export type Conv2dPass = 'forward' | 'input' | 'weight';
/** Kernel families: a forced path picks the first row of its family (tests, benchmarks). */
export type Conv2dPath = 'subgroup' | 'tiled' | 'naive';

/** The dimensions of one convolution: input [n, ci, h, w], weight [co, ci, kh, kw]. */
export interface Conv2dDims {
  n: number;
  ci: number;
  h: number;
  w: number;
  co: number;
  kh: number;
  kw: number;
  pad: number;
}

/** What a row's condition sees: the convolution, its pass's channels, and the adapter. */
export interface ConvCase {
  d: Conv2dDims;
  /** Input and output channels of this pass seen as a convolution (swapped for the input gradient). */
  a: number;
  b: number;
  /** Subgroup lanes the fast kernels use (0: none). */
  sg: number;
  /** A CPU adapter (lavapipe, SwiftShader). */
  software: boolean;
  /** The adapter binds a 64 KB uniform buffer (WebGPU's default limit). */
  uniform64k: boolean;
}

export interface ConvRow {
  /** Names the row in `info --kernels`, the bench and NORMLAB_CONV_OFF. */
  id: string;
  passes: readonly Conv2dPass[];
  family: Conv2dPath;
  /** WGSL entry point, and the file of its family under src/shaders/. */
  kernel: string;
  when: string;
  test: (c: ConvCase) => boolean;
  /** SeedNet's layer passes it serves in the training step (3x32x32 and 1x28x28 inputs). */
  serves: string;
  /** Why it is here: the step time it saves against the next row, measured; or its role. */
  gain: string;
}

export interface ConvOption {
  id: string;
  /** The rows it refines. */
  rows: readonly string[];
  when: string;
  /** `earlier`: the options listed above it that hold. */
  test: (c: ConvCase, earlier: ReadonlySet<string>) => boolean;
  serves: string;
  gain: string;
}

const fastShape = (d: Conv2dDims): boolean => d.kh === d.kw && (d.kh === 1 || d.kh === 3) && d.pad === (d.kh - 1) / 2;
const sg3 = (c: ConvCase): boolean => c.sg > 0 && fastShape(c.d) && c.d.kh === 3;
const sg1 = (c: ConvCase): boolean => c.sg > 0 && fastShape(c.d) && c.d.kh === 1 && (c.d.h * c.d.w) % 4 === 0;

/** Packed 3x3 weights (a x b x 3 vec4s) that fit the 64 KB uniform buffer (4096 vec4s). */
export const UNIFORM_WEIGHT_VEC4S = 4096;

/** Fraction of the lanes of ceil(c / sg) subgroups that a channel count c keeps busy. */
export function laneUse(c: number, sg: number): number {
  return c / (Math.ceil(c / sg) * sg);
}

/** Where the options' gains come from: the training step at batch 128, every norm, off against on. */
const G = 'normlab bench --variants, lavapipe, 2026-12-03';
/** Options not shown to pay alone, whose removal together with the others slowed the step. */
const J = 'kept: removed together with the others not shown to pay (this and two of uniform-weights, weight-swap, weight-sum4; sg3x3-rows, sg-weight3x3-rows, tile-whole, weight-a-in-place), the step took 1.12x [1.07, 1.15] as long (median ratio over 60 interleaved rounds, bench/ab/run.ts; bench/README.md)';

export const CONV_ROWS: readonly ConvRow[] = [
  {
    id: 'naive-generic', passes: ['forward', 'input', 'weight'], family: 'naive', kernel: 'conv2d_naive.wgsl forward / input_grad / weight_grad',
    when: 'not a fast shape (kernel other than 1x1 or 3x3, or padding that changes H x W)', test: (c) => !fastShape(c.d),
    serves: 'none (no SeedNet layer)', gain: 'the reference: any shape, one output element per invocation',
  },
  {
    id: 'sg3x3-tile', passes: ['forward', 'input'], family: 'subgroup', kernel: 'conv2d_sg_tile.wgsl forward3x3 / forward3x3_v4',
    when: 'subgroups, 3x3', test: sg3,
    serves: 'b1 forward; b2, b4, b5, b7, b8, c9 forward and input gradient',
    gain: 'the main 3x3 path: lanes share the input tile by shuffle, 4.5 -> 18-36 GFLOP/s against the tiled kernel (bench/README.md, what decides speed)',
  },
  {
    id: 'sg1x1', passes: ['forward', 'input'], family: 'subgroup', kernel: 'conv2d_sg_1x1.wgsl forward1x1',
    when: 'subgroups, 1x1, H * W % 4 == 0', test: sg1,
    serves: 'b3, b6 forward and input gradient', gain: 'the main 1x1 path (the tiled kernel without subgroups is its fallback)',
  },
  {
    id: 'tiled', passes: ['forward', 'input'], family: 'tiled', kernel: 'conv2d_tiled.wgsl forward / forward_v4',
    when: 'a fast shape', test: (c) => fastShape(c.d),
    serves: 'c10 forward and input gradient (1x1 planes); every 3x3 and 1x1 layer on adapters without subgroups', gain: 'the fallback without subgroups',
  },
  {
    id: 'sg-weight3x3', passes: ['weight'], family: 'subgroup', kernel: 'conv2d_sg_weight3x3.wgsl weight3x3',
    when: 'subgroups, 3x3', test: sg3,
    serves: 'b1, b2, b4, b5, b7, b8, c9 weight gradient',
    gain: 'the main 3x3 weight gradient: the fallback is the naive kernel, one output per invocation',
  },
  {
    id: 'sg-weight1x1', passes: ['weight'], family: 'subgroup', kernel: 'conv2d_sg_1x1.wgsl weight1x1',
    when: 'subgroups, 1x1, H * W % 4 == 0', test: sg1,
    serves: 'b3, b6 weight gradient', gain: 'the main 1x1 weight gradient (naive without subgroups)',
  },
  {
    id: 'naive', passes: ['forward', 'input', 'weight'], family: 'naive', kernel: 'conv2d_naive.wgsl forward / input_grad / weight_grad',
    when: 'always (NORMLAB_DEBUG=naive starts here)', test: () => true,
    serves: 'c10 weight gradient (1x1 planes); every weight gradient on adapters without subgroups', gain: 'the reference, and the last resort',
  },
];

export const CONV_OPTIONS: readonly ConvOption[] = [
  {
    id: 'uniform-weights', rows: ['sg3x3-tile'],
    when: 'a CPU adapter, packed weights <= 64 KB', test: (c) => c.software && c.uniform64k && c.a * c.b * 3 <= UNIFORM_WEIGHT_VEC4S,
    serves: 'every 3x3 forward and input gradient on lavapipe and SwiftShader',
    gain: `saves 32 ms of a 988 ms step on 3x32x32 (median, 95% [-5, 85]), 1 of 882 on 1x28x28 ([-24, 130]) (${G}); ${J}`,
  },
  {
    id: 'tile-direct', rows: ['sg3x3-tile'],
    when: 'W % 4 == 0: x read in place, no padded copy', test: (c) => c.d.w % 4 === 0,
    serves: 'b1 forward, b2, b4, b5, b7, b8, c9 forward and input gradient (3x32x32); b1 forward, b2 (1x28x28)',
    gain: `saves 85 ms of a 1002 ms step on 3x32x32 (median, 95% [-20, 126]), 31 of 875 on 1x28x28 ([-23, 120]); kept: the nine variants measured, all off at once, cost 194 ms [110, 224] and 150 [87, 174], and the two direct reads are most of it (${G})`,
  },
  {
    id: 'weight-direct', rows: ['sg-weight3x3'],
    when: 'W % 4 == 0: x and dy read in place', test: (c) => c.d.w % 4 === 0,
    serves: 'b1, b2, b4, b5, b7, b8, c9 weight gradient (3x32x32); b2 (1x28x28)',
    gain: `saves 91 ms of a 990 ms step on 3x32x32 (median, 95% [47, 192]), 49 of 844 on 1x28x28 ([-10, 89]) (${G})`,
  },
  {
    id: 'weight-swap', rows: ['sg-weight3x3'],
    when: 'the output channels fill more lanes than the input channels: x and dy swapped', test: (c) => laneUse(c.d.co, c.sg) > laneUse(c.d.ci, c.sg),
    serves: 'b1 weight gradient (3 or 1 input channels -> 16)',
    gain: `saves 20 ms of a 968 ms step on 3x32x32 (median, 95% [-7, 57]) (${G}; on 1x28x28 the kernel it then served was removed); ${J}`,
  },
  {
    id: 'weight-sum4', rows: ['sg-weight3x3', 'sg-weight1x1', 'naive-generic', 'naive'],
    when: 'partials not swapped, CO CI KH KW % 4 == 0: summed a vec4 at a time', test: (c, earlier) => !earlier.has('weight-swap') && (c.d.co * c.d.ci * c.d.kh * c.d.kw) % 4 === 0,
    serves: "every weight gradient but b1's (swapped)",
    gain: `saves 18 ms of a 930 ms step on 3x32x32 (median, 95% [-48, 91]), 20 of 878 on 1x28x28 ([-13, 64]) (${G}); ${J}`,
  },
];

const ROW_IDS = new Set(CONV_ROWS.map((r) => r.id));
const OPTION_IDS = new Set(CONV_OPTIONS.map((o) => o.id));

/** The subgroup size the fast kernels use on this engine, or 0 if they cannot run. */
export function subgroupLanes(engine: Engine): number {
  // What the kernels assume and how it is made sure of: src/engine/subgroups.ts.
  return engine.subgroups.lanes;
}

// ---- switching rows off (the bench's variants, and anyone curious) -------------------------------

const switchedOff = new WeakMap<Engine, Set<string>>();

/** Parses a list of row and option ids (NORMLAB_CONV_OFF); an unknown id is an error listing the known. */
export function parseConvOff(spec: string): Set<string> {
  const ids = spec.split(',').map((s) => s.trim()).filter(Boolean);
  for (const id of ids) {
    if (!ROW_IDS.has(id) && !OPTION_IDS.has(id)) {
      throw new UserError(`NORMLAB_CONV_OFF: no convolution row or option '${id}' (rows: ${[...ROW_IDS].join(', ')}; options: ${[...OPTION_IDS].join(', ')})`);
    }
    if (id === 'naive') throw new UserError("NORMLAB_CONV_OFF: the row 'naive' is the last resort and cannot be switched off");
  }
  return new Set(ids);
}

/** The rows and options switched off on this engine (from NORMLAB_CONV_OFF until set). */
export function convOff(engine: Engine): ReadonlySet<string> {
  let s = switchedOff.get(engine);
  if (!s) switchedOff.set(engine, (s = parseConvOff(globalThis.process?.env?.NORMLAB_CONV_OFF ?? '')));
  return s;
}

export function setConvOff(engine: Engine, ids: Iterable<string>): void {
  switchedOff.set(engine, parseConvOff([...ids].join(',')));
}

// ---- selection -----------------------------------------------------------------------------------

export interface ConvChoice {
  row: ConvRow;
  /** Ids of the options that hold for this row (and are not switched off). */
  options: ReadonlySet<string>;
}

export function convCase(engine: Engine, d: Conv2dDims, pass: Conv2dPass): ConvCase {
  const t = pass === 'input';
  return {
    d, a: t ? d.co : d.ci, b: t ? d.ci : d.co, sg: subgroupLanes(engine), software: engine.adapterInfo.software,
    uniform64k: engine.device.limits.maxUniformBufferBindingSize >= 16 * UNIFORM_WEIGHT_VEC4S,
  };
}

/**
 * The row that runs this pass, and its options. `force` starts at the first row of that family
 * (naive: the generic row's kernels); a forced family that cannot run the pass is an error rather
 * than a silent substitute. NORMLAB_DEBUG=naive forces 'naive'.
 */
export function selectConv2d(engine: Engine, d: Conv2dDims, pass: Conv2dPass, force?: Conv2dPath): ConvChoice {
  const c = convCase(engine, d, pass);
  const off = convOff(engine);
  const family = force ?? (engine.debug.naive ? 'naive' : undefined);
  const row = CONV_ROWS.find((r) => r.passes.includes(pass) && (!family || r.family === family) && !off.has(r.id) && r.test(c));
  if (!row) throw new Error(`conv2d: the ${force} kernels cannot run the ${pass} pass of a ${d.kh}x${d.kw} convolution with padding ${d.pad} here`);
  const options = new Set<string>();
  for (const o of CONV_OPTIONS) if (o.rows.includes(row.id) && !off.has(o.id) && o.test(c, options)) options.add(o.id);
  return { row, options };
}

/** The family that runs a pass (see selectConv2d). */
export function planConv2d(engine: Engine, d: Conv2dDims, pass: Conv2dPass, force?: Conv2dPath): Conv2dPath {
  return selectConv2d(engine, d, pass, force).row.family;
}
