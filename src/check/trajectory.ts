// A few SGD steps of SeedNet on a fixed synthetic batch, per norm, compared with the trajectory
// lavapipe (8 lanes) recorded (src/check/trajectory-lavapipe.json, written by
// `normlab selftest --record-trajectory FILE`). Every kernel of a training step runs: the adapter's
// own convolution rows, the fused norms, pool, loss, SGD with momentum and weight decay. Another
// driver sums in another order, so agreement is within a tolerance, not bit for bit.
import type { Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import * as ops from '../engine/ops/index.js';
import { SGD } from '../engine/optim.js';
import { SeedNet, type NormKind } from '../model/seednet.js';
import { initParams } from '../train/trainer.js';
import { fixtureTensor, hash32 } from '../reference/norm.js';

export const TRAJECTORY = {
  shape: [8, 1, 28, 28] as [number, number, number, number],
  steps: 5,
  seed: 3,
  sgd: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  norms: ['none', 'batch', 'group', 'layer'] as NormKind[],
};

/**
 * Relative agreement asked of another driver, for the losses and for how far each tensor moved
 * (measured against max(its own movement, 0.1 x the largest movement), as relError measures
 * elements: a gamma whose gradient is a sum with much cancellation moves little, and another sum
 * order changes its small movement by more than its share). Measured with
 * `normlab selftest --adapter A --record-trajectory F` against this file: lavapipe at 16 lanes
 * bit-identical, at 4 lanes under 6e-7, SwiftShader under 7e-7 except batch norm, 2.4e-4 (its
 * losses 3.6e-6). 1e-3 leaves four times that; a step 1% off in a loss or in the update of one
 * of the larger tensors is caught (test/check/selftest.test.ts).
 */
export const TRAJECTORY_RTOL = 1e-3;

export interface Trajectory {
  norm: NormKind;
  losses: number[];
  /**
   * ||w_T - w_0||, the L2 norm of what the steps changed in each parameter and buffer, by
   * state_dict name: all of it comes from the gradients (and the running statistics), where the
   * weights' own norms would hide a wrong gradient behind the initial values.
   */
  moved: Record<string, number>;
}

export async function trainTrajectory(engine: Engine, norm: NormKind): Promise<Trajectory> {
  const [n] = TRAJECTORY.shape;
  const init = new Map<string, Float32Array>();
  const initOf = initParams(TRAJECTORY.seed);
  const model = new SeedNet(engine, { inChannels: 1, norm, groups: 4, classes: 10 }, (spec) => {
    const v = initOf(spec);
    init.set(spec.name, v);
    return v;
  });
  const x = engine.keep(engine.tensor(fixtureTensor(11, TRAJECTORY.shape, 1.5), TRAJECTORY.shape));
  const y = engine.keep(engine.tensor(Array.from({ length: n }, (_, i) => hash32(100 + i) % 10), [n], 'u32'));
  const opt = new SGD(engine, model.parameters, TRAJECTORY.sgd);
  try {
    const losses = await sgdSteps(model, opt, x, y, TRAJECTORY.steps);
    const moved: Record<string, number> = {};
    for (const [name, t] of model.tensors) {
      const v = await t.read();
      const w0 = init.get(name)!;
      moved[name] = Math.sqrt(v.reduce((a, b, i) => a + (b - w0[i]!) ** 2, 0));
    }
    return { norm, losses, moved };
  } finally {
    x.dispose();
    y.dispose();
    opt.dispose();
    model.dispose();
  }
}

/** `steps` training steps on one batch (forward in training mode, backward, SGD): each step's loss. */
export async function sgdSteps(model: SeedNet, opt: SGD, x: Tensor, y: Tensor, steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = model.engine.tidy(() => {
      const l = ops.logSoftmaxNll(model.forward(x, true), y);
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
    losses.push((await loss.read())[0]!);
    loss.dispose();
  }
  return losses;
}

/** The worst relative difference from the recorded trajectory, and where it is. */
export function compareTrajectory(got: Trajectory, want: Trajectory): { err: number; where: string } {
  let err = 0;
  let where = '-';
  const floor = 0.1 * Math.max(...Object.values(want.moved));
  const rel = (a: number, b: number, at: string, atLeast = 1e-6) => {
    const e = Math.abs(a - b) / Math.max(Math.abs(b), atLeast);
    if (!(e <= err)) [err, where] = [Number.isNaN(e) ? Infinity : e, at];
  };
  want.losses.forEach((l, i) => rel(got.losses[i] ?? NaN, l, `loss at step ${i + 1}`));
  for (const [name, v] of Object.entries(want.moved)) rel(got.moved[name] ?? NaN, v, `|${name} - its initial value|`, floor);
  return { err, where };
}
