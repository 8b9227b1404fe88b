#!/usr/bin/python3
"""Why SeedNet without a norm does not train at PyTorch's default init: the spread of the
activations after b3 and b8 and of the logits, for one batch of N(0, 1) images, per norm.
Conv2d's default init (kaiming_uniform_, a=sqrt(5)) gives weights of variance 1/(3 fan_in), so
each conv + ReLU without a norm shrinks the signal; a norm restores unit scale at every block.

Run with Debian's PyTorch:  /usr/bin/python3 scripts/torch/init_scale.py"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seednet import SeedNet  # noqa: E402


def spreads(norm, seed=0):
    torch.manual_seed(seed)
    m = SeedNet(1, norm, 4, 10).train()
    h = m.b2(m.b1(torch.randn(64, 1, 28, 28)))
    h = h + m.b3(h)
    after_b3 = h.std().item()
    h = F.max_pool2d(h, 2)
    h = m.b5(m.b4(h))
    h = F.max_pool2d(h + m.b6(h), 2)
    h = m.b8(m.b7(h))
    after_b8 = h.std().item()
    z = F.adaptive_avg_pool2d(m.c9(h), 1)
    z = z + m.c10(z)
    return after_b3, after_b8, z.std().item()


if __name__ == "__main__":
    with torch.no_grad():
        for norm in ("none", "batch", "group", "layer", "instance"):
            print("%-8s std after b3 %.3g, after b8 %.3g, logits %.3g" % ((norm,) + spreads(norm)))
