// The adapter's measured ceilings, taken in the same run as the kernels they are compared with:
// fp32 throughput of the best register-tiled matmul normlab has (src/shaders/matmul.wgsl), and copy
// bandwidth (a buffer-to-buffer copy, and a storage read/write kernel). Timings use GPU timestamps
// where the adapter has them (engine.startProfile/endProfile), else wall-clock time around a sync.
import type { Engine, Kernel } from '../src/engine/index.js';
import matmulWgsl from '../src/shaders/matmul.wgsl';

const SUBGROUP_MARK = '// ---- subgroups ----';
const WG = 64;

export interface MatmulVariant {
  name: string;
  gflops: number;
  medianMs: number;
}

export interface Ceilings {
  /** Best fp32 GFLOP/s over the matmul variants (2*M*N*K flops per product). */
  matmulGflops: number;
  /** Best copy bandwidth in GB/s, counting bytes read plus bytes written. */
  copyGBps: number;
  detail: {
    matmulShape: [number, number, number];
    matmul: MatmulVariant[];
    bufferCopyGBps: number;
    /** The best of the copy kernel's variants below. */
    kernelCopyGBps: number;
    kernelCopy: { vec4PerInvocation: number; GBps: number }[];
    copyBytes: number;
    timing: 'gpu-timestamps' | 'wall-clock';
  };
}

export interface CeilingOptions {
  /** Square matmul size (a multiple of 512). Default 512. */
  size?: number;
  /** Timed repetitions per variant (median taken). Default 5. */
  reps?: number;
  /** Bytes per copy. Default 64 MiB. */
  copyBytes?: number;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** GPU milliseconds of everything `record` dispatches, one value per repetition. */
export async function timeDispatches(engine: Engine, record: () => void, reps: number, warmUp = true): Promise<number[]> {
  if (warmUp) {
    record(); // compiles pipelines, fills the pool
    await engine.sync();
  }
  const out: number[] = [];
  for (let r = 0; r < reps; r++) {
    if (engine.hasTimestamps) {
      engine.startProfile();
      record();
      const prof = await engine.endProfile();
      out.push(prof.reduce((s, p) => s + p.ns, 0) / 1e6);
    } else {
      const t0 = performance.now();
      record();
      await engine.sync();
      out.push(performance.now() - t0);
    }
  }
  return out;
}

function randomTensor(engine: Engine, size: number, label: string) {
  let s = 12345;
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return engine.tensor(data, [size], 'f32', label);
}

/** Checks a variant on a small product against the CPU before timing it (a fast wrong kernel is no ceiling). */
async function checkMatmul(engine: Engine, kernel: Kernel, constants: Record<string, number>, m: number, n: number, k: number, workgroups: [number, number, number]): Promise<void> {
  const a = randomTensor(engine, m * k, 'ceiling check a');
  const b = randomTensor(engine, k * n, 'ceiling check b');
  const c = engine.empty([m * n], 'f32', 'ceiling check c');
  engine.dispatch(kernel, { constants: { ...constants, M: m, N: n, K: k }, bindings: [a, b, c], workgroups });
  const [av, bv, cv] = [await a.read(), await b.read(), await c.read()];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += av[i * k + q]! * bv[q * n + j]!;
      if (Math.abs(cv[i * n + j]! - s) > 1e-4 * (1 + Math.abs(s))) throw new Error(`ceiling matmul ${kernel.name}: wrong result at (${i}, ${j}): ${cv[i * n + j]} vs ${s}`);
    }
  }
  a.dispose();
  b.dispose();
  c.dispose();
}

type Variant = { name: string; kernel: Kernel; constants: Record<string, number>; grid: (m: number, n: number) => [number, number, number] };

/** The matmul variants this adapter can run (without subgroups: register tiles; with: also matmul_sg). */
function matmulVariants(engine: Engine): Variant[] {
  const plain = matmulWgsl.slice(0, matmulWgsl.indexOf(SUBGROUP_MARK));
  const tiled: Kernel = { name: 'ceiling.matmul_tiled', code: plain, entryPoint: 'matmul_tiled' };
  const sgLanes = engine.subgroups.lanes;
  const sgOk = sgLanes > 0 && sgLanes <= 32;
  const sg: Kernel = { name: 'ceiling.matmul_sg', code: `enable subgroups;\n${matmulWgsl}`, entryPoint: 'matmul_sg' };

  const variants: Variant[] = [];
  // Register tiles tried without subgroups: rows x vec4 columns per invocation (8 x 8 = the 11
  // GFLOP/s figure quoted for lavapipe in issue 3).
  for (const [rt, cv] of [[4, 1], [4, 2], [8, 1], [8, 2]] as const) {
    variants.push({ name: `tiled ${rt}x${4 * cv}`, kernel: tiled, constants: { RT: rt, CV: cv, WG }, grid: (m, n) => [n / (4 * cv * WG), m / rt, 1] });
  }
  if (sgOk) {
    for (const r of [16, 32]) {
      if (r % sgLanes !== 0) continue;
      variants.push({ name: `subgroup ${r}x4`, kernel: sg, constants: { SG: sgLanes, R: r }, grid: (m, n) => [n / (4 * sgLanes), m / r, 1] });
    }
  }
  return variants;
}

/** A size^3 product with one matmul variant, to time again later (benchConv times it every round). */
export interface MatmulProbe {
  flops: number;
  record(): void;
  dispose(): void;
}

