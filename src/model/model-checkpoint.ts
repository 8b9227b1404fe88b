// Checkpoints of any model from the module tree (modules.ts): the state_dict as safetensors, in
// PyTorch's names, with the model's definition (its ModuleSpec, JSON) in the metadata, so that the
// file alone rebuilds the model (decodeModel) and pytorch-source.ts writes the matching nn.Module.
// SeedNet's own checkpoints (checkpoint.ts) carry the training run's description instead. Bytes
// only, so the browser shares it; checkpoint-files.ts reads and writes files.
import type { Engine } from '../engine/engine.js';
import { UserError } from '../engine/errors.js';
import { stateDict } from './checkpoint.js';
import { Model, type ModelOptions } from './model.js';
import { moduleFromSpec, type ModuleSpec } from './modules.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

export const MODEL_FORMAT = 'normlab-model-1';

/** The checkpoint's bytes; `metadata` adds string entries of the caller's (a dataset name, say). */
export async function encodeModel(model: Model, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return encodeSafetensors(await stateDict(model), {
    ...metadata,
    format: MODEL_FORMAT,
    module: JSON.stringify(model.module.spec),
    options: JSON.stringify(model.options),
  });
}

/** The model a checkpoint describes, holding its weights; every tensor is checked against the definition first. */
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
  const module = moduleFromSpec(spec);
  for (const s of module.params('')) {
    const t = file.tensors.get(s.name);
    if (!t) throw new UserError(`${path}: no tensor '${s.name}'`);
    if (t.dtype !== 'F32' || t.shape.join(',') !== s.shape.join(',')) throw new UserError(`${path}: '${s.name}' is ${t.dtype} [${t.shape}], the model needs F32 [${s.shape}]`);
  }
  const model = new Model(engine, module, (s) => file.tensors.get(s.name)!.data as Float32Array, options);
  const tracked = [...file.tensors.entries()].find(([name]) => name.endsWith('.num_batches_tracked'));
  if (tracked) model.batchesTracked = Number((tracked[1].data as BigInt64Array)[0]);
  return { model, metadata: meta };
}
