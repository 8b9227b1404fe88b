// The subgroup-free tiled forward and input gradient (row tiled of conv2d-select.ts: adapters
// without subgroups, and 1x1 convolutions on planes of H*W % 4 != 0). Appended to
// conv2d_prep.wgsl (its Params, WG, flat and wprime).
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
// Threads: one P-pixel segment of one output row per invocation, workgroups of WG over a flat
// index; grid x, y = segments, z = blocks of 4 CV output channels. Conditions: a 1x1 or 3x3 kernel
// with the padding that keeps H x W.

override K: u32 = 3u;      // forward: kernel size, 1 or 3 (its loops unroll over it)
override P: u32 = 8u;      // forward: output pixels per invocation along a row: 4 or 8
override CV: u32 = 1u;     // forward: vec4s of output channels per invocation: 1 or 2

// forward / forward_v4
@group(0) @binding(0) var<storage, read> xp: array<vec4f>;
@group(0) @binding(1) var<storage, read> wp: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;

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

// The register tile: pixels x0 .. x0+P-1 of output row oy of image n, channel block cob.
// Arrays are sized for the largest tile (P = 8, CV = 2, V = 3); loops have override bounds, so the
// compiler unrolls them and the arrays become registers.
struct Tile {
  acc: array<array<vec4f, 2>, 8>,
}

// Segment t's image, output row and first column: (n, oy, x0).
fn segment_at(t: u32) -> vec3u {
  return vec3u(t / (prm.segs * prm.h), (t / prm.segs) % prm.h, (t % prm.segs) * P);
}

fn conv_tile(t: u32, cob: u32) -> Tile {
  let at = segment_at(t);
  let n = at.x;
  let oy = at.y;
  let wp4 = prm.wp / 4u;
  let nv = (P + K - 1u + 3u) / 4u;
  let kk = K * K;
  var tile: Tile;
  for (var ci = 0u; ci < prm.ci; ci++) {
    let rowBase = ((n * prm.ci + ci) * prm.hp + oy) * wp4 + at.z / 4u;
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
  let at = segment_at(t);
  let n = at.x;
  let oy = at.y;
  let x0 = at.z;
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
  let at = segment_at(t);
  let n = at.x;
  let oy = at.y;
  let x0 = at.z;
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
