// The PyTorch module that matches a normlab model (modules.ts), as Python source: the same
// state_dict names and shapes, so a normlab checkpoint loads into it with
// load_state_dict(strict=True), and the same forward. `pytorchSource(spec)` returns a script
// defining build() -> nn.Module; test/model/pytorch-load.test.ts runs it with Debian's PyTorch.
import type { ModuleSpec } from './modules.js';

const PRELUDE = `# Written by normlab (src/model/pytorch-source.ts): the PyTorch module matching a normlab model.
from collections import OrderedDict
import torch
from torch import nn
import torch.nn.functional as F


def make_norm(kind, channels, groups):
    if kind == 'batch':
        return nn.BatchNorm2d(channels)
    if kind == 'group':
        return nn.GroupNorm(groups, channels)
    if kind == 'layer':
        return nn.GroupNorm(1, channels)
    if kind == 'instance':
        return nn.InstanceNorm2d(channels, affine=True)
    return None


class Block(nn.Module):
    """conv -> norm -> ReLU, with the input added when skip."""

    def __init__(self, cin, cout, k, norm, groups, skip):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        n = make_norm(norm, cout, groups)
        if n is not None:
            self.norm = n
        self.skip = skip

    def forward(self, x):
        y = self.conv(x)
        if hasattr(self, 'norm'):
            y = self.norm(y)
        y = F.relu(y)
        return x + y if self.skip else y


class Conv(nn.Conv2d):
    """A convolution without bias, 'same' padding, with the input added when skip."""

    def __init__(self, cin, cout, k, skip):
        super().__init__(cin, cout, k, padding=k // 2, bias=False)
        self.skip = skip

    def forward(self, x):
        y = super().forward(x)
        return x + y if self.skip else y


class Linear(nn.Linear):
    """nn.Linear on the flattened input."""

    def forward(self, x):
        return super().forward(torch.flatten(x, 1))
`;

function expr(spec: ModuleSpec, indent: string): string {
  const py = (b: boolean) => (b ? 'True' : 'False');
  switch (spec.type) {
    case 'conv2d':
      return `Conv(${spec.in}, ${spec.out}, ${spec.kernel}, skip=${py(spec.skip)})`;
    case 'block':
      return `Block(${spec.in}, ${spec.out}, ${spec.kernel}, '${spec.norm}', ${spec.groups}, skip=${py(spec.skip)})`;
    case 'maxpool':
      return 'nn.MaxPool2d(2)';
    case 'gap':
      return 'nn.AdaptiveAvgPool2d(1)';
    case 'linear':
      return `Linear(${spec.in}, ${spec.out}, bias=${py(spec.bias)})`;
    case 'sequential': {
      const inner = `${indent}    `;
      return `nn.Sequential(OrderedDict([\n${spec.children.map(([name, c]) => `${inner}('${name}', ${expr(c, inner)}),`).join('\n')}\n${indent}]))`;
    }
  }
}

/** A Python script defining build(): the nn.Module with this model's state_dict and forward. */
export function pytorchSource(spec: ModuleSpec): string {
  return `${PRELUDE}\n\ndef build():\n    return ${expr(spec, '    ')}\n`;
}
