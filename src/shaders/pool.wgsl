// Pooling over NCHW planes: max-pool 2x2 stride 2 and global average pool, forward and backward.
// NC is N*C (planes are independent). The max-pool output is floor(H/2) x floor(W/2); with an
// odd H or W the last row or column belongs to no window, as in PyTorch's MaxPool2d(2).
override WG: u32 = 256;
override NC: u32;
override H: u32;
override W: u32;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Which of the four window elements is the max, k = 2*row + col, so k grows in row-major order.
// A strict '>' keeps the first of equal values, PyTorch's tie rule. Forward and backward both call
// this, so the element the gradient goes to is the one the forward picked, bit for bit.
fn window_argmax(base: u32) -> u32 {
  var best = x[base];
  var k = 0u;
  let v1 = x[base + 1u];
  if (v1 > best) { best = v1; k = 1u; }
  let v2 = x[base + W];
  if (v2 > best) { best = v2; k = 2u; }
  let v3 = x[base + W + 1u];
  if (v3 > best) { k = 3u; }
  return k;
}

// One invocation per output element: y[p, oh, ow] = max of x[p, 2oh..2oh+1, 2ow..2ow+1].
@compute @workgroup_size(WG)
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let oh_n = H / 2u;
  let ow_n = W / 2u;
  let i = index(gid, nwg);
  if (i >= NC * oh_n * ow_n) { return; }
  let ow = i % ow_n;
  let oh = (i / ow_n) % oh_n;
  let p = i / (ow_n * oh_n);
  let base = p * H * W + 2u * oh * W + 2u * ow;
  let k = window_argmax(base);
  out[i] = x[base + (k >> 1u) * W + (k & 1u)];
}

// One invocation per input element (a gather, so no scatter, no atomics and no zero-fill pass):
// windows do not overlap at stride 2, so each x element lies in at most one window and receives
// that window's dy if it is the window's argmax, else 0. The odd last row/column receives 0.
@compute @workgroup_size(WG)
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let oh_n = H / 2u;
  let ow_n = W / 2u;
  let i = index(gid, nwg);
  if (i >= NC * H * W) { return; }
  let w = i % W;
  let h = (i / W) % H;
  let p = i / (W * H);
  let oh = h / 2u;
  let ow = w / 2u;
  if (oh >= oh_n || ow >= ow_n) {
    out[i] = 0.0;
    return;
  }
  let k = window_argmax(p * H * W + 2u * oh * W + 2u * ow);
  let mine = (h & 1u) * 2u + (w & 1u);
  out[i] = select(0.0, dy[(p * oh_n + oh) * ow_n + ow], k == mine);
}

// Global average pool: one workgroup per plane. Each invocation sums a fixed strided subset of the
// plane and invocation 0 adds the 64 partial sums in order, so the summation order never changes
// between runs. A halving tree would save ~60 shared-memory adds per plane (about a microsecond on
// a GPU), but its unrolled barriers cost lavapipe's LLVM ~0.3 s of compile per pipeline against
// ~0.1 s for this loop (measured with MESA_SHADER_CACHE_DISABLE=true), and every shape compiles anew.
const GAP_WG: u32 = 64u;
var<workgroup> partial: array<f32, GAP_WG>;

@compute @workgroup_size(GAP_WG)
fn gap_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let p = wid.x + wid.y * nwg.x;
  // p depends only on the workgroup id, so this return is uniform and the barrier below is legal.
  if (p >= NC) { return; }
  let hw = H * W;
  var s = 0.0;
  for (var j = lid; j < hw; j += GAP_WG) {
    s += x[p * hw + j];
  }
  partial[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    var total = partial[0];
    for (var j = 1u; j < GAP_WG; j++) {
      total += partial[j];
    }
    out[p] = total / f32(hw);
  }
}

// dx[p, h, w] = dy[p] / (H*W): every element of a plane contributes equally to its mean.
@compute @workgroup_size(WG)
fn gap_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  let hw = H * W;
  if (i >= NC * hw) { return; }
  out[i] = dy[i / hw] / f32(hw);
}
