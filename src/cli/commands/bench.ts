// normlab bench: every kernel at SeedNet shapes against this adapter's own ceilings, measured in the
// same run (best matmul for fp32 throughput, copy for bandwidth), the whole training step split by
// op family, and peers (TensorFlow.js on the same adapter, PyTorch on the CPU) on the same shapes.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { version as normlabVersion } from '../../../package.json';
import { Engine } from '../../engine/engine.js';
import { measureCeilings, type Ceilings } from '../../../bench/ceiling.js';
import { benchConv, lastConvBenchRun, speedChangeNote, type ConvBenchRow } from '../../../bench/conv.js';
import { benchNorm } from '../../../bench/norm.js';
import { benchStep, type StepBenchRow } from '../../../bench/step.js';
import { benchVariants, variantVerdicts } from '../../../bench/variants.js';
import { pairWithNormlab, peerConvRowNames, runPeers, stepRowName, TFJS_PEER, TORCH_PEER, type PeerResult, type PeerRow } from '../../../bench/peers/index.js';
import { NORM_KINDS, convLayers, type NormKind } from '../../model/seednet.js';
import { parseConvOff } from '../../engine/ops/conv2d-select.js';
import { ProgressPrinter } from '../../train/progress.js';
import { UsageError } from '../../engine/errors.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: "time every kernel and the training step against this adapter's measured ceilings and against peers (tfjs, PyTorch)",
  usage: 'normlab bench [--only PATTERN] [--batch N] [--step-batches LIST] [--reps N] [--json FILE]\n       normlab bench --variants [--ids LIST] [--norms LIST] [--reps ROUNDS] [--batch N] [--json FILE]',
  flags: [
    { name: 'only', type: 'string', metavar: 'PATTERN', help: 'only rows whose name matches this regular expression (e.g. conv, norm, step, peer)' },
    { name: 'batch', type: 'int', min: 1, max: 4096, default: 128, help: 'batch size' },
    { name: 'step-batches', type: 'list', metavar: 'LIST', help: 'batch sizes of the training-step rows, e.g. 2,8,32,128 (default: --batch)' },
    { name: 'reps', type: 'int', min: 1, max: 1000, default: 5, help: 'timed repetitions per row (median reported)' },
    { name: 'json', type: 'string', metavar: 'FILE', help: 'also write the results as JSON' },
    { name: 'variants', type: 'bool', help: "only this: each specialised convolution kernel's gain in the training step, switched off against all on, in interleaved blocks (--reps blocks per norm and input)" },
    { name: 'ids', type: 'list', metavar: 'LIST', help: 'with --variants: only these rows and options of the kernel table (normlab info --kernels lists them)' },
    { name: 'norms', type: 'list', metavar: 'LIST', help: `with --variants: the norms whose steps are timed (default: all, ${NORM_KINDS.join(',')})` },
  ],
  details:
    'Timings use GPU timestamp queries where the adapter has them, else wall-clock time; warm-up and pipeline compilation are excluded. ' +
    'Peers (tfjs WebGPU backend on this adapter, PyTorch on the CPU through /usr/bin/python3) are timed by wall clock on the same shapes; ' +
    'ratio = peer time / normlab time. A peer that cannot run is reported as missing.',
  async run(args: ParsedArgs) {
    let only: RegExp | undefined;
    const pattern = str(args, 'only');
    if (pattern !== undefined) {
      try {
        only = new RegExp(pattern);
      } catch (e) {
        throw new UsageError(`--only: '${pattern}' is not a regular expression (${(e as Error).message})`);
      }
    }
    const batch = num(args, 'batch');
    const reps = num(args, 'reps');
    const stepBatches = ((args.flags['step-batches'] as string[] | undefined) ?? [String(batch)]).map((v) => {
      const b = Number(v);
      if (!Number.isInteger(b) || b < 1 || b > 4096) throw new UsageError(`--step-batches: '${v}' is not a batch size (an integer from 1 to 4096)`);
      return b;
    });
    const engine = await Engine.create();
    try {
      if (bool(args, 'variants')) return await runVariants(engine, args, batch, args.given.has('reps') ? reps : 3);
      const a = engine.adapterInfo;
      out.line(`normlab bench on ${a.description || a.device} (${[a.vendor, a.architecture, a.software ? 'software' : ''].filter((v, i, all) => v && all.indexOf(v) === i).join(', ')}), batch ${batch}, ` +
        `${engine.hasTimestamps ? 'GPU timestamps' : 'wall-clock'}`);
      const ceilings = await measureCeilings(engine);
      out.line(`ceilings: fp32 matmul ${ceilings.matmulGflops.toFixed(2)} GFLOP/s (best of ${ceilings.detail.matmul.map((m) => m.name).join(', ')}); ` +
        `copy ${ceilings.copyGBps.toFixed(2)} GB/s (buffer copy ${ceilings.detail.bufferCopyGBps.toFixed(2)}, kernel ${ceilings.detail.kernelCopyGBps.toFixed(2)})`);
      const kernels: Record<string, unknown>[] = [];
      const want = (name: string) => !only || only.test(name);
      // Row names start with 'conv' ('conv cifar10 b2 3x3 forward'), so --only selects them directly.
      const convSel = await benchConv(engine, { batch, only, ceilings, reps });
      const convRun = lastConvBenchRun();
      if (convRun && convRun.ceilingGflops > ceilings.matmulGflops) {
        // The conv bench re-times the best matmul between its rows; a higher figure there is the ceiling.
        ceilings.matmulGflops = convRun.ceilingGflops;
      }
      if (want('norm')) {
        const normRows = await benchNorm(engine, { batch, copyGBps: ceilings.copyGBps, reps: Math.max(reps, 5) });
        // Two ceilings: the buffer-to-buffer copy (the memory system's) and a storage read/write kernel
        // (what any kernel's loads and stores reach on this adapter; far lower on lavapipe).
        out.line(`\nnormalisation (GB/s; % of the buffer copy, ${ceilings.detail.bufferCopyGBps.toFixed(2)} GB/s, and of the copy kernel, ${ceilings.detail.kernelCopyGBps.toFixed(2)} GB/s)`);
        out.line(`${'kernel'.padEnd(40)}${'shape'.padEnd(30)}${'median ms'.padStart(10)}${'GB/s'.padStart(9)}${'% buf'.padStart(7)}${'% kern'.padStart(8)}`);
        for (const r of normRows) {
          const shape = `[${r.shape.join(', ')}]`;
          const pctOfKernelCopy = (100 * r.gbps) / ceilings.detail.kernelCopyGBps;
          out.line(`${r.name.padEnd(40)}${shape.padEnd(30)}${r.medianMs.toFixed(2).padStart(10)}${r.gbps.toFixed(2).padStart(9)}${r.pctOfCeiling.toFixed(0).padStart(7)}${pctOfKernelCopy.toFixed(0).padStart(8)}`);
          kernels.push({ name: `norm ${r.name}`, shape, medianMs: r.medianMs, gbps: r.gbps, pctOfCeiling: r.pctOfCeiling, pctOfKernelCopy });
        }
      }
      const stepInputs = [{ channels: 3, size: 32 }, { channels: 1, size: 28 }];
      let steps: StepBenchRow[] = [];
      if (want('step')) {
        for (const b of stepBatches) steps.push(...(await benchStep(engine, { batch: b, norms: [...NORM_KINDS], inputs: stepInputs, reps })));
        printSteps(steps);
      }
      if (convSel.length > 0) printConv(convSel, ceilings, convRun, steps, kernels);
      let peers: PeerRow[] = [];
      let peerResults: PeerResult[] = [];
      if (want('peer')) {
        out.line('\npeers (same machine, same run, same shapes; wall clock, median after warm-up; ratio = peer ms / normlab ms, above 1: normlab faster)');
        ({ peers, peerResults } = await benchPeers(engine, { batch, reps, ceilings, convRows: convSel, steps, stepInputs }));
        printPeers(peers, peerResults);
      }
      const file = str(args, 'json');
      if (file) {
        const versions = {
          normlab: normlabVersion,
          node: process.version,
          webgpu: packageVersion('webgpu'),
          tfjs: peerResults.find((r) => r.peer === TFJS_PEER)?.version ?? null,
          torch: peerResults.find((r) => r.peer === TORCH_PEER)?.version ?? null,
        };
        const json = { adapter: a, ceilings: { matmulGflops: ceilings.matmulGflops, copyGBps: ceilings.copyGBps, detail: ceilings.detail }, kernels, steps, peers, versions };
        writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
        out.line(`\nwrote ${file}`);
      }
      return 0;
    } finally {
      engine.destroy();
    }
  },
};

