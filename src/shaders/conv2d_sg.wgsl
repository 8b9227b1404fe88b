// Convolution fast paths for adapters with the `subgroups` feature (stride 1, "same" padding):
// 3x3 and 1x1 forward (also used for the input gradient, with transposed weights) and the 3x3 and
// 1x1 weight gradients as split-K partial sums. Layouts NCHW and OIHW. When and how these run:
// src/engine/ops/conv2d.ts. The same ops without subgroups: conv2d.wgsl and conv2d_naive.wgsl.
//
// Design. A workgroup is one subgroup of SG invocations (SG = the adapter's smallest subgroup size,
// at least 8), and its invocations are SG channels (of the output; of A for the 3x3 weight
// gradient). One operand is shared by the whole subgroup: each invocation loads a slice of it
// (aligned vec4 loads, in place when W % 4 == 0, else from a zero-padded copy) and the values reach
// every invocation through subgroupShuffle with constant lane indices. Each invocation loads only
// its own channel's weights (or rows of A) and keeps a whole tile of outputs in registers:
//   forward 3x3: TH (<= 8) rows x 8 columns = 64 outputs, 576 FMAs per input channel for 3 weight
//                vec4s and ceil(40 / SG) input vec4s per invocation (30 from the padded copy, 16
//                for a whole plane of at most 8 x 7);
//   few inputs:  (<= 4 input channels) the same lanes, one output row of a whole row or a
//                16-column strip at a time, each input row loaded once, weights held throughout;
//   few outputs: (<= 4 output channels) lanes are input channels instead, one output row of an
//                8-column strip at a time, summed over the subgroup;
//   one output:  (CPU adapters) lanes are images, whole output rows of each lane's own image;
//   forward 1x1: 64 consecutive pixels, 64 FMAs per input channel;
//   weight 3x3:  9 taps x 1 to 10 channels per invocation, one output row of an 8-column strip
//                at a time, split into chunks whose partial sums conv2d.wgsl's weight_sum adds in a
//                fixed order (from one input channel: whole rows, lanes = output channels);
//   weight 1x1:  CIT input channels per invocation, the same way.
// Why this shape: on lavapipe (Mesa llvmpipe) a storage-buffer load whose address is not a
// compile-time constant is emitted as a loop over the 8 SIMD lanes with a bounds check per
// component, even when every invocation reads the same address, while a subgroupShuffle with a
// constant index is one vector permute. Sharing loads through shuffles took the 3x3 forward from
// 4.5 to 19-36 GFLOP/s on this project's 2-core lavapipe (bench/README.md). On GPUs the same structure is a classic
// register-tiled implicit GEMM whose shared operand travels by shuffle instead of shared memory.
//
// Loops that index the register arrays are written out (helper functions called with constant
// arguments), because a loop the compiler does not unroll turns the arrays into memory. And the
// body of the hot loop is kept under ~30 KB of machine code, the CPU's instruction cache: lavapipe
// unrolls everything into straight-line code (see weight3x3 for what a bigger body cost).
enable subgroups;

// Sizes come in the uniform `prm` (one small buffer per shape, cached by conv2d.ts), so a kernel
// compiles once per structural choice (SG, TH, DIRECT, WHOLE, SB, WDIRECT, AINPLACE, XW4, WROW, RWIN, CIT, RCI, RQ, BO, CG, IW4), not once per
// layer shape: lavapipe spends 1 to 3 seconds compiling each of these kernels.
struct Params {
  n: u32,
  ci: u32,       // input channels of this convolution (the layer's CO for the input gradient;
                 // weight 3x3: channels of A)
  co: u32,       // output channels of this convolution (weight 3x3: channels of B)
  h: u32,
  w: u32,
  tx: u32,       // tiles or strips across: ceil(W / 8) (ceil(W / 16) for forward3x3_rows)
  ty: u32,       // TH-row tiles down: ceil(H / TH)
  wv: u32,       // vec4s per row of the padded input: 2 tx + 1
  hp: u32,       // rows of the padded input (weight 3x3: H + 2)
  w4: u32,       // vec4s per input row when W % 4 == 0 (else 1)
  rc: u32,       // weight gradients: strips (3x3) or segments (1x1) per chunk
  hw4: u32,      // 1x1: vec4s per plane, H*W / 4
  tiles1: u32,   // 1x1 forward: 16-vec4 tiles per plane
  seg1: u32,     // 1x1 weight: 2-vec4 segments per plane
  dwv: u32,      // weight 3x3: vec4s per row of B as read (w4 in place, else 2 tx)
  rb: u32,       // forward3x3_images: output rows per band
}

@group(0) @binding(3) var<uniform> prm: Params;

override SG: u32 = 8u;      // workgroup size = subgroup lanes used; a power of two >= 8
// 3x3 tiles: TH rows (1..8) x 8 columns. The padded input (entry point `pad` of conv2d.wgsl,
// padding 1) has prm.hp rows of prm.wv vec4s, xp[i][j] = x[i - 1][j - 1], zero outside.
override TH: u32 = 8u;
// DIRECT (W % 4 == 0): the 3x3 forward reads x itself instead of the padded copy; a tile row is
// then 4 vec4s, image columns 8tx-4 .. 8tx+11, with the ones outside the image read as zero.
override DIRECT: bool = false;
// WHOLE (W < 8 and H <= 8, not a multiple of 4 wide; SeedNet's 7x7 layers): the tile is the whole
// plane (TH = H, one tile across), read in place as the aligned vec4s that cover its H W floats
// (at most 15, for 16 slots), and each tile row is cut out of them when it is used (whole_row).
// Against the padded copy this loads 2 vec4s per invocation and channel instead of 4 and saves the
// copy's pass over the input (1 ms of c9's 4 ms at batch 128 for 28x28 inputs).
override WHOLE: bool = false;
override RV: u32 = select(3u, 4u, DIRECT);     // vec4s per tile row
override NV: u32 = select(RV * (TH + 2u), 16u, WHOLE);  // vec4s of one channel's input tile
override LPL: u32 = (NV + SG - 1u) / SG;       // of them loaded per invocation (<= 5)
// 1x1 weight gradient: CIT input channels per workgroup.
override CIT: u32 = 4u;
override NXV1: u32 = 2u * CIT;
override LPX1: u32 = (NXV1 + SG - 1u) / SG;    // <= 4

// forward3x3 / forward3x3_v4 / forward1x1
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
// On CPU adapters conv2d.ts compiles the 3x3 kernels that read wq (tile, rows, few) from a copy of
// this module in which the next line reads `var<uniform> wq: array<vec4f, 4096>` (why: conv2d.ts,
// uniformWeights).
@group(0) @binding(1) var<storage, read> wq: array<vec4f>;
@group(0) @binding(1) var<storage, read> wq1: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;
// weight3x3 / weight1x1: x4 (padded input, or the input itself for 1x1), dy, partial sums
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;

var<private> acc: array<array<f32, 8>, 8>;   // forward 3x3: [tile row][tile column]
var<private> xv: array<vec4f, 5>;            // this invocation's slice of the input tile
var<private> acc4: array<vec4f, 16>;         // forward 1x1: 16 vec4s of pixels
var<private> wacc1: array<f32, 16>;          // weight 1x1: [input channel of the block]
var<private> xsl: array<vec4f, 4>;           // weight 1x1: this invocation's slice of the segment

// ---- forward 3x3 --------------------------------------------------------------------------

// Vec4 g of the tile (row g / 3, vec4 g % 3 of that row) from the invocation holding it.
fn tile_vec(g: u32) -> vec4f {
  return subgroupShuffle(xv[g / SG], g % SG);
}

