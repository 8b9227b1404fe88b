#!/usr/bin/env bash
# npm run gpu-kit: packs what a Linux x86-64 machine without Node.js or npm needs to run normlab
# (the lent GPU machine, ../shared/GPU.md) into .gpu/ at the project root (git-ignored):
#   node.xz                      this machine's node binary, compressed
#   pkg/bin, pkg/dist            the CLI and its bundle (`webgpu` external); pkg/node_modules/webgpu with
#                                the linux-x64 dawn.node (compressed) and its one dependency, debug
#   lib/libvulkan.so.1           the Vulkan loader this machine's Dawn runs with (no root, no apt there)
#   data/fashion-mnist/          Fashion-MNIST's test set and its first TRAIN_IMAGES training images
#   run.sh                       `bash .gpu/run.sh check` or `bash .gpu/run.sh <normlab args>`
# The device tool carries at most 64 MiB with the working tree: the script fails above KIT_MIB.
#   device run: carry [".gpu"], command: bash .gpu/run.sh check     (results under $OUT)
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
TRAIN_IMAGES=${TRAIN_IMAGES:-10000}
KIT_MIB=${KIT_MIB:-48}
data=${NORMLAB_DATA:-/usr/share/datasets/fashion-mnist}
[ -f dist/normlab.js ] || { echo "gpu-kit: no dist/normlab.js: build first (node build.mjs --no-web)" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "gpu-kit: node_modules/webgpu missing: run node scripts/setup.mjs (npm ci) first" >&2; exit 1; }
[ -f "$data/t10k-images-idx3-ubyte.gz" ] || { echo "gpu-kit: no Fashion-MNIST at $data (node scripts/setup.mjs installs Debian's dataset-fashion-mnist; or set NORMLAB_DATA)" >&2; exit 1; }
vulkan=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
[ -n "$vulkan" ] || { echo "gpu-kit: no libvulkan.so.1 here (node scripts/setup.mjs installs libvulkan1)" >&2; exit 1; }

rm -rf .gpu && mkdir -p .gpu/pkg/node_modules/webgpu/dist/linux-x64 .gpu/lib .gpu/data/fashion-mnist
echo "gpu-kit: node $(node --version), $(readlink -f "$vulkan")"
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
w=node_modules/webgpu
cp "$w/package.json" "$w/index.js" .gpu/pkg/node_modules/webgpu/
xz -T2 -6 -c "$w/dist/linux-x64/dawn.node" > .gpu/pkg/node_modules/webgpu/dist/linux-x64/dawn.node.xz
for dep in debug ms; do [ -d "node_modules/$dep" ] && cp -r "node_modules/$dep" .gpu/pkg/node_modules/; done
mkdir -p .gpu/pkg/dist .gpu/pkg/bin && cp dist/normlab.js .gpu/pkg/dist/ && cp bin/normlab.js .gpu/pkg/bin/ && cp package.json .gpu/pkg/
cp "$(readlink -f "$vulkan")" .gpu/lib/libvulkan.so.1

# The dataset: the test set whole, the training set cut to its first TRAIN_IMAGES (the IDX
# header's count rewritten), so one epoch is a few seconds on a GPU and the kit stays small.
cp "$data"/t10k-*-ubyte.gz .gpu/data/fashion-mnist/
node -e '
const [src, dst, n] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const fs = require("fs"), zlib = require("zlib");
for (const [name, header, per] of [["train-images-idx3-ubyte", 16, 784], ["train-labels-idx1-ubyte", 8, 1]]) {
  const b = zlib.gunzipSync(fs.readFileSync(`${src}/${name}.gz`));
  const out = Buffer.from(b.subarray(0, header + n * per));
  out.writeUInt32BE(n, 4);
  fs.writeFileSync(`${dst}/${name}.gz`, zlib.gzipSync(out, { level: 9 }));
}' "$data" .gpu/data/fashion-mnist "$TRAIN_IMAGES"
cp scripts/gpu-run.sh .gpu/run.sh
chmod +x .gpu/run.sh
echo "$TRAIN_IMAGES" > .gpu/data/fashion-mnist/TRAIN_IMAGES

mib=$(du -sm .gpu | cut -f1)
echo "gpu-kit: .gpu/ is ${mib} MiB ($(du -sh .gpu/node.xz .gpu/pkg .gpu/lib .gpu/data | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//'))"
[ "$mib" -le "$KIT_MIB" ] || { echo "gpu-kit: over ${KIT_MIB} MiB: the device tool carries 64 MiB with the working tree" >&2; exit 1; }
echo "gpu-kit: run it with  bash .gpu/run.sh check   (or bash .gpu/run.sh <normlab command>)"
