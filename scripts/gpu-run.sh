#!/usr/bin/env bash
# The GPU kit's runner (scripts/gpu-kit.sh copies it to .gpu/run.sh). Needs bash, xz and a Vulkan
# driver; no Node.js, no npm, no root. Unpacks node and dawn.node once, into the kit itself, points
# the Vulkan loader at the NVIDIA driver where there is one, and runs normlab's bundle.
#   bash .gpu/run.sh check [--quick]   info, selftest, gradcheck, bench, one epoch of training:
#                                      JSON and logs under $OUT (default ./gpu-out), a summary in check.json
#   bash .gpu/run.sh <normlab args>    any normlab command, e.g. info --json
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/bin/node" ] || { mkdir -p "$here/bin" && xz -dc "$here/node.xz" > "$here/bin/node.part" && chmod +x "$here/bin/node.part" && mv "$here/bin/node.part" "$here/bin/node"; } || exit 1
d="$here/pkg/node_modules/webgpu/dist/linux-x64"
[ -f "$d/dawn.node" ] || { xz -dc "$d/dawn.node.xz" > "$d/dawn.node.part" && mv "$d/dawn.node.part" "$d/dawn.node"; } || exit 1
# The kit's Vulkan loader, unless the machine has its own.
ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${NORMLAB_ADAPTER:-}" ] && [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
normlab() { "$here/bin/node" "$here/pkg/bin/normlab.js" "$@"; }

[ "${1:-}" = check ] || { normlab "$@"; exit $?; }
quick=0
[ "${2:-}" = --quick ] && quick=1
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
data="$here/data/fashion-mnist"
images=$(cat "$data/TRAIN_IMAGES" 2>/dev/null || echo '?')
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/nvidia-smi.txt" 2>&1
echo "gpu-kit check: results in $out"
if [ $quick = 1 ]; then
  selftest=(selftest --quick --out "$out/selftest.json")
  bench=(bench --only 'conv cifar10 b2|step' --step-batches 32 --reps 3 --json "$out/bench.json")
  train=(train --data "$data" --epochs 1 --subset 1000 --batch-size 128 --out "$out/train" --json)
else
  selftest=(selftest --out "$out/selftest.json")
  bench=(bench --json "$out/bench.json")
  train=(train --data "$data" --epochs 1 --out "$out/train" --json)
fi
steps=(info kernels selftest gradcheck bench train)
declare -A status seconds
run_step() {
  local name=$1 file=$2; shift 2
  local t0=$SECONDS
  echo "== $name: normlab $*"
  normlab "$@" > "$out/$file" 2> "$out/$name.log"
  status[$name]=$?
  seconds[$name]=$((SECONDS - t0))
  echo "   exit ${status[$name]} in ${seconds[$name]} s ($out/$file, $out/$name.log)"
}
run_step info info.json info --json
run_step kernels kernels.json info --kernels --json
run_step selftest selftest.txt "${selftest[@]}"
run_step gradcheck gradcheck.json gradcheck --json
run_step bench bench.txt "${bench[@]}"
run_step train train.json "${train[@]}"
{
  printf '{\n  "quick": %s,\n  "trainImages": "%s",\n  "steps": {\n' "$([ $quick = 1 ] && echo true || echo false)" "$images"
  sep=''
  for s in "${steps[@]}"; do printf '%s    "%s": { "exit": %d, "seconds": %d }' "$sep" "$s" "${status[$s]}" "${seconds[$s]}"; sep=$',\n'; done
  printf '\n  }\n}\n'
} > "$out/check.json"
failed=0
for s in "${steps[@]}"; do [ "${status[$s]}" = 0 ] || failed=1; done
echo "gpu-kit check: $([ $failed = 0 ] && echo 'every step passed' || echo 'a step FAILED'): $out/check.json"
exit $failed
