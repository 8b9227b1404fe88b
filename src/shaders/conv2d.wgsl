// Convolution helpers and the subgroup-free fast path (stride 1, NCHW activations, OIHW weights):
//   pad         zero-padded copy of planes, rows of a multiple of 4 floats (sizes as overrides)
//   pack*       weights repacked for the fast kernels (w itself, or the input gradient's w')
//   weight_sum  the fixed-order sum of the weight gradient's partial sums (weight_sum4: 4 at a time)
//   forward     the tiled forward / input-gradient kernel for adapters without subgroups
// Called from src/engine/ops/conv2d.ts. Sizes come in the uniform `prm` (one small buffer per
// shape, cached), so a kernel compiles once per structural choice (K, P, CV), not once per shape;
// lavapipe spends about a second compiling each large kernel.
//
// `forward`: implicit GEMM with a register tile and no shared memory. One invocation computes P
// consecutive output pixels of one row (P = 4 or 8) for 4*CV output channels (CV = 1 or 2):
//     acc[p][j] (vec4: channels 4(cob*CV + j) .. +3) += x[n][ci][oy+kh-PAD][x0+p+kw-PAD] * w'[..][ci][kh][kw]
// Each input row segment is loaded once per (ci, kh) as vec4s and reused by the K taps kw, the P
// pixels and the 4*CV channels. The channel block `cob` comes from workgroup_id.z, so all
// invocations of a workgroup read the same weights (a broadcast on GPUs).
// The input comes zero-padded (entry point `pad`) into rows of prm.wp floats, a multiple of 4, so
// the inner loop has no bounds checks and every load is an aligned vec4:
//     xp[n][c][i][j] = x[n][c][i - PAD][j - PAD]   (0 outside),  i < prm.hp,  j < prm.wp
// The invocation whose segment starts at output column x0 (a multiple of P, so of 4) needs padded
// columns x0 .. x0 + P + K - 2: vec4s x0/4 .. x0/4 + V - 1, V = ceil((P + K - 1) / 4).
// Weights are packed (entry point `pack`) as vec4s over output channels:
//     wp[((cob * CI + ci) * K*K + kh*K + kw) * CV + j] = w'[4(cob*CV + j) + 0..3][ci][kh][kw]  (0 past CO)
// where w' is w for the forward pass and, for the input gradient, the 180-degree rotated kernel with
// input and output channels swapped: dx = conv_PAD(dy, w'), w'[ci][co][kh][kw] = w[co][ci][K-1-kh][K-1-kw]
// (stride 1, "same" padding).

