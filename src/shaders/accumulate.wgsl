// target += source (gradient accumulation where a tensor feeds several ops).
override WG: u32 = 256;
override N: u32;

@group(0) @binding(0) var<storage, read_write> target_: array<f32>;
@group(0) @binding(1) var<storage, read> source: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= N) { return; }
  target_[i] += source[i];
}
