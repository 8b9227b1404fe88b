// The bandwidth ceiling the norm benchmark compares against: a plain vec4 copy (read N, write N),
// in the same 1-D dispatch shape the norm's elementwise kernels use.
override WG: u32 = 256;
override N4: u32;   // vec4 elements

@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;

@compute @workgroup_size(WG)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= N4) { return; }
  dst[i] = src[i];
}
