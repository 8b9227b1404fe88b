// normlab info: which adapter normlab runs on, and the limits that decide what fits.
import { Engine } from '../../engine/engine.js';
import { bool, type ParsedArgs } from '../args.js';
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

const FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'];

export async function adapterReport(engine: Engine) {
  const limits: Record<string, number> = {};
  for (const k of LIMITS) limits[k] = (engine.limits as unknown as Record<string, number>)[k]!;
  return {
    adapter: engine.adapterInfo,
    obtainedVia: engine.source,
    limits,
    features: Object.fromEntries(FEATURES.map((f) => [f, engine.device.features.has(f as GPUFeatureName)])),
  };
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(0)} MiB` : `${bytes} bytes`;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the WebGPU adapter, its limits and features, and how the device was obtained',
  usage: 'normlab info [--json]',
  flags: [{ name: 'json', type: 'bool', help: 'print JSON' }],
  async run(args: ParsedArgs) {
    const engine = await Engine.create();
    try {
      const r = await adapterReport(engine);
      if (bool(args, 'json')) {
        out.line(JSON.stringify(r, null, 2));
        return 0;
      }
      const a = r.adapter;
      out.line(`adapter       ${a.description || a.device || '(no description)'}`);
      out.line(`vendor        ${a.vendor || '-'}    architecture ${a.architecture || '-'}    device ${a.device || '-'}`);
      out.line(`kind          ${a.software ? 'software (CPU) adapter: expect slow kernels; the comparison uses its quick preset' : 'hardware GPU'}`);
      out.line(`obtained via  ${r.obtainedVia}`);
      out.line('limits');
      for (const [k, v] of Object.entries(r.limits)) out.line(`  ${k.padEnd(36)} ${/Size$/.test(k) ? mib(v) : v}`);
      out.line(`features      ${Object.entries(r.features).map(([f, on]) => `${f} ${on ? 'yes' : 'no'}`).join(', ')}`);
      return 0;
    } finally {
      engine.destroy();
    }
  },
};
