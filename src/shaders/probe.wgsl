// Probes: a statistic of a whole tensor written into one slot of a probe buffer, inside the step
// (no readback; the trainer reads the buffer when it reads its progress). src/engine/ops/probe.ts.
//   mode 0  out[slot] = mean(a), out[slot + 1] = std(a)   (population: sqrt(mean((a - mean)^2)))
//   mode 1  out[slot] = ||a||                             (L2 norm: a gradient's size)
//   mode 2  out[slot] = ||a - b||                         (an update's size: weights after - before)
// One workgroup of WG invocations walks the tensor (invocation i takes elements i, i + WG, ...) and
// the partial sums meet in a tree in workgroup memory. The std takes a second pass over the tensor
// around the mean it has just computed, instead of sum(a^2) / n - mean^2, which loses every digit
// when the mean is large against the spread (activations after a ReLU, a weight's values).
// A probe is one workgroup's walk over the tensor: 25-29 ms for 2M elements (b1's activations at
// batch 128) on 2-core lavapipe, paid only at probe steps (measured with a throwaway timing loop,
// 2026-12-03). If the probes' share of training time says so, a split over several workgroups with
// a second pass to combine them is the next step.
struct Params {
  n: u32,
  slot: u32,
  mode: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> prm: Params;

const WG = 256u;
var<workgroup> part: array<f32, WG>;

/** The sum of every invocation's v (all of them must call it). */
fn workgroup_sum(li: u32, v: f32) -> f32 {
  part[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) {
      part[li] += part[li + s];
    }
    workgroupBarrier();
  }
  let total = part[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn probe(@builtin(local_invocation_index) li: u32) {
  let n = prm.n;
  if (prm.mode == 0u) {
    var s = 0.0;
    for (var i = li; i < n; i += WG) {
      s += a[i];
    }
    let mean = workgroup_sum(li, s) / f32(n);
    var q = 0.0;
    for (var i = li; i < n; i += WG) {
      let d = a[i] - mean;
      q += d * d;
    }
    let m2 = workgroup_sum(li, q);
    if (li == 0u) {
      out[prm.slot] = mean;
      out[prm.slot + 1u] = sqrt(m2 / f32(n));
    }
  } else {
    var q = 0.0;
    for (var i = li; i < n; i += WG) {
      var d = a[i];
      if (prm.mode == 2u) {
        d -= b[i];
      }
      q += d * d;
    }
    let s2 = workgroup_sum(li, q);
    if (li == 0u) {
      out[prm.slot] = sqrt(s2);
    }
  }
}
