"""Loads a normlab model checkpoint (saveModel) into the PyTorch module that normlab wrote for it
(src/model/pytorch-source.ts) with load_state_dict(strict=True), runs it in eval mode on the given
inputs and prints the outputs as JSON.

    /usr/bin/python3 scripts/torch/check_model.py MODULE.py CHECKPOINT.safetensors INPUTS.f32 N C H W

INPUTS.f32: N*C*H*W little-endian float32 values. Exit 1 (with the reason) when the state_dict does
not load strictly."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seednet import read_safetensors  # noqa: E402


def main():
    source, checkpoint, inputs = sys.argv[1:4]
    shape = [int(v) for v in sys.argv[4:8]]
    scope = {}
    with open(source) as f:
        exec(compile(f.read(), source, "exec"), scope)
    model = scope["build"]()
    tensors, _ = read_safetensors(checkpoint)
    state = {name: torch.from_numpy(value) for name, value in tensors.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        print(f"load_state_dict(strict=True) failed: {e}", file=sys.stderr)
        return 1
    model.eval()
    x = torch.from_numpy(np.fromfile(inputs, dtype="<f4").reshape(shape))
    with torch.no_grad():
        y = model(x)
    print(json.dumps({"shape": list(y.shape), "values": y.flatten().tolist(), "names": list(model.state_dict().keys())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