/**
 * Runs the peers and pairs their figures with normlab's of the same name: from the rows this run
 * already measured or, where --only left them out, measured now.
 */
async function benchPeers(
  engine: Engine,
  o: { batch: number; reps: number; ceilings: Ceilings; convRows: ConvBenchRow[]; steps: StepBenchRow[]; stepInputs: { channels: number; size: number }[] },
): Promise<{ peers: PeerRow[]; peerResults: PeerResult[] }> {
  const ours = new Map<string, number>(o.convRows.map((r) => [r.name, r.medianMs]));
  const stepRows = o.steps.length > 0 ? o.steps : await benchStep(engine, { batch: o.batch, norms: [...NORM_KINDS], inputs: o.stepInputs, reps: o.reps });
  for (const st of stepRows) ours.set(stepRowName(st.norm, st.input), st.medianMs);
  const convNames = peerConvRowNames().filter((n) => !ours.has(n));
  if (convNames.length > 0) {
    const rows = await benchConv(engine, { batch: o.batch, only: new RegExp(`^(${convNames.join('|')})$`), ceilings: o.ceilings, reps: o.reps });
    for (const r of rows) ours.set(r.name, r.medianMs);
  }
  // tfjs's step takes seconds on a software adapter: at most 3 timed steps.
  const peerResults = await runPeers(engine, { batch: o.batch, reps: o.reps, stepNorms: [...NORM_KINDS], stepInputs: o.stepInputs, tfjsStepReps: Math.min(o.reps, 3) });
  return { peers: pairWithNormlab(peerResults, ours), peerResults };
}

