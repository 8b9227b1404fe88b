// Batch, group and layer normalisation: one kernel family, forward and backward side by side.
// Host side: src/engine/ops/norm.ts. Derivation: docs/normalization-backprop.md.
//
// x is N x C x H x W, contiguous. A *plane* is one (n, c): HW contiguous floats; plane p = n*C + c.
// A *reduction set* is the list of planes whose elements share one mean and one variance:
//   batch:  set c        = planes { n*C + c        : n < N  }   SET_BASE 1,  SET_STRIDE C, SET_PLANES N
//   group:  set n*G + g  = planes { n*C + g*CG + k : k < CG }   SET_BASE CG, SET_STRIDE 1, SET_PLANES CG
//   layer:  group with G = 1 (CG = C).        instance: group with G = C (CG = 1).
//   ghost batch (training, sub-batches of B images): set g*C + c = planes { (g*B + k)*C + c : k < B }
//           SET_BASE 1, SET_STRIDE C, SET_PLANES B, SET_WRAP C, SET_JUMP B*C, GHOST_PLANES B*C.
// Plane k of set s is (s / SET_WRAP)*SET_JUMP + (s % SET_WRAP)*SET_BASE + k*SET_STRIDE (SET_WRAP
// defaults to "never", so this is s*SET_BASE + k*SET_STRIDE). The set of plane p is
// (p / GHOST_PLANES)*C + p % C (ACROSS_BATCH; p % C without ghost batches) or p / CG.
// Each set holds M = SET_PLANES * HW elements.
//
// Forward, per set (var is the biased variance, as PyTorch normalises with):
//   mean = (1/M) sum x          var = (1/M) sum (x - mean)^2          rstd = 1 / sqrt(var + eps)
//   xhat = (x - mean) * rstd    y = gamma[c] * xhat + beta[c]         (RELU: y = max(y, 0))
// Backward, with g = dy * gamma[c] (dy masked by y > 0 when RELU):
//   dx = rstd * (g - mean_set(g) - xhat * mean_set(g * xhat))
//   dgamma[c] = sum over (n, h, w) of dy * xhat                      dbeta[c] = sum over (n, h, w) of dy
//
// Every kernel that touches x element by element has a vec4 twin (suffix _vec4), used when HW % 4 == 0:
// four elements per step (PER4 consecutive vec4s per invocation in apply and dx). The scalar kernels
// serve other shapes and NORMLAB_DEBUG=naive.
//
// Dispatch order. Forward: plane_moments, then set_moments | set_moments_train (batch, training:
// also the running statistics) | eval_stats (batch, evaluation), then apply.
// Backward: plane_grad_sums, reduce_planes per channel (dbeta, dgamma), reduce_planes per set
// (WEIGHTED by gamma: mean_set(g), mean_set(g * xhat)), then dx | dx_fixed_stats.
//
// Numerics: each plane's (count, mean, M2) comes from Welford's update, and planes merge with Chan's
// formula, never E[x^2] - E[x]^2. Every reduction is a tree over workgroup memory in a fixed order,
// with no atomics, so results are bitwise reproducible from run to run.

override WG: u32 = 256;
override HW: u32;             // elements per plane
override C: u32;              // channels
override PLANES: u32;         // N * C
override TOTAL: u32 = PLANES * HW;
override HW4: u32 = HW / 4u;          // vec4 kernels: vec4s per plane
override TOTAL4: u32 = PLANES * HW4;
override TPP: u32 = 32;       // threads per plane in plane_* kernels: a power of two dividing WG
override CG: u32 = 1;         // channels per group (group and layer)
override ACROSS_BATCH: bool;  // batch norm: sets are channels, gathered across the batch
override SET_BASE: u32 = 1;
override SET_STRIDE: u32 = 1;
override SET_PLANES: u32 = 1;
override TARGETS: u32 = 1;    // workgroups doing useful work in set_* and reduce_planes
override SET_WRAP: u32 = 0xffffffffu;
override SET_JUMP: u32 = 0u;
override GHOST_PLANES: u32 = 0xffffffffu;  // planes per ghost sub-batch (B * C)
override GHOSTS: u32 = 1u;    // set_moments_train: sub-batches per channel, walked in order
override EPS: f32 = 1e-5;
override MOMENTUM: f32 = 0.1;
override RELU: bool = false;
override WEIGHTED: bool = false;
override SCALE: f32 = 1.0;
// Elementwise _vec4 kernels: consecutive vec4s per invocation, all in one plane (PER4 divides HW4),
// so the plane's statistics and affine parameters are loaded once for all of them: on lavapipe
// every such load costs a loop over the SIMD lanes, like the data loads themselves.
override PER4: u32 = 1u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
// Per plane: (mean, M2) in the forward, (sum dy, sum dy * xhat) in the backward.
@group(0) @binding(4) var<storage, read_write> plane: array<vec2f>;
// Per set: (mean, rstd), saved by the forward for the backward.
@group(0) @binding(5) var<storage, read_write> stats: array<vec2f>;
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
// reduce_planes results: per channel (dbeta, dgamma), or per set (mean_set(g), mean_set(g * xhat)).
@group(0) @binding(9) var<storage, read_write> red_a: array<f32>;
@group(0) @binding(10) var<storage, read_write> red_b: array<f32>;

