// What subgroup operations cost on this adapter (bench/README.md, "What decides speed on lavapipe"):
//   npx esbuild bench/run-subgroup.ts --bundle --platform=node --format=esm --external:webgpu --loader:.wgsl=text \
//     --outfile=dist/bench-subgroup.mjs && XDG_RUNTIME_DIR=/tmp/xdg node dist/bench-subgroup.mjs
// Each invocation runs a chain of 256 dependent steps; a step is one subgroup operation (or none,
// the baseline) and a multiply-add. The printed cost per operation is (ms - baseline ms) over the
// steps of one thread's share, so it is the operation's latency in a dependent chain.
import { Engine } from '../src/engine/index.js';

const STEPS = 256;
const GROUPS = 4096;
const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
override MODE: u32 = 0u;
override SG: u32 = 8u;
@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  var v = f32(lane + wid.x);
  var acc = 0.0;
  for (var i = 0u; i < ${STEPS}u; i++) {
    var t = v;
    if (MODE == 1u) { t = subgroupShuffle(v, 3u); }
    else if (MODE == 2u) { t = subgroupShuffle(v, (lane + 3u) % SG); }
    else if (MODE == 3u) { t = subgroupShuffleXor(v, 4u); }
    else if (MODE == 4u) { t = subgroupAdd(v); }
    v = t * 0.999 + 1.0;
    acc += v;
  }
  out[wid.x * SG + lane] = acc;
}`;
const MODES = ['none (baseline)', 'subgroupShuffle, constant lane', 'subgroupShuffle, lane + 3', 'subgroupShuffleXor 4', 'subgroupAdd'];

const engine = await Engine.create();
const sg = engine.subgroups.lanes;
if (sg === 0) {
  console.log(`the subgroup kernels do not run on this adapter: ${engine.subgroups.reason}`);
  process.exit(0);
}
const kernel = { name: 'bench.subgroup', code, entryPoint: 'main' };
const buf = engine.empty([sg * GROUPS], 'f32', 'bench subgroup out');
const ms: number[][] = MODES.map(() => []);
for (let round = 0; round < 5; round++) {
  for (const [mode] of MODES.entries()) {
    const run = () => engine.dispatch(kernel, { constants: { MODE: mode, SG: sg }, bindings: [buf], workgroups: [GROUPS, 1, 1] });
    if (round === 0) { run(); await engine.sync(); }
    engine.startProfile();
    run();
    const prof = await engine.endProfile();
    ms[mode]!.push(prof.reduce((s, p) => s + p.ns, 0) / 1e6);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const base = median(ms[0]!);
const threads = Number(process.env.LP_NUM_THREADS ?? 2);
console.log(`adapter: ${engine.adapterInfo.description}; ${GROUPS} subgroups of ${sg} x ${STEPS} dependent steps, median of 5 rounds`);
for (const [mode, name] of MODES.entries()) {
  const m = median(ms[mode]!);
  const ns = mode === 0 ? 0 : ((m - base) * 1e6) / ((GROUPS * STEPS) / threads);
  console.log(`${name.padEnd(34)} ${m.toFixed(2).padStart(7)} ms${mode === 0 ? '' : `   ~${ns.toFixed(1)} ns per operation (${threads} threads)`}`);
}
buf.dispose();
engine.destroy();