// One kernel row: acc[o][p] += s[p] k0 + s[p+1] k1 + s[p+2] k2 for the 8 columns p, where
// s = (a, b, c) are padded columns x0 .. x0+11 of one input row (padded column x0 + q is input
// column x0 + q - 1, so s[p + kw] is the input under tap kw of output column x0 + p).
fn taps(o: u32, a: vec4f, b: vec4f, c: vec4f, k0: f32, k1: f32, k2: f32) {
  acc[o][0] = fma(a.z, k2, fma(a.y, k1, fma(a.x, k0, acc[o][0])));
  acc[o][1] = fma(a.w, k2, fma(a.z, k1, fma(a.y, k0, acc[o][1])));
  acc[o][2] = fma(b.x, k2, fma(a.w, k1, fma(a.z, k0, acc[o][2])));
  acc[o][3] = fma(b.y, k2, fma(b.x, k1, fma(a.w, k0, acc[o][3])));
  acc[o][4] = fma(b.z, k2, fma(b.y, k1, fma(b.x, k0, acc[o][4])));
  acc[o][5] = fma(b.w, k2, fma(b.z, k1, fma(b.y, k0, acc[o][5])));
  acc[o][6] = fma(c.x, k2, fma(b.w, k1, fma(b.z, k0, acc[o][6])));
  acc[o][7] = fma(c.y, k2, fma(c.x, k1, fma(b.w, k0, acc[o][7])));
}

// Input row r of the tile (0 .. TH+1, image row ty*TH + r - 1) feeds output rows r (kh = 0),
// r-1 (kh = 1) and r-2 (kh = 2). Taps t = kh*3 + kw live in w0 = t 0..3, w1 = t 4..7, w2.x = t 8.
fn input_row(r: u32, w0: vec4f, w1: vec4f, w2: vec4f) {
  if (r >= TH + 2u) { return; }
  // s0, s1, s2: image columns x0-1 .. x0+10 of the row (x0 = 8tx).
  var s0: vec4f;
  var s1: vec4f;
  var s2: vec4f;
  if (WHOLE) {
    let c = whole_row(r);
    s0 = c[0];
    s1 = c[1];
    s2 = vec4f(0.0);                 // columns 7 .. 10: outside (W < 8)
  } else if (DIRECT) {
    let a = tile_vec(4u * r);        // columns x0-4 .. x0-1
    let b = tile_vec(4u * r + 1u);   // x0 .. x0+3
    let c = tile_vec(4u * r + 2u);   // x0+4 .. x0+7
    let d = tile_vec(4u * r + 3u);   // x0+8 .. x0+11
    s0 = vec4f(a.w, b.xyz);
    s1 = vec4f(b.w, c.xyz);
    s2 = vec4f(c.w, d.xy, 0.0);
  } else {
    s0 = tile_vec(3u * r);
    s1 = tile_vec(3u * r + 1u);
    s2 = tile_vec(3u * r + 2u);
  }
  if (r < TH) { taps(r, s0, s1, s2, w0.x, w0.y, w0.z); }
  if (r >= 1u && r - 1u < TH) { taps(r - 1u, s0, s1, s2, w0.w, w1.x, w1.y); }
  if (r >= 2u && r - 2u < TH) { taps(r - 2u, s0, s1, s2, w1.z, w1.w, w2.x); }
}

// WHOLE: vec4 k of the aligned vec4s holding the plane (k <= 15), from the invocation holding it.
fn plane_vec(k: u32) -> vec4f {
  var v = subgroupShuffle(xv[0], k % SG);
  if (LPL > 1u) { v = select(v, subgroupShuffle(xv[1], k % SG), k >= SG); }
  return v;
}

// WHOLE: this channel's plane starts at float wo of plane_vec(0) (wo = its offset mod 4), and wm0,
// wm1 say which of the tile columns -1 .. 2 and 3 .. 6 lie inside the image.
var<private> wo: u32;
var<private> wm0: vec4<bool>;
var<private> wm1: vec4<bool>;

// WHOLE: columns -1 .. 6 of tile row r (image row r - 1; rows -1 and H are zero) as two vec4s.
fn whole_row(r: u32) -> array<vec4f, 2> {
  if (r == 0u || r > TH) { return array<vec4f, 2>(vec4f(0.0), vec4f(0.0)); }
  let f = wo + (r - 1u) * prm.w;       // float f of the aligned vec4s is column 0 of the row
  let q = f / 4u;
  let v0 = plane_vec(q);
  let v1 = plane_vec(q + 1u);
  let v2 = plane_vec(q + 2u);
  let a = shift4(v0, v1, f % 4u);      // columns 0 .. 3
  let b = shift4(v1, v2, f % 4u);      // columns 4 .. 7
  return array<vec4f, 2>(select(vec4f(0.0), vec4f(0.0, a.xyz), wm0), select(vec4f(0.0), vec4f(a.w, b.xyz), wm1));
}

// Where this invocation's m-th tile vec4 lives inside one channel plane, and whether it lies in
// the image (always, for the padded copy). Tile vec4 g = lane + m*SG is row g / RV, vec4 g % RV.
struct TileLoad {
  offset: u32,
  inside: bool,
}

fn tile_load(m: u32, lane: u32, ty: u32, tx: u32) -> TileLoad {
  let g = min(lane + m * SG, NV - 1u);
  if (!DIRECT) {
    return TileLoad((ty * TH + g / 3u) * prm.wv + 2u * tx + g % 3u, true);
  }
  let iy = i32(ty * TH + g / 4u) - 1;
  let vx = i32(2u * tx + g % 4u) - 1;
  let inside = iy >= 0 && iy < i32(prm.h) && vx >= 0 && vx < i32(prm.w4);
  return TileLoad(u32(clamp(iy, 0, i32(prm.h) - 1)) * prm.w4 + u32(clamp(vx, 0, i32(prm.w4) - 1)), inside);
}

fn load_slice(m: u32, plane: u32, t: TileLoad) {
  if (m < LPL) { xv[m] = select(vec4f(0.0), x4[plane + t.offset], t.inside); }
}

// Accumulates the tile (n, ty, tx) for output channel co (clamped to a real one).
fn conv3x3_tile(n: u32, ty: u32, tx: u32, co: u32, lane: u32) {
  let t0 = tile_load(0u, lane, ty, tx);
  let t1 = tile_load(1u, lane, ty, tx);
  let t2 = tile_load(2u, lane, ty, tx);
  let t3 = tile_load(3u, lane, ty, tx);
  let t4 = tile_load(4u, lane, ty, tx);
  let planeSize = select(prm.hp * prm.wv, prm.h * prm.w4, DIRECT);
  let wlast = arrayLength(&x4) - 1u;
  wm0 = vec4<bool>(false, 0u < prm.w, 1u < prm.w, 2u < prm.w);
  wm1 = vec4<bool>(3u < prm.w, 4u < prm.w, 5u < prm.w, 6u < prm.w);
  for (var ci = 0u; ci < prm.ci; ci++) {
    if (WHOLE) {
      let f0 = (n * prm.ci + ci) * prm.h * prm.w;
      wo = f0 % 4u;
      xv[0] = x4[min(f0 / 4u + lane, wlast)];
      if (LPL > 1u) { xv[1] = x4[min(f0 / 4u + lane + SG, wlast)]; }
    } else {
      let plane = (n * prm.ci + ci) * planeSize;
      load_slice(0u, plane, t0);
      load_slice(1u, plane, t1);
      load_slice(2u, plane, t2);
      load_slice(3u, plane, t3);
      load_slice(4u, plane, t4);
    }
    // Packed weights: wq[(ci * CO + co) * 3 + k] = taps 4k .. 4k+3 of w[co][ci] (taps 9..11 zero).
    let wb = (ci * prm.co + co) * 3u;
    let w0 = wq[wb];
    let w1 = wq[wb + 1u];
    let w2 = wq[wb + 2u];
    input_row(0u, w0, w1, w2);
    input_row(1u, w0, w1, w2);
    input_row(2u, w0, w1, w2);
    input_row(3u, w0, w1, w2);
    input_row(4u, w0, w1, w2);
    input_row(5u, w0, w1, w2);
    input_row(6u, w0, w1, w2);
    input_row(7u, w0, w1, w2);
    input_row(8u, w0, w1, w2);
    input_row(9u, w0, w1, w2);
  }
}

struct TileId {
  n: u32,
  ty: u32,
  tx: u32,
  live: bool,
}

