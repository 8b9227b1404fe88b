// normlab bench: every kernel at SeedNet shapes against this adapter's own ceilings, measured in the
// same run (best matmul for fp32 throughput, copy for bandwidth), and the whole training step.
import { writeFileSync } from 'node:fs';
import { Engine } from '../../engine/engine.js';
import { measureCeilings } from '../../../bench/ceiling.js';
import { benchConv, lastConvBenchRun } from '../../../bench/conv.js';
import { benchNorm } from '../../../bench/norm.js';
import { benchStep } from '../../../bench/step.js';
import { NORM_KINDS } from '../../model/seednet.js';
import { UsageError } from '../../engine/errors.js';
import { num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: "time every kernel and the training step against this adapter's measured ceilings",
  usage: 'normlab bench [--only PATTERN] [--batch N] [--reps N] [--json FILE]',
  flags: [
    { name: 'only', type: 'string', metavar: 'PATTERN', help: 'only rows whose name matches this regular expression (e.g. conv, norm, step)' },
    { name: 'batch', type: 'int', min: 1, max: 4096, default: 128, help: 'batch size' },
    { name: 'reps', type: 'int', min: 1, max: 1000, default: 5, help: 'timed repetitions per row (median reported)' },
    { name: 'json', type: 'string', metavar: 'FILE', help: 'also write the results as JSON' },
  ],
  details: 'Timings use GPU timestamp queries where the adapter has them, else wall-clock time; warm-up and pipeline compilation are excluded.',
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
    const engine = await Engine.create();
    try {
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
      if (convSel.length > 0) {
        out.line(`\nconvolutions (GFLOP/s and % of the matmul ceiling, ${ceilings.matmulGflops.toFixed(2)} GFLOP/s` +
          `${convRun ? `: best of the figure above and ${convRun.probe} re-timed in ${convRun.rounds} rounds` : ''})`);
        out.line(`${'kernel'.padEnd(40)}${'shape'.padEnd(30)}${'median ms'.padStart(10)}${'GFLOP/s'.padStart(9)}${'%'.padStart(6)}  path`);
        for (const r of convSel) {
          out.line(`${r.name.padEnd(40)}${r.shape.padEnd(30)}${r.medianMs.toFixed(2).padStart(10)}${r.gflops.toFixed(2).padStart(9)}${r.pctOfCeiling.toFixed(0).padStart(6)}  ${r.path}`);
          kernels.push({ name: r.name, shape: r.shape, medianMs: r.medianMs, minMs: r.minMs, gflops: r.gflops, pctOfCeiling: r.pctOfCeiling, path: r.path });
        }
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
      let steps: Awaited<ReturnType<typeof benchStep>> = [];
      if (want('step')) {
        steps = await benchStep(engine, { batch, norms: [...NORM_KINDS], inputs: [{ channels: 3, size: 32 }, { channels: 1, size: 28 }], reps });
        out.line('\ntraining step (gather, forward, loss, backward, SGD)');
        out.line(`${'norm'.padEnd(8)}${'input'.padEnd(10)}${'batch'.padStart(6)}${'median ms'.padStart(11)}${'img/s'.padStart(9)}${'dispatches'.padStart(12)}${'GPU MiB'.padStart(9)}`);
        for (const s of steps) {
          out.line(`${s.norm.padEnd(8)}${s.input.padEnd(10)}${String(s.batch).padStart(6)}${s.medianMs.toFixed(1).padStart(11)}${s.imagesPerSec.toFixed(0).padStart(9)}${s.dispatches.toFixed(0).padStart(12)}${(s.gpuBytesInUse / 2 ** 20).toFixed(1).padStart(9)}`);
        }
      }
      const file = str(args, 'json');
      if (file) {
        const json = { adapter: a, ceilings: { matmulGflops: ceilings.matmulGflops, copyGBps: ceilings.copyGBps, detail: ceilings.detail }, kernels, steps, peers: [], versions: { normlab: '0.1.0', node: process.version } };
        writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
        out.line(`\nwrote ${file}`);
      }
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
