// Convolution fast paths for adapters with the `subgroups` feature (stride 1, "same" padding):
// 3x3 and 1x1 forward (also used for the input gradient, with transposed weights) and the 3x3 and
// 1x1 weight gradients as split-K partial sums. Layouts NCHW and OIHW. When and how these run:
// src/engine/ops/conv2d.ts. The same ops without subgroups: conv2d.wgsl and conv2d_naive.wgsl.
//
// Design. A workgroup is one subgroup of SG invocations (SG = the adapter's smallest subgroup size,
// at least 8), and its invocations are SG *output channels*. The pixels of a tile are shared by the
// whole subgroup: each invocation loads a slice of the tile's input (aligned vec4 loads, straight
// from x when W % 4 == 0, else from a zero-padded copy) and the values reach every invocation
// through subgroupShuffle with constant lane indices. Each invocation loads only its own channel's
// weights (or dy rows) and keeps a whole tile of outputs in registers:
//   forward 3x3: TH (<= 8) rows x 8 columns = 64 outputs, 576 FMAs per input channel for 3 weight
//                vec4s and ceil(40 / SG) input vec4s per invocation (30 from the padded copy);
//   forward 1x1: 64 consecutive pixels, 64 FMAs per input channel;
//   weight 3x3:  9 taps x CIT input channels per invocation, over bands of R output rows, split
//                into chunks whose partial sums conv2d.wgsl's weight_sum adds in a fixed order;
//   weight 1x1:  CIT input channels per invocation, the same way.
// Why this shape: on lavapipe (Mesa llvmpipe) a storage-buffer load whose address is not a
// compile-time constant is emitted as a loop over the 8 SIMD lanes with a bounds check per
// component, even when every invocation reads the same address, while a subgroupShuffle with a
// constant index is one vector permute. Sharing loads through shuffles took the 3x3 forward from
// 4.5 to 19-36 GFLOP/s on this project's 2-core lavapipe (bench/README.md). On GPUs the same structure is a classic
// register-tiled implicit GEMM whose shared operand travels by shuffle instead of shared memory.
//
// Loops that index the register arrays are written out (helper functions called with constant
// arguments), because a loop the compiler does not unroll turns the arrays into memory.
enable subgroups;

// Sizes come in the uniform `prm` (one small buffer per shape, cached by conv2d.ts), so a kernel
// compiles once per structural choice (SG, TH, DIRECT, R, CIT, GDIRECT), not once per layer shape:
// lavapipe spends 1 to 3 seconds compiling each of these kernels.
struct Params {
  n: u32,
  ci: u32,       // input channels of this convolution (the layer's CO for the input gradient)
  co: u32,       // output channels of this convolution
  h: u32,
  w: u32,
  tx: u32,       // 8-column tiles across: ceil(W / 8)
  ty: u32,       // TH-row tiles down: ceil(H / TH)
  wv: u32,       // vec4s per row of the padded input: 2 tx + 1
  hp: u32,       // rows of the padded input
  w4: u32,       // vec4s per input row when W % 4 == 0 (else 1)
  rc: u32,       // weight gradients: bands (3x3) or segments (1x1) per chunk
  bands: u32,    // weight 3x3: bands of R rows per image: ceil(H / R)
  hw4: u32,      // 1x1: vec4s per plane, H*W / 4
  tiles1: u32,   // 1x1 forward: 16-vec4 tiles per plane
  seg1: u32,     // 1x1 weight: 2-vec4 segments per plane
  dwv: u32,      // weight 3x3: vec4s per row of dy as read (w4 in place, else 2 tx)
}

@group(0) @binding(3) var<uniform> prm: Params;

