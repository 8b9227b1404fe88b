// Checkpoints and train states on disk (Node): atomic writes, one-line errors for unreadable files.
// The formats and their validation live in checkpoint.ts and model-checkpoint.ts, which the browser
// bundle shares.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import { UserError } from '../engine/errors.js';
import type { SGDState } from '../engine/optim.js';
import type { SeedNet } from './seednet.js';
import type { Engine } from '../engine/engine.js';
import type { Model } from './model.js';
import { decodeModel, encodeModel } from './model-checkpoint.js';
import {
  decodeCheckpoint,
  decodeTrainState,
  encodeCheckpoint,
  encodeTrainState,
  type CheckpointMeta,
  type LoadedCheckpoint,
  type LoadedTrainState,
  type RunState,
} from './checkpoint.js';

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function saveCheckpoint(path: string, model: SeedNet, meta: CheckpointMeta): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(model, meta));
}

/** Reads and fully validates a checkpoint (names, shapes, dtypes) without touching the GPU. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  return decodeCheckpoint(readBytes(path), path);
}

export async function saveTrainState(path: string, model: SeedNet, meta: CheckpointMeta, optimizer: SGDState, at: RunState): Promise<void> {
  writeFileAtomic(path, await encodeTrainState(model, meta, optimizer, at));
}

/** Reads and validates a train state written by saveTrainState: the model part as readCheckpoint does. */
export function readTrainState(path: string): LoadedTrainState {
  return decodeTrainState(readBytes(path), path);
}

/** Any model of the module tree, with its definition (model-checkpoint.ts). */
export async function saveModel(path: string, model: Model, metadata: Record<string, string> = {}): Promise<void> {
  writeFileAtomic(path, await encodeModel(model, metadata));
}

/** The model a file saved by saveModel describes, its weights loaded. */
export function loadModel(engine: Engine, path: string): { model: Model; metadata: Record<string, string> } {
  return decodeModel(engine, readBytes(path), path);
}