// Tiles are numbered over x and y of the grid (more than 65535 tiles need both).
fn tile_id(wid: vec3u, nwg: vec3u) -> TileId {
  let t = wid.x + wid.y * nwg.x;
  let tc = min(t, prm.n * prm.ty * prm.tx - 1u);
  return TileId(tc / (prm.tx * prm.ty), (tc / prm.tx) % prm.ty, tc % prm.tx, t < prm.n * prm.ty * prm.tx);
}

fn store_row(o: u32, n: u32, ty: u32, tx: u32, co: u32) {
  let oy = ty * TH + o;
  if (o >= TH || oy >= prm.h) { return; }
  let x0 = 8u * tx;
  let base = ((n * prm.co + co) * prm.h + oy) * prm.w + x0;
  for (var p = 0u; p < 8u; p++) {
    if (x0 + p < prm.w) { y[base + p] = acc[o][p]; }
  }
}

// W % 4 == 0: output rows start on vec4 boundaries and each half of a tile row is wholly inside
// or wholly outside the image.
fn store_row_v4(o: u32, n: u32, ty: u32, tx: u32, co: u32) {
  let oy = ty * TH + o;
  if (o >= TH || oy >= prm.h) { return; }
  let x0 = 8u * tx;
  let base = (((n * prm.co + co) * prm.h + oy) * prm.w + x0) / 4u;
  y4[base] = vec4f(acc[o][0], acc[o][1], acc[o][2], acc[o][3]);
  if (x0 + 4u < prm.w) { y4[base + 1u] = vec4f(acc[o][4], acc[o][5], acc[o][6], acc[o][7]); }
}

// Grid: x, y = tiles (N * ty * tx of them), z = blocks of SG output channels.
@compute @workgroup_size(SG)
fn forward3x3(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let id = tile_id(wid, nwg);
  if (!id.live) { return; }   // the whole workgroup: subgroup operations stay in uniform control flow
  let co = wid.z * SG + lane;
  conv3x3_tile(id.n, id.ty, id.tx, min(co, prm.co - 1u), lane);
  if (co >= prm.co) { return; }
  store_row(0u, id.n, id.ty, id.tx, co);
  store_row(1u, id.n, id.ty, id.tx, co);
  store_row(2u, id.n, id.ty, id.tx, co);
  store_row(3u, id.n, id.ty, id.tx, co);
  store_row(4u, id.n, id.ty, id.tx, co);
  store_row(5u, id.n, id.ty, id.tx, co);
  store_row(6u, id.n, id.ty, id.tx, co);
  store_row(7u, id.n, id.ty, id.tx, co);
}

@compute @workgroup_size(SG)
fn forward3x3_v4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let id = tile_id(wid, nwg);
  if (!id.live) { return; }
  let co = wid.z * SG + lane;
  conv3x3_tile(id.n, id.ty, id.tx, min(co, prm.co - 1u), lane);
  if (co >= prm.co) { return; }
  store_row_v4(0u, id.n, id.ty, id.tx, co);
  store_row_v4(1u, id.n, id.ty, id.tx, co);
  store_row_v4(2u, id.n, id.ty, id.tx, co);
  store_row_v4(3u, id.n, id.ty, id.tx, co);
  store_row_v4(4u, id.n, id.ty, id.tx, co);
  store_row_v4(5u, id.n, id.ty, id.tx, co);
  store_row_v4(6u, id.n, id.ty, id.tx, co);
  store_row_v4(7u, id.n, id.ty, id.tx, co);
}

// Strip (n, sx) of the strip kernels below, numbered over x and y of the grid (prm.n * prm.tx).
struct StripId {
  n: u32,
  sx: u32,
  live: bool,
}

fn strip_id(wid: vec3u, nwg: vec3u) -> StripId {
  let t = wid.x + wid.y * nwg.x;
  return StripId(t / prm.tx, t % prm.tx, t < prm.n * prm.tx);
}

// Kernel row kh (taps 3kh .. 3kh+2) of a 3x3 kernel packed as taps 4k .. 4k+3 in w0, w1, w2.
fn kernel_row(w0: vec4f, w1: vec4f, w2: vec4f, kh: u32) -> vec3f {
  var k = vec3f(w0.x, w0.y, w0.z);
  if (kh == 1u) { k = vec3f(w0.w, w1.x, w1.y); }
  if (kh == 2u) { k = vec3f(w1.z, w1.w, w2.x); }
  return k;
}

// acc + sum_kw s[p + kw] k[kw] for the 4 columns p of vec4 a, where the row s runs on into b.
fn taps4(acc: vec4f, a: vec4f, b: vec4f, k: vec3f) -> vec4f {
  return fma(vec4f(a.zw, b.xy), vec4f(k.z), fma(vec4f(a.yzw, b.x), vec4f(k.y), fma(a, vec4f(k.x), acc)));
}

// ---- 3x3 with few input channels -------------------------------------------------------------
// With RCI <= 4 input channels (SeedNet: b1, 1 or 3) the tile kernel's channel loop runs once or
// three times: per input channel and tile it loads 8 vec4s and stores 14 for 504 FMAs, and lavapipe
// runs each tile as one straight-line body of some 45 KB per workgroup, past the instruction
// cache. Here a workgroup (lanes = SG output channels, as there) walks one strip of 4 RQ columns
// of one image down its rows (W % 4 == 0, read in place): at row step r the subgroup loads row r
// of each input channel once (RQ + 2 vec4s, columns x0-4 .. x0+4RQ+3, spread over the lanes) and
// passes it around by shuffle; each lane adds it into the three output rows it reaches with its
// own channel's weights, held in registers for the whole strip, and stores the finished row r-1
// (RQ vec4s). conv2d.ts runs RQ = 4: 16 columns per strip took SeedNet's b1 forward 5-22% faster
// than 8 (one load instruction per 16 columns instead of per 8; bench/README.md).
// WROW: the strip is the whole row (RQ = W / 4 <= 8, one strip across). Its first and last input
// vec4s (columns -4 .. -1 and W .. W+3) are then outside the image, so only the RQ vec4s between
// them are loaded: for SeedNet's 28x28 b1 one load per lane and row instead of two, and one
// strip's loop overhead per row instead of two strips' (the second of which was a quarter idle).
override RCI: u32 = 1u;   // input channels, 1..4 (prm.ci)
override RQ: u32 = 4u;    // output vec4s per strip row, 1..8 (RCI * RLV <= 3 SG: rin)
override RQV: u32 = RQ + 2u;  // input vec4s per channel and row: columns x0-4 .. x0+4RQ+3
override WROW: bool = false;
override RLV: u32 = select(RQV, RQ, WROW);  // of them loaded
// RWIN (one input channel, conv2d.ts): instead of carrying three rows of output sums per lane
// (3 RQ vec4s, which lavapipe blends and moves every step), each lane carries its share of the last
// three input rows (one vec4 each) and computes output row r - 1 whole from them at step r. For
// SeedNet's 28x28 b1 that was 8-20% faster; with three input channels (CIFAR-10) the thrice
// repeated shuffles of the wider rows cost more than they saved (7.9 -> 10.7 ms).
override RWIN: bool = false;

var<private> racc: array<vec4f, 24>;  // [row slot: r-1, r, r+1][vec4 of the strip row]: 8 slot + q
var<private> rwt: array<vec4f, 12>;   // [input channel][packed taps 4k .. 4k+3]
var<private> rin: array<vec4f, 9>;    // [row slot: r-2, r-1, r (RWIN; else r only in slot 2)][m]:
                                      // this lane's input vec4s g = m SG + lane of channel g / RLV
var<private> rs: array<vec4f, 9>;     // the row of one input channel, columns x0-1 .. x0+4RQ+2

// Kernel row kh of input channel c applied to the row in s: output row slot 2 - kh, columns
// p += sum_kw s[p + kw] k[kw], s[j] = column x0 - 1 + j (vec4 q of s: rs[q]).
fn rtaps(c: u32, kh: u32) {
  let k = kernel_row(rwt[c * 3u], rwt[c * 3u + 1u], rwt[c * 3u + 2u], kh);
  for (var q = 0u; q < RQ; q++) {
    let i = 8u * (2u - kh) + q;
    racc[i] = taps4(racc[i], rs[q], rs[q + 1u], k);
  }
}

