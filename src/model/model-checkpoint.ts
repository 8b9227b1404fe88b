// Checkpoints of any model from the module tree (modules.ts): the state_dict as safetensors, in
// PyTorch's names, with the model's definition (its ModuleSpec, JSON) in the metadata, so that the
// file alone rebuilds the model (decodeModel) and pytorch-source.ts writes the matching nn.Module.
// SeedNet's own checkpoints (checkpoint.ts) carry the training run's description instead. Bytes
// only, so the browser shares it; checkpoint-files.ts reads and writes files.
import type { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import { Model, type ModelOptions } from './model.js';
import { moduleFromSpec, type ModuleSpec } from './modules.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

export const MODEL_FORMAT = 'normlab-model-1';

/** The checkpoint's bytes; `metadata` adds string entries of the caller's (a dataset name, say). */
export async function encodeModel(model: Model, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return encodeSafetensors(await model.stateDict(), {
    ...metadata,
    format: MODEL_FORMAT,
    module: JSON.stringify(model.module.spec),
    options: JSON.stringify(model.options),
  });
}

/** The model a checkpoint describes, holding its weights (names and shapes checked by loadStateDict, strictly). */
export function decodeModel(engine: Engine, bytes: Uint8Array, path = 'model'): { model: Model; metadata: Record<string, string> } {
  const file = decodeSafetensors(bytes, path);
  const meta = file.metadata;
  if (meta.format !== MODEL_FORMAT) throw new UserError(`${path}: not a normlab model checkpoint (format '${meta.format ?? 'none'}'; SeedNet checkpoints load with modelFromCheckpoint)`);
  let spec: ModuleSpec;
  let options: ModelOptions;
  try {
    spec = JSON.parse(meta.module ?? '') as ModuleSpec;
    options = JSON.parse(meta.options ?? '{}') as ModelOptions;
  } catch {
    throw new UserError(`${path}: the model definition in its metadata is not JSON`);
  }
  const model = new Model(engine, moduleFromSpec(spec), (s) => new Float32Array(s.shape.reduce((a, b) => a * b, 1)), options);
  try {
    model.loadStateDict(file.tensors);
  } catch (e) {
    model.dispose();
    throw e instanceof UserError ? new UserError(`${path}: ${e.message}`) : e;
  }
  return { model, metadata: meta };
}