export function matmulProbe(engine: Engine, variantName: string, size = 512): MatmulProbe {
  const v = matmulVariants(engine).find((m) => m.name === variantName);
  if (!v) throw new Error(`no matmul variant '${variantName}' on this adapter`);
  const a = randomTensor(engine, size * size, 'probe a');
  const b = randomTensor(engine, size * size, 'probe b');
  const c = engine.empty([size * size], 'f32', 'probe c');
  const constants = { ...v.constants, M: size, N: size, K: size };
  return {
    flops: 2 * size ** 3,
    record: () => engine.dispatch(v.kernel, { constants, bindings: [a, b, c], workgroups: v.grid(size, size), op: v.kernel.name }),
    dispose: () => [a, b, c].forEach((t) => t.dispose()),
  };
}

/**
 * The storage copy kernel (copy_vec4) with 1, 4 and 16 vec4s per invocation, GB/s counting bytes
 * read plus bytes written; the best is the ceiling (on lavapipe one vec4 per invocation copied
 * 2.6 GB/s, four 5.3: bench/run-mem.ts, bench/README.md).
 */
export async function measureKernelCopy(engine: Engine, copyBytes = 64 << 20, reps = 5): Promise<{ vec4PerInvocation: number; GBps: number }[]> {
  const plain = matmulWgsl.slice(0, matmulWgsl.indexOf(SUBGROUP_MARK));
  const n4 = copyBytes / 16;
  const src = engine.empty([copyBytes / 4], 'f32', 'ceiling copy src');
  const dst = engine.empty([copyBytes / 4], 'f32', 'ceiling copy dst');
  const copyKernel: Kernel = { name: 'ceiling.copy_vec4', code: plain, entryPoint: 'copy_vec4' };
  const out: { vec4PerInvocation: number; GBps: number }[] = [];
  for (const per of [1, 4, 16]) {
    const groups = Math.ceil(n4 / per / WG);
    const grid: [number, number, number] = groups <= 65535 ? [groups, 1, 1] : [65535, Math.ceil(groups / 65535), 1];
    const ms = median(await timeDispatches(engine, () => engine.dispatch(copyKernel, { constants: { COUNT: n4, WG, PER: per }, bindings: [src, dst], workgroups: grid, op: 'ceiling.copy_vec4' }), reps));
    out.push({ vec4PerInvocation: per, GBps: (2 * copyBytes) / ms / 1e6 });
  }
  src.dispose();
  dst.dispose();
  return out;
}

export async function measureCeilings(engine: Engine, options: CeilingOptions = {}): Promise<Ceilings> {
  const size = options.size ?? 512;
  const reps = options.reps ?? 5;
  const copyBytes = options.copyBytes ?? 64 << 20;
  const variants = matmulVariants(engine);

  const a = randomTensor(engine, size * size, 'ceiling a');
  const b = randomTensor(engine, size * size, 'ceiling b');
  const c = engine.empty([size * size], 'f32', 'ceiling c');
  // Interleaved rounds (each round times every variant once): the machine's speed comes and goes,
  // and timing the variants one after another let a slow phase pick the wrong best variant, which
  // then served as the conv bench's probe.
  const record = variants.map((v) => {
    const constants = { ...v.constants, M: size, N: size, K: size };
    return () => engine.dispatch(v.kernel, { constants, bindings: [a, b, c], workgroups: v.grid(size, size), op: v.kernel.name });
  });
  for (const [i, v] of variants.entries()) {
    await checkMatmul(engine, v.kernel, v.constants, 32, 512, 16, v.grid(32, 512));
    await timeDispatches(engine, record[i]!, 0); // warm-up: compiles the pipeline
  }
  const times: number[][] = variants.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (const i of variants.keys()) times[i]!.push(...(await timeDispatches(engine, record[i]!, 1, false)));
  }
  const results: MatmulVariant[] = variants.map((v, i) => {
    const ms = median(times[i]!);
    return { name: v.name, medianMs: ms, gflops: (2 * size ** 3) / ms / 1e6 };
  });
  a.dispose();
  b.dispose();
  c.dispose();

  // Copy bandwidth. A buffer copy is not a dispatch, so it is timed by the wall clock around a
  // sync (the few submits' overhead is small next to a 64 MiB copy); the kernel copy by timestamps.
  const src = engine.empty([copyBytes / 4], 'f32', 'ceiling copy src');
  const dst = engine.empty([copyBytes / 4], 'f32', 'ceiling copy dst');
  engine.copy(src, dst, copyBytes);
  await engine.sync();
  const wall: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    engine.copy(src, dst, copyBytes);
    await engine.sync();
    wall.push(performance.now() - t0);
  }
  const bufferCopyGBps = (2 * copyBytes) / median(wall) / 1e6;
  src.dispose();
  dst.dispose();
  const kernelCopy = await measureKernelCopy(engine, copyBytes, reps);
  const kernelCopyGBps = Math.max(...kernelCopy.map((k) => k.GBps));

  return {
    matmulGflops: Math.max(...results.map((r) => r.gflops)),
    copyGBps: Math.max(bufferCopyGBps, kernelCopyGBps),
    detail: {
      matmulShape: [size, size, size],
      matmul: results,
      bufferCopyGBps,
      kernelCopyGBps,
      kernelCopy,
      copyBytes,
      timing: engine.hasTimestamps ? 'gpu-timestamps' : 'wall-clock',
    },
  };
}