/**
 * The convolution rows: GFLOP/s, beside the matmul probe timed in the same rounds (a reference
 * point, not a ceiling), and each row's share of the training step at the same batch (the median
 * step over the norms for its input), when the step rows ran.
 */
function printConv(rows: ConvBenchRow[], ceilings: Ceilings, run: ReturnType<typeof lastConvBenchRun>, steps: StepBenchRow[], kernels: Record<string, unknown>[]): void {
  const stepMs = (r: ConvBenchRow): number | null => {
    const input = r.name.includes('cifar10') ? '3x32x32' : '1x28x28';
    const batch = Number(/^N(\d+)/.exec(r.shape)?.[1]);
    const ms = steps.filter((s) => s.input === input && s.batch === batch).map((s) => s.medianMs).sort((a, b) => a - b);
    return ms.length > 0 ? ms[ms.length >> 1]! : null;
  };
  out.line(`\nconvolutions (median ms of the whole op; GFLOP/s; x probe: over the matmul probe's ${ceilings.matmulGflops.toFixed(2)} GFLOP/s` +
    `${run ? `, ${run.probe} timed in ${run.rounds} rounds` : ''}; share of the training step at this batch${steps.length ? ', - for b1\'s input gradient, which training never computes' : ': run with the step rows (no --only, or --only "conv|step")'})`);
  out.line(`${'kernel'.padEnd(40)}${'shape'.padEnd(30)}${'median ms'.padStart(10)}${'GFLOP/s'.padStart(9)}${'x probe'.padStart(9)}${'step'.padStart(7)}  row`);
  // The first convolution's input gradient: the images need none, so no training step runs it.
  const notInStep = new RegExp(`^conv \\S+ ${convLayers({ classes: 10 }, [1, 1, 8, 8])[0]!.name} \\S+ input grad$`);
  for (const r of rows) {
    const step = notInStep.test(r.name) ? null : stepMs(r);
    const share = step === null ? null : r.medianMs / step;
    out.line(`${r.name.padEnd(40)}${r.shape.padEnd(30)}${r.medianMs.toFixed(2).padStart(10)}${r.gflops.toFixed(2).padStart(9)}${(r.pctOfProbe / 100).toFixed(2).padStart(9)}${(share === null ? '-' : `${(100 * share).toFixed(1)}%`).padStart(7)}  ${r.row}`);
    kernels.push({ name: r.name, shape: r.shape, medianMs: r.medianMs, minMs: r.minMs, gflops: r.gflops, pctOfProbe: r.pctOfProbe, stepShare: share, path: r.path, row: r.row });
  }
  const note = run && speedChangeNote(run);
  if (note) out.line(note);
}

/** Shares of the step shown per norm and input on the terminal (the JSON has them all). */
const BREAKDOWN_SHOWN = 6;

