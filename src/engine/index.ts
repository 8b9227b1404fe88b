// The engine's public surface.
export { Engine, workgroups1d, type Kernel, type DispatchArgs, type Constants } from './engine.js';
export { Tensor, type DType } from './tensor.js';
export { noGrad, record, isGradEnabled, accumulateInto, full, type GradNode, type BackwardRule } from './autograd.js';
export { BufferPool, sizeClass, type PoolStats } from './pool.js';
export { acquireGpu, summarizeAdapter, NO_ADAPTER_HELP, type AdapterSummary } from './device.js';
export { UserError, UsageError, GpuError, NonFiniteError } from './errors.js';
export { debugFlags, type DebugFlags } from './debug.js';
export * as ops from './ops/index.js';
