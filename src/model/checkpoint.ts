// SeedNet checkpoints: safetensors in the layout of PyTorch's state_dict (SEEDNET.md), with the
// run's description in the metadata. Loading validates the whole file against the model before a
// single tensor is touched, so a bad checkpoint is refused whole. This file works on bytes, so the
// browser bundle shares it; checkpoint-files.ts reads and writes them on disk (Node).
import { UserError } from '../engine/errors.js';
import { decodeSafetensors, encodeSafetensors, type StTensor } from './safetensors.js';
import type { Engine } from '../engine/engine.js';
import type { SGDState } from '../engine/optim.js';
import type { Dataset } from '../train/data/dataset.js';
import type { TrainConfig } from '../train/trainer.js';
import { paramSpecs, SeedNet, type SeedNetConfig, NORM_KINDS, type NormKind } from './seednet.js';
import type { Model } from './model.js';

export interface CheckpointMeta {
  format: 'normlab-seednet-1';
  norm: NormKind;
  groups: number;
  inChannels: number;
  classes: number;
  dataset: string;
  classNames: string[];
  mean: number[];
  std: number[];
  height: number;
  width: number;
  epoch: number;
  /** Steps taken of the next epoch when saved between steps (--checkpoint-every, Ctrl-C); else 0. */
  stepInEpoch: number;
  recipe: Record<string, unknown>;
}

/** The metadata a checkpoint of this run carries (epoch: the epochs completed). */
export function checkpointMeta(ds: Dataset, cfg: TrainConfig, epoch: number, subset?: number, stepInEpoch = 0): CheckpointMeta {
  return {
    format: 'normlab-seednet-1',
    norm: cfg.norm,
    groups: cfg.norm === 'layer' ? 1 : cfg.groups,
    inChannels: ds.channels,
    classes: ds.classes.length,
    dataset: ds.name,
    classNames: [...ds.classes],
    mean: [...ds.mean],
    std: [...ds.std],
    height: ds.height,
    width: ds.width,
    epoch,
    stepInEpoch,
    // Keys sorted: a run resumed from a saved recipe writes the same bytes as one never stopped.
    recipe: Object.fromEntries(Object.entries({ ...cfg, subset: subset ?? null }).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}


/** A model's state_dict as PyTorch names it (model.stateDict()), read from the GPU. */
export function stateDict(model: Model): Promise<Map<string, StTensor>> {
  return model.stateDict();
}

function metaStrings(meta: CheckpointMeta): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return metadata;
}

/** The checkpoint file's bytes (safetensors). */
export async function encodeCheckpoint(model: SeedNet, meta: CheckpointMeta): Promise<Uint8Array> {
  return encodeSafetensors(await stateDict(model), metaStrings(meta));
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  config: SeedNetConfig;
  tensors: Map<string, StTensor>;
  batchesTracked: number;
}

function parseMeta(path: string, m: Record<string, string>): CheckpointMeta {
  const need = (k: string): string => {
    const v = m[k];
    if (v === undefined) throw new UserError(`${path}: not a normlab SeedNet checkpoint (metadata '${k}' missing)`);
    return v;
  };
  const json = (k: string): unknown => {
    try {
      return JSON.parse(need(k));
    } catch {
      throw new UserError(`${path}: metadata '${k}' is not valid JSON`);
    }
  };
  if (m.format === 'normlab-model-1') throw new UserError(`${path}: a model of the module tree (saveModel), not a SeedNet checkpoint: load it with loadModel() (docs/api.md)`);
  if (need('format') !== 'normlab-seednet-1') throw new UserError(`${path}: unknown checkpoint format '${m.format}'`);
  const norm = need('norm');
  if (!(NORM_KINDS as readonly string[]).includes(norm)) throw new UserError(`${path}: unknown norm '${norm}' in metadata`);
  const num = (k: string): number => {
    const v = json(k);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${path}: metadata '${k}' is not a number`);
    return v;
  };
  const nums = (k: string): number[] => {
    const v = json(k);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw new UserError(`${path}: metadata '${k}' is not a list of numbers`);
    return v as number[];
  };
  const names = json('classNames');
  if (!Array.isArray(names) || names.some((x) => typeof x !== 'string')) throw new UserError(`${path}: metadata 'classNames' is not a list of names`);
  const recipe = json('recipe');
  return {
    format: 'normlab-seednet-1',
    norm: norm as NormKind,
    groups: num('groups'),
    inChannels: num('inChannels'),
    classes: num('classes'),
    dataset: need('dataset'),
    classNames: names as string[],
    mean: nums('mean'),
    std: nums('std'),
    height: num('height'),
    width: num('width'),
    epoch: num('epoch'),
    // Absent in checkpoints saved only at epoch ends by earlier versions.
    stepInEpoch: m.stepInEpoch === undefined ? 0 : num('stepInEpoch'),
    recipe: recipe && typeof recipe === 'object' ? (recipe as Record<string, unknown>) : {},
  };
}

/**
 * Validates a decoded file as a SeedNet state dict (names, shapes, dtypes, metadata). Tensors for
 * which `other` returns true belong to something else in the same file and are left alone.
 */
function checkpointFromFile(path: string, file: ReturnType<typeof decodeSafetensors>, other: (name: string) => boolean = () => false): LoadedCheckpoint {
  const meta = parseMeta(path, file.metadata);
  const ghost = Number(meta.recipe?.ghostBatch);
  const config: SeedNetConfig = {
    inChannels: meta.inChannels,
    norm: meta.norm,
    groups: meta.groups,
    classes: meta.classes,
    // Ghost batches change nothing in evaluation; kept so precise statistics see the training's sets.
    ...(meta.norm === 'batch' && Number.isInteger(ghost) && ghost > 0 ? { ghostBatch: ghost } : {}),
  };
  const expected = paramSpecs(config);
  const names = new Set(expected.map((s) => s.name));
  for (const s of expected) {
    const t = file.tensors.get(s.name);
    if (!t) throw new UserError(`${path}: tensor '${s.name}' is missing (a ${meta.norm}-norm SeedNet needs it)`);
    if (t.dtype !== 'F32') throw new UserError(`${path}: tensor '${s.name}' is ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== s.shape.join(',')) throw new UserError(`${path}: tensor '${s.name}' is [${t.shape}], expected [${s.shape}]`);
  }
  let batchesTracked = 0;
  const tensors = new Map<string, StTensor>();
  for (const [name, t] of file.tensors) {
    if (other(name)) continue;
    tensors.set(name, t);
    if (names.has(name)) continue;
    if (meta.norm === 'batch' && name.endsWith('.num_batches_tracked') && t.dtype === 'I64' && t.shape.length === 0) {
      batchesTracked = Number((t.data as BigInt64Array)[0]);
      continue;
    }
    throw new UserError(`${path}: unexpected tensor '${name}' for a ${meta.norm}-norm SeedNet`);
  }
  return { meta, config, tensors, batchesTracked };
}

