// Peers of normlab on the same machine, in the same run, on the same shapes: TensorFlow.js on the
// same WebGPU adapter, and PyTorch on the CPU. Each peer figure is paired with normlab's figure of
// the same name (a bench row: 'conv cifar10 b2 3x3 forward', 'step batch 3x32x32');
// ratio = peer time / normlab time, so above 1 means normlab is faster.
import type { Engine } from '../../src/engine/engine.js';
import { benchTfjs, TFJS_PEER } from './tfjs.js';
import { benchTorch, TORCH_PEER } from './torch.js';
import { PEER_CONV_LAYERS, type PeerOptions, type PeerResult } from './common.js';

export { PEER_CONV_LAYERS, TFJS_PEER, TORCH_PEER, type PeerOptions, type PeerResult };

export interface PeerRow {
  peer: string;
  what: string;
  medianMs: number | null;
  normlabMs: number | null;
  ratio: number | null;
  /** Why the peer is missing, when it is (then `what` is 'missing'). */
  missing?: string;
}

/** normlab's conv rows the peers are compared with. */
export function peerConvRowNames(): string[] {
  return PEER_CONV_LAYERS.flatMap((l) => ['forward', 'input grad', 'weight grad'].map((p) => `conv cifar10 ${l.name} 3x3 ${p}`));
}

export function stepRowName(norm: string, input: string): string {
  return `step ${norm} ${input}`;
}

/** One row per peer figure, paired with normlab's by name; one 'missing' row per missing peer. */
export function pairWithNormlab(results: readonly PeerResult[], normlabMs: ReadonlyMap<string, number>): PeerRow[] {
  return results.flatMap((r): PeerRow[] => {
    if (r.missing !== null) return [{ peer: r.peer, what: 'missing', medianMs: null, normlabMs: null, ratio: null, missing: r.missing }];
    return r.rows.map((t) => {
      const ours = normlabMs.get(t.what) ?? null;
      return { peer: r.peer, what: t.what, medianMs: t.medianMs, normlabMs: ours, ratio: ours ? t.medianMs / ours : null };
    });
  });
}

/**
 * Runs PyTorch (CPU only, so first: nothing else is on the GPU) and then tfjs. tfjs's training step
 * takes seconds on a software adapter, so it runs batch norm only, with fewer repetitions.
 */
export async function runPeers(engine: Engine, opts: PeerOptions & { tfjsStepReps: number }): Promise<PeerResult[]> {
  const torch = await benchTorch({ ...opts, layers: PEER_CONV_LAYERS.map((l) => l.name) });
  const tfjs = await benchTfjs(engine.gpu, { ...opts, stepNorms: ['batch'], stepReps: opts.tfjsStepReps });
  return [torch, tfjs];
}
