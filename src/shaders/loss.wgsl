// Log-softmax + mean negative log-likelihood over rows of logits [N, K], with integer labels [N].
//
// Per row i with max m_i and s_i = sum_k exp(x_ik - m_i):
//   log_softmax(x_i)_k = (x_ik - m_i) - log(s_i)      (subtracting m_i keeps exp() <= 1: no overflow)
//   loss_i             = log(s_i) - (x_iy - m_i)
// A label y >= K marks a row to ignore (PyTorch's ignore_index, generalised): it adds no loss, no
// gradient and no count, and the mean divides by the number of valid rows V. With V = 0 the loss
// is 0 and the gradient 0 (PyTorch would give NaN). Correct = argmax == label, ties to the first index.
override WG: u32 = 256;
override N: u32;
override K: u32;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
// Per row (m_i, log s_i), saved for the backward. Keeping them apart rather than m_i + log s_i
// keeps the softmax accurate when |m_i| is large.
@group(0) @binding(2) var<storage, read_write> saved: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> valid: array<u32>;
@group(0) @binding(5) var<storage, read_write> loss_sum: array<f32>;
@group(0) @binding(6) var<storage, read_write> correct: array<u32>;
@group(0) @binding(7) var<storage, read> dloss: array<f32>;
@group(0) @binding(8) var<storage, read_write> dlogits: array<f32>;

// The forward is one workgroup: invocation t takes rows t, t+RWG, t+2*RWG, ... in order and
// invocation 0 adds the RWG partials in order, so the sum is deterministic with no atomics. One
// invocation per row suits SeedNet's K = 10; a batch of a few thousand rows is a few dozen rows per
// invocation. The final sum is a plain loop, not a halving tree: on a GPU the 64 adds take about a
// microsecond, while lavapipe's LLVM unrolls a tree's barriers and took ~0.6 s to compile each
// pipeline of this kernel against ~0.2 s for the loop (MESA_SHADER_CACHE_DISABLE=true), and each
// batch size compiles its own pipeline.
const RWG: u32 = 64u;
var<workgroup> part_loss: array<f32, RWG>;
var<workgroup> part_valid: array<u32, RWG>;
var<workgroup> part_correct: array<u32, RWG>;

struct Totals {
  sum: f32,
  rows: u32,
  hits: u32,
}

fn forward_rows(t: u32) -> Totals {
  var l = 0.0;
  var v = 0u;
  var c = 0u;
  for (var i = t; i < N; i += RWG) {
    let row = i * K;
    var m = logits[row];
    var arg = 0u;
    for (var k = 1u; k < K; k++) {
      let x = logits[row + k];
      if (x > m) { m = x; arg = k; }
    }
    var s = 0.0;
    for (var k = 0u; k < K; k++) {
      s += exp(logits[row + k] - m);
    }
    let log_s = log(s);
    saved[2u * i] = m;
    saved[2u * i + 1u] = log_s;
    let y = labels[i];
    if (y < K) {
      l += log_s - (logits[row + y] - m);
      v += 1u;
      c += select(0u, 1u, arg == y);
    }
  }
  part_loss[t] = l;
  part_valid[t] = v;
  part_correct[t] = c;
  workgroupBarrier();
  var total = Totals(0.0, 0u, 0u);
  if (t == 0u) {
    for (var j = 0u; j < RWG; j++) {
      total.sum += part_loss[j];
      total.rows += part_valid[j];
      total.hits += part_correct[j];
    }
  }
  // Only invocation 0's totals are meaningful; the entry points use them only there.
  return total;
}

fn write_mean(total: Totals) {
  valid[0] = total.rows;
  loss[0] = select(0.0, total.sum / f32(total.rows), total.rows > 0u);
}

@compute @workgroup_size(RWG)
fn forward(@builtin(local_invocation_index) t: u32) {
  let total = forward_rows(t);
  if (t == 0u) { write_mean(total); }
}

// As forward, and also adds the batch's summed loss and correct count into running accumulators,
// so an epoch's statistics stay on the GPU until someone reads them.
@compute @workgroup_size(RWG)
fn forward_accumulate(@builtin(local_invocation_index) t: u32) {
  let total = forward_rows(t);
  if (t == 0u) {
    write_mean(total);
    loss_sum[0] += total.sum;
    correct[0] += total.hits;
  }
}

// dlogits_ik = (softmax_ik - [k == y_i]) * dloss / V for valid rows, 0 for ignored ones.
@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x + gid.y * nwg.x * WG;
  if (j >= N * K) { return; }
  let i = j / K;
  let k = j % K;
  let y = labels[i];
  let v = valid[0];
  if (y >= K || v == 0u) {
    dlogits[j] = 0.0;
    return;
  }
  let p = exp((logits[j] - saved[2u * i]) - saved[2u * i + 1u]);
  dlogits[j] = (p - select(0.0, 1.0, k == y)) * (dloss[0] / f32(v));
}
