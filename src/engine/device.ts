// Getting a GPUDevice, in Node (Dawn through the `webgpu` package) or in a browser (navigator.gpu).
import { UserError } from './errors.js';
import { adapterChoice } from './adapters.js';

export interface AcquiredGpu {
  /**
   * The GPU instance. Whoever holds the device must hold this too: in Dawn's Node binding, an
   * instance collected by the GC while its device lives makes the next event poll read freed
   * memory (a segfault or abort in InstanceBase::ProcessEvents, seen here after any allocation-heavy
   * console.log).
   */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** How the device was obtained, for `normlab info`. */
  source: string;
  info: AdapterSummary;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (lavapipe, SwiftShader, WARP). */
  software: boolean;
  features: string[];
}

/** The limits normlab raises from the defaults to what the adapter allows. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;

const OPTIONAL_FEATURES = ['timestamp-query', 'shader-f16', 'subgroups', 'subgroup-size-control'] as GPUFeatureName[];

export const NO_ADAPTER_HELP =
  'No WebGPU adapter found. On Linux without a GPU normlab runs on Mesa lavapipe (Vulkan, Mesa >= 24): ' +
  "run `node scripts/setup.mjs` (it installs libvulkan1 and mesa-vulkan-drivers from bookworm-backports), " +
  'or see README.md, "Set-up".';

export const NO_WEBGPU_BROWSER =
  'This browser has no WebGPU (navigator.gpu is missing), so normlab cannot run here. ' +
  'Use a browser with WebGPU, such as Chrome or Edge 113 or newer (on Linux started with --enable-unsafe-webgpu), ' +
  'and open the page over https or from localhost.';

export const NO_ADAPTER_HELP_BROWSER =
  'This browser has WebGPU but gave no adapter: the GPU may be blocklisted or WebGPU switched off. ' +
  'In Chrome or Edge on Linux, start it with --enable-unsafe-webgpu (or enable chrome://flags/#enable-unsafe-webgpu).';

async function getGpu(): Promise<{ gpu: GPU; source: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu (browser)' };
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new UserError(NO_WEBGPU_BROWSER);
  }
  // Variable specifiers keep bundlers from pulling Node's modules and the native one into the
  // browser bundle.
  const os = 'node:os';
  const fs = 'node:fs';
  process.env.XDG_RUNTIME_DIR ??= ((await import(/* @vite-ignore */ os)) as typeof import('node:os')).tmpdir();
  // NORMLAB_ADAPTER (or --adapter): point the Vulkan loader at one driver before the first instance.
  let chosen = process.env.VK_ICD_FILENAMES ? `; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES} from the environment` : '; the first adapter Dawn offers';
  const wanted = process.env.NORMLAB_ADAPTER;
  if (wanted) {
    const choice = adapterChoice(wanted, ((await import(/* @vite-ignore */ fs)) as typeof import('node:fs')).existsSync);
    Object.assign(process.env, choice.env);
    chosen = `; NORMLAB_ADAPTER=${wanted} (${choice.what}): ${Object.entries(choice.env).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  }
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu';
    mod = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new UserError(`Cannot load the 'webgpu' package (Dawn): ${(e as Error).message}. Run \`npm ci\`.`);
  }
  Object.assign(globalThis, mod.globals);
  const flags = (process.env.NORMLAB_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  return { gpu: mod.create(flags), source: `Dawn (npm webgpu) in Node ${process.version}${chosen}` };
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const i = adapter.info;
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  const software =
    (i as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software|warp|microsoft basic render/.test(text);
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    software,
    features: [...adapter.features].map(String).sort(),
  };
}

export async function acquireGpu(options: { powerPreference?: GPUPowerPreference } = {}): Promise<AcquiredGpu> {
  const { gpu, source } = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new UserError(source.startsWith('navigator.gpu') ? NO_ADAPTER_HELP_BROWSER : NO_ADAPTER_HELP);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'normlab' });
  return { gpu, adapter, device, source, info: summarizeAdapter(adapter) };
}