/** Decodes and fully validates a checkpoint (names, shapes, dtypes) without touching the GPU; `path` names it in errors. */
export function decodeCheckpoint(bytes: Uint8Array, path: string): LoadedCheckpoint {
  return checkpointFromFile(path, decodeSafetensors(bytes, path));
}

/** Copies a validated checkpoint's tensors into a model of the same configuration. */
export function loadInto(model: SeedNet, ckpt: LoadedCheckpoint): void {
  const a = model.cfg;
  const b = ckpt.config;
  if (a.norm !== b.norm || a.inChannels !== b.inChannels || a.classes !== b.classes || (a.norm === 'group' && a.groups !== b.groups)) {
    throw new UserError(
      `checkpoint is a ${b.norm}-norm SeedNet for ${b.inChannels}-channel input (groups ${b.groups}), ` +
        `but the model is ${a.norm}-norm for ${a.inChannels} channels (groups ${a.groups})`,
    );
  }
  // Names, shapes and dtypes were validated when the checkpoint was decoded.
  model.loadStateDict(ckpt.tensors, { strict: false });
  model.batchesTracked = ckpt.batchesTracked;
}

/** A SeedNet holding a validated checkpoint's weights. */
export function modelFromCheckpoint(engine: Engine, ckpt: LoadedCheckpoint): SeedNet {
  const model = new SeedNet(engine, ckpt.config, (spec) => ckpt.tensors.get(spec.name)!.data as Float32Array);
  model.batchesTracked = ckpt.batchesTracked;
  return model;
}

/**
 * The training state `normlab train --resume` continues from, in ONE file so that a kill at any
 * moment leaves a consistent state on disk (each write is atomic): the model's state dict with its
 * metadata, one `<parameter>.momentum_buffer` per trainable tensor (torch.optim.SGD's state
 * names), the position in the run and the epoch rows so far. model.safetensors beside it is the
 * user's checkpoint; this file is only for resuming.
 */
