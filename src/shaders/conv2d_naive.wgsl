// Naive convolution kernels: stride 1, any KH x KW kernel, any padding PAD >= 0 (the same on all
// four sides), NCHW activations, OIHW weights. One output element per invocation, plain loops in a
// fixed order. They are the generic fallback where no fast path applies and the reference that
// NORMLAB_DEBUG=naive (engine.debug.naive) forces everywhere; see src/engine/ops/conv2d.ts.
//
//   forward:      y[n][co][oy][ox]   = sum_{ci,kh,kw} x[n][ci][oy+kh-PAD][ox+kw-PAD] * w[co][ci][kh][kw]
//   input_grad:   dx[n][ci][iy][ix]  = sum_{co,kh,kw} dy[n][co][iy+PAD-kh][ix+PAD-kw] * w[co][ci][kh][kw]
//   weight_grad:  part[c][co][ci][kh][kw] = sum over the rows (n, oy) of chunk c and all ox of
//                 dy[n][co][oy][ox] * x[n][ci][oy+kh-PAD][ox+kw-PAD]
// where terms whose x (or dy) index falls outside the tensor are zero. Row and column arithmetic is
// in signed integers: oy + kh - PAD is negative near the top border.

// Sizes come in the uniform `prm`, so each entry point compiles once for all shapes.
struct Params {
  n: u32,
  ci: u32,
  co: u32,
  h: u32,
  w: u32,
  kh: u32,
  kw: u32,
  pad: u32,
  oh: u32,      // output rows: H + 2 PAD - KH + 1
  ow: u32,      // output columns: W + 2 PAD - KW + 1
  rc: u32,      // weight_grad: output rows (n, oy) per chunk
  count: u32,   // invocations that do work
}

override WG: u32 = 64u;

@group(0) @binding(3) var<uniform> prm: Params;
@group(0) @binding(0) var<storage, read> a: array<f32>;          // x (forward, weight_grad) or dy (input_grad)
@group(0) @binding(1) var<storage, read> b: array<f32>;          // w (forward, input_grad) or dy (weight_grad)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn flat(wid: vec3u, nwg: vec3u, li: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WG + li;
}

fn inside(v: i32, size: u32) -> bool {
  return v >= 0 && v < i32(size);
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wid, nwg, li);
  if (i >= prm.count) { return; }
  let ox = i32(i % prm.ow);
  let oy = i32((i / prm.ow) % prm.oh);
  let co = (i / (prm.ow * prm.oh)) % prm.co;
  let n = i / (prm.ow * prm.oh * prm.co);
  var s = 0.0;
  for (var ci = 0u; ci < prm.ci; ci++) {
    for (var kh = 0u; kh < prm.kh; kh++) {
      let iy = oy + i32(kh) - i32(prm.pad);
      if (!inside(iy, prm.h)) { continue; }
      for (var kw = 0u; kw < prm.kw; kw++) {
        let ix = ox + i32(kw) - i32(prm.pad);
        if (!inside(ix, prm.w)) { continue; }
        s = fma(a[((n * prm.ci + ci) * prm.h + u32(iy)) * prm.w + u32(ix)], b[((co * prm.ci + ci) * prm.kh + kh) * prm.kw + kw], s);
      }
    }
  }
  out[i] = s;
}

@compute @workgroup_size(WG)
fn input_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wid, nwg, li);
  if (i >= prm.count) { return; }
  let ix = i32(i % prm.w);
  let iy = i32((i / prm.w) % prm.h);
  let ci = (i / (prm.w * prm.h)) % prm.ci;
  let n = i / (prm.w * prm.h * prm.ci);
  var s = 0.0;
  for (var co = 0u; co < prm.co; co++) {
    for (var kh = 0u; kh < prm.kh; kh++) {
      let oy = iy + i32(prm.pad) - i32(kh);
      if (!inside(oy, prm.oh)) { continue; }
      for (var kw = 0u; kw < prm.kw; kw++) {
        let ox = ix + i32(prm.pad) - i32(kw);
        if (!inside(ox, prm.ow)) { continue; }
        s = fma(a[((n * prm.co + co) * prm.oh + u32(oy)) * prm.ow + u32(ox)], b[((co * prm.ci + ci) * prm.kh + kh) * prm.kw + kw], s);
      }
    }
  }
  out[i] = s;
}

// One (chunk, co, ci, kh, kw) per invocation; conv2d.ts sums the chunks with weight_sum.
@compute @workgroup_size(WG)
fn weight_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = flat(wid, nwg, li);
  let per = prm.co * prm.ci * prm.kh * prm.kw;
  if (i >= prm.count) { return; }
  let kw = i % prm.kw;
  let kh = (i / prm.kw) % prm.kh;
  let ci = (i / (prm.kw * prm.kh)) % prm.ci;
  let co = (i / (prm.kw * prm.kh * prm.ci)) % prm.co;
  let chunk = i / per;
  let r1 = min((chunk + 1u) * prm.rc, prm.n * prm.oh);
  var s = 0.0;
  for (var r = chunk * prm.rc; r < r1; r++) {
    let n = r / prm.oh;
    let oy = r % prm.oh;
    let iy = i32(oy) + i32(kh) - i32(prm.pad);
    if (!inside(iy, prm.h)) { continue; }
    for (var ox = 0u; ox < prm.ow; ox++) {
      let ix = i32(ox) + i32(kw) - i32(prm.pad);
      if (!inside(ix, prm.w)) { continue; }
      s = fma(b[((n * prm.co + co) * prm.oh + oy) * prm.ow + ox], a[((n * prm.ci + ci) * prm.h + u32(iy)) * prm.w + u32(ix)], s);
    }
  }
  out[i] = s;
}
