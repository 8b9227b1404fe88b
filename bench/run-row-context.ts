// One convolution row timed again and again among the others, to see how its time moves with the
// machine (bench/README.md, "Latest runs"): each round times the matmul probe, the row, every other
// 3x3 row of the bench (as benchConv's rounds do), the row again and then three more times back to
// back, and prints one line. A row whose times jump between clusters from one call to the next,
// whatever ran before it, is meeting the machine's phases, not the rows around it.
//   npx esbuild bench/run-row-context.ts --bundle --platform=node --format=esm --external:webgpu \
//     --loader:.wgsl=text --outfile=dist/bench-row-context.mjs && XDG_RUNTIME_DIR=/tmp/xdg node dist/bench-row-context.mjs
// Options: --row REGEX (default 'mnist b1 3x3 input grad'), --rounds N (default 9), --probe NAME
//          (a matmul variant of bench/ceiling.ts, default 'subgroup 32x4').
import { parseArgs } from 'node:util';
import { Engine, ops, type Tensor } from '../src/engine/index.js';
import { matmulProbe, timeDispatches } from './ceiling.js';
import { DATASETS, filled, seedNetConvLayers } from './conv.js';

const USAGE = 'usage: node dist/bench-row-context.mjs [--row REGEX] [--rounds N] [--probe NAME] (see the header of bench/run-row-context.ts)';
let values: { row?: string; rounds?: string; probe?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      row: { type: 'string', default: 'mnist b1 3x3 input grad' },
      rounds: { type: 'string', default: '9' },
      probe: { type: 'string', default: 'subgroup 32x4' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number >= 1 (got '${values.rounds}')`);
  process.exit(2);
}
const wanted = new RegExp(values.row!);

const engine = await Engine.create();
const owned: Tensor[] = [];
function input(shape: number[], seed: number): Tensor {
  const t = filled(engine, shape, seed, 'row-context input');
  owned.push(t);
  return t;
}

interface Row {
  name: string;
  run: () => Tensor;
}
const rows: Row[] = [];
for (const ds of DATASETS) {
  for (const l of seedNetConvLayers(ds.cin, ds.size)) {
    if (l.k !== 3) continue;
    const n = 128;
    const x = input([n, l.ci, l.hw, l.hw], 1);
    const w = input([l.co, l.ci, 3, 3], 2);
    const dy = input([n, l.co, l.hw, l.hw], 3);
    const o = { padding: 1 };
    const name = (what: string) => `conv ${ds.name} ${l.name} 3x3 ${what}`;
    rows.push({ name: name('forward'), run: () => ops.conv2d(x, w, o) });
    rows.push({ name: name('input grad'), run: () => ops.conv2dBackwardInput(dy, w, [l.hw, l.hw], o) });
    rows.push({ name: name('weight grad'), run: () => ops.conv2dBackwardWeight(x, dy, [3, 3], o) });
  }
}
const target = rows.find((r) => wanted.test(r.name));
if (!target) {
  console.error(`no 3x3 row matches --row '${values.row}'; rows are named like '${rows[0]!.name}'`);
  process.exit(2);
}

/** The row's GPU time in ms (its dispatches' timestamps summed), or its wall time without them. */
async function timeRow(r: Row): Promise<number> {
  if (!engine.hasTimestamps) return (await timeDispatches(engine, () => r.run().dispose(), 1, false))[0]!;
  engine.startProfile();
  const out = r.run();
  const prof = await engine.endProfile();
  out.dispose();
  return prof.reduce((s, p) => s + p.ns, 0) / 1e6;
}

let probe: ReturnType<typeof matmulProbe>;
try {
  probe = matmulProbe(engine, values.probe!);
} catch (e) {
  console.error((e as Error).message);
  engine.destroy();
  process.exit(2);
}
probe.record();
for (const r of rows) r.run().dispose();
await engine.sync();
console.log(`${target.name} on ${engine.adapterInfo.description || engine.adapterInfo.device}, ${rounds} rounds (ms)`);
for (let round = 0; round < rounds; round++) {
  const [probeMs] = await timeDispatches(engine, probe.record, 1, false);
  const first = await timeRow(target);
  for (const r of rows) if (r !== target) await timeRow(r);
  const after = await timeRow(target);
  const again = [await timeRow(target), await timeRow(target), await timeRow(target)];
  console.log(
    `round ${round + 1}: probe ${(probe.flops / probeMs! / 1e6).toFixed(1)} GFLOP/s | after the probe ${first.toFixed(2)} | ` +
      `after the other rows ${after.toFixed(2)} | again ${again.map((v) => v.toFixed(2)).join(' ')}`,
  );
}
probe.dispose();
for (const t of owned) t.dispose();
engine.destroy();