// The vec4 twins of x, dy and out, used when HW % 4 == 0 (then a vec4 never straddles two planes).
@group(0) @binding(11) var<storage, read> x4: array<vec4f>;
@group(0) @binding(12) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(13) var<storage, read_write> out4: array<vec4f>;

var<workgroup> tree: array<vec4f, 256>;

fn workgroup_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn element_index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

fn set_of(p: u32) -> u32 {
  return select(p / CG, (p / GHOST_PLANES) * C + p % C, ACROSS_BATCH);
}

// Plane k of set s (see the header).
fn set_plane(s: u32, k: u32) -> u32 {
  return (s / SET_WRAP) * SET_JUMP + (s % SET_WRAP) * SET_BASE + k * SET_STRIDE;
}

// Chan's merge of two partial moments (count, mean, M2, -):
//   n = na + nb,  d = mean_b - mean_a,  mean = mean_a + d * nb / n,  M2 = M2_a + M2_b + d^2 * na * nb / n
fn chan(a: vec4f, b: vec4f) -> vec4f {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  let f = b.x / n;
  return vec4f(n, a.y + d * f, a.z + b.z + d * d * a.x * f, 0.0);
}

// Fixed-order tree over `width` consecutive slots of `tree` (width a power of two); slot `lid`
// with lane % width == 0 ends with the merge of its group. Merges moments (Chan) or adds sums.
fn tree_reduce(lid: u32, lane: u32, width: u32, moments: bool) {
  for (var s = width / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lane < s) {
      if (moments) {
        tree[lid] = chan(tree[lid], tree[lid + s]);
      } else {
        tree[lid] = tree[lid] + tree[lid + s];
      }
    }
  }
}

// xhat = (x - mean) * rstd
fn normalized(v: f32, st: vec2f) -> f32 {
  return (v - st.x) * st.y;
}

// y before the ReLU: gamma[c] * xhat + beta[c]. The backward recomputes it for the ReLU mask, with
// this same function, instead of reading y back.
fn pre_activation(xh: f32, c: u32) -> f32 {
  return xh * gamma[c] + beta[c];
}

fn normalized4(v: vec4f, st: vec2f) -> vec4f {
  return (v - st.x) * st.y;
}

fn pre_activation4(xh: vec4f, ga: f32, be: f32) -> vec4f {
  return xh * ga + be;
}

// The moments of four values, exactly: mean = sum / 4, M2 = sum (v - mean)^2 (two passes over
// registers). A thread then merges them into its running moments with Chan's formula.
fn moments4(v: vec4f) -> vec4f {
  let mean = (v.x + v.y + v.z + v.w) * 0.25;
  let d = v - mean;
  return vec4f(4.0, mean, dot(d, d), 0.0);
}

// ---- forward ------------------------------------------------------------------------------------

// One plane per TPP threads. Each thread runs Welford's update over its elements
//   n += 1,  d = v - mean,  mean += d / n,  M2 += d * (v - mean)
// then the plane's threads merge with Chan's formula. Writes plane[p] = (mean, M2).
@compute @workgroup_size(WG)
fn plane_moments(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                 @builtin(num_workgroups) nwg: vec3u) {
  let lane = lid % TPP;
  let p = workgroup_index(wid, nwg) * (WG / TPP) + lid / TPP;
  var m = vec4f(0.0);
  if (p < PLANES) {
    let base = p * HW;
    for (var i = lane; i < HW; i += TPP) {
      let v = x[base + i];
      m.x += 1.0;
      let d = v - m.y;
      m.y += d / m.x;
      m.z += d * (v - m.y);
    }
  }
  tree[lid] = m;
  tree_reduce(lid, lane, TPP, true);
  if (lane == 0u && p < PLANES) {
    plane[p] = tree[lid].yz;
  }
}

@compute @workgroup_size(WG)
fn plane_moments_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                      @builtin(num_workgroups) nwg: vec3u) {
  let lane = lid % TPP;
  let p = workgroup_index(wid, nwg) * (WG / TPP) + lid / TPP;
  var m = vec4f(0.0);
  if (p < PLANES) {
    let base = p * HW4;
    for (var j = lane; j < HW4; j += TPP) {
      m = chan(m, moments4(x4[base + j]));
    }
  }
  tree[lid] = m;
  tree_reduce(lid, lane, TPP, true);
  if (lane == 0u && p < PLANES) {
    plane[p] = tree[lid].yz;
  }
}