// Vec4 j (0 .. RQV - 1) of input channel c's strip row, from the lane that loaded it (loaded vec4
// g = c RLV + j, or j - 1 for whole rows, whose vec4s 0 and RQV - 1 are zero).
fn rvec(c: u32, j: u32, slot: u32) -> vec4f {
  if (WROW && (j == 0u || j == RQV - 1u)) { return vec4f(0.0); }
  let g = c * RLV + j - select(0u, 1u, WROW);
  return subgroupShuffle(rin[slot * 3u + g / SG], g % SG);
}

// Input channel c of the row in rin slot `slot`, from the lanes that loaded it, into rs.
fn rrow(c: u32, slot: u32) {
  var prev = rvec(c, 0u, slot);
  for (var j = 1u; j < RQV; j++) {
    let cur = rvec(c, j, slot);
    rs[j - 1u] = vec4f(prev.w, cur.xyz);
    prev = cur;
  }
}

// Input channel c of row r through the three kernel rows, into the three output row slots.
fn rchannel(c: u32) {
  if (c >= RCI) { return; }
  rrow(c, 2u);
  rtaps(c, 0u);
  rtaps(c, 1u);
  rtaps(c, 2u);
}

// RWIN: input channel c of row o + kh - 1 (rin slot kh) through kernel row kh, into output row o
// (racc[0 .. RQ)).
fn rwindow(c: u32, kh: u32) {
  if (c >= RCI) { return; }
  rrow(c, kh);
  let k = kernel_row(rwt[c * 3u], rwt[c * 3u + 1u], rwt[c * 3u + 2u], kh);
  for (var q = 0u; q < RQ; q++) { racc[q] = taps4(racc[q], rs[q], rs[q + 1u], k); }
}

// Load round m: lane reads loaded vec4 g = m SG + lane, vec4 g % RLV of the strip's row r of input
// channel g / RLV (past the last one: a repeat of it).
fn rload(m: u32, n: u32, r: u32, sx: u32, lane: u32) {
  if (m * SG >= RCI * RLV) { return; }
  let g = min(m * SG + lane, RCI * RLV - 1u);
  let c = g / RLV;
  let v = i32(RQ * sx + g % RLV) - select(1, 0, WROW);
  let ok = r < prm.h && v >= 0 && v < i32(prm.w4);
  let at = ((n * RCI + c) * prm.h + min(r, prm.h - 1u)) * prm.w4 + u32(clamp(v, 0, i32(prm.w4) - 1));
  rin[6u + m] = select(vec4f(0.0), x4[at], ok);
}

// Grid: x, y = strips (N * tx of them, tx = ceil(W / 4 RQ)), z = blocks of SG output channels.
@compute @workgroup_size(SG)
fn forward3x3_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let id = strip_id(wid, nwg);
  if (!id.live) { return; }   // the whole workgroup
  let n = id.n;
  let sx = id.sx;
  let co = wid.z * SG + lane;
  let coc = min(co, prm.co - 1u);
  for (var c = 0u; c < RCI; c++) {
    for (var k = 0u; k < 3u; k++) { rwt[c * 3u + k] = wq[(c * prm.co + coc) * 3u + k]; }
  }
  for (var q = 0u; q < RQ; q++) { racc[q] = vec4f(0.0); racc[8u + q] = vec4f(0.0); racc[16u + q] = vec4f(0.0); }
  for (var i = 0u; i < 6u; i++) { rin[i] = vec4f(0.0); }
  let out = ((n * prm.co + coc) * prm.h) * prm.w4 + RQ * sx;
  for (var r = 0u; r <= prm.h; r++) {
    if (RWIN) {
      for (var m = 0u; m < 3u; m++) { rin[m] = rin[3u + m]; rin[3u + m] = rin[6u + m]; }
    }
    rload(0u, n, r, sx, lane);
    rload(1u, n, r, sx, lane);
    rload(2u, n, r, sx, lane);
    if (RWIN) {
      if (r >= 1u) {
        for (var q = 0u; q < RQ; q++) { racc[q] = vec4f(0.0); }
        for (var kh = 0u; kh < 3u; kh++) { rwindow(0u, kh); rwindow(1u, kh); rwindow(2u, kh); rwindow(3u, kh); }
        for (var q = 0u; q < RQ; q++) {
          if (co < prm.co && RQ * sx + q < prm.w4) { y4[out + (r - 1u) * prm.w4 + q] = racc[q]; }
        }
      }
      continue;
    }
    rchannel(0u);
    rchannel(1u);
    rchannel(2u);
    rchannel(3u);
    for (var q = 0u; q < RQ; q++) {
      if (r >= 1u && co < prm.co && RQ * sx + q < prm.w4) { y4[out + (r - 1u) * prm.w4 + q] = racc[q]; }
      racc[q] = racc[8u + q];
      racc[8u + q] = racc[16u + q];
      racc[16u + q] = vec4f(0.0);
    }
  }
}

// ---- 3x3 with few output channels -------------------------------------------------------------
// With BO <= 4 output channels (SeedNet: the input gradient of b1, 3 channels, and 1 on GPUs) the
// layout above would leave SG - BO lanes of each subgroup idle. Here the lanes are input channels instead
// (channel g SG + lane for g < CG), and each output is summed over the subgroup. A workgroup walks
// one 8-column strip of one image down its rows (W % 4 == 0, read in place): at row step r each
// lane loads row r of its channels (arow_direct: columns x0-1 .. x0+8) and adds it into the three
// output rows it reaches, r+1 through kernel row 0, r through kernel row 1 and r-1 through kernel
// row 2. Output row r-1 is then complete: it is summed over the lanes (frowsum), lanes
// 0 .. 2 BO - 1 store one vec4 of it each, and the rows move up one slot. Per row step and input
// channel: 4 vec4 loads for 72 BO FMAs, each input row loaded once.
override BO: u32 = 1u;   // output channels, 1..4 (prm.co)
override CG: u32 = 1u;   // input channels per invocation, 1..2 (prm.ci <= CG * SG)

var<private> facc: array<vec4f, 24>;   // [row slot: r-1, r, r+1][output channel][column half]
var<private> fwt: array<vec4f, 24>;    // [channel group][output channel][packed taps 4k .. 4k+3]

fn fslot(slot: u32, o: u32, half: u32) -> u32 {
  return (slot * 4u + o) * 2u + half;
}

// Kernel row kh of output channel o for channel group g, applied to the input row in win[6..8]:
// output row slot 2 - kh, columns p = 0..7 += sum_kw s[p + kw] k[kw], s = win[6..8] (column x0-1+q).
fn ftaps(g: u32, o: u32, kh: u32) {
  if (o >= BO) { return; }
  let w = (g * 4u + o) * 3u;
  let k = kernel_row(fwt[w], fwt[w + 1u], fwt[w + 2u], kh);
  let lo = fslot(2u - kh, o, 0u);
  let hi = fslot(2u - kh, o, 1u);
  facc[lo] = taps4(facc[lo], win[6], win[7], k);
  facc[hi] = taps4(facc[hi], win[7], win[8], k);
}

// A lane past the last input channel reads the last one (clamped) with zero weights: it adds 0, or
// NaN where that channel holds an inf, where the true sum is inf or NaN too.
fn frow(g: u32, plane: u32, r: u32, sx: u32) {
  if (g >= CG) { return; }
  arow_direct(plane, r, sx);
  for (var o = 0u; o < 4u; o++) {
    ftaps(g, o, 0u);
    ftaps(g, o, 1u);
    ftaps(g, o, 2u);
  }
}

var<private> fred: array<vec4f, 8>;

// Halves the vectors a lane holds: lanes with `lane & d` set keep the upper half of fred[0 .. 2m),
// the others the lower half, each adding the partner lane's copy of the half it keeps.
fn fhalve(m: u32, d: u32, lane: u32) {
  let up = (lane & d) != 0u;
  for (var j = 0u; j < m; j++) {
    let keep = select(fred[j], fred[j + m], up);
    let give = select(fred[j + m], fred[j], up);
    fred[j] = keep + subgroupShuffleXor(give, d);
  }
}

