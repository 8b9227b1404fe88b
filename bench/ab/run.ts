// Two builds' training steps in one process, interleaved: node ab-run.mjs A.mjs B.mjs [options]
// where A.mjs and B.mjs are bench/ab/entry.ts bundled from two commits, e.g. REV against the tree
// (the bundles must sit where `webgpu` resolves, hence under the checkout):
//   git worktree add /tmp/rev REV && mkdir -p /tmp/rev/bench/ab && cp bench/ab/entry.ts /tmp/rev/bench/ab/
//   ln -s "$PWD/node_modules" /tmp/rev/node_modules
//   B='--bundle --platform=node --format=esm --external:webgpu --loader:.wgsl=text'
//   (cd /tmp/rev && npx esbuild bench/ab/entry.ts $B --outfile="$PWD/dist/ab-a.mjs")
//   npx esbuild bench/ab/entry.ts $B --outfile=dist/ab-b.mjs; npx esbuild bench/ab/run.ts $B --outfile=dist/ab-run.mjs
//   XDG_RUNTIME_DIR=/tmp node dist/ab-run.mjs dist/ab-a.mjs dist/ab-b.mjs --json ab.json
// For every input and norm, each round times a few steps of A and of B, in an order that alternates
// from round to round, so drift of a shared machine falls on both; the result is the per-round ratio
// B / A: per row its median; over all rows its median with the distribution-free 95% interval of
// order statistics (lavapipe's slow bursts make t intervals of a few rounds overconfident: an A/A
// run of one build against itself gave a row at 0.86 [0.77, 0.96] by t).
// Options: --rounds N (default 6), --steps N per build and round (default 2), --batch N (128),
//          --norms LIST (batch,group,layer,instance,none), --json FILE.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { medianInterval, type MedianInterval } from '../../src/stats/stats.js';
import type { Stepper } from './entry.js';

type Build = typeof import('./entry.js');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '6' },
    steps: { type: 'string', default: '2' },
    batch: { type: 'string', default: '128' },
    norms: { type: 'string', default: 'batch,group,layer,instance,none' },
    json: { type: 'string' },
  },
});
if (positionals.length !== 2) {
  console.error('usage: node ab-run.mjs A.mjs B.mjs [--rounds N] [--steps N] [--batch N] [--norms LIST] [--json FILE] (bench/ab/run.ts says how to build them)');
  process.exit(2);
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const builds: Build[] = await Promise.all(positionals.map((p) => import(pathToFileURL(resolve(p)).href) as Promise<Build>));
const engines = await Promise.all(builds.map((b) => b.createEngine()));
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const batch = Number(values.batch);
const inputs: [number, number][] = [[3, 32], [1, 28]];
const median = (xs: number[]): number => medianInterval(xs).median;

interface Row {
  input: string;
  norm: string;
  aMs: number[];
  bMs: number[];
  aMedianMs: number;
  bMedianMs: number;
  ratio: number;
}
const rows: Row[] = [];
console.log(`A = ${positionals[0]}, B = ${positionals[1]}; batch ${batch}, ${rounds} rounds x ${steps} steps each`);
console.log(`${'input'.padEnd(9)}${'norm'.padEnd(10)}${'A ms'.padStart(8)}${'B ms'.padStart(8)}${'B / A'.padStart(8)}  (medians over rounds)`);
for (const [c, size] of inputs) {
  for (const norm of values.norms!.split(',')) {
    const st: Stepper[] = builds.map((b, i) => b.stepper(engines[i]!, norm as Parameters<Build['stepper']>[1], c, size, batch));
    try {
      for (const s of st) await s.time(2); // compile and settle
      const ms: [number[], number[]] = [[], []];
      for (let r = 0; r < rounds; r++) {
        for (const i of r % 2 ? [1, 0] : [0, 1]) ms[i]!.push(await st[i]!.time(steps));
      }
      const ratios = ms[1].map((b, r) => b / ms[0][r]!);
      const row: Row = { input: `${c}x${size}x${size}`, norm, aMs: ms[0], bMs: ms[1], aMedianMs: median(ms[0]), bMedianMs: median(ms[1]), ratio: median(ratios) };
      rows.push(row);
      console.log(`${row.input.padEnd(9)}${norm.padEnd(10)}${row.aMedianMs.toFixed(0).padStart(8)}${row.bMedianMs.toFixed(0).padStart(8)}${row.ratio.toFixed(3).padStart(8)}`);
    } finally {
      for (const s of st) s.dispose();
    }
  }
}
const ratiosOf = (rs: Row[]): number[] => rs.flatMap((r) => r.bMs.map((b, i) => b / r.aMs[i]!));
const byInput = Object.fromEntries(inputs.map(([c, size]) => [`${c}x${size}x${size}`, medianInterval(ratiosOf(rows.filter((r) => r.input === `${c}x${size}x${size}`)))]));
const all = medianInterval(ratiosOf(rows));
const fmt = (m: MedianInterval): string => `${m.median.toFixed(3)} ${m.ci ? `[${m.ci[0].toFixed(3)}, ${m.ci[1].toFixed(3)}]` : '(too few rounds for an interval)'} (n = ${m.n})`;
for (const [input, m] of Object.entries(byInput)) console.log(`${input}: B / A ${fmt(m)}`);
console.log(`all rounds: B / A ${fmt(all)}, median and 95% interval (order statistics)`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ a: positionals[0], b: positionals[1], batch, rounds, steps, date: new Date().toISOString(), rows, byInput, all }, null, 2)}\n`);
for (const e of engines) e.destroy();
