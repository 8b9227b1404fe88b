// Flags shared by every command that trains (train, compare), validated once here.
import type { FlagSpec, ParsedArgs } from './args.js';
import { bool, num, optNum, str } from './args.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, type ScheduleKind } from '../train/trainer.js';
import type { NormKind } from '../model/seednet.js';
import { UsageError } from '../engine/errors.js';

const D = DEFAULT_TRAIN_CONFIG;

export const DATA_FLAG: FlagSpec = {
  name: 'data',
  type: 'string',
  metavar: 'DIR',
  help: 'dataset directory: MNIST/Fashion-MNIST IDX files or CIFAR-10 binary batches (default: Fashion-MNIST)',
};

export const TRAIN_FLAGS: FlagSpec[] = [
  DATA_FLAG,
  { name: 'epochs', type: 'int', min: 1, max: 10000, help: 'training epochs', default: D.epochs },
  { name: 'batch-size', type: 'int', min: 1, max: 65536, help: 'images per step', default: D.batchSize },
  { name: 'lr', type: 'float', min: 0, exclusiveMin: true, max: 100, help: 'learning rate (the maximum, for onecycle)', default: D.lr },
  { name: 'momentum', type: 'float', min: 0, max: 0.999, help: 'SGD momentum (onecycle cycles it 0.95-0.85-0.95, as PyTorch)', default: D.momentum },
  { name: 'weight-decay', type: 'float', min: 0, max: 1, help: 'L2 weight decay added to the gradient', default: D.weightDecay },
  { name: 'schedule', type: 'enum', choices: ['onecycle', 'step', 'constant'], help: 'learning-rate schedule', default: D.schedule },
  { name: 'seed', type: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed for weights, batch order and augmentation', default: D.seed },
  { name: 'subset', type: 'int', min: 1, metavar: 'N', help: 'train on the first N training images' },
  { name: 'groups', type: 'int', min: 1, max: 32, help: 'GroupNorm groups (must divide 16 and 32)', default: D.groups },
  { name: 'ghost-batch', type: 'int', min: 1, max: 65536, metavar: 'B', help: 'batch norm: statistics over consecutive sub-batches of B images (ghost batch norm); must divide --batch-size' },
  { name: 'augment', type: 'bool', help: 'random crop (padding 4) and horizontal flip, on the GPU' },
  { name: 'eval-batch-size', type: 'int', min: 1, max: 65536, help: 'images per evaluation batch', default: D.evalBatchSize },
  {
    name: 'probe-every',
    type: 'int',
    min: 1,
    max: 1_000_000,
    metavar: 'N',
    help: 'every N steps, measure inside the network: activation mean/std per layer, gradient norms, update ratios, internal covariate shift, the loss band and gradient predictiveness, on copies (training unchanged); see README, "Inside the network"',
  },
];

export function trainConfigFromArgs(args: ParsedArgs, norm: NormKind): TrainConfig {
  const groups = num(args, 'groups');
  if (norm === 'group' && (16 % groups !== 0 || 32 % groups !== 0)) {
    throw new UsageError(`--groups ${groups} does not divide SeedNet's 16 and 32 channels; allowed: 1, 2, 4, 8, 16`);
  }
  const ghost = optNum(args, 'ghost-batch');
  const batchSize = num(args, 'batch-size');
  const norms = (args.flags.norms as string[] | undefined) ?? [norm];
  if (ghost !== undefined && !norms.includes('batch')) throw new UsageError(`--ghost-batch is batch norm's, and no batch norm is trained here`);
  if (ghost !== undefined && batchSize % ghost !== 0) {
    throw new UsageError(`--ghost-batch ${ghost} does not divide --batch-size ${batchSize}`);
  }
  return {
    norm,
    groups,
    ghostBatch: ghost ?? 0,
    epochs: num(args, 'epochs'),
    batchSize,
    lr: num(args, 'lr'),
    momentum: num(args, 'momentum'),
    weightDecay: num(args, 'weight-decay'),
    schedule: str(args, 'schedule') as ScheduleKind,
    seed: num(args, 'seed'),
    augment: bool(args, 'augment'),
    evalBatchSize: num(args, 'eval-batch-size'),
    ...(optNum(args, 'probe-every') !== undefined ? { probeEvery: optNum(args, 'probe-every') } : {}),
  };
}

export function subsetFromArgs(args: ParsedArgs): number | undefined {
  return optNum(args, 'subset');
}