override SG: u32 = 8u;      // workgroup size = subgroup lanes used; a power of two >= 8
// 3x3 tiles: TH rows (1..8) x 8 columns. The padded input (entry point `pad` of conv2d.wgsl,
// padding 1) has prm.hp rows of prm.wv vec4s, xp[i][j] = x[i - 1][j - 1], zero outside.
override TH: u32 = 8u;
// DIRECT (W % 4 == 0): the 3x3 forward reads x itself instead of the padded copy; a tile row is
// then 4 vec4s, image columns 8tx-4 .. 8tx+11, with the ones outside the image read as zero.
override DIRECT: bool = false;
override RV: u32 = select(3u, 4u, DIRECT);     // vec4s per tile row
override NV: u32 = RV * (TH + 2u);             // vec4s of one channel's input tile
override LPL: u32 = (NV + SG - 1u) / SG;       // of them loaded per invocation (<= 5)
// Weight gradients: CIT input channels per workgroup.
override CIT: u32 = 4u;
// dy rows of the 3x3 weight gradient: read in place when W % 4 == 0 (GDIRECT: w4 vec4s per row,
// the second vec4 of the last segment may lie past the row and reads as zero), else from a copy
// padded to width 8 tx.
override GDIRECT: bool = false;
override NXV1: u32 = 2u * CIT;
override LPX1: u32 = (NXV1 + SG - 1u) / SG;    // <= 4

