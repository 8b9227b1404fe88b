// Convolution helpers every kernel family uses (stride 1, NCHW activations, OIHW weights):
//   pad         zero-padded copy of planes, rows of a multiple of 4 floats (sizes as overrides)
//   pack3x3_sg, pack1x1_sg  weights repacked for the subgroup kernels (w itself, or the input
//               gradient's w': the kernel rotated by 180 degrees, channel axes swapped)
//   weight_sum  the fixed-order sum of the weight gradient's partial sums (weight_sum4: 4 at a time)
// Called from src/engine/ops/conv2d-params.ts, conv2d-forward.ts and conv2d-weight.ts; the
// subgroup-free tiled kernel (conv2d_tiled.wgsl) is appended to this file and shares its Params.
// Sizes come in the uniform `prm` (one small buffer per shape, cached), so a kernel compiles once
// per structural choice, not once per shape; lavapipe spends about a second compiling each large
// kernel. Threads: one output element (a row for `pad`, a vec4 for the packs) per invocation,
// workgroups of WG over a flat index (flat()).

struct Params {
  n: u32,
  ci: u32,         // input channels of this convolution (the layer's CO for the input gradient)
  co: u32,         // output channels
  h: u32,
  w: u32,
  hp: u32,         // forward: padded rows
  wp: u32,         // forward: padded row length (a multiple of 4)
  segs: u32,       // forward: P-pixel segments per row
  k: u32,          // pack*: kernel size
  transpose: u32,  // pack*: 1 packs w' for the input gradient (w is then the layer's [CI][CO][K][K])
  tot: u32,        // weight_sum: CO * CI * K*K outputs
  nch: u32,        // weight_sum: partial sums per output
  swap: u32,       // weight_sum: 1 when the partials were computed with x and dy swapped
  count: u32,      // invocations that do work (flat entry points)
  kk: u32,         // weight_sum: taps per kernel, KH * KW
}

override WG: u32 = 64u;

@group(0) @binding(3) var<uniform> prm: Params;
// pad
@group(0) @binding(0) var<storage, read> pad_src4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> pad_dst: array<vec4f>;
// pack, pack3x3_sg, pack1x1_sg
@group(0) @binding(0) var<storage, read> pack_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> pack_dst: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> pack_dst1: array<f32>;
// weight_sum, weight_sum4
@group(0) @binding(0) var<storage, read> sum_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> sum_dst: array<f32>;
@group(0) @binding(0) var<storage, read> sum_src4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> sum_dst4: array<vec4f>;
fn flat(wid: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + li;
}

// One padded row per invocation. Unlike the other entry points, `pad` takes its sizes as override
// constants: it divides by them, which by a runtime value costs lavapipe about 8x more than by a
// constant (measured: 13.5 ms vs a few ms for SeedNet's b2 input at batch 128), while the small
// kernel compiles in well under 0.1 s per shape. The source row is read as aligned vec4s, shifted
// into place (shift4) and masked: on lavapipe each load is a loop over the SIMD lanes whatever
// its width, and a vec4 per output vec4 instead of four scalars took SeedNet's MNIST b5 input
// (128 x 32 planes of 14 x 14) from 7.1-7.7 to 2.5-3.1 ms (bench/README.md). Loads are clamped to
// the buffer, and source buffers are whole vec4s (pool.ts), so arrayLength covers every float.
// Row and column arithmetic is signed: i - PAD and j - PAD are negative in the top and left border.
override PLANES: u32 = 1u;
override PH: u32 = 1u;      // source rows
override PW: u32 = 1u;      // source columns
override PAD: u32 = 0u;     // zero rows/columns before the data
override HP: u32 = 1u;      // padded rows
override WP4: u32 = 1u;     // vec4s per padded row


