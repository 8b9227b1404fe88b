// The SGD update as kernel calls, recorded into the current encoder (no submit, no host traffic).
// Kernels: src/shaders/sgd.wgsl. The optimizer class that drives them is src/engine/optim.ts.
import wgsl from '../../shaders/sgd.wgsl';
import type { Kernel } from '../engine.js';
import { workgroups1d } from '../engine.js';
import type { Tensor } from '../tensor.js';

const WG = 256;
const kernel = (entryPoint: string): Kernel => ({ name: `sgd.${entryPoint}`, code: wgsl, entryPoint });
const UPDATE_MOMENTUM = kernel('update_momentum');
const UPDATE_PLAIN = kernel('update_plain');
const ADVANCE_STEP = kernel('advance_step');

export interface SgdHyper {
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * The learning rates of a run, one per step, and optionally a momentum per step stored after them
 * (then `values` holds 2 * length values). Both are indexed by the GPU step counter.
 */
export interface SgdSchedule {
  values: Tensor;
  length: number;
  momentumScheduled: boolean;
}

/**
 * param -= lr * direction, in place, with lr = schedule[min(step, length - 1)] read on the GPU.
 * `velocity` is the momentum buffer (updated in place); pass null when momentum is 0.
 * Hyper-parameters other than the scheduled ones are pipeline constants: they are fixed for a run.
 */
export function sgdUpdate(param: Tensor, grad: Tensor, velocity: Tensor | null, schedule: SgdSchedule, step: Tensor, hp: SgdHyper): void {
  if (grad.size !== param.size) throw new Error(`sgdUpdate: grad ${grad} does not match param ${param}`);
  if (velocity && velocity.size !== param.size) throw new Error(`sgdUpdate: momentum buffer ${velocity} does not match ${param}`);
  if (!velocity && (hp.momentum !== 0 || schedule.momentumScheduled)) throw new Error('sgdUpdate: momentum needs a momentum buffer');
  if (schedule.values.size < schedule.length * (schedule.momentumScheduled ? 2 : 1)) throw new Error('sgdUpdate: schedule tensor too small');
  if (step.dtype !== 'u32') throw new Error(`sgdUpdate: the step counter must be u32, got ${step.dtype}`);
  param.engine.dispatch(velocity ? UPDATE_MOMENTUM : UPDATE_PLAIN, {
    constants: {
      WG,
      N: param.size,
      MOMENTUM: hp.momentum,
      WEIGHT_DECAY: hp.weightDecay,
      NESTEROV: hp.nesterov ? 1 : 0,
      SCHEDULE_LEN: schedule.length,
      MOMENTUM_SCHEDULED: schedule.momentumScheduled ? 1 : 0,
    },
    bindings: [param, grad, velocity, schedule.values, step],
    workgroups: workgroups1d(param.size, WG),
    op: `sgd ${param.label}`,
  });
}

/** step += 1 on the GPU; recorded after every parameter's update of the step. */
export function advanceStep(step: Tensor): void {
  step.engine.dispatch(ADVANCE_STEP, { bindings: [null, null, null, null, step], workgroups: 1 });
}
