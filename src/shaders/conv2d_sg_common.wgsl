// The subgroup convolution kernels, common part. conv2d-forward.ts and conv2d-weight.ts build each
// module as this file, one family file and shift4.wgsl:
//   conv2d_sg_tile.wgsl       3x3 forward and input gradient, lanes = output channels, a tile each
//   conv2d_sg_1x1.wgsl        1x1 forward, input gradient and weight gradient
//   conv2d_sg_weight3x3.wgsl  3x3 weight gradient as split-K partial sums
// Which runs when: the table in src/engine/ops/conv2d-select.ts. Layouts: NCHW activations, OIHW
// weights (packed per family by conv2d_prep.wgsl), stride 1, "same" padding.
//
// Design. A workgroup is one subgroup of SG invocations (SG = the adapter's smallest subgroup size,
// at least 8), and its invocations are SG channels (of the output; of A for the 3x3 weight
// gradient). One operand is shared by the whole subgroup: each invocation loads a slice of it
// (aligned vec4 loads) and the values reach every invocation through subgroupShuffle with
// constant lane indices. Each invocation loads only its own channel's weights (or rows of A) and
// keeps its outputs in registers.
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

// Sizes come in the uniform `prm` (one small buffer per shape, cached by conv2d-params.ts), so a
// kernel compiles once per structural choice (its override constants), not once per layer shape:
// lavapipe spends 1 to 3 seconds compiling each of these kernels.
struct Params {
  n: u32,
  ci: u32,       // input channels of this convolution (the layer's CO for the input gradient;
                 // weight 3x3: channels of A)
  co: u32,       // output channels of this convolution (weight 3x3: channels of B)
  h: u32,
  w: u32,
  tx: u32,       // tiles or strips across: ceil(W / 8)
  ty: u32,       // TH-row tiles down: ceil(H / TH)
  wv: u32,       // vec4s per row of the padded input: 2 tx + 1
  hp: u32,       // rows of the padded input (weight 3x3: H + 2)
  w4: u32,       // vec4s per input row when W % 4 == 0 (else 1)
  rc: u32,       // weight gradients: strips (3x3) or segments (1x1) per chunk
  hw4: u32,      // 1x1: vec4s per plane, H*W / 4
  tiles1: u32,   // 1x1 forward: 16-vec4 tiles per plane
  seg1: u32,     // 1x1 weight: 2-vec4 segments per plane
  dwv: u32,      // weight 3x3: vec4s per row of B as read (w4 in place, else 2 tx)
}

@group(0) @binding(3) var<uniform> prm: Params;

override SG: u32 = 8u;      // workgroup size = subgroup lanes used; a power of two >= 8

// forward3x3 / forward3x3_v4 / forward1x1
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
// Option uniform-weights (CPU adapters): conv2d-forward.ts compiles the tile kernel from a copy of
// this module in which the next line reads `var<uniform> wq: array<vec4f, 4096>` (why: there).
@group(0) @binding(1) var<storage, read> wq: array<vec4f>;
@group(0) @binding(1) var<storage, read> wq1: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> y4: array<vec4f>;
// weight3x3 / weight1x1: x4 (padded input, or the input itself for 1x1), dy, partial sums
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
