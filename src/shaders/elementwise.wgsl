// Elementwise kernels: add (the skip connection) and ReLU, forward and backward.
// Every entry point is 1-D over N elements; 2-D dispatch (wid.y) covers N beyond 65535 workgroups.
override WG: u32 = 256;
override N: u32;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// out = a + b
@compute @workgroup_size(WG)
fn add_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = a[i] + b[i];
}

// out = max(a, 0)        (b unused)
@compute @workgroup_size(WG)
fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = max(a[i], 0.0);
}

// dx = dy * [x > 0]      (a = x, b = dy). At x == 0 the gradient is 0, as in PyTorch.
@compute @workgroup_size(WG)
fn relu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = select(0.0, b[i], a[i] > 0.0);
}
