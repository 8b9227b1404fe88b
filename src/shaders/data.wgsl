// Batch assembly on the GPU: the dataset lives on the GPU as bytes (packed four to a u32), and each
// step gathers its images by index, converts them to float and standardises them per channel:
//   x[b, c, h, w] = (byte / 255 - mean[c]) / std[c]
// with optional augmentation (random crop from a zero-padded image, horizontal flip), whose per-image
// parameters come with the indices so the kernel itself stays deterministic.
override WG: u32 = 256;
override C: u32;
override H: u32;
override W: u32;
override BATCH: u32;
/** First image held by this chunk of the dataset, and how many it holds. */
override CHUNK_FIRST: u32 = 0;
override CHUNK_COUNT: u32;
override MEAN0: f32 = 0.0;
override MEAN1: f32 = 0.0;
override MEAN2: f32 = 0.0;
override INV_STD0: f32 = 1.0;
override INV_STD1: f32 = 1.0;
override INV_STD2: f32 = 1.0;

struct Pick {
  index: u32,
  // bits 0..7: crop shift y + 128, bits 8..15: crop shift x + 128, bit 16: flip
  aug: u32,
}

@group(0) @binding(0) var<storage, read> bytes: array<u32>;
@group(0) @binding(1) var<storage, read> picks: array<Pick>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> labelBytes: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<u32>;

fn byteAt(i: u32) -> u32 {
  return (bytes[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(WG)
fn gather_images(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= BATCH * C * H * W) { return; }
  let w = i % W;
  let h = (i / W) % H;
  let c = (i / (W * H)) % C;
  let b = i / (W * H * C);
  let pick = picks[b];
  // Images outside this chunk are written by the dispatch of the chunk that holds them.
  if (pick.index < CHUNK_FIRST || pick.index >= CHUNK_FIRST + CHUNK_COUNT) { return; }
  let dy = i32(pick.aug & 0xffu) - 128;
  let dx = i32((pick.aug >> 8u) & 0xffu) - 128;
  var sx = i32(w);
  if ((pick.aug & 0x10000u) != 0u) { sx = i32(W) - 1 - sx; }
  sx += dx;
  let sy = i32(h) + dy;
  var value = 0.0;  // padding is zero in pixel space, as torchvision's RandomCrop(padding=4) pads the image
  if (sx >= 0 && sx < i32(W) && sy >= 0 && sy < i32(H)) {
    let local = pick.index - CHUNK_FIRST;
    value = f32(byteAt(((local * C + c) * H + u32(sy)) * W + u32(sx))) / 255.0;
  }
  var mean = MEAN0;
  var invStd = INV_STD0;
  if (c == 1u) { mean = MEAN1; invStd = INV_STD1; }
  if (c == 2u) { mean = MEAN2; invStd = INV_STD2; }
  x[i] = (value - mean) * invStd;
}

fn labelAt(i: u32) -> u32 {
  return (labelBytes[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(WG)
fn gather_labels(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= BATCH) { return; }
  y[b] = labelAt(picks[b].index);
}
