"""PyTorch as a peer for `normlab bench`: SeedNet convolutions (forward, input gradient, weight
gradient) and the whole training step, at the shapes normlab times, on this machine's CPU.

Prints one JSON object on stdout:
  {"torch": version, "threads": n, "device": "cpu", "rows": [{"what", "medianMs", "minMs", "reps"}]}
Row names are normlab's own bench row names ('conv cifar10 b2 3x3 forward', 'step batch 3x32x32'),
so the caller pairs rows by name.

Run with Debian's interpreter: /usr/bin/python3 (it has python3-torch)."""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seednet import SeedNet  # noqa: E402

# (name, C_in, C_out, spatial size) of the SeedNet 3x3 layers a peer is compared on (SEEDNET.md).
CONV_LAYERS = {"b2": (16, 16, 32), "b5": (32, 32, 16), "b7": (32, 32, 8)}
PASSES = {"forward": "forward", "input": "input grad", "weight": "weight grad"}


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"medianMs": statistics.median(times), "minMs": min(times), "reps": reps}


def conv_pass(layer, pass_, batch):
    ci, co, hw = CONV_LAYERS[layer]
    x = torch.randn(batch, ci, hw, hw)
    w = torch.randn(co, ci, 3, 3)
    dy = torch.randn(batch, co, hw, hw)
    if pass_ == "forward":
        return lambda: F.conv2d(x, w, padding=1)

    # The kernel autograd runs for Conv2d's backward, asked for one gradient at a time.
    def backward():
        mask = [pass_ == "input", pass_ == "weight", False]
        return torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

    return backward


def train_step(norm, channels, size, batch):
    torch.manual_seed(0)
    model = SeedNet(channels, norm).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, channels, size, size)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.nll_loss(model(x), y)
        loss.backward()
        opt.step()

    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--layers", default="b2,b5", help="comma-separated subset of " + ",".join(CONV_LAYERS))
    p.add_argument("--norms", default="batch,group,layer")
    p.add_argument("--inputs", default="3x32x32,1x28x28", help="CxHxW of the step's images")
    p.add_argument("--threads", type=int, help="intra-op threads (default: torch's own choice, what a user gets)")
    a = p.parse_args()
    # Left to torch by default: on this 2-core machine under load, forcing 2 threads made the step
    # 6x slower (threads waiting at OpenMP barriers for a core), so the default is what is measured.
    if a.threads:
        torch.set_num_threads(a.threads)
    rows = []
    with torch.no_grad():
        for layer in filter(None, a.layers.split(",")):
            for pass_, label in PASSES.items():
                row = timed(conv_pass(layer, pass_, a.batch), a.reps, a.warmup)
                rows.append({"what": f"conv cifar10 {layer} 3x3 {label}", **row})
    for spec in filter(None, a.inputs.split(",")):
        channels, size, _ = (int(v) for v in spec.split("x"))
        for norm in filter(None, a.norms.split(",")):
            row = timed(train_step(norm, channels, size, a.batch), a.reps, a.warmup)
            rows.append({"what": f"step {norm} {spec}", **row})
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "device": "cpu", "batch": a.batch, "rows": rows}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
