// Memory-operation rates of this adapter, for reading the convolution rows of bench/README.md:
// how fast a kernel can only store or only load vec4s, with PER consecutive vec4s per invocation
// (lavapipe's cost per invocation is large next to one vec4). Run by bench/run-mem.ts; the copy
// rates come from the ceiling's own copy kernel (matmul.wgsl copy_vec4).
override COUNT: u32 = 0u;   // vec4s in the buffer
override WG: u32 = 64u;
override PER: u32 = 1u;     // vec4s per invocation

@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;

fn first(gid: vec3u, nwg: vec3u) -> u32 {
  return (gid.x + gid.y * nwg.x * WG) * PER;
}

@compute @workgroup_size(WG)
fn store_only(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = first(gid, nwg);
  for (var k = 0u; k < PER; k++) {
    if (i + k < COUNT) { dst[i + k] = vec4f(f32(i + k)); }
  }
}

// The sum is written only under a condition the data never meets, so the loads cannot be dropped.
@compute @workgroup_size(WG)
fn load_only(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = first(gid, nwg);
  var s = vec4f(0.0);
  for (var k = 0u; k < PER; k++) {
    if (i + k < COUNT) { s += src[i + k]; }
  }
  if (s.x == -1.0e30) { dst[i] = s; }
}
