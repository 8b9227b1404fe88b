// Memory-operation rates (not part of `normlab bench`): store-only, load-only and copy kernels over a
// 64 MiB buffer with 1, 4 and 16 vec4s per invocation, GPU timestamps, median of 7.
//   npx esbuild bench/run-mem.ts --bundle --platform=node --format=esm --external:webgpu \
//     --loader:.wgsl=text --outfile=dist/bench-mem.mjs && XDG_RUNTIME_DIR=/tmp/xdg node dist/bench-mem.mjs
// bench/README.md uses them to bound the convolution rows that are limited by memory operations.
import { Engine } from '../src/engine/index.js';
import { measureKernelCopy, timeDispatches } from './ceiling.js';
import memoryWgsl from './memory.wgsl';

const BYTES = 64 << 20;
const WG = 64;

const engine = await Engine.create();
console.log(`adapter: ${engine.adapterInfo.description || engine.adapterInfo.device}, timestamps: ${engine.hasTimestamps}`);
const n4 = BYTES / 16;
const src = engine.empty([BYTES / 4], 'f32', 'mem src');
const dst = engine.empty([BYTES / 4], 'f32', 'mem dst');
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]!;
for (const entryPoint of ['store_only', 'load_only']) {
  for (const per of [1, 4, 16]) {
    const kernel = { name: `mem.${entryPoint}`, code: memoryWgsl, entryPoint };
    const groups = Math.ceil(n4 / per / WG);
    const workgroups: [number, number, number] = groups <= 65535 ? [groups, 1, 1] : [65535, Math.ceil(groups / 65535), 1];
    const bindings = entryPoint === 'store_only' ? [null, dst] : [src, dst];
    const ms = median(await timeDispatches(engine, () => engine.dispatch(kernel, { constants: { COUNT: n4, WG, PER: per }, bindings, workgroups, op: kernel.name }), 7));
    console.log(`${entryPoint.padEnd(10)} ${String(per).padStart(2)} vec4/invocation  ${ms.toFixed(2).padStart(7)} ms  ${(BYTES / ms / 1e6).toFixed(2)} GB/s`);
  }
}
src.dispose();
dst.dispose();
// Bytes read plus bytes written, like the ceiling it is.
for (const k of await measureKernelCopy(engine, BYTES, 7)) {
  console.log(`${'copy'.padEnd(10)} ${String(k.vec4PerInvocation).padStart(2)} vec4/invocation  ${k.GBps.toFixed(2)} GB/s`);
}
engine.destroy();