// Slot 0 (the finished output row: 2 BO vec4s, vector 2 o + half) summed over the subgroup, lane j
// receiving vector j: a butterfly reduce-scatter, 7 shuffles of a vec4 for 8 lanes (8 more per
// doubling of SG) where subgroupAdd would take 2 BO reductions (each a serial chain of adds on
// lavapipe, about 50x a shuffle: bench/run-subgroup.ts).
fn frowsum(lane: u32) -> vec4f {
  for (var j = 0u; j < 8u; j++) {
    fred[j] = select(vec4f(0.0), facc[fslot(0u, min(j / 2u, 3u), j % 2u)], j < 2u * BO);
  }
  // Subgroups wider than 8: first sum the lanes 8 apart and more, so every group of 8 lanes holds
  // the same totals.
  for (var d = SG / 2u; d >= 8u; d /= 2u) {
    for (var j = 0u; j < 2u * BO; j++) { fred[j] += subgroupShuffleXor(fred[j], d); }
  }
  fhalve(4u, 4u, lane);
  fhalve(2u, 2u, lane);
  fhalve(1u, 1u, lane);
  return fred[0];
}

fn fshift(o: u32, half: u32) {
  facc[fslot(0u, o, half)] = facc[fslot(1u, o, half)];
  facc[fslot(1u, o, half)] = facc[fslot(2u, o, half)];
  facc[fslot(2u, o, half)] = vec4f(0.0);
}

// Grid: x, y = strips (N * tx of them); one subgroup per workgroup.
@compute @workgroup_size(SG)
fn forward3x3_few(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let id = strip_id(wid, nwg);
  if (!id.live) { return; }   // the whole workgroup
  let n = id.n;
  let sx = id.sx;
  for (var g = 0u; g < CG; g++) {
    let c = g * SG + lane;
    for (var o = 0u; o < BO; o++) {
      for (var k = 0u; k < 3u; k++) {
        // Packed weights: wq[(c * CO + o) * 3 + k] = taps 4k .. 4k+3 of the kernel from channel c to o.
        fwt[(g * 4u + o) * 3u + k] = select(vec4f(0.0), wq[(min(c, prm.ci - 1u) * prm.co + o) * 3u + k], c < prm.ci);
      }
    }
  }
  for (var i = 0u; i < 24u; i++) { facc[i] = vec4f(0.0); }
  let plane0 = (n * prm.ci + min(lane, prm.ci - 1u)) * prm.h * prm.w4;
  let plane1 = (n * prm.ci + min(SG + lane, prm.ci - 1u)) * prm.h * prm.w4;
  // The store of lane 2 o + half: output channel o, columns x0 + 4 half .. x0 + 4 half + 3.
  let so = lane / 2u;
  let sh = lane % 2u;
  let storing = lane < 2u * BO && (sh == 0u || 8u * sx + 4u < prm.w);
  for (var r = 0u; r <= prm.h; r++) {
    frow(0u, plane0, r, sx);
    frow(1u, plane1, r, sx);
    if (r >= 1u) {
      let v = frowsum(lane);
      if (storing) { y4[((n * prm.co + so) * prm.h + r - 1u) * prm.w4 + 2u * sx + sh] = v; }
    }
    fshift(0u, 0u); fshift(0u, 1u); fshift(1u, 0u); fshift(1u, 1u);
    fshift(2u, 0u); fshift(2u, 1u); fshift(3u, 0u); fshift(3u, 1u);
  }
}

// ---- 3x3 to one output channel, lanes = images (CPU adapters) ------------------------------------
// One output channel from many input channels (SeedNet: the input gradient of b1 on 28x28, 16 -> 1).
// The strip kernel above spreads the input channels over the lanes and sums each output over the
// subgroup. On lavapipe its cost is the loads (a storage load whose address differs across lanes is
// a loop over the lanes with a bounds check and a branch per component), and each of its lanes reads
// 4 vec4s per row of an 8-column strip, twice the row. Here the lanes are SG images and each lane
// computes whole output rows of its own image: it reads each vec4 of its input once (14 loads per
// image row of SeedNet's 28x28 b1 instead of 32), its neighbour columns come from its own
// registers, and no sum crosses lanes. A workgroup walks a band of prm.rb output rows down, one
// input row per step: per input channel it loads the row's IW4 vec4s and adds the row into the
// three output rows it reaches; the first of them is then complete, stored, and the rows move up.
// The weights are the same for every lane: lane l loads those of channel g + l once per row and
// group of SG channels and passes them around by shuffle (a load of them per channel and row cost
// 10-15%). Measured variants (bench/README.md): two or four channels per loop iteration (1.3x and
// 1.8x slower), loads interleaved with the taps (1.1x slower), two input rows per step, bands of
// 14 rows at batch 128 (slower). On a GPU the lanes would read addresses a plane apart, so
// conv2d.ts runs this on CPU adapters only.
override IW4: u32 = 7u;   // vec4s per row, W / 4 (1..8)

var<private> iacc: array<vec4f, 24>;  // [row slot: r-1, r, r+1][vec4 j of the row]: 8 slot + j
var<private> irow: array<vec4f, 10>;  // the input row: irow[j + 1] = vec4 j; irow[0], irow[IW4 + 1] zero

// Vec4 j of the input row through kernel rows 0, 1, 2 (k0, k1, k2) into output row slots 2, 1, 0:
// out[x] += sum_kw row[x + kw - 1] k[kw] for the 4 columns x of vec4 j.
fn itaps(j: u32, k0: vec3f, k1: vec3f, k2: vec3f) {
  let v = irow[j + 1u];
  let left = vec4f(irow[j].w, v.xyz);
  let right = vec4f(v.yzw, irow[j + 2u].x);
  iacc[16u + j] = fma(right, vec4f(k0.z), fma(v, vec4f(k0.y), fma(left, vec4f(k0.x), iacc[16u + j])));
  iacc[8u + j] = fma(right, vec4f(k1.z), fma(v, vec4f(k1.y), fma(left, vec4f(k1.x), iacc[8u + j])));
  iacc[j] = fma(right, vec4f(k2.z), fma(v, vec4f(k2.y), fma(left, vec4f(k2.x), iacc[j])));
}

fn istore(n: u32, img: u32, y: u32) {
  if (n >= prm.n) { return; }
  let out = (img * prm.h + y) * IW4;
  for (var j = 0u; j < IW4; j++) { y4[out + j] = iacc[j]; }
}

// Grid: x = groups of SG images, y = bands of prm.rb output rows. prm.co == 1, prm.w == 4 IW4.
@compute @workgroup_size(SG)
fn forward3x3_images(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let n = wid.x * SG + lane;
  let img = min(n, prm.n - 1u);   // lanes past the batch repeat the last image and store nothing
  let y0 = wid.y * prm.rb;
  let y1 = min(y0 + prm.rb, prm.h);
  for (var i = 0u; i < 24u; i++) { iacc[i] = vec4f(0.0); }
  for (var i = 0u; i < 10u; i++) { irow[i] = vec4f(0.0); }
  let plane0 = img * prm.ci * prm.h * IW4;
  // Input rows y0 - 1 .. y1 within the image; at step r, slot 0 holds output row r - 1.
  for (var r = max(y0, 1u) - 1u; r <= min(y1, prm.h - 1u); r++) {
    for (var g = 0u; g < prm.ci; g += SG) {
      let cw = min(g + lane, prm.ci - 1u);
      let wl0 = wq[cw * 3u];
      let wl1 = wq[cw * 3u + 1u];
      let wl2 = wq[cw * 3u + 2u];
      for (var i = 0u; i < min(SG, prm.ci - g); i++) {
        let w0 = subgroupShuffle(wl0, i);
        let w1 = subgroupShuffle(wl1, i);
        let w2 = subgroupShuffle(wl2, i);
        let at = plane0 + ((g + i) * prm.h + r) * IW4;
        for (var j = 0u; j < IW4; j++) { irow[j + 1u] = x4[at + j]; }
        let k0 = kernel_row(w0, w1, w2, 0u);
        let k1 = kernel_row(w0, w1, w2, 1u);
        let k2 = kernel_row(w0, w1, w2, 2u);
        for (var j = 0u; j < IW4; j++) { itaps(j, k0, k1, k2); }
      }
    }
    if (r > y0) { istore(n, img, r - 1u); }
    for (var j = 0u; j < IW4; j++) {
      iacc[j] = iacc[8u + j];
      iacc[8u + j] = iacc[16u + j];
      iacc[16u + j] = vec4f(0.0);
    }
  }
  // The band reaching the last image row: the row below is zero padding, so output row H - 1 (now
  // in slot 0) is complete without it.
  if (y1 == prm.h) { istore(n, img, prm.h - 1u); }
}

