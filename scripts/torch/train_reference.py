"""The default recipe of SEEDNET.md trained in PyTorch from normlab's own starting point: the same
initial weights (normlab's initParams) and the same batch order per epoch (normlab's epochOrder),
both regenerated here from normlab's seeded generators, so that a normlab run and this one differ
only in who does the arithmetic. Prints one line per epoch, as `normlab train` reports them.

    /usr/bin/python3 scripts/torch/train_reference.py --norm layer [--epochs 5] [--seed 0]
        [--subset N] [--data DIR] [--threads N] [--json FILE]

Debian's python3-torch (PyTorch 1.13) provides torch; the data is Fashion-MNIST (IDX files).
`--check-generators` prints the first values of both generators, for comparing with normlab."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from seednet import SeedNet  # noqa: E402
from check_checkpoint import read_idx, find, DEFAULT_DIRS  # noqa: E402

M32 = 0xFFFFFFFF
FASHION_MEAN, FASHION_STD = 0.286, 0.353


def imul(a, b):
    return (a * b) & M32


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


def splitmix32(seed):
    """src/check/rng.ts splitmix32: a counter through a 32-bit avalanche mix."""
    state = seed & M32

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B9) & M32
        z = state
        z = imul(z ^ (z >> 16), 0x85EBCA6B)
        z = imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & M32

    return nxt


class Xoshiro128:
    """src/check/rng.ts Xoshiro128 (xoshiro128**), next() with 53 bits, int(n) by flooring."""

    def __init__(self, seed):
        whole = int(abs(seed))
        high = whole // 2**32
        words = splitmix32((whole & M32) ^ imul(high, 0x27D4EB2D) ^ (0x5BD1E995 if seed < 0 else 0))
        self.s = [words(), words(), words(), words()]

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        result = imul(rotl(imul(s1, 5), 7), 9)
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next(self):
        hi = self.next_u32() >> 5
        lo = self.next_u32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def int(self, n):
        return math.floor(self.next() * n)


def derive_seed(seed, name):
    """src/check/rng.ts deriveSeed: FNV-1a over the name, mixed with the seed."""
    h = 0x811C9DC5
    for ch in name:
        h = imul(h ^ ord(ch), 0x01000193)
    return splitmix32((h ^ (seed & M32) ^ imul(seed // 2**32, 0x85EBCA6B)) & M32)()


def init_params(model, seed):
    """normlab's initParams: conv weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) seeded by tensor name."""
    state = model.state_dict()
    for name, t in state.items():
        if t.dim() != 4:
            continue  # gamma 1, beta 0, running stats: PyTorch's defaults are normlab's
        rng = Xoshiro128(derive_seed(seed, name))
        bound = 1 / math.sqrt(t[0].numel())
        vals = np.array([(2 * rng.next() - 1) * bound for _ in range(t.numel())], dtype=np.float64)
        state[name] = torch.from_numpy(vals.astype(np.float32)).reshape(t.shape)
    model.load_state_dict(state, strict=True)


def epoch_order(count, seed, epoch):
    """normlab's epochOrder: a seeded Fisher-Yates shuffle."""
    rng = Xoshiro128(derive_seed(seed, f"shuffle epoch {epoch}"))
    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = rng.int(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def load(directory, images, labels):
    x = read_idx(find(directory, images)).astype(np.float32) / 255.0
    x = torch.from_numpy((x - FASHION_MEAN) / FASHION_STD).unsqueeze(1)
    y = torch.from_numpy(read_idx(find(directory, labels)).astype(np.int64))
    return x, y


def evaluate(model, x, y, batch=500):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(x[i : i + batch])
            loss += F.nll_loss(out, y[i : i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i : i + batch]).sum().item()
    model.train()
    return loss / len(y), correct / len(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--norm", choices=["batch", "group", "layer"], default="batch")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, help="the first N training images")
    p.add_argument("--groups", type=int, default=4)
    p.add_argument("--data", help="Fashion-MNIST IDX directory (default: Debian's or ./data/fashion-mnist)")
    p.add_argument("--threads", type=int, help="intra-op threads (default: torch's choice)")
    p.add_argument("--json", help="write the epoch rows here")
    p.add_argument("--check-generators", action="store_true", help="print the first order and weight values and exit")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = SeedNet(1, a.norm, a.groups, 10)
    init_params(model, a.seed)
    if a.check_generators:
        print(json.dumps({"order": epoch_order(60000, a.seed, 1)[:8], "b1.conv.weight": model.b1.conv.weight.flatten()[:4].tolist()}))
        return 0
    directory = a.data or next((d for d in DEFAULT_DIRS if os.path.isdir(d)), None)
    if directory is None:
        sys.exit("train_reference: no Fashion-MNIST directory; pass --data DIR")
    xtr, ytr = load(directory, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")
    xte, yte = load(directory, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if a.subset:
        xtr, ytr = xtr[: a.subset], ytr[: a.subset]
    n, batch = len(ytr), 128
    steps = math.ceil(n / batch)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=a.epochs * steps)
    rows = []
    for epoch in range(1, a.epochs + 1):
        order = torch.tensor(epoch_order(n, a.seed, epoch))
        start, loss_sum, correct = time.time(), 0.0, 0
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            out = model(xtr[idx])
            loss = F.nll_loss(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == ytr[idx]).sum().item()
        seconds = time.time() - start
        test_loss, test_acc = evaluate(model, xte, yte)
        row = {"epoch": epoch, "trainLoss": loss_sum / n, "trainAccuracy": correct / n, "testLoss": test_loss, "testAccuracy": test_acc, "seconds": seconds}
        rows.append(row)
        print(
            f"pytorch {a.norm} epoch {epoch}: train loss {row['trainLoss']:.4f} acc {100 * row['trainAccuracy']:.2f}% | "
            f"test loss {test_loss:.4f} acc {100 * test_acc:.2f}% | {seconds:.1f} s",
            flush=True,
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "norm": a.norm, "seed": a.seed, "epochs": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
