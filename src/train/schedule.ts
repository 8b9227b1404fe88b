// Learning-rate (and momentum) schedules, computed on the host once per run and uploaded to the GPU,
// so a training step reads its values by step index and the host writes nothing per step.

export interface OneCycleOptions {
  maxLr: number;
  totalSteps: number;
  pctStart?: number;
  divFactor?: number;
  finalDivFactor?: number;
  /** PyTorch cycles momentum inversely to the learning rate by default (cycle_momentum=True). */
  cycleMomentum?: boolean;
  baseMomentum?: number;
  maxMomentum?: number;
}

export interface StepSchedule {
  lr: Float32Array;
  /** Per-step momentum, or null when momentum is fixed. */
  momentum: Float32Array | null;
}

function cosineAnneal(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/**
 * PyTorch's OneCycleLR (two phases, cosine): step k uses the value the scheduler holds after k calls
 * to scheduler.step(), i.e. the lr of optimizer step k. Phase ends sit at pct_start*T - 1 and T - 1,
 * as in torch/optim/lr_scheduler.py.
 */
export function oneCycle(o: OneCycleOptions): StepSchedule {
  const pctStart = o.pctStart ?? 0.3;
  const initialLr = o.maxLr / (o.divFactor ?? 25);
  const minLr = initialLr / (o.finalDivFactor ?? 1e4);
  const cycle = o.cycleMomentum ?? true;
  const baseM = o.baseMomentum ?? 0.85;
  const maxM = o.maxMomentum ?? 0.95;
  const T = o.totalSteps;
  const phases = [
    { end: pctStart * T - 1, lr: [initialLr, o.maxLr], m: [maxM, baseM] },
    { end: T - 1, lr: [o.maxLr, minLr], m: [baseM, maxM] },
  ];
  const lr = new Float32Array(T);
  const momentum = cycle ? new Float32Array(T) : null;
  for (let k = 0; k < T; k++) {
    let start = 0;
    for (let p = 0; p < phases.length; p++) {
      const ph = phases[p]!;
      if (k <= ph.end || p === phases.length - 1) {
        const pct = ph.end === start ? 0 : (k - start) / (ph.end - start);
        lr[k] = cosineAnneal(ph.lr[0]!, ph.lr[1]!, pct);
        if (momentum) momentum[k] = cosineAnneal(ph.m[0]!, ph.m[1]!, pct);
        break;
      }
      start = ph.end;
    }
  }
  return { lr, momentum };
}

/** Step decay: lr * gamma^(floor(epoch / stepEpochs)). */
export function stepDecay(lr0: number, stepsPerEpoch: number, epochs: number, stepEpochs: number, gamma = 0.1): StepSchedule {
  const lr = new Float32Array(stepsPerEpoch * epochs);
  for (let k = 0; k < lr.length; k++) lr[k] = lr0 * gamma ** Math.floor(Math.floor(k / stepsPerEpoch) / stepEpochs);
  return { lr, momentum: null };
}

export function constant(lr0: number): StepSchedule {
  return { lr: Float32Array.of(lr0), momentum: null };
}