// One workgroup per set: merges the set's SET_PLANES plane moments (Chan, fixed order) into the
// set's mean and biased variance. Thread 0 ends with the whole set in tree[0].
fn merge_set(lid: u32, s: u32) {
  var m = vec4f(0.0);
  if (s < TARGETS) {
    for (var k = lid; k < SET_PLANES; k += WG) {
      let q = plane[set_plane(s, k)];
      m = chan(m, vec4f(f32(HW), q.x, q.y, 0.0));
    }
  }
  tree[lid] = m;
  tree_reduce(lid, lid, WG, true);
}

// stats[s] = (mean, rstd),  var = M2 / M,  rstd = 1 / sqrt(var + eps)
fn write_stats(s: u32) -> vec4f {
  let m = tree[0];
  let variance = m.z / m.x;
  stats[s] = vec2f(m.y, 1.0 / sqrt(variance + EPS));
  return m;
}

@compute @workgroup_size(WG)
fn set_moments(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u) {
  let s = workgroup_index(wid, nwg);
  merge_set(lid, s);
  if (lid == 0u && s < TARGETS) {
    _ = write_stats(s);
  }
}

// Batch norm in training: one workgroup per channel c. As set_moments, and then, as PyTorch's
// BatchNorm2d,
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * M2 / (M - 1)      (unbiased)
// With ghost batches the workgroup walks channel c's sets g*C + c for g = 0, 1, ... in order, one
// update each: what BatchNorm2d does when it is fed the sub-batches one after another.
@compute @workgroup_size(WG)
fn set_moments_train(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                     @builtin(num_workgroups) nwg: vec3u) {
  let c = workgroup_index(wid, nwg);
  for (var g = 0u; g < GHOSTS; g++) {
    let s = g * C + c;
    merge_set(lid, s);
    if (lid == 0u && c < C) {
      let m = write_stats(s);
      running_mean[c] = (1.0 - MOMENTUM) * running_mean[c] + MOMENTUM * m.y;
      running_var[c] = (1.0 - MOMENTUM) * running_var[c] + MOMENTUM * (m.z / (m.x - 1.0));
    }
    workgroupBarrier();
  }
}

// Batch norm in evaluation: stats[c] = (running_mean[c], 1 / sqrt(running_var[c] + eps))
@compute @workgroup_size(WG)
fn eval_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = element_index(gid, nwg);
  if (c >= C) { return; }
  stats[c] = vec2f(running_mean[c], 1.0 / sqrt(running_var[c] + EPS));
}

// y = gamma[c] * xhat + beta[c], then max(y, 0) when RELU (norm + ReLU fused: one pass over x).
@compute @workgroup_size(WG)
fn apply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element_index(gid, nwg);
  if (i >= TOTAL) { return; }
  let p = i / HW;
  let c = p % C;
  let z = pre_activation(normalized(x[i], stats[set_of(p)]), c);
  out[i] = select(z, max(z, 0.0), RELU);
}

@compute @workgroup_size(WG)
fn apply_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j0 = element_index(gid, nwg) * PER4;
  if (j0 >= TOTAL4) { return; }
  let p = j0 / HW4;
  let c = p % C;
  let st = stats[set_of(p)];
  let ga = gamma[c];
  let be = beta[c];
  for (var k = 0u; k < PER4; k++) {
    let z = pre_activation4(normalized4(x4[j0 + k], st), ga, be);
    out4[j0 + k] = select(z, max(z, vec4f(0.0)), RELU);
  }
}

// ---- backward -----------------------------------------------------------------------------------

// The upstream gradient, masked by the fused ReLU: dy * [gamma * xhat + beta > 0].
fn upstream(i: u32, xh: f32, c: u32) -> f32 {
  let d = dy[i];
  if (RELU && pre_activation(xh, c) <= 0.0) { return 0.0; }
  return d;
}

fn upstream4(j: u32, xh: vec4f, ga: f32, be: f32) -> vec4f {
  let d = dy4[j];
  if (RELU) { return select(vec4f(0.0), d, pre_activation4(xh, ga, be) > vec4f(0.0)); }
  return d;
}

// One plane per TPP threads: plane[p] = (sum dy, sum dy * xhat) over the plane's HW elements.
// Both reductions the backward needs start here; reduce_planes gathers them per channel and per set.
@compute @workgroup_size(WG)
fn plane_grad_sums(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                   @builtin(num_workgroups) nwg: vec3u) {
  let lane = lid % TPP;
  let p = workgroup_index(wid, nwg) * (WG / TPP) + lid / TPP;
  var acc = vec4f(0.0);
  if (p < PLANES) {
    let base = p * HW;
    let c = p % C;
    let st = stats[set_of(p)];
    for (var i = lane; i < HW; i += TPP) {
      let xh = normalized(x[base + i], st);
      let d = upstream(base + i, xh, c);
      acc.x += d;
      acc.y += d * xh;
    }
  }
  tree[lid] = acc;
  tree_reduce(lid, lane, TPP, false);
  if (lane == 0u && p < PLANES) {
    plane[p] = tree[lid].xy;
  }
}