export const TRAIN_STATE_FORMAT = 'normlab-train-state-1';
const MOMENTUM_SUFFIX = '.momentum_buffer';

/** Where in the run the saved state stands, and the partial epoch's accumulators. */
export interface RunState {
  /** Epochs completed. */
  epoch: number;
  /** Steps taken of the next epoch (0 at an epoch's end). */
  stepInEpoch: number;
  /** That partial epoch's loss sum and correct count (0 at an epoch's end). */
  lossSum: number;
  correct: number;
  /** The completed epochs' metrics rows, as JSON. */
  epochsJson: string;
  /** Where the dataset was read from (--resume reads it there unless told otherwise). */
  dataSource: string;
}

/** The train-state file's bytes (safetensors). */
export async function encodeTrainState(model: SeedNet, meta: CheckpointMeta, optimizer: SGDState, at: RunState): Promise<Uint8Array> {
  const tensors = await stateDict(model);
  model.specs
    .filter((s) => !s.buffer)
    .forEach((s, i) => {
      const m = optimizer.momentum[i];
      if (m) tensors.set(`${s.name}${MOMENTUM_SUFFIX}`, { dtype: 'F32', shape: s.shape, data: m });
    });
  const metadata = metaStrings(meta);
  Object.assign(metadata, {
    trainState: TRAIN_STATE_FORMAT,
    optimizerStep: String(optimizer.step),
    lossSum: String(at.lossSum),
    correct: String(at.correct),
    epochs: at.epochsJson,
    dataSource: at.dataSource,
  });
  return encodeSafetensors(tensors, metadata);
}

export interface LoadedTrainState {
  checkpoint: LoadedCheckpoint;
  optimizer: SGDState;
  at: RunState;
}

/** Decodes and validates a train state written by encodeTrainState: the model part as decodeCheckpoint does. */
export function decodeTrainState(bytes: Uint8Array, path: string): LoadedTrainState {
  const file = decodeSafetensors(bytes, path);
  if (file.metadata.trainState !== TRAIN_STATE_FORMAT) {
    throw new UserError(`${path}: not a normlab training state (format '${file.metadata.trainState ?? 'missing'}')`);
  }
  const checkpoint = checkpointFromFile(path, file, (name) => name.endsWith(MOMENTUM_SUFFIX));
  const number = (k: string, integer: boolean): number => {
    const raw = file.metadata[k];
    const v = Number(raw);
    if (raw === undefined || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
      throw new UserError(`${path}: metadata '${k}' is missing or not a ${integer ? 'whole number' : 'number'}`);
    }
    return v;
  };
  const params = paramSpecs(checkpoint.config).filter((s) => !s.buffer);
  const expected = new Set(params.map((s) => `${s.name}${MOMENTUM_SUFFIX}`));
  for (const name of file.tensors.keys()) {
    if (name.endsWith(MOMENTUM_SUFFIX) && !expected.has(name)) throw new UserError(`${path}: unexpected tensor '${name}' for a ${checkpoint.config.norm}-norm SeedNet`);
  }
  const momentum = params.map((s) => {
    const t = file.tensors.get(`${s.name}${MOMENTUM_SUFFIX}`);
    if (!t) return null;
    if (t.dtype !== 'F32' || t.shape.join(',') !== s.shape.join(',')) {
      throw new UserError(`${path}: '${s.name}${MOMENTUM_SUFFIX}' is ${t.dtype} [${t.shape}], expected F32 [${s.shape}]`);
    }
    return t.data as Float32Array;
  });
  const epochsJson = file.metadata.epochs ?? '';
  try {
    if (!Array.isArray(JSON.parse(epochsJson))) throw new Error('not a list');
  } catch {
    throw new UserError(`${path}: metadata 'epochs' is not a list of epoch rows`);
  }
  return {
    checkpoint,
    optimizer: { step: number('optimizerStep', true), momentum },
    at: {
      epoch: checkpoint.meta.epoch,
      stepInEpoch: checkpoint.meta.stepInEpoch,
      lossSum: number('lossSum', false),
      correct: number('correct', true),
      epochsJson,
      dataSource: file.metadata.dataSource ?? '',
    },
  };
}
