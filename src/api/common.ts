// normlab's public API, the part that runs in Node and in a browser alike (src/index.ts adds the
// Node-only file and dataset functions; src/browser.ts is this). Names follow PyTorch where it has
// one: Tensor.requiresGrad, .grad, .backward(), noGrad, Model.parameters, state_dict names.
// docs/api.md describes it with examples the test suite runs.

// The engine: one WebGPU device, tensors on it, ops with their backward rules, the tape autograd.
export { Engine, type Kernel, type DispatchArgs, type Constants } from '../engine/engine.js';
export { Tensor, type DType } from '../engine/tensor.js';
export { noGrad, isGradEnabled } from '../engine/autograd.js';
export { UserError, UsageError, GpuError, NonFiniteError, TrainingDivergedError } from '../engine/errors.js';
export * as ops from '../engine/ops/index.js';
export { SGD, type SGDOptions, type SGDState } from '../engine/optim.js';

// Models: the module tree, a model holding its tensors, SeedNet, the matching PyTorch module.
export { conv2d, block, maxPool2d, globalAvgPool, linear, sequential, moduleFromSpec, ModelDefinitionError, type Module, type ModuleSpec, type ParamSpec, type ConvOptions, type BlockOptions } from '../model/modules.js';
export { Model, type ForwardOptions, type ModelOptions } from '../model/model.js';
export { SeedNet, seedNetModule, LAYERS as SEEDNET_LAYERS, type SeedNetConfig } from '../model/seednet.js';
export { NORM_KINDS, type NormKind } from '../model/norms.js';
export { pytorchSource } from '../model/pytorch-source.js';

// Training: the trainer, its configuration and schedules, evaluation.
export { Trainer, DEFAULT_TRAIN_CONFIG, initParams, evaluate, type TrainConfig, type TrainHooks, type EpochMetrics, type Progress, type EvalResult } from '../train/trainer.js';
export { oneCycle, stepDecay, constant, type StepSchedule, type OneCycleOptions } from '../train/schedule.js';
export { subsetTrain, subsetTest, FASHION_MNIST_CLASSES, type Dataset, type Split } from '../train/data/dataset.js';

// Checkpoints as bytes (safetensors, PyTorch's state_dict names).
export { stateDict, encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint, checkpointMeta, type CheckpointMeta, type LoadedCheckpoint } from '../model/checkpoint.js';
export { encodeModel, decodeModel, MODEL_FORMAT } from '../model/model-checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type StTensor } from '../model/safetensors.js';
