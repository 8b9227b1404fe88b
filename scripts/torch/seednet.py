"""SeedNet (../shared/SEEDNET.md) as a PyTorch nn.Module whose state_dict matches normlab's
checkpoints, plus a dependency-free safetensors reader (Debian's python3-torch has no safetensors
package). Used by the checkpoint-interop script and the golden-value fixtures.

Run with Debian's interpreter: /usr/bin/python3 (it has python3-torch)."""
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def read_safetensors(path):
    """Returns ({name: np.ndarray}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n :]
    out = {}
    for name, d in header.items():
        b, e = d["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=DTYPES[d["dtype"]]).reshape(d["shape"]).copy()
    return out, meta


def make_norm(kind, channels, groups):
    if kind == "batch":
        return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.1)
    if kind == "group":
        return nn.GroupNorm(groups, channels, eps=1e-5)
    if kind == "layer":
        return nn.GroupNorm(1, channels, eps=1e-5)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, eps=1e-5, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(kind)


class Block(nn.Module):
    def __init__(self, cin, cout, k, norm, groups, ghost=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=1, padding=k // 2, bias=False)
        self.norm = make_norm(norm, cout, groups)
        self.ghost = ghost

    def forward(self, x):
        x = self.conv(x)
        if self.ghost and self.training:
            # Ghost batch norm: the sub-batches of `ghost` images through the same BatchNorm2d, in order.
            return F.relu(torch.cat([self.norm(x[i : i + self.ghost]) for i in range(0, x.shape[0], self.ghost)]))
        return F.relu(self.norm(x))


class SeedNet(nn.Module):
    def __init__(self, in_channels=3, norm="batch", groups=4, classes=10, ghost=0):
        super().__init__()
        self.b1 = Block(in_channels, 16, 3, norm, groups, ghost)
        self.b2 = Block(16, 16, 3, norm, groups, ghost)
        self.b3 = Block(16, 16, 1, norm, groups, ghost)
        self.b4 = Block(16, 32, 3, norm, groups, ghost)
        self.b5 = Block(32, 32, 3, norm, groups, ghost)
        self.b6 = Block(32, 32, 1, norm, groups, ghost)
        self.b7 = Block(32, 32, 3, norm, groups, ghost)
        self.b8 = Block(32, 32, 3, norm, groups, ghost)
        self.c9 = nn.Conv2d(32, classes, 3, padding=1, bias=False)
        self.c10 = nn.Conv2d(classes, classes, 1, bias=False)

    def forward(self, x):
        x = self.b2(self.b1(x))
        x = x + self.b3(x)
        x = F.max_pool2d(x, 2)
        x = self.b5(self.b4(x))
        x = x + self.b6(x)
        x = F.max_pool2d(x, 2)
        x = self.c9(self.b8(self.b7(x)))
        x = F.adaptive_avg_pool2d(x, 1)
        x = x + self.c10(x)
        return F.log_softmax(x.flatten(1), dim=1)


def load_normlab_checkpoint(path):
    """A SeedNet built from a normlab checkpoint's metadata, loaded with strict=True."""
    tensors, meta = read_safetensors(path)
    model = SeedNet(int(json.loads(meta["inChannels"])), meta["norm"], int(json.loads(meta["groups"])), int(json.loads(meta["classes"])))
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model, meta
