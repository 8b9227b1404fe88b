// 3x3 weight gradient as split-K partial sums (row sg-weight3x3 of conv2d-select.ts):
//   part[chunk][co][ci][kh*3 + kw] = sum over the chunk's rows of dy[n][co][y][x] x[n][ci][y + kh - 1][x + kw - 1]
// summed over the chunks in a fixed order by conv2d_prep.wgsl `weight_sum` (bit-identical runs).
// Appended to conv2d_sg_common.wgsl.
// Threads: invocations are SG channels of A, the channels of B shared SB at a time. Memory: x and
// dy NCHW, read in place when W % 4 == 0 (WDIRECT, option weight-direct), else A from a zero-padded
// copy and B from a copy with rows of 8 tx columns (conv2d_prep.wgsl `pad`).
// Grid: x = blocks of SG channels of A, y = blocks of SB channels of B, z = chunks.
// Conditions: subgroups of SG >= 8 lanes, 3x3, padding 1.

// ---- weight gradient 3x3 ---------------------------------------------------------------------
// part[chunk][s][l][t] = sum over the chunk's output pixels p = (n, y, x) of
//     B[n][s][y][x] * A[n][l][y + kh - 1][x + kw - 1],   t = kh*3 + kw   (A zero outside the image),
// where (A, B) = (x, dy) gives dw[co = s][ci = l][kh][kw] itself, and (A, B) = (dy, x) (option
// weight-swap, when dy's channels fill more lanes) gives dw[co = l][ci = s][2 - kh][2 - kw], which
// weight_sum of conv2d_prep.wgsl flips and transposes back while it sums the chunks in order.
// Invocations are channels l of A; the workgroup's SB (<= 10) channels of B are shared. A chunk is
// prm.rc consecutive 8-column strips (n, sx) of the N * tx strips, and each strip is walked down
// one output row y at a time:
//   each invocation loads row y + 1 of its own channel of A (3 vec4s: columns x0-1 .. x0+10 of
//   the zero-padded copy, or 4 vec4s read in place: WDIRECT) into a window that
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
    // The window starts as rows -1 (zero) and 0.
    if (WDIRECT) {
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
      if (WDIRECT) { arow_direct(aplane, y + 1u, sx); } else { arow_padded(aplane + (y + 2u) * prm.wv + 2u * sx); }
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