function printSteps(steps: StepBenchRow[]): void {
  out.line('\ntraining step (gather, forward, loss, backward, SGD)');
  out.line(`${'norm'.padEnd(10)}${'input'.padEnd(10)}${'batch'.padStart(6)}${'median ms'.padStart(11)}${'host ms'.padStart(9)}${'img/s'.padStart(9)}${'dispatches'.padStart(12)}${'GPU MiB'.padStart(9)}`);
  for (const s of steps) {
    out.line(`${s.norm.padEnd(10)}${s.input.padEnd(10)}${String(s.batch).padStart(6)}${s.medianMs.toFixed(1).padStart(11)}${s.hostMs.toFixed(1).padStart(9)}${s.imagesPerSec.toFixed(0).padStart(9)}${s.dispatches.toFixed(0).padStart(12)}${(s.gpuBytesInUse / 2 ** 20).toFixed(1).padStart(9)}`);
  }
  const clock = steps[0]?.breakdownClock;
  out.line(`\nwhere a step's time goes (${clock === 'gpu timestamps' ? "GPU timestamps per dispatch, summed by op family" : 'wall clock per phase, no timestamp queries on this adapter'}; top ${BREAKDOWN_SHOWN}, ms and share)`);
  for (const s of steps) {
    const top = s.breakdown.slice(0, BREAKDOWN_SHOWN).map((b) => `${b.op} ${b.ms.toFixed(1)} (${(100 * b.share).toFixed(0)}%)`);
    out.line(`${`${s.norm} ${s.input}`.padEnd(18)}${s.breakdownTotalMs.toFixed(1).padStart(7)} ms: ${top.join(', ')}`);
  }
}

function printPeers(rows: PeerRow[], results: PeerResult[]): void {
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  out.line(`${'peer'.padEnd(14)}${'what'.padEnd(34)}${'peer ms'.padStart(10)}${'normlab ms'.padStart(12)}${'ratio'.padStart(8)}`);
  for (const r of rows) {
    if (r.missing !== undefined) {
      out.line(`${r.peer.padEnd(14)}missing: ${r.missing}`);
      continue;
    }
    out.line(`${r.peer.padEnd(14)}${r.what.padEnd(34)}${ms(r.medianMs).padStart(10)}${ms(r.normlabMs).padStart(12)}${(r.ratio === null ? '-' : r.ratio.toFixed(2)).padStart(8)}`);
  }
  for (const r of results) for (const note of r.notes) out.line(`  ${r.peer}: ${note}`);
}

/** A dependency's version as installed (null when it cannot be read). */
function packageVersion(name: string): string | null {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/** normlab bench --variants: the table of what each specialised kernel saves in the step. */
async function runVariants(engine: Engine, args: ParsedArgs, batch: number, rounds: number): Promise<number> {
  const norms = (args.flags.norms as string[] | undefined) ?? [...NORM_KINDS];
  for (const n of norms) if (!(NORM_KINDS as readonly string[]).includes(n)) throw new UsageError(`--norms: no norm '${n}' (expected ${NORM_KINDS.join(', ')})`);
  const ids = args.flags.ids as string[] | undefined;
  if (ids) {
    try {
      parseConvOff(ids.join(',')); // an unknown id names the known ones
    } catch (e) {
      throw new UsageError(`--ids: ${(e as Error).message.replace(/^NORMLAB_CONV_OFF: /, '')}`);
    }
  }
  const printer = new ProgressPrinter();
  const a = engine.adapterInfo;
  out.line(`normlab bench --variants on ${a.description || a.device}, batch ${batch}, ${rounds} interleaved rounds per norm and input`);
  const rows = await benchVariants(engine, { batch, norms: norms as NormKind[], inputs: [{ channels: 3, size: 32 }, { channels: 1, size: 28 }], rounds, ids, progress: (l) => printer.message(l) });
  out.line(`\nsaved per training step with the variant on: off - on, ms, median over ${norms.length} norms x ${rounds} blocks of 4 steps, and its 95% interval (order statistics)`);
  out.line(`${'variant'.padEnd(20)}${'input'.padEnd(10)}${'step ms'.padStart(9)}${'saved ms'.padStart(10)}${'95% interval'.padStart(18)}${'share'.padStart(8)}  verdict          changes`);
  const verdicts = variantVerdicts(rows);
  for (const v of verdicts) {
    const ci = v.savedMs.ci ? `[${v.savedMs.ci[0].toFixed(1)}, ${v.savedMs.ci[1].toFixed(1)}]` : '-';
    const verdict = v.pays ? 'pays' : v.savedMs.ci && v.savedMs.ci[1] < 0 ? 'costs' : 'not shown to pay';
    out.line(`${v.id.padEnd(20)}${v.input.padEnd(10)}${v.onMedianMs.toFixed(0).padStart(9)}${v.savedMs.median.toFixed(1).padStart(10)}${ci.padStart(18)}${`${((100 * v.savedMs.median) / v.onMedianMs).toFixed(1)}%`.padStart(8)}  ${verdict.padEnd(17)}${v.changes.join(', ')}`);
  }
  const file = str(args, 'json');
  if (file) {
    writeFileSync(file, `${JSON.stringify({ adapter: a, batch, rounds, date: new Date().toISOString(), verdicts, rows }, null, 2)}\n`);
    out.line(`\nwrote ${file}`);
  }
  return 0;
}
