// normlab info: which adapter normlab runs on, and the limits that decide what fits.
import { Engine } from '../../engine/engine.js';
import { convOff, selectConv2d, subgroupLanes, type Conv2dPass } from '../../engine/ops/conv2d.js';
import { convLayers } from '../../model/seednet.js';
import { bool, num, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

const LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

const FEATURES = ['timestamp-query', 'shader-f16', 'subgroups', 'subgroup-size-control'];

export async function adapterReport(engine: Engine) {
  const limits: Record<string, number> = {};
  for (const k of LIMITS) limits[k] = (engine.limits as unknown as Record<string, number>)[k]!;
  const i = engine.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  return {
    adapter: engine.adapterInfo,
    obtainedVia: engine.source,
    subgroups: { minSize: i.subgroupMinSize ?? null, maxSize: i.subgroupMaxSize ?? null, convolutionLanes: subgroupLanes(engine), pinned: engine.subgroups.pinned, why: engine.subgroups.reason, probe: engine.subgroups.probe },
    limits,
    features: Object.fromEntries(FEATURES.map((f) => [f, engine.device.features.has(f as GPUFeatureName)])),
  };
}

/** The SeedNet inputs normlab trains on: CIFAR-10 and the MNIST family. */
const INPUTS = [
  { name: '3x32x32', shape: [3, 32, 32] },
  { name: '1x28x28', shape: [1, 28, 28] },
] as const;

export interface KernelChoiceRow {
  input: string;
  layer: string;
  pass: Conv2dPass;
  /** False for b1's input gradient: the images need none, so training never computes it. */
  inTraining: boolean;
  row: string;
  kernel: string;
  options: string[];
  /** The matched row's condition. */
  why: string;
}

/** Which kernel every SeedNet convolution's three passes get on this engine, and the row that matched. */
export function kernelChoices(engine: Engine, batch: number): KernelChoiceRow[] {
  const rows: KernelChoiceRow[] = [];
  for (const input of INPUTS) {
    for (const l of convLayers({ classes: 10 }, [batch, ...input.shape])) {
      for (const pass of ['forward', 'input', 'weight'] as const) {
        const c = selectConv2d(engine, l, pass);
        rows.push({ input: input.name, layer: l.name, pass, inTraining: pass !== 'input' || l.inputGrad, row: c.row.id, kernel: c.row.kernel, options: [...c.options], why: c.row.when });
      }
    }
  }
  return rows;
}

function printKernels(engine: Engine, batch: number, rows: KernelChoiceRow[]): void {
  const sg = subgroupLanes(engine);
  const off = [...convOff(engine)];
  out.line(`\nconvolution kernels for SeedNet at batch ${batch} (the table in src/engine/ops/conv2d-select.ts, first matching row wins):`);
  out.line(`  subgroups   ${sg > 0 ? `${sg} lanes` : 'not used: the tiled and naive kernels run'} (${engine.subgroups.reason}); ${engine.adapterInfo.software ? 'CPU adapter' : 'GPU'}` +
    `${off.length > 0 ? `; switched off (NORMLAB_CONV_OFF): ${off.join(', ')}` : ''}${engine.debug.naive ? '; NORMLAB_DEBUG=naive: every pass naive' : ''}`);
  for (const input of INPUTS) {
    out.line(`\n  ${input.name}`);
    out.line(`  ${'layer'.padEnd(6)}${'pass'.padEnd(9)}${'row'.padEnd(19)}${'options'.padEnd(45)}why (the row's condition)`);
    for (const r of rows.filter((x) => x.input === input.name)) {
      const opts = r.options.join(', ') || '-';
      const why = r.inTraining ? r.why : `${r.why} (not computed in training: the images need no gradient)`;
      out.line(`  ${r.layer.padEnd(6)}${r.pass.padEnd(9)}${r.row.padEnd(19)}${opts.padEnd(45)}${why}`);
    }
  }
  out.line('\n  kernels (src/shaders/):');
  for (const row of [...new Set(rows.map((r) => r.row))]) out.line(`  ${row.padEnd(19)}${rows.find((r) => r.row === row)!.kernel}`);
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(0)} MiB` : `${bytes} bytes`;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the WebGPU adapter (choose it with --adapter), its limits, features and subgroup sizes, how it was chosen, and (--kernels) which convolution kernels run',
  usage: 'normlab info [--kernels [--batch N]] [--json]',
  flags: [
    { name: 'json', type: 'bool', help: 'print JSON' },
    { name: 'kernels', type: 'bool', help: "also say which convolution kernel every SeedNet layer's forward, input-gradient and weight-gradient pass gets here, and why" },
    { name: 'batch', type: 'int', min: 1, max: 4096, default: 128, help: 'with --kernels: the batch size' },
  ],
  async run(args: ParsedArgs) {
    const engine = await Engine.create();
    try {
      const r = await adapterReport(engine);
      const batch = num(args, 'batch');
      const kernels = bool(args, 'kernels') ? kernelChoices(engine, batch) : null;
      if (bool(args, 'json')) {
        out.line(JSON.stringify(kernels ? { ...r, subgroupLanes: subgroupLanes(engine), convKernels: kernels } : r, null, 2));
        return 0;
      }
      const a = r.adapter;
      out.line(`adapter       ${a.description || a.device || '(no description)'}`);
      out.line(`vendor        ${a.vendor || '-'}    architecture ${a.architecture || '-'}    device ${a.device || '-'}`);
      out.line(`kind          ${a.software ? 'software (CPU) adapter: expect slow kernels; the comparison uses its quick preset' : 'hardware GPU'}`);
      out.line(`obtained via  ${r.obtainedVia}`);
      const sg = r.subgroups;
      out.line(`subgroups     ${sg.minSize === null ? 'sizes not reported' : `${sg.minSize} to ${sg.maxSize} lanes`}${engine.device.features.has('subgroups') ? '' : ' (no subgroups feature)'}; ` +
        `${sg.convolutionLanes > 0 ? `the subgroup convolution kernels use ${sg.convolutionLanes}` : 'the convolutions run their subgroup-free kernels (tiled, naive)'}: ${sg.why}`);
      if (sg.probe) out.line(`              probe at device creation: ${sg.probe.pass ? 'ok' : 'FAILED'}, ${sg.probe.detail}`);
      out.line('limits');
      for (const [k, v] of Object.entries(r.limits)) out.line(`  ${k.padEnd(36)} ${/Size$/.test(k) ? mib(v) : v}`);
      out.line(`features      ${Object.entries(r.features).map(([f, on]) => `${f} ${on ? 'yes' : 'no'}`).join(', ')}`);
      if (kernels) printKernels(engine, batch, kernels);
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
