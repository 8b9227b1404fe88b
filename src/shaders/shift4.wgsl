// Shared by the convolution modules (conv2d_prep.wgsl and the subgroup families): conv2d-params.ts appends it.

// Floats o .. o+3 (o in 0..3) of the eight floats (a, b): realigns a vec4 read from an aligned
// address to a row that starts mid-vec4.
fn shift4(a: vec4f, b: vec4f, o: u32) -> vec4f {
  var r = a;
  r = select(r, vec4f(a.yzw, b.x), o == 1u);
  r = select(r, vec4f(a.zw, b.xy), o == 2u);
  r = select(r, vec4f(a.w, b.xyz), o == 3u);
  return r;
}
