// SGD with momentum and weight decay, PyTorch's torch.optim.SGD with dampening 0, in place:
//   g = grad + WEIGHT_DECAY * param
//   b = m * b + g                             (b starts at 0, so the first step gives b = g, as PyTorch)
//   d = NESTEROV ? g + m * b : b
//   param -= lr * d
// lr = schedule[min(step, SCHEDULE_LEN - 1)]: the step counter lives on the GPU and advance_step
// increments it once all parameters are updated, so a whole run of steps needs no host write.
// m is MOMENTUM, or with MOMENTUM_SCHEDULED the per-step value stored after the rates,
// schedule[SCHEDULE_LEN + same index] (OneCycleLR cycles momentum against the rate by default).
// step_count[1] records the first step whose gradient held a NaN or an infinity (0xffffffff: none
// yet): the trainer reads it with its progress readback, so a diverging run stops at the step where
// it diverged without a readback inside any step.
override WG: u32 = 256;
override N: u32;
override MOMENTUM: f32 = 0.0;
override WEIGHT_DECAY: f32 = 0.0;
override NESTEROV: bool = false;
override SCHEDULE_LEN: u32 = 1u;
override MOMENTUM_SCHEDULED: bool = false;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> velocity: array<f32>;
@group(0) @binding(3) var<storage, read> schedule: array<f32>;
@group(0) @binding(4) var<storage, read_write> step_count: array<u32>;

// By the bits, not `g != g`: WGSL lets compilers assume floats are never NaN or infinite.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn flag_non_finite(g: f32) {
  if (!is_finite(g)) {
    step_count[1] = min(step_count[1], step_count[0]);
  }
}

fn schedule_index() -> u32 {
  return min(step_count[0], SCHEDULE_LEN - 1u);
}

fn learning_rate() -> f32 {
  return schedule[schedule_index()];
}

fn momentum() -> f32 {
  if (MOMENTUM_SCHEDULED) {
    return schedule[SCHEDULE_LEN + schedule_index()];
  }
  return MOMENTUM;
}

@compute @workgroup_size(WG)
fn update_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= N) { return; }
  let p = param[i];
  let g = grad[i] + WEIGHT_DECAY * p;
  flag_non_finite(g);
  let m = momentum();
  var d = g;
  // A scheduled momentum of exactly 0 leaves the buffer alone, as PyTorch's `if momentum != 0` does.
  if (m != 0.0) {
    let b = m * velocity[i] + g;
    velocity[i] = b;
    d = select(b, g + m * b, NESTEROV);
  }
  param[i] = p - learning_rate() * d;
}

// Momentum 0: PyTorch keeps no buffer then, and neither do we (d = g).
@compute @workgroup_size(WG)
fn update_plain(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= N) { return; }
  let p = param[i];
  let g = grad[i] + WEIGHT_DECAY * p;
  flag_non_finite(g);
  param[i] = p - learning_rate() * g;
}

@compute @workgroup_size(1)
fn advance_step() {
  step_count[0] += 1u;
}
