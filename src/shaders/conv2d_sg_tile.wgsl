// 3x3 forward and input gradient, one tile per invocation (rows sg3x3-tile of conv2d-select.ts):
//   y[n][co][oy][ox] = sum_ci sum_kh,kw x[n][ci][oy + kh - 1][ox + kw - 1] w'[co][ci][kh][kw]
// (w' = w, or for the input gradient w rotated by 180 degrees with its channel axes swapped, and
// x = dy). Appended to conv2d_sg_common.wgsl.
// Memory: x NCHW, read in place when W % 4 == 0 (DIRECT, option tile-direct), else from a
// zero-padded copy (conv2d_prep.wgsl `pad`); packed weights wq[(ci * CO + co) * 3 + k]
// = taps 4k .. 4k+3 of w'[co][ci] (conv2d_prep.wgsl `pack3x3_sg`); y NCHW.
// Threads: a workgroup is a TH x 8 tile of one image for SG output channels, one per lane: TH (<= 8)
// rows x 8 columns = 64 outputs, 576 FMAs per input channel for 3 weight vec4s and ceil(40 / SG)
// input vec4s per invocation (30 from the padded copy, 40 read in place).
// Grid: x, y = tiles (N * ty * tx), z = blocks of SG output channels.
// Conditions: subgroups of SG >= 8 lanes, 3x3, padding 1.

// 3x3 tiles: TH rows (1..8) x 8 columns. The padded input (entry point `pad` of conv2d_prep.wgsl,
// padding 1) has prm.hp rows of prm.wv vec4s, xp[i][j] = x[i - 1][j - 1], zero outside.
override TH: u32 = 8u;
// DIRECT (W % 4 == 0): the 3x3 forward reads x itself instead of the padded copy; a tile row is
// then 4 vec4s, image columns 8tx-4 .. 8tx+11, with the ones outside the image read as zero.
override DIRECT: bool = false;
override RV: u32 = select(3u, 4u, DIRECT);     // vec4s per tile row
override NV: u32 = RV * (TH + 2u);             // vec4s of one channel's input tile
override LPL: u32 = (NV + SG - 1u) / SG;       // of them loaded per invocation (<= 5)

var<private> acc: array<array<f32, 8>, 8>;   // [tile row][tile column]
var<private> xv: array<vec4f, 5>;            // this invocation's slice of the input tile

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
