// out = w - eta * g, elementwise: the weights one step of size eta along the gradient, for the
// probes' loss landscape (src/train/probes.ts). The probes work on copies: out is the parameter's
// own buffer only while a probe pass runs, and the trainer's weights are copied back after.
// eta comes as the bits of an f32 in the uniform, so the cached buffer is one per eta, not per call.
struct Params {
  n: u32,
  eta_bits: u32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> prm: Params;

const WG = 256u;

@compute @workgroup_size(WG)
fn step_along(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= prm.n) { return; }
  out[i] = w[i] - bitcast<f32>(prm.eta_bits) * g[i];
}