// ---- forward 1x1 ---------------------------------------------------------------------------
// y[n][co][p] = sum_ci w[co][ci] x[n][ci][p] on planes of H*W pixels, H*W % 4 == 0. A tile is 16
// vec4s (64 pixels) of one plane; weights are packed transposed, wq1[ci * CO + co] = w[co][ci].

fn pixels(v: u32, wt: f32) {
  acc4[v] = fma(subgroupShuffle(xv[v / SG], v % SG), vec4f(wt), acc4[v]);
}

@compute @workgroup_size(SG)
fn forward1x1(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= prm.n * prm.tiles1) { return; }
  let n = t / prm.tiles1;
  let v0 = (t % prm.tiles1) * 16u;
  let co = wid.z * SG + lane;
  let coc = min(co, prm.co - 1u);
  // Invocation `lane` holds vec4s lane and lane + SG of the tile (clamped inside the plane).
  let p0 = min(v0 + lane, prm.hw4 - 1u);
  let p1 = min(v0 + lane + SG, prm.hw4 - 1u);
  for (var ci = 0u; ci < prm.ci; ci++) {
    let base = (n * prm.ci + ci) * prm.hw4;
    xv[0] = x4[base + p0];
    if (SG < 16u) { xv[1] = x4[base + p1]; }
    let wt = wq1[ci * prm.co + coc];
    pixels(0u, wt); pixels(1u, wt); pixels(2u, wt); pixels(3u, wt);
    pixels(4u, wt); pixels(5u, wt); pixels(6u, wt); pixels(7u, wt);
    pixels(8u, wt); pixels(9u, wt); pixels(10u, wt); pixels(11u, wt);
    pixels(12u, wt); pixels(13u, wt); pixels(14u, wt); pixels(15u, wt);
  }
  if (co >= prm.co) { return; }
  let out = (n * prm.co + co) * prm.hw4 + v0;
  for (var v = 0u; v < 16u; v++) {
    if (v0 + v < prm.hw4) { y4[out + v] = acc4[v]; }
  }
}

// ---- weight gradient 3x3 ---------------------------------------------------------------------
// part[chunk][s][l][t] = sum over the chunk's output pixels p = (n, y, x) of
//     B[n][s][y][x] * A[n][l][y + kh - 1][x + kw - 1],   t = kh*3 + kw   (A zero outside the image),
// where (A, B) = (x, dy) gives dw[co = s][ci = l][kh][kw] itself, and (A, B) = (dy, x) gives
// dw[co = l][ci = s][2 - kh][2 - kw] (conv2d.ts picks the roles that fill more lanes; weight_sum
// of conv2d.wgsl flips and transposes the second kind back while it sums the chunks in order).
// Invocations are channels l of A; the workgroup's SB (<= 10) channels of B are shared. A chunk is
// prm.rc consecutive 8-column strips (n, sx) of the N * tx strips, and each strip is walked down
// one output row y at a time:
//   each invocation loads row y + 1 of its own channel of A (3 vec4s: columns x0-1 .. x0+10 of
//   the zero-padded copy, or 4 vec4s read in place: WDIRECT, AINPLACE) into a window that
//   still holds rows y - 1 and y, and one to three of the 2 SB vec4s of row y of B (columns
//   x0 .. x0+7), which reach every invocation by subgroupShuffle;
//   then 9 taps x SB channels x 8 columns = 576 FMAs (SB = 8; 720 for 10) into 9 SB accumulators.
// Why rows and not bands of several rows: the loop body must fit the CPU's instruction cache on
// lavapipe, where everything is unrolled straight-line code. The previous kernel (bands of 4 rows x
// 8 input channels, 2304 FMAs per step, 26 vec4 loads) compiled to a 20,100-instruction, 111 KB
// loop body and ran at half the instructions per cycle of the matmul ceiling; this one is 3,700 to
// 4,500 instructions (20-23 KB) with fewer loads per FMA (5 or 6 per 576: each row of A is loaded
// once and serves all three kernel rows) and took SeedNet b2's weight gradient at batch 128 from 63
// to 21 ms (bench/README.md).
override SB: u32 = 8u;                          // B channels per workgroup, 1..10
override NBV: u32 = 2u * SB;                    // vec4s of one row segment of those channels
override LPB: u32 = (NBV + SG - 1u) / SG;       // of them loaded per invocation (<= 3)
// WDIRECT (W % 4 == 0): A and B are read in place, rows of prm.w4 = prm.dwv vec4s (the second B
// vec4 of the last strip of an odd w4 lies past the row and reads as zero). Otherwise A comes from
// a zero-padded copy (prm.hp = H + 2 rows of prm.wv = 2 tx + 1 vec4s, padded column j = image
// column j - 1) and B from a copy of width 8 tx (prm.dwv = 2 tx).
override WDIRECT: bool = false;

var<private> gacc: array<array<f32, 9>, 10>; // [B channel of the block][tap]
var<private> win: array<vec4f, 9>;           // A rows y-1, y, y+1, columns x0-1 .. x0+10: win[3 r + j]
var<private> bsl: array<vec4f, 3>;           // this invocation's vec4s of the B row segment

// Taps kh*3 + 0..2 of B channel s: gacc[s][3kh + kw] += sum_p d[p] a[p + kw] over the 8 columns p,
// d = (d0, d1) the B row, a = window row kh. The three sums run interleaved (independent chains).
fn grow(s: u32, kh: u32, d0: vec4f, d1: vec4f) {
  let a = win[3u * kh];
  let b = win[3u * kh + 1u];
  let c = win[3u * kh + 2u];
  let t = 3u * kh;
  var r0 = gacc[s][t];
  var r1 = gacc[s][t + 1u];
  var r2 = gacc[s][t + 2u];
  r0 = fma(d0.x, a.x, r0); r1 = fma(d0.x, a.y, r1); r2 = fma(d0.x, a.z, r2);
  r0 = fma(d0.y, a.y, r0); r1 = fma(d0.y, a.z, r1); r2 = fma(d0.y, a.w, r2);
  r0 = fma(d0.z, a.z, r0); r1 = fma(d0.z, a.w, r1); r2 = fma(d0.z, b.x, r2);
  r0 = fma(d0.w, a.w, r0); r1 = fma(d0.w, b.x, r1); r2 = fma(d0.w, b.y, r2);
  r0 = fma(d1.x, b.x, r0); r1 = fma(d1.x, b.y, r1); r2 = fma(d1.x, b.z, r2);
  r0 = fma(d1.y, b.y, r0); r1 = fma(d1.y, b.z, r1); r2 = fma(d1.y, b.w, r2);
  r0 = fma(d1.z, b.z, r0); r1 = fma(d1.z, b.w, r1); r2 = fma(d1.z, c.x, r2);
  r0 = fma(d1.w, b.w, r0); r1 = fma(d1.w, c.x, r1); r2 = fma(d1.w, c.y, r2);
  gacc[s][t] = r0;
  gacc[s][t + 1u] = r1;
  gacc[s][t + 2u] = r2;
}

fn gshared(s: u32) {
  if (s >= SB) { return; }
  let d0 = subgroupShuffle(bsl[(2u * s) / SG], (2u * s) % SG);
  let d1 = subgroupShuffle(bsl[(2u * s + 1u) / SG], (2u * s + 1u) % SG);
  grow(s, 0u, d0, d1);
  grow(s, 1u, d0, d1);
  grow(s, 2u, d0, d1);
}

