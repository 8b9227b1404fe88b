"""Checkpoint interop: load a normlab checkpoint into the PyTorch SeedNet of SEEDNET.md with
load_state_dict(strict=True), predict the whole test set in PyTorch, and compare with the CSV that
`normlab eval --checkpoint F --predictions P.csv` wrote.

    /usr/bin/python3 scripts/torch/check_checkpoint.py CHECKPOINT PREDICTIONS.csv [--data DIR]

--data defaults to Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist) or ./data/fashion-mnist;
a directory holding test_batch.bin is read as CIFAR-10. Exit 0 when every prediction agrees, or
when the only disagreements are near-ties (PyTorch's top-two log-probabilities within --tie of each
other, where float32 summation order may legitimately pick the other class); exit 1 otherwise.
"""
import argparse
import csv
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seednet import load_normlab_checkpoint  # noqa: E402

DEFAULT_DIRS = ["/usr/share/datasets/fashion-mnist", "data/fashion-mnist"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4 : 4 + 4 * dims])
    return np.frombuffer(raw[4 + 4 * dims :], dtype=np.uint8).reshape(shape)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{directory}: no {stem}[.gz]")


def load_test(directory):
    """(images uint8 N x C x H x W, labels int64 N) in file order."""
    if os.path.exists(os.path.join(directory, "test_batch.bin")):
        raw = np.fromfile(os.path.join(directory, "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)
        return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)
    images = read_idx(find(directory, "t10k-images-idx3-ubyte"))
    labels = read_idx(find(directory, "t10k-labels-idx1-ubyte"))
    return images[:, None, :, :], labels.astype(np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("predictions", help="CSV from normlab eval --predictions")
    ap.add_argument("--data", help="test data directory")
    ap.add_argument("--tie", type=float, default=1e-3, help="top-two log-prob gap that counts as a near-tie")
    args = ap.parse_args()

    directory = args.data or next((d for d in DEFAULT_DIRS if os.path.isdir(d)), None)
    if directory is None:
        raise SystemExit("no test data: pass --data DIR")
    model, meta = load_normlab_checkpoint(args.checkpoint)
    model.eval()
    mean = np.array(json.loads(meta["mean"]), dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.array(json.loads(meta["std"]), dtype=np.float32).reshape(1, -1, 1, 1)
    images, labels = load_test(directory)

    with open(args.predictions, newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(labels):
        raise SystemExit(f"{args.predictions}: {len(rows)} rows but the test set has {len(labels)} images")
    theirs = np.array([int(r["predicted"]) for r in rows])
    csv_labels = np.array([int(r["label"]) for r in rows])
    if not np.array_equal(csv_labels, labels):
        raise SystemExit(f"{args.predictions}: labels differ from {directory}'s test labels (another dataset?)")

    logps = []
    with torch.no_grad():
        for i in range(0, len(labels), 1000):
            x = (images[i : i + 1000].astype(np.float32) / 255.0 - mean) / std
            logps.append(model(torch.from_numpy(x)).numpy())
    logp = np.concatenate(logps)
    ours = logp.argmax(1)
    top2 = np.sort(logp, axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]

    differ = np.nonzero(ours != theirs)[0]
    ties = [int(i) for i in differ if gap[i] < args.tie]
    real = [int(i) for i in differ if gap[i] >= args.tie]
    acc_torch = float((ours == labels).mean())
    acc_normlab = float((theirs == labels).mean())
    print(f"checkpoint {args.checkpoint}: {meta['norm']} norm, loaded into PyTorch {torch.__version__} with strict=True")
    print(f"test images {len(labels)} from {directory}")
    print(f"accuracy: PyTorch {100 * acc_torch:.2f}%, normlab {100 * acc_normlab:.2f}%")
    print(f"predictions agree on {len(labels) - len(differ)}/{len(labels)}; near-ties (gap < {args.tie}): {len(ties)}; real disagreements: {len(real)}")
    for i in real[:10]:
        print(f"  image {i}: label {labels[i]}, PyTorch {ours[i]}, normlab {theirs[i]}, top-two gap {gap[i]:.4g}")
    return 0 if not real else 1


if __name__ == "__main__":
    sys.exit(main())
