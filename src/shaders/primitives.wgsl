// Primitive ops the composed (teaching) norms are built from: broadcasting add/sub/mul, sum over
// axes (mean = sum * 1/count), broadcast-expand, rsqrt and x * MUL + ADD. Written for clarity, not
// speed. Shapes are padded to rank 4; a broadcast input has stride 0 along the axes it repeats on.
override WG: u32 = 256;
override N: u32;                          // output elements
override O0: u32 = 1; override O1: u32 = 1; override O2: u32 = 1; override O3: u32 = 1;   // output dims
override SA0: u32 = 0; override SA1: u32 = 0; override SA2: u32 = 0; override SA3: u32 = 0; // a strides
override SB0: u32 = 0; override SB1: u32 = 0; override SB2: u32 = 0; override SB3: u32 = 0; // b strides
override I0: u32 = 1; override I1: u32 = 1; override I2: u32 = 1; override I3: u32 = 1;   // sum: input dims
override OP: u32 = 0;                     // binary: 0 add, 1 sub, 2 mul
override MUL: f32 = 1.0;
override ADD: f32 = 0.0;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * WG;
}

// Output coordinates of flat index i.
fn coords(i: u32) -> vec4u {
  return vec4u(i / (O1 * O2 * O3), (i / (O2 * O3)) % O1, (i / O3) % O2, i % O3);
}

// out = a (op) b, both broadcast to the output shape.
@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  let o = coords(i);
  let va = a[dot(o, vec4u(SA0, SA1, SA2, SA3))];
  let vb = b[dot(o, vec4u(SB0, SB1, SB2, SB3))];
  var r = va + vb;
  if (OP == 1u) { r = va - vb; }
  if (OP == 2u) { r = va * vb; }
  out[i] = r;
}

// out = a broadcast to the output shape, times MUL (the backward of a sum or a mean).
@compute @workgroup_size(WG)
fn expand(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = a[dot(coords(i), vec4u(SA0, SA1, SA2, SA3))] * MUL;
}

// out[o] = MUL * sum of a over every input element that broadcasts to o (input dims I, output dims
// O with O_d equal to I_d or 1): the sum over the axes where O_d = 1, one thread per output element.
@compute @workgroup_size(WG)
fn sum_to(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  let o = coords(i);
  let dims = vec4u(I0, I1, I2, I3);
  let reduced = vec4u(O0, O1, O2, O3) != dims;
  let lo = select(o, vec4u(0u), reduced);
  let hi = select(o + vec4u(1u), dims, reduced);
  var s = 0.0;
  for (var i0 = lo.x; i0 < hi.x; i0++) {
    for (var i1 = lo.y; i1 < hi.y; i1++) {
      for (var i2 = lo.z; i2 < hi.z; i2++) {
        for (var i3 = lo.w; i3 < hi.w; i3++) {
          s += a[((i0 * I1 + i1) * I2 + i2) * I3 + i3];
        }
      }
    }
  }
  out[i] = s * MUL;
}

// out = 1 / sqrt(a)
@compute @workgroup_size(WG)
fn rsqrt_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = 1.0 / sqrt(a[i]);
}

// d(a^(-1/2))/da = -1/2 a^(-3/2) = -1/2 y^3:  out = -0.5 * dy * y^3   (a = y, b = dy)
@compute @workgroup_size(WG)
fn rsqrt_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  let y = a[i];
  out[i] = -0.5 * b[i] * y * y * y;
}

// out = a * MUL + ADD
@compute @workgroup_size(WG)
fn scale_shift(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= N) { return; }
  out[i] = a[i] * MUL + ADD;
}