// Image row r (may be H: zero) of A's plane at `plane`, read in place, into win[6..8].
fn arow_direct(plane: u32, r: u32, sx: u32) {
  let inside = r < prm.h;
  let rb = plane + min(r, prm.h - 1u) * prm.w4;
  let a = select(vec4f(0.0), x4[rb + max(2u * sx, 1u) - 1u], inside && sx > 0u);   // x0-4 .. x0-1
  let b = select(vec4f(0.0), x4[rb + 2u * sx], inside);                              // x0 .. x0+3
  let c = select(vec4f(0.0), x4[rb + min(2u * sx + 1u, prm.w4 - 1u)], inside && 2u * sx + 1u < prm.w4);
  let d = select(vec4f(0.0), x4[rb + min(2u * sx + 2u, prm.w4 - 1u)], inside && 2u * sx + 2u < prm.w4);
  win[6] = vec4f(a.w, b.xyz);
  win[7] = vec4f(b.w, c.xyz);
  win[8] = vec4f(c.w, d.x, 0.0, 0.0);
}

// AINPLACE (W % 4 != 0, chosen by conv2d.ts for small planes): A is read in place at any W,
// through arow_inplace, instead of from the zero-padded copy.
override AINPLACE: bool = false;

// Columns c0 .. c0+3 that lie in the image.
fn colmask(c0: i32) -> vec4<bool> {
  let c = vec4i(c0) + vec4i(0, 1, 2, 3);
  return (c >= vec4i(0)) & (c < vec4i(i32(prm.w)));
}

// Image row r (may be H: zero) of the plane starting at float `plane`, columns x0-1 .. x0+10,
// read in place at any W: four aligned vec4s from floor(f / 4), shifted by f % 4 (f = the float
// of column x0-1; per invocation, since each reads its own channel), columns outside masked.
fn arow_inplace(plane: u32, r: u32, x0: u32, m0: vec4<bool>, m1: vec4<bool>, m2: vec4<bool>) {
  let inside = vec4<bool>(r < prm.h);
  let f = i32(plane + min(r, prm.h - 1u) * prm.w + x0) - 1;
  let q = (f + 4) / 4 - 1;
  let o = u32(f - 4 * q);
  let last = i32(arrayLength(&x4)) - 1;
  let l0 = x4[u32(clamp(q, 0, last))];
  let l1 = x4[u32(clamp(q + 1, 0, last))];
  let l2 = x4[u32(clamp(q + 2, 0, last))];
  let l3 = x4[u32(clamp(q + 3, 0, last))];
  win[6] = select(vec4f(0.0), shift4(l0, l1, o), m0 & inside);
  win[7] = select(vec4f(0.0), shift4(l1, l2, o), m1 & inside);
  win[8] = select(vec4f(0.0), shift4(l2, l3, o), m2 & inside);
}

// Padded row j of A (offset `row` of its first vec4 of the strip) into win[6..8].
fn arow_padded(row: u32) {
  win[6] = x4[row];
  win[7] = x4[row + 1u];
  win[8] = x4[row + 2u];
}

fn gstore(s: u32, chunk: u32, s0: u32, l: u32) {
  let sc = s0 + s;
  if (s >= SB || sc >= prm.co) { return; }
  let out = ((chunk * prm.co + sc) * prm.ci + l) * 9u;
  part[out] = gacc[s][0];
  part[out + 1u] = gacc[s][1];
  part[out + 2u] = gacc[s][2];
  part[out + 3u] = gacc[s][3];
  part[out + 4u] = gacc[s][4];
  part[out + 5u] = gacc[s][5];
  part[out + 6u] = gacc[s][6];
  part[out + 7u] = gacc[s][7];
  part[out + 8u] = gacc[s][8];
}

// Grid: x = blocks of SG channels of A (prm.ci of them), y = blocks of SB channels of B (prm.co),
// z = chunks. Bindings: x4 = A (or its padded copy), dy4 = B (or its rows copy), part.
@compute @workgroup_size(SG)
fn weight3x3(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let l = wid.x * SG + lane;
  let lc = min(l, prm.ci - 1u);
  let s0 = wid.y * SB;
  let q0 = wid.z * prm.rc;
  let q1 = min(q0 + prm.rc, prm.n * prm.tx);
  // B vec4 g = lane + m SG of the row segment is half g % 2 of channel s0 + g / 2 (clamped).
  let g0 = min(lane, NBV - 1u);
  let g1 = min(lane + SG, NBV - 1u);
  let g2 = min(lane + 2u * SG, NBV - 1u);
  let bplane = prm.h * prm.dwv;
  let bo0 = min(s0 + g0 / 2u, prm.co - 1u) * bplane + g0 % 2u;
  let bo1 = min(s0 + g1 / 2u, prm.co - 1u) * bplane + g1 % 2u;
  let bo2 = min(s0 + g2 / 2u, prm.co - 1u) * bplane + g2 % 2u;
  for (var q = q0; q < q1; q++) {
    let n = q / prm.tx;
    let sx = q % prm.tx;
    let aplane = select((n * prm.ci + lc) * prm.hp * prm.wv, (n * prm.ci + lc) * prm.h * prm.w4, WDIRECT);
    let bbase = n * prm.co * bplane + 2u * sx;
    let ok0 = !WDIRECT || 2u * sx + g0 % 2u < prm.w4;
    let ok1 = !WDIRECT || 2u * sx + g1 % 2u < prm.w4;
    let ok2 = !WDIRECT || 2u * sx + g2 % 2u < prm.w4;
    let x0 = 8u * sx;
    let m0 = colmask(i32(x0) - 1);
    let m1 = colmask(i32(x0) + 3);
    let m2 = colmask(i32(x0) + 7);
    let iplane = (n * prm.ci + lc) * prm.h * prm.w;
    // The window starts as rows -1 (zero) and 0.
    if (AINPLACE) {
      win[3] = vec4f(0.0); win[4] = vec4f(0.0); win[5] = vec4f(0.0);
      arow_inplace(iplane, 0u, x0, m0, m1, m2);
    } else if (WDIRECT) {
      win[3] = vec4f(0.0); win[4] = vec4f(0.0); win[5] = vec4f(0.0);
      arow_direct(aplane, 0u, sx);
    } else {
      arow_padded(aplane + 2u * sx);
      win[3] = win[6]; win[4] = win[7]; win[5] = win[8];
      arow_padded(aplane + prm.wv + 2u * sx);
    }
    for (var y = 0u; y < prm.h; y++) {
      win[0] = win[3]; win[1] = win[4]; win[2] = win[5];
      win[3] = win[6]; win[4] = win[7]; win[5] = win[8];
      if (AINPLACE) { arow_inplace(iplane, y + 1u, x0, m0, m1, m2); } else if (WDIRECT) { arow_direct(aplane, y + 1u, sx); } else { arow_padded(aplane + (y + 2u) * prm.wv + 2u * sx); }
      let br = bbase + y * prm.dwv;
      bsl[0] = select(vec4f(0.0), dy4[br + select(bo0 - g0 % 2u, bo0, ok0)], ok0);
      if (LPB > 1u) { bsl[1] = select(vec4f(0.0), dy4[br + select(bo1 - g1 % 2u, bo1, ok1)], ok1); }
      if (LPB > 2u) { bsl[2] = select(vec4f(0.0), dy4[br + select(bo2 - g2 % 2u, bo2, ok2)], ok2); }
      gshared(0u); gshared(1u); gshared(2u); gshared(3u); gshared(4u);
      gshared(5u); gshared(6u); gshared(7u); gshared(8u); gshared(9u);
    }
  }
  if (l >= prm.ci) { return; }
  gstore(0u, wid.z, s0, l); gstore(1u, wid.z, s0, l); gstore(2u, wid.z, s0, l); gstore(3u, wid.z, s0, l);
  gstore(4u, wid.z, s0, l); gstore(5u, wid.z, s0, l); gstore(6u, wid.z, s0, l); gstore(7u, wid.z, s0, l);
  gstore(8u, wid.z, s0, l); gstore(9u, wid.z, s0, l);
}

