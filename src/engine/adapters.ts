// The Vulkan drivers normlab can be told to use on Linux (NORMLAB_ADAPTER, or --adapter on the
// CLI), as the environment that the Vulkan loader (VK_ICD_FILENAMES) and lavapipe
// (LP_NATIVE_VECTOR_WIDTH: its SIMD width, hence its subgroup size) read. Both are read once, when
// the first Vulkan instance of the process loads the driver: the choice holds for the process.
import { UserError } from './errors.js';

interface AdapterSpec {
  icd: keyof typeof ICD_FILES;
  /** lavapipe's vector width in bits: 128, 256, 512 give subgroups of 4, 8, 16 lanes. */
  vectorBits?: number;
  what: string;
}

/** Where Debian (and others) put each driver's ICD manifest; the first that exists is used. */
const ICD_FILES = {
  lavapipe: ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/etc/vulkan/icd.d/lvp_icd.json'],
  swiftshader: ['/usr/lib/chromium/vk_swiftshader_icd.json'],
} as const;

const PACKAGES = { lavapipe: 'mesa-vulkan-drivers (node scripts/setup.mjs installs it)', swiftshader: "Debian's chromium, which ships it" };

export const ADAPTERS: Record<string, AdapterSpec> = {
  lavapipe: { icd: 'lavapipe', what: "Mesa lavapipe on the CPU at its default width (8 lanes where the CPU has AVX2)" },
  lavapipe4: { icd: 'lavapipe', vectorBits: 128, what: 'Mesa lavapipe, 128-bit vectors: subgroups of 4' },
  lavapipe8: { icd: 'lavapipe', vectorBits: 256, what: 'Mesa lavapipe, 256-bit vectors: subgroups of 8' },
  lavapipe16: { icd: 'lavapipe', vectorBits: 512, what: 'Mesa lavapipe, 512-bit vectors: subgroups of 16' },
  swiftshader: { icd: 'swiftshader', what: "Google's SwiftShader on the CPU (subgroups of 4), as Chromium uses it" },
};

export interface AdapterChoice {
  name: string;
  what: string;
  /** The variables to set before the first Vulkan instance. */
  env: Record<string, string>;
}

/** NORMLAB_ADAPTER's value as environment variables; one clear error for a name or driver that is not there. */
export function adapterChoice(name: string, exists: (path: string) => boolean): AdapterChoice {
  const spec = ADAPTERS[name];
  if (!spec) throw new UserError(`unknown adapter '${name}' (expected one of ${Object.keys(ADAPTERS).join(', ')})`);
  const icd = ICD_FILES[spec.icd].find((p) => exists(p));
  if (!icd) throw new UserError(`adapter '${name}': no ${spec.icd} Vulkan driver here (looked for ${ICD_FILES[spec.icd].join(', ')}; it comes with ${PACKAGES[spec.icd]})`);
  const env: Record<string, string> = { VK_ICD_FILENAMES: icd };
  if (spec.vectorBits) env.LP_NATIVE_VECTOR_WIDTH = String(spec.vectorBits);
  return { name, what: spec.what, env };
}
