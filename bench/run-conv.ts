// Standalone convolution benchmark (the lead wires `normlab bench`; this is for measuring alone):
//   npx esbuild bench/run-conv.ts --bundle --platform=node --format=esm --external:webgpu \
//     --loader:.wgsl=text --outfile=dist/bench-conv.mjs && XDG_RUNTIME_DIR=/tmp/xdg node dist/bench-conv.mjs
// Options: --batch N (default 128), --only REGEX, --reps N (rounds, default 7), --path subgroup|tiled|naive,
//          --json FILE (writes {adapter, ceilings, kernels, steps, peers}).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/index.js';
import type { Conv2dPath } from '../src/engine/ops/conv2d.js';
import { measureCeilings } from './ceiling.js';
import { benchConv, lastConvBenchRun, speedChangeNote } from './conv.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '128' },
    only: { type: 'string' },
    reps: { type: 'string', default: '7' },
    path: { type: 'string' },
    json: { type: 'string' },
  },
});

const engine = await Engine.create();
const info = engine.adapterInfo;
console.log(`adapter: ${info.description || info.device} (${info.vendor}, ${info.architecture}), timestamps: ${engine.hasTimestamps}`);
const ceilings = await measureCeilings(engine);
console.log(`ceilings: matmul ${ceilings.matmulGflops.toFixed(2)} GFLOP/s (${ceilings.detail.matmul.map((m) => `${m.name} ${m.gflops.toFixed(2)}`).join(', ')}); copy ${ceilings.copyGBps.toFixed(2)} GB/s (buffer ${ceilings.detail.bufferCopyGBps.toFixed(2)}, kernel ${ceilings.detail.kernelCopyGBps.toFixed(2)})`);
const rows = await benchConv(engine, {
  batch: Number(values.batch),
  only: values.only ? new RegExp(values.only) : undefined,
  reps: Number(values.reps),
  ceilings,
  path: values.path as Conv2dPath | undefined,
});
const run = lastConvBenchRun()!;
console.log(`ceiling used for the percentages: ${run.ceilingGflops.toFixed(2)} GFLOP/s, the higher of the figure above and ${run.probe} timed in each of ${run.rounds} rounds (${run.ceilingPerRound.map((g) => g.toFixed(1)).join(' ')})`);
// The JSON's ceiling is the one the percentages use.
ceilings.matmulGflops = run.ceilingGflops;
const pad = (s: string, n: number) => s.padEnd(n);
console.log(`% best: the row's fastest round over the fastest probe (${run.bestCeilingGflops.toFixed(2)} GFLOP/s)`);
console.log(`${pad('kernel', 37)}${pad('shape', 26)}${pad('path', 10)}${pad('median ms', 11)}${pad('kernel ms', 11)}${pad('GFLOP/s', 9)}${pad('% ceiling', 11)}% best`);
for (const r of rows) {
  console.log(`${pad(r.name, 37)}${pad(r.shape, 26)}${pad(r.path, 10)}${pad(r.medianMs.toFixed(2), 11)}${pad(r.kernelMs.toFixed(2), 11)}${pad(r.gflops.toFixed(2), 9)}${pad(`${r.pctOfCeiling.toFixed(0)}%`, 11)}${r.pctOfCeilingBest.toFixed(0)}%`);
}
const note = speedChangeNote(run);
if (note) console.log(note);
if (values.json) {
  const kernels = rows.map(({ name, shape, medianMs, minMs, gflops, pctOfCeiling, pctOfCeilingBest }) => ({ name, shape, medianMs, minMs, gflops, pctOfCeiling, pctOfCeilingBest }));
  writeFileSync(values.json, JSON.stringify({ adapter: { ...info, source: engine.source }, ceilings, kernels, steps: [], peers: [] }, null, 2));
}
engine.destroy();
