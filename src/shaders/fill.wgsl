// out[i] = VALUE (gradient seeds, constant tensors).
override WG: u32 = 256;
override N: u32;
override VALUE: f32 = 0.0;

@group(0) @binding(0) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= N) { return; }
  out[i] = VALUE;
}