struct Params {
  n: u32,
  ci: u32,         // input channels of this convolution (the layer's CO for the input gradient)
  co: u32,         // output channels
  h: u32,
  w: u32,
  pad: u32,        // (unused: `pad` takes override constants)
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
override K: u32 = 3u;      // forward: kernel size, 1 or 3 (its loops unroll over it)
override P: u32 = 8u;      // forward: output pixels per invocation along a row: 4 or 8
override CV: u32 = 1u;     // forward: vec4s of output channels per invocation: 1 or 2

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
// forward / forward_v4
@group(0) @binding(0) var<storage, read> xp: array<vec4f>;
@group(0) @binding(1) var<storage, read> wp: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;

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

// Layout of `forward`: one packed vec4 per invocation, index ((cob * CI + ci) * K*K + t) * CV + j.
// (prm.count = cob blocks * CI * K*K * CV.)
@compute @workgroup_size(WG)
fn pack(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let v = flat(wid, nwg, li);
  if (v >= prm.count) { return; }
  let kk = prm.k * prm.k;
  let j = v % CV;
  let t = (v / CV) % kk;
  let ci = (v / (CV * kk)) % prm.ci;
  let cob = v / (CV * kk * prm.ci);
  var out = vec4f(0.0);
  for (var c = 0u; c < 4u; c++) {
    let co = (cob * CV + j) * 4u + c;
    if (co >= prm.co) { break; }
    out[c] = wprime(co, ci, t);
  }
  pack_dst[v] = out;
}

// Layout of conv2d_sg.wgsl's 3x3 kernels: pack_dst[(ci * CO + co) * 3 + k] = taps 4k .. 4k+3 of
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

// Layout of conv2d_sg.wgsl's 1x1 forward: pack_dst1[ci * CO + co] = w'[co][ci] (prm.count = CI * CO).
@compute @workgroup_size(WG)
fn pack1x1_sg(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let v = flat(wid, nwg, li);
  if (v >= prm.count) { return; }
  pack_dst1[v] = wprime(v % prm.co, v / prm.co, 0u);
}

// The weight gradient's last step: sum_dst[i] = sum over c = 0, 1, ..., nch-1 of sum_src[c * tot + j],
// always in this order, so the result is bit-identical from run to run (no atomics). j = i, or for
// swapped partials (square kernels), i = (co * CI + ci) * KK + t reads j = (ci * CO + co) * KK + KK-1-t: correlating
// dy with x at offset t equals correlating x with dy at the opposite offset.
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

// The same sum four outputs at a time when the partials are not swapped and CO * CI * KK % 4 == 0
// (every SeedNet layer but b1 of CIFAR-10): one vec4 load per chunk instead of four scalar ones,
// each of lavapipe's per-lane load loops (SeedNet's 7x7 b7 at batch 128: 9216 outputs x 32 chunks,
// about 1 ms summed by scalars). Each component adds its chunks in the same order as weight_sum.
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

// The register tile: pixels x0 .. x0+P-1 of output row oy of image n, channel block cob.
// Arrays are sized for the largest tile (P = 8, CV = 2, V = 3); loops have override bounds, so the
// compiler unrolls them and the arrays become registers.
struct Tile {
  acc: array<array<vec4f, 2>, 8>,
}

fn conv_tile(t: u32, cob: u32) -> Tile {
  let xs = t % prm.segs;
  let oy = (t / prm.segs) % prm.h;
  let n = t / (prm.segs * prm.h);
  let wp4 = prm.wp / 4u;
  let nv = (P + K - 1u + 3u) / 4u;
  let kk = K * K;
  var tile: Tile;
  for (var ci = 0u; ci < prm.ci; ci++) {
    let rowBase = ((n * prm.ci + ci) * prm.hp + oy) * wp4 + xs * (P / 4u);
    let wBase = (cob * prm.ci + ci) * kk * CV;
    for (var kh = 0u; kh < K; kh++) {
      var r: array<vec4f, 3>;
      for (var v = 0u; v < nv; v++) {
        r[v] = xp[rowBase + kh * wp4 + v];
      }
      for (var kw = 0u; kw < K; kw++) {
        for (var j = 0u; j < CV; j++) {
          let wv = wp[wBase + (kh * K + kw) * CV + j];
          for (var p = 0u; p < P; p++) {
            let q = p + kw;
            tile.acc[p][j] = fma(vec4f(r[q / 4u][q % 4u]), wv, tile.acc[p][j]);
          }
        }
      }
    }
  }
  return tile;
}

// Grid: x, y = segments (prm.count = N * H * segs of them), z = channel blocks. Invocations past
// the last segment compute a clamped copy and store nothing.
@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t0 = flat(wid, nwg, li);
  let t = min(t0, prm.count - 1u);
  let tile = conv_tile(t, wid.z);
  if (t0 >= prm.count) { return; }
  let x0 = (t % prm.segs) * P;
  let oy = (t / prm.segs) % prm.h;
  let n = t / (prm.segs * prm.h);
  for (var j = 0u; j < CV; j++) {
    for (var c = 0u; c < 4u; c++) {
      let co = (wid.z * CV + j) * 4u + c;
      if (co >= prm.co) { break; }
      let base = ((n * prm.co + co) * prm.h + oy) * prm.w + x0;
      for (var p = 0u; p < P; p++) {
        if (x0 + p < prm.w) { y[base + p] = tile.acc[p][j][c]; }
      }
    }
  }
}

// The same with vec4 stores, for W % 4 == 0 (every output row then starts on a vec4 boundary and
// a vec4 of a segment lies wholly inside or wholly outside the row).
@compute @workgroup_size(WG)
fn forward_v4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t0 = flat(wid, nwg, li);
  let t = min(t0, prm.count - 1u);
  let tile = conv_tile(t, wid.z);
  if (t0 >= prm.count) { return; }
  let x0 = (t % prm.segs) * P;
  let oy = (t / prm.segs) % prm.h;
  let n = t / (prm.segs * prm.h);
  for (var j = 0u; j < CV; j++) {
    for (var c = 0u; c < 4u; c++) {
      let co = (wid.z * CV + j) * 4u + c;
      if (co >= prm.co) { break; }
      let base4 = (((n * prm.co + co) * prm.h + oy) * prm.w + x0) / 4u;
      for (var p4 = 0u; p4 < P / 4u; p4++) {
        if (x0 + 4u * p4 < prm.w) {
          let p = 4u * p4;
          y4[base4 + p4] = vec4f(tile.acc[p][j][c], tile.acc[p + 1u][j][c], tile.acc[p + 2u][j][c], tile.acc[p + 3u][j][c]);
        }
      }
    }
  }
}
