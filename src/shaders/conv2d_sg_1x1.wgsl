// 1x1 convolutions: forward and input gradient (row sg1x1 of conv2d-select.ts) and weight
// gradient (row sg-weight1x1). Appended to conv2d_sg_common.wgsl.
// Memory: x, dy and y NCHW on planes of H*W pixels with H*W % 4 == 0, read as vec4s as they are;
// forward weights packed transposed, wq1[ci * CO + co] = w'[co][ci] (conv2d_prep.wgsl `pack1x1_sg`);
// weight partials part[chunk][co][ci], summed by conv2d_prep.wgsl `weight_sum`.
// Threads: lanes are SG output channels. Forward: a workgroup is 16 vec4s (64 pixels) of one plane,
// 64 FMAs per input channel; grid x, y = tiles, z = channel blocks. Weight: CIT input channels per
// workgroup, segments of 8 pixels; grid x = blocks of SG output channels, y = input channel blocks,
// z = chunks.
// Conditions: subgroups of SG >= 8 lanes, 1x1, padding 0, H*W % 4 == 0.

// 1x1 weight gradient: CIT input channels per workgroup.
override CIT: u32 = 4u;
override NXV1: u32 = 2u * CIT;
override LPX1: u32 = (NXV1 + SG - 1u) / SG;    // <= 4

var<private> xv: array<vec4f, 2>;     // forward: vec4s lane and lane + SG of the tile
var<private> acc4: array<vec4f, 16>;  // forward: 16 vec4s of pixels
var<private> wacc1: array<f32, 16>;   // weight: [input channel of the block]
var<private> xsl: array<vec4f, 4>;    // weight: this invocation's slice of the segment

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