// forward3x3 / forward3x3_v4 / forward1x1
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
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
var<private> wacc: array<array<f32, 9>, 8>;  // weight 3x3: [input channel of the block][tap]
var<private> wacc1: array<f32, 16>;          // weight 1x1: [input channel of the block]

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
  if (DIRECT) {
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
  for (var ci = 0u; ci < prm.ci; ci++) {
    let plane = (n * prm.ci + ci) * planeSize;
    load_slice(0u, plane, t0);
    load_slice(1u, plane, t1);
    load_slice(2u, plane, t2);
    load_slice(3u, plane, t3);
    load_slice(4u, plane, t4);
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
// part[chunk][co][ci][t] = sum over the chunk's output pixels (n, oy, ox) of
//     dy[n][co][oy][ox] * x[n][ci][oy + kh - 1][ox + kw - 1],   t = kh*3 + kw,
// with x read from the padded copy (padded row oy + kh, padded column ox + kw) and dy from rows
// of width 8 tx (zero past W). Invocation = output channel co; workgroup = SG channels x CIT input
// channels x one chunk of bands. A band is R output rows of one image; for each 8-column segment
// of a band the invocation loads its own R x 8 dy values (2R vec4s) and a slice of the
// CIT x (R+2) x 3 padded-input vec4s, which reach everyone by shuffle. Each input row then serves
// up to three kernel rows (R output rows need R + 2 input rows, not 3R), which is what makes bands
// pay: loads per FMA fall by 40% from R = 1 to R = 4.
// The same kernel computes the gradient with the roles of x and dy swapped (conv2d.ts does so when
// that fills more lanes); weight_sum then transposes and flips the result.
override R: u32 = 4u;                          // output rows per band, 1..4
override NXV: u32 = 3u * (R + 2u) * CIT;       // input vec4s per segment
override LPX: u32 = (NXV + SG - 1u) / SG;      // of them loaded per invocation (<= 18)

var<private> dyv: array<vec4f, 8>;           // this invocation's dy: row o, columns 0-3 / 4-7 at 2o, 2o+1
var<private> xsl: array<vec4f, 18>;          // this invocation's slice of the segment's input

fn seg_vec(g: u32) -> vec4f {
  return subgroupShuffle(xsl[g / SG], g % SG);
}

// wacc[c][t] += sum over the 8 columns p of d[p] * s[p], in a fixed order, where d = (d0, d1) is
// one dy row and s = (s0, s1) the input columns under tap t of those 8 outputs.
fn wdot(c: u32, t: u32, d0: vec4f, d1: vec4f, s0: vec4f, s1: vec4f) {
  var r = wacc[c][t];
  r = fma(d0.x, s0.x, r);
  r = fma(d0.y, s0.y, r);
  r = fma(d0.z, s0.z, r);
  r = fma(d0.w, s0.w, r);
  r = fma(d1.x, s1.x, r);
  r = fma(d1.y, s1.y, r);
  r = fma(d1.z, s1.z, r);
  r = fma(d1.w, s1.w, r);
  wacc[c][t] = r;
}

// Kernel row kh of input channel c against output row o of the band: (a, b, cc) are padded
// columns x0 .. x0+11 of padded row o + kh, so tap kw of output column x0 + p reads column p + kw.
fn wtaps(c: u32, kh: u32, o: u32, a: vec4f, b: vec4f, cc: vec4f) {
  if (o >= R) { return; }
  let d0 = dyv[2u * o];
  let d1 = dyv[2u * o + 1u];
  wdot(c, 3u * kh, d0, d1, a, b);
  wdot(c, 3u * kh + 1u, d0, d1, vec4f(a.yzw, b.x), vec4f(b.yzw, cc.x));
  wdot(c, 3u * kh + 2u, d0, d1, vec4f(a.zw, b.xy), vec4f(b.zw, cc.xy));
}

// Padded row j (0 .. R+1) of the band of input channel c serves output rows j, j-1, j-2.
fn wrow(c: u32, j: u32) {
  if (j >= R + 2u) { return; }
  let g = (c * (R + 2u) + j) * 3u;
  let a = seg_vec(g);
  let b = seg_vec(g + 1u);
  let cc = seg_vec(g + 2u);
  wtaps(c, 0u, j, a, b, cc);
  if (j >= 1u) { wtaps(c, 1u, j - 1u, a, b, cc); }
  if (j >= 2u) { wtaps(c, 2u, j - 2u, a, b, cc); }
}

fn wchannel(c: u32) {
  if (c >= CIT) { return; }
  wrow(c, 0u); wrow(c, 1u); wrow(c, 2u); wrow(c, 3u); wrow(c, 4u); wrow(c, 5u);
}

fn wstore(c: u32, chunk: u32, co: u32, ci0: u32) {
  let ci = ci0 + c;
  if (c >= CIT || ci >= prm.ci) { return; }
  let out = ((chunk * prm.co + co) * prm.ci + ci) * 9u;
  part[out] = wacc[c][0];
  part[out + 1u] = wacc[c][1];
  part[out + 2u] = wacc[c][2];
  part[out + 3u] = wacc[c][3];
  part[out + 4u] = wacc[c][4];
  part[out + 5u] = wacc[c][5];
  part[out + 6u] = wacc[c][6];
  part[out + 7u] = wacc[c][7];
  part[out + 8u] = wacc[c][8];
}

// Offset of this invocation's m-th segment vec4 from (n, ci = 0, padded row y0, vec4 2*segment):
// segment vec4 g = lane + m*SG is channel g / (3(R+2)), row (g / 3) % (R+2), vec4 g % 3.
fn seg_offset(m: u32, lane: u32, ci0: u32) -> u32 {
  let g = min(lane + m * SG, NXV - 1u);
  let ci = min(ci0 + g / (3u * (R + 2u)), prm.ci - 1u);
  return (ci * prm.hp + (g / 3u) % (R + 2u)) * prm.wv + g % 3u;
}

fn load_seg(m: u32, base: u32, off: u32) {
  if (m < LPX) { xsl[m] = x4[base + off]; }
}

fn load_dy(o: u32, base: u32, y0: u32, sx: u32) {
  if (o >= R) { return; }
  // Rows past the image (a last, partial band) contribute nothing: their dy reads as zero.
  let inside = y0 + o < prm.h;
  let second = !GDIRECT || 2u * sx + 1u < prm.w4;
  let row = base + min(y0 + o, prm.h - 1u) * prm.dwv + 2u * sx;
  dyv[2u * o] = select(vec4f(0.0), dy4[row], inside);
  dyv[2u * o + 1u] = select(vec4f(0.0), dy4[row + select(0u, 1u, second)], inside && second);
}

// Grid: x = blocks of SG output channels, y = blocks of CIT input channels, z = chunks of prm.rc bands
// of the N * bands bands. The padded input has prm.hp >= bands * R + 2 rows.
@compute @workgroup_size(SG)
fn weight3x3(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let co = wid.x * SG + lane;
  let coc = min(co, prm.co - 1u);
  let ci0 = wid.y * CIT;
  let b0 = wid.z * prm.rc;
  let b1 = min(b0 + prm.rc, prm.n * prm.bands);
  var off: array<u32, 18>;
  off[0] = seg_offset(0u, lane, ci0); off[1] = seg_offset(1u, lane, ci0); off[2] = seg_offset(2u, lane, ci0);
  off[3] = seg_offset(3u, lane, ci0); off[4] = seg_offset(4u, lane, ci0); off[5] = seg_offset(5u, lane, ci0);
  off[6] = seg_offset(6u, lane, ci0); off[7] = seg_offset(7u, lane, ci0); off[8] = seg_offset(8u, lane, ci0);
  off[9] = seg_offset(9u, lane, ci0); off[10] = seg_offset(10u, lane, ci0); off[11] = seg_offset(11u, lane, ci0);
  off[12] = seg_offset(12u, lane, ci0); off[13] = seg_offset(13u, lane, ci0); off[14] = seg_offset(14u, lane, ci0);
  off[15] = seg_offset(15u, lane, ci0); off[16] = seg_offset(16u, lane, ci0); off[17] = seg_offset(17u, lane, ci0);
  for (var bd = b0; bd < b1; bd++) {
    let n = bd / prm.bands;
    let y0 = (bd % prm.bands) * R;
    let xrow = (n * prm.ci * prm.hp + y0) * prm.wv;
    let drow = (n * prm.co + coc) * prm.h * prm.dwv;
    for (var sx = 0u; sx < prm.tx; sx++) {
      load_dy(0u, drow, y0, sx); load_dy(1u, drow, y0, sx); load_dy(2u, drow, y0, sx); load_dy(3u, drow, y0, sx);
      let xb = xrow + 2u * sx;
      load_seg(0u, xb, off[0]); load_seg(1u, xb, off[1]); load_seg(2u, xb, off[2]);
      load_seg(3u, xb, off[3]); load_seg(4u, xb, off[4]); load_seg(5u, xb, off[5]);
      load_seg(6u, xb, off[6]); load_seg(7u, xb, off[7]); load_seg(8u, xb, off[8]);
      load_seg(9u, xb, off[9]); load_seg(10u, xb, off[10]); load_seg(11u, xb, off[11]);
      load_seg(12u, xb, off[12]); load_seg(13u, xb, off[13]); load_seg(14u, xb, off[14]);
      load_seg(15u, xb, off[15]); load_seg(16u, xb, off[16]); load_seg(17u, xb, off[17]);
      wchannel(0u); wchannel(1u); wchannel(2u); wchannel(3u);
      wchannel(4u); wchannel(5u); wchannel(6u); wchannel(7u);
    }
  }
  if (co >= prm.co) { return; }
  wstore(0u, wid.z, co, ci0); wstore(1u, wid.z, co, ci0); wstore(2u, wid.z, co, ci0); wstore(3u, wid.z, co, ci0);
  wstore(4u, wid.z, co, ci0); wstore(5u, wid.z, co, ci0); wstore(6u, wid.z, co, ci0); wstore(7u, wid.z, co, ci0);
}

// ---- weight gradient 1x1 -----------------------------------------------------------------------
// part[chunk][co][ci] = sum over the chunk's segments of sum_p dy[n][co][p] x[n][ci][p]; a segment
// is 8 pixels (2 vec4s) of a plane of hw4 vec4s, chunks are prm.rc consecutive segments of the
// N * seg1 segments. x and dy are read as they are (no padding; H*W % 4 == 0).

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