@compute @workgroup_size(WG)
fn pad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let v = flat(wid, nwg, li);
  if (v >= PLANES * HP) { return; }
  let plane = v / HP;
  let i = i32(v % HP) - i32(PAD);
  let rowOk = i >= 0 && i < i32(PH);
  let f = i32((plane * PH + u32(clamp(i, 0, i32(PH) - 1))) * PW) - i32(PAD);
  let q = select(f / 4, (f - 3) / 4, f < 0);
  let o = u32(f - 4 * q);
  let last = i32(arrayLength(&pad_src4)) - 1;
  var lo = pad_src4[u32(clamp(q, 0, last))];
  for (var k = 0u; k < WP4; k++) {
    let hi = pad_src4[u32(clamp(q + i32(k) + 1, 0, last))];
    let c = vec4i(i32(4u * k) - i32(PAD)) + vec4i(0, 1, 2, 3);
    let ok = vec4<bool>(rowOk) & (c >= vec4i(0)) & (c < vec4i(i32(PW)));
    pad_dst[v * WP4 + k] = select(vec4f(0.0), shift4(lo, hi, o), ok);
    lo = hi;
  }
}

// w'[co][ci][t] of this convolution, t = kh*K + kw: w itself ([CO][CI][K][K]) for the forward
// pass; for the input gradient w is the layer's [CI][CO][K][K] weight rotated by 180 degrees.
fn wprime(co: u32, ci: u32, t: u32) -> f32 {
  let kk = prm.k * prm.k;
  return pack_src[select((co * prm.ci + ci) * kk + t, (ci * prm.co + co) * kk + (kk - 1u - t), prm.transpose == 1u)];
}

// Layout of conv2d_sg_tile.wgsl's and conv2d_sg_rows.wgsl's kernels: pack_dst[(ci * CO + co) * 3 + k] = taps 4k .. 4k+3 of
// w'[co][ci] (taps 9 .. 11 zero). One vec4 per invocation (prm.count = CI * CO * 3).
@compute @workgroup_size(WG)
fn pack3x3_sg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let v = flat(wid, nwg, li);
  if (v >= prm.count) { return; }
  let k = v % 3u;
  let co = (v / 3u) % prm.co;
  let ci = v / (3u * prm.co);
  var out = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let t = 4u * k + i;
    if (t < 9u) { out[i] = wprime(co, ci, t); }
  }
  pack_dst[v] = out;
}

// Layout of conv2d_sg_1x1.wgsl's forward: pack_dst1[ci * CO + co] = w'[co][ci] (prm.count = CI * CO).
@compute @workgroup_size(WG)
fn pack1x1_sg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let v = flat(wid, nwg, li);
  if (v >= prm.count) { return; }
  pack_dst1[v] = wprime(v % prm.co, v / prm.co, 0u);
}

// The weight gradient's last step: sum_dst[i] = sum over c = 0, 1, ..., nch-1 of sum_src[c * tot + j],
// always in this order, so the result is bit-identical from run to run (no atomics). j = i, or for
// swapped partials (option weight-swap; square kernels), i = (co * CI + ci) * KK + t reads
// j = (ci * CO + co) * KK + KK-1-t: correlating dy with x at offset t equals correlating x with dy
// at the opposite offset.
@compute @workgroup_size(WG)
fn weight_sum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wid, nwg, li);
  if (i >= prm.tot) { return; }
  let kk = prm.kk;
  let t = i % kk;
  let ci = (i / kk) % prm.ci;
  let co = i / (kk * prm.ci);
  let j = select(i, (ci * prm.co + co) * kk + (kk - 1u - t), prm.swap == 1u);
  var s = 0.0;
  for (var c = 0u; c < prm.nch; c++) {
    s += sum_src[c * prm.tot + j];
  }
  sum_dst[i] = s;
}

// Option weight-sum4: the same sum four outputs at a time when the partials are not swapped and
// CO * CI * KK % 4 == 0: one vec4 load per chunk instead of four scalar ones, each of lavapipe's
// per-lane load loops. Each component adds its chunks in the same order as weight_sum.
@compute @workgroup_size(WG)
fn weight_sum4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wid, nwg, li);
  let tot4 = prm.tot / 4u;
  if (i >= tot4) { return; }
  var s = vec4f(0.0);
  for (var c = 0u; c < prm.nch; c++) {
    s += sum_src4[c * tot4 + i];
  }
  sum_dst4[i] = s;
}
