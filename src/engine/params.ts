// Kernel parameters as small uniform buffers, one per distinct list of words, made once with
// mappedAtCreation (no queue write, so no submit inside a step) and kept for the engine's life.
// Sizes read this way instead of as `override` constants compile a kernel once per structural
// choice rather than once per shape (lavapipe compiles each pipeline with LLVM the first time it
// runs: selftest's two quick training checks, 87 pipelines, took 34 s on a cold shader cache and
// 2.3 s on a warm one), and steady training reuses the same buffers and with them the cached bind
// groups.
import type { Engine } from './engine.js';

const PARAM_WORDS = 16;
const paramBuffers = new WeakMap<Engine, Map<string, GPUBuffer>>();

/** The uniform buffer holding `words` (u32 each, at most 16) for the kernels of `module`. */
export function paramBuffer(engine: Engine, module: string, words: number[]): GPUBuffer {
  if (words.length > PARAM_WORDS || words.some((v) => !Number.isInteger(v) || v < 0 || v >= 2 ** 32)) {
    throw new Error(`${module}: bad kernel parameters ${words.join(',')}`);
  }
  let cache = paramBuffers.get(engine);
  if (!cache) paramBuffers.set(engine, (cache = new Map()));
  const key = `${module}:${words.join(',')}`;
  let buffer = cache.get(key);
  if (!buffer) {
    buffer = engine.device.createBuffer({ label: `${module} params ${key}`, size: 4 * PARAM_WORDS, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    cache.set(key, buffer);
  }
  return buffer;
}
