// The fp32 ceiling kernels of bench/ceiling.ts: C[M][N] = A[M][K] B[K][N], row-major, register
// tiled, no shared memory. They are benchmarks, not ops: sizes must be multiples of the tiles
// (M % RT == 0, N % (4 * CV * WG) == 0 for `matmul_tiled`; M % R == 0, N % (4 * SG) == 0 and
// K % 4 == 0 for `matmul_sg`).
//
// This file is compiled twice by bench/ceiling.ts: up to the line "---- subgroups ----" on its own
// (matmul_tiled and copy_vec4), and whole with `enable subgroups;` in front where the device has
// subgroups (adding matmul_sg).

override M: u32;
override N: u32;
override K: u32;
override WG: u32 = 64u;
override RT: u32 = 4u;     // matmul_tiled: rows per invocation (<= 8)
override CV: u32 = 2u;     // matmul_tiled: vec4s of columns per invocation (<= 2)
override COUNT: u32 = 0u;  // copy_vec4: vec4s to copy
override PER: u32 = 1u;    // copy_vec4: consecutive vec4s per invocation

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> c4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> copy_dst: array<vec4f>;

// A storage read/write kernel: copy_dst[i] = a4[i], PER consecutive vec4s per invocation (lavapipe
// pays a large cost per invocation: one vec4 each copied half as fast as four).
@compute @workgroup_size(WG)
fn copy_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = (gid.x + gid.y * nwg.x * WG) * PER;
  for (var k = 0u; k < PER; k++) {
    if (i + k < COUNT) { copy_dst[i + k] = a4[i + k]; }
  }
}

// Without subgroups: an invocation computes RT rows x 4*CV columns. The rows come from
// workgroup_id.y, so all invocations of a workgroup read the same A values; columns are
// interleaved by WG so neighbouring invocations read neighbouring vec4s of B.
// c4 vec4 (row m, column vec4 j) = sum_k a[m][k] * b4[k][j].
var<private> tacc: array<array<vec4f, 2>, 8>;

@compute @workgroup_size(WG)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  let n4 = N / 4u;
  let col0 = wid.x * WG * CV + li;        // vec4 column of b4 / c4 for j = 0; j adds j * WG
  let row0 = wid.y * RT;
  for (var k = 0u; k < K; k++) {
    let b0 = b4[k * n4 + col0];
    var b1 = vec4f(0.0);
    if (CV > 1u) { b1 = b4[k * n4 + col0 + WG]; }
    for (var r = 0u; r < RT; r++) {
      let av = vec4f(a[(row0 + r) * K + k]);
      tacc[r][0] = fma(av, b0, tacc[r][0]);
      if (CV > 1u) { tacc[r][1] = fma(av, b1, tacc[r][1]); }
    }
  }
  for (var r = 0u; r < RT; r++) {
    c4[(row0 + r) * n4 + col0] = tacc[r][0];
    if (CV > 1u) { c4[(row0 + r) * n4 + col0 + WG] = tacc[r][1]; }
  }
}

// ---- subgroups ----
// With subgroups: a workgroup is one subgroup of SG invocations; invocation l owns columns
// 4 (wid.x * SG + l) .. +3 and all R rows of the workgroup's row block (accumulators: R vec4s).
// For each step of 4 along K the R x 4 block of A is loaded once across the subgroup (vec4 r of it
// by invocation r % SG) and handed to everyone by subgroupShuffle; each invocation loads its own 4
// vec4s of B. Per step and invocation: 4 + R / SG loads for 16 R FMAs (the conv kernels' scheme,
// see conv2d_sg_common.wgsl, applied to a plain GEMM, where each shared value serves one FMA per column).
override SG: u32 = 8u;
override R: u32 = 16u;     // rows per workgroup: a multiple of SG, <= 32

var<private> sacc: array<vec4f, 32>;
var<private> sa: array<vec4f, 4>;

fn srow(r: u32, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) {
  if (r >= R) { return; }
  let av = subgroupShuffle(sa[r / SG], r % SG);   // a[m0 + r][k .. k+3]
  sacc[r] = fma(vec4f(av.w), b3, fma(vec4f(av.z), b2, fma(vec4f(av.y), b1, fma(vec4f(av.x), b0, sacc[r]))));
}

fn sstore(r: u32, m0: u32, col: u32) {
  if (r >= R) { return; }
  c4[(m0 + r) * (N / 4u) + col] = sacc[r];
}

@compute @workgroup_size(SG)
fn matmul_sg(@builtin(workgroup_id) wid: vec3u, @builtin(subgroup_invocation_id) lane: u32) {
  let n4 = N / 4u;
  let k4 = K / 4u;
  let col = wid.x * SG + lane;
  let m0 = wid.y * R;
  for (var k = 0u; k < K; k += 4u) {
    for (var m = 0u; m < R / SG; m++) { sa[m] = a4[(m0 + lane + m * SG) * k4 + k / 4u]; }
    let b0 = b4[k * n4 + col];
    let b1 = b4[(k + 1u) * n4 + col];
    let b2 = b4[(k + 2u) * n4 + col];
    let b3 = b4[(k + 3u) * n4 + col];
    srow(0u, b0, b1, b2, b3); srow(1u, b0, b1, b2, b3); srow(2u, b0, b1, b2, b3); srow(3u, b0, b1, b2, b3);
    srow(4u, b0, b1, b2, b3); srow(5u, b0, b1, b2, b3); srow(6u, b0, b1, b2, b3); srow(7u, b0, b1, b2, b3);
    srow(8u, b0, b1, b2, b3); srow(9u, b0, b1, b2, b3); srow(10u, b0, b1, b2, b3); srow(11u, b0, b1, b2, b3);
    srow(12u, b0, b1, b2, b3); srow(13u, b0, b1, b2, b3); srow(14u, b0, b1, b2, b3); srow(15u, b0, b1, b2, b3);
    srow(16u, b0, b1, b2, b3); srow(17u, b0, b1, b2, b3); srow(18u, b0, b1, b2, b3); srow(19u, b0, b1, b2, b3);
    srow(20u, b0, b1, b2, b3); srow(21u, b0, b1, b2, b3); srow(22u, b0, b1, b2, b3); srow(23u, b0, b1, b2, b3);
    srow(24u, b0, b1, b2, b3); srow(25u, b0, b1, b2, b3); srow(26u, b0, b1, b2, b3); srow(27u, b0, b1, b2, b3);
    srow(28u, b0, b1, b2, b3); srow(29u, b0, b1, b2, b3); srow(30u, b0, b1, b2, b3); srow(31u, b0, b1, b2, b3);
  }
  sstore(0u, m0, col); sstore(1u, m0, col); sstore(2u, m0, col); sstore(3u, m0, col);
  sstore(4u, m0, col); sstore(5u, m0, col); sstore(6u, m0, col); sstore(7u, m0, col);
  sstore(8u, m0, col); sstore(9u, m0, col); sstore(10u, m0, col); sstore(11u, m0, col);
  sstore(12u, m0, col); sstore(13u, m0, col); sstore(14u, m0, col); sstore(15u, m0, col);
  sstore(16u, m0, col); sstore(17u, m0, col); sstore(18u, m0, col); sstore(19u, m0, col);
  sstore(20u, m0, col); sstore(21u, m0, col); sstore(22u, m0, col); sstore(23u, m0, col);
  sstore(24u, m0, col); sstore(25u, m0, col); sstore(26u, m0, col); sstore(27u, m0, col);
  sstore(28u, m0, col); sstore(29u, m0, col); sstore(30u, m0, col); sstore(31u, m0, col);
}