@compute @workgroup_size(WG)
fn plane_grad_sums_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                        @builtin(num_workgroups) nwg: vec3u) {
  let lane = lid % TPP;
  let p = workgroup_index(wid, nwg) * (WG / TPP) + lid / TPP;
  var acc = vec4f(0.0);
  if (p < PLANES) {
    let base = p * HW4;
    let c = p % C;
    let st = stats[set_of(p)];
    let ga = gamma[c];
    let be = beta[c];
    for (var j = lane; j < HW4; j += TPP) {
      let xh = normalized4(x4[base + j], st);
      let d = upstream4(base + j, xh, ga, be);
      acc.x += d.x + d.y + d.z + d.w;
      acc.y += dot(d, xh);
    }
  }
  tree[lid] = acc;
  tree_reduce(lid, lane, TPP, false);
  if (lane == 0u && p < PLANES) {
    plane[p] = tree[lid].xy;
  }
}

// One workgroup per target t, summing planes t*SET_BASE + k*SET_STRIDE, k < SET_PLANES:
//   per channel (WEIGHTED false): red_a[c] = sum dy = dbeta[c],  red_b[c] = sum dy * xhat = dgamma[c]
//   per set (WEIGHTED, SCALE = 1/M): red_a[s] = mean_set(g),  red_b[s] = mean_set(g * xhat), g = dy * gamma[c]
//   (gamma is constant on a plane, so sum over a plane of g = gamma[c] * sum dy.)
@compute @workgroup_size(WG)
fn reduce_planes(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                 @builtin(num_workgroups) nwg: vec3u) {
  let t = workgroup_index(wid, nwg);
  var acc = vec4f(0.0);
  if (t < TARGETS) {
    for (var k = lid; k < SET_PLANES; k += WG) {
      let q = set_plane(t, k);
      var v = plane[q];
      if (WEIGHTED) { v = v * gamma[q % C]; }
      acc = vec4f(acc.xy + v, 0.0, 0.0);
    }
  }
  tree[lid] = acc;
  tree_reduce(lid, lid, WG, false);
  if (lid == 0u && t < TARGETS) {
    red_a[t] = tree[0].x * SCALE;
    red_b[t] = tree[0].y * SCALE;
  }
}

// dx = rstd * (g - mean_set(g) - xhat * mean_set(g * xhat)),  g = dy * gamma[c]
@compute @workgroup_size(WG)
fn dx(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element_index(gid, nwg);
  if (i >= TOTAL) { return; }
  let p = i / HW;
  let c = p % C;
  let s = set_of(p);
  let st = stats[s];
  let xh = normalized(x[i], st);
  let g = upstream(i, xh, c) * gamma[c];
  out[i] = st.y * (g - red_a[s] - xh * red_b[s]);
}

@compute @workgroup_size(WG)
fn dx_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j0 = element_index(gid, nwg) * PER4;
  if (j0 >= TOTAL4) { return; }
  let p = j0 / HW4;
  let c = p % C;
  let s = set_of(p);
  let st = stats[s];
  let ga = gamma[c];
  let be = beta[c];
  let ra = red_a[s];
  let rb = red_b[s];
  for (var k = 0u; k < PER4; k++) {
    let j = j0 + k;
    let xh = normalized4(x4[j], st);
    let g = upstream4(j, xh, ga, be) * ga;
    out4[j] = st.y * (g - ra - xh * rb);
  }
}

// Batch norm in evaluation: mean and rstd are constants (running statistics), so dx = rstd * g.
@compute @workgroup_size(WG)
fn dx_fixed_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = element_index(gid, nwg);
  if (i >= TOTAL) { return; }
  let p = i / HW;
  let c = p % C;
  let st = stats[set_of(p)];
  let xh = normalized(x[i], st);
  out[i] = st.y * upstream(i, xh, c) * gamma[c];
}

@compute @workgroup_size(WG)
fn dx_fixed_stats_vec4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j0 = element_index(gid, nwg) * PER4;
  if (j0 >= TOTAL4) { return; }
  let p = j0 / HW4;
  let c = p % C;
  let st = stats[set_of(p)];
  let ga = gamma[c];
  let be = beta[c];
  for (var k = 0u; k < PER4; k++) {
    let j = j0 + k;
    out4[j] = st.y * upstream4(j, normalized4(x4[j], st), ga, be) * ga;
  }
}
