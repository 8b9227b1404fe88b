#!/usr/bin/env bash
# npm run test:validation: runs the kernel tests (and `normlab selftest --quick`) with the Khronos
# Vulkan validation layer under Dawn, and fails on any validation error or warning it reports.
#
#   bash scripts/vulkan-validation.sh [--sync] [-- COMMAND ...]
#     --sync     also synchronization validation (hazards between dispatches; several times slower)
#     COMMAND    what to run under the layer (default: selftest --quick, then vitest on test/ops and test/engine)
#
# The layer: Debian's vulkan-validationlayers where installed, else the copy Debian's chromium
# ships (/usr/lib/chromium/libVkLayer_khronos_validation.so, which has no manifest: one is written
# to a temporary directory). The npm `webgpu` Dawn is not built with its own validation-layer
# support, so the layer is injected by the Vulkan loader (VK_INSTANCE_LAYERS) and prints what it
# finds to each process's stdout (a log file would be truncated by every new process: the test
# files run in processes of their own), which this script keeps and reads.
set -euo pipefail
cd "$(dirname "$0")/.."
sync=0
if [ "${1:-}" = --help ]; then sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
if [ "${1:-}" = --sync ]; then sync=1; shift; fi
[ "${1:-}" = -- ] && shift

work=$(mktemp -d /tmp/normlab-validation.XXXXXX)
debian=/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json
chromium=/usr/lib/chromium/libVkLayer_khronos_validation.so
if [ -f "$debian" ]; then
  layer="$debian (Debian's vulkan-validationlayers)"
elif [ -f "$chromium" ]; then
  mkdir -p "$work/layers"
  cat > "$work/layers/VkLayer_khronos_validation.json" <<JSON
{
  "file_format_version": "1.2.0",
  "layer": {
    "name": "VK_LAYER_KHRONOS_validation",
    "type": "GLOBAL",
    "library_path": "$chromium",
    "api_version": "1.3.280",
    "implementation_version": "1",
    "description": "Khronos validation layer, as Debian's chromium ships it"
  }
}
JSON
  export VK_LAYER_PATH="$work/layers"
  layer="$chromium (Debian's chromium; manifest written to $work/layers)"
else
  echo "vulkan-validation: no Khronos validation layer: apt-get install vulkan-validationlayers (or chromium)" >&2
  exit 2
fi

log="$work/output.log"
export VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation
export VK_KHRONOS_VALIDATION_REPORT_FLAGS=error,warn,perf,info
export VK_KHRONOS_VALIDATION_DEBUG_ACTION=VK_DBG_LAYER_ACTION_LOG_MSG
[ $sync = 1 ] && export VK_KHRONOS_VALIDATION_VALIDATE_SYNC=1
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
echo "vulkan-validation: layer $layer; synchronization validation $([ $sync = 1 ] && echo on || echo off); output kept in $log"

status=0
{
  if [ $# -gt 0 ]; then
    "$@"
  else
    node bin/normlab.js selftest --quick && npx --no-install vitest run test/ops test/engine
  fi
} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The layer writes one "Validation Information: [ CURRENT-VALIDATION-ENABLED ]" per instance: the
# proof it was active. Everything else it writes is a finding.
instances=$(grep -c 'CURRENT-VALIDATION-ENABLED' "$log" || true)
findings=$(grep -E '^Validation (Error|Warning|Performance Warning)' "$log" | sort | uniq -c | sort -rn || true)
count=$(grep -cE '^Validation (Error|Warning|Performance Warning)' "$log" || true)
echo "vulkan-validation: the layer was active in $instances Vulkan instances; $count errors and warnings"
[ -n "$findings" ] && echo "$findings" | head -20
[ "$instances" -gt 0 ] || { echo "vulkan-validation: no instance ran with the layer: it did not load (rerun with VK_LOADER_DEBUG=layer)" >&2; exit 1; }
[ "$count" = 0 ] || exit 1
exit $status