// ---- weight gradient 3x3 from one input channel, whole rows ------------------------------------
// part[chunk][co][t] = sum over the chunk's images n and pixels (y, x) of
//     dy[n][co][y][x] * x[n][0][y + kh - 1][x + kw - 1],   t = kh*3 + kw,
// for a single input channel (SeedNet: b1 of 28x28x1 inputs) with W % 4 == 0 and W <= 4 min(SG, 8).
// Lanes are output channels. With one channel of x the kernel above would put x on the lanes (one
// busy) or, swapped, read 10 floats of each row of dy per 8 columns (4 vec4 loads, of which the
// compiler keeps the components used) for 72 FMAs a row step; with 9 FMAs per value of dy the
// per-lane loads of lavapipe are nearly all the cost. Here a workgroup walks whole rows: at row y
// each lane loads row y of its own channel of dy once (XW4 vec4s), the subgroup loads row y + 1 of
// x (vec4 j on lane j) into a window of rows y - 1, y, y + 1 that every lane reads by shuffle, and
// each tap accumulates 4 columns at a time in one vec4, summed at the end.
override XW4: u32 = 7u;   // vec4s per row, W / 4 (1..8, <= SG)

var<private> wracc: array<vec4f, 9>;   // [tap]: partial sums over the columns mod 4
var<private> dyrow: array<vec4f, 8>;   // this lane's row y of dy
var<private> xwin: array<vec4f, 3>;    // vec4 `lane` of x rows y - 1, y, y + 1

// Vec4 j of the row of x in window slot kh (zero for j outside 0 .. XW4 - 1).
fn xwin_vec(kh: u32, j: i32) -> vec4f {
  if (j < 0 || j >= i32(XW4)) { return vec4f(0.0); }
  return subgroupShuffle(xwin[kh], u32(j));
}

// Column vec4 j of dy row y against x row y + kh - 1: taps (kh, kw) need x columns 4j + kw - 1 ..
// 4j + kw + 2, i.e. (prev.w, cur.xyz), cur and (cur.yzw, next.x).
fn wcol(kh: u32, j: u32) {
  if (j >= XW4) { return; }
  let prev = xwin_vec(kh, i32(j) - 1);
  let cur = xwin_vec(kh, i32(j));
  let next = xwin_vec(kh, i32(j) + 1);
  let d = dyrow[j];
  let t = 3u * kh;
  wracc[t] = fma(d, vec4f(prev.w, cur.xyz), wracc[t]);
  wracc[t + 1u] = fma(d, cur, wracc[t + 1u]);
  wracc[t + 2u] = fma(d, vec4f(cur.yzw, next.x), wracc[t + 2u]);
}

fn wkrow(kh: u32) {
  wcol(kh, 0u); wcol(kh, 1u); wcol(kh, 2u); wcol(kh, 3u);
  wcol(kh, 4u); wcol(kh, 5u); wcol(kh, 6u); wcol(kh, 7u);
}

// Vec4 `lane` of row r of image n's x (zero past the row or below the image).
fn xrow_load(n: u32, r: u32, lane: u32) -> vec4f {
  let ok = r < prm.h && lane < XW4;
  return select(vec4f(0.0), x4[(n * prm.h + min(r, prm.h - 1u)) * XW4 + min(lane, XW4 - 1u)], ok);
}

// Grid: x = blocks of SG output channels, z = chunks of prm.rc consecutive images.
@compute @workgroup_size(SG)
fn weight3x3_rows(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let co = wid.x * SG + lane;
  let coc = min(co, prm.co - 1u);
  for (var t = 0u; t < 9u; t++) { wracc[t] = vec4f(0.0); }
  let n0 = wid.z * prm.rc;
  let n1 = min(n0 + prm.rc, prm.n);
  for (var n = n0; n < n1; n++) {
    xwin[1] = vec4f(0.0);
    xwin[2] = xrow_load(n, 0u, lane);
    let plane = (n * prm.co + coc) * prm.h * XW4;
    for (var yy = 0u; yy < prm.h; yy++) {
      xwin[0] = xwin[1];
      xwin[1] = xwin[2];
      xwin[2] = xrow_load(n, yy + 1u, lane);
      for (var j = 0u; j < XW4; j++) { dyrow[j] = dy4[plane + yy * XW4 + j]; }
      wkrow(0u);
      wkrow(1u);
      wkrow(2u);
    }
  }
  if (co >= prm.co) { return; }
  for (var t = 0u; t < 9u; t++) {
    let v = wracc[t];
    part[(wid.z * prm.co + co) * 9u + t] = ((v.x + v.y) + v.z) + v.w;
  }
}

// ---- weight gradient 1x1 -----------------------------------------------------------------------
// part[chunk][co][ci] = sum over the chunk's segments of sum_p dy[n][co][p] x[n][ci][p]; a segment
// is 8 pixels (2 vec4s) of a plane of hw4 vec4s, chunks are prm.rc consecutive segments of the
// N * seg1 segments. x and dy are read as they are (no padding; H*W % 4 == 0).

fn seg_vec(g: u32) -> vec4f {
  return subgroupShuffle(xsl[g / SG], g % SG);
}

fn wchannel1(c: u32, d0: vec4f, d1: vec4f) {
  if (c >= CIT) { return; }
  let a = seg_vec(2u * c);
  let b = seg_vec(2u * c + 1u);
  var r = wacc1[c];
  r = fma(d0.x, a.x, r);
  r = fma(d0.y, a.y, r);
  r = fma(d0.z, a.z, r);
  r = fma(d0.w, a.w, r);
  r = fma(d1.x, b.x, r);
  r = fma(d1.y, b.y, r);
  r = fma(d1.z, b.z, r);
  r = fma(d1.w, b.w, r);
  wacc1[c] = r;
}

@compute @workgroup_size(SG)
fn weight1x1(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let co = wid.x * SG + lane;
  let coc = min(co, prm.co - 1u);
  let ci0 = wid.y * CIT;
  let s0 = wid.z * prm.rc;
  let s1 = min(s0 + prm.rc, prm.n * prm.seg1);
  // Segment vec4 g = lane + m*SG is vec4 g % 2 of input channel ci0 + g / 2.
  var cOff: array<u32, 4>;
  var vOff: array<u32, 4>;
  for (var m = 0u; m < 4u; m++) {
    let g = min(lane + m * SG, NXV1 - 1u);
    cOff[m] = min(ci0 + g / 2u, prm.ci - 1u) * prm.hw4;
    vOff[m] = g % 2u;
  }
  for (var s = s0; s < s1; s++) {
    let n = s / prm.seg1;
    let v = 2u * (s % prm.seg1);
    // A plane with an odd number of vec4s: its last segment has one; the other reads as zero.
    let second = v + 1u < prm.hw4;
    let d = (n * prm.co + coc) * prm.hw4 + v;
    let d0 = dy4[d];
    let d1 = select(vec4f(0.0), dy4[d + select(0u, 1u, second)], second);
    let xb = n * prm.ci * prm.hw4 + v;
    xsl[0] = x4[xb + cOff[0] + min(vOff[0], select(0u, 1u, second))];
    if (LPX1 > 1u) { xsl[1] = x4[xb + cOff[1] + min(vOff[1], select(0u, 1u, second))]; }
    if (LPX1 > 2u) { xsl[2] = x4[xb + cOff[2] + min(vOff[2], select(0u, 1u, second))]; }
    if (LPX1 > 3u) { xsl[3] = x4[xb + cOff[3] + min(vOff[3], select(0u, 1u, second))]; }
    wchannel1(0u, d0, d1); wchannel1(1u, d0, d1); wchannel1(2u, d0, d1); wchannel1(3u, d0, d1);
    wchannel1(4u, d0, d1); wchannel1(5u, d0, d1); wchannel1(6u, d0, d1); wchannel1(7u, d0, d1);
    wchannel1(8u, d0, d1); wchannel1(9u, d0, d1); wchannel1(10u, d0, d1); wchannel1(11u, d0, d1);
    wchannel1(12u, d0, d1); wchannel1(13u, d0, d1); wchannel1(14u, d0, d1); wchannel1(15u, d0, d1);
  }
  if (co >= prm.co) { return; }
  let out = (wid.z * prm.co + co) * prm.ci + ci0;
  for (var c = 0u; c < 16u; c++) {
    if (c < CIT && ci0 + c < prm.ci) { part[out + c] = wacc1[c]; }
  }
}
