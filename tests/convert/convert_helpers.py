"""Shared by the converter tests: random weights that make a comparison meaningful,
building our classifier from a converted checkpoint's meta, and running the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / 'tools' / 'convert_weights.py'
#: Inputs: 2 random images, 64x64 (enough for 5 stride-2 stages, fast on a CPU).
INPUT_SHAPE = (2, 3, 64, 64)
TOLERANCE = 1e-4


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN affine parameters and running statistics (fresh BNs are identities
    in eval mode, which would hide a mixed-up BN), random biases; eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.75)
                module.num_batches_tracked.fill_(7)
            elif isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    model.eval()          # (MMDetection's ResNet.train returns None, not self)
    return model


def random_input(seed: int = 1) -> torch.Tensor:
    return torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(seed))


def build_ours(checkpoint: dict[str, Any]) -> nn.Module:
    """Our ImageClassifier as the checkpoint's meta describes it, weights loaded strictly."""
    import regnet_plugin  # noqa: F401  (registers our backbones)
    from mmpretrain.registry import MODELS

    meta = checkpoint['meta']['regnet_plugin']
    from regnet_plugin.design import AnyNetSpec
    spec_widths = AnyNetSpec.from_dict(meta['spec']).out_width   # head conv's, if any
    cfg = dict(type='ImageClassifier', backbone=dict(meta['backbone']),
               neck=dict(type='GlobalAveragePooling'))
    if meta['num_classes'] is not None:
        cfg['head'] = dict(type='LinearClsHead', num_classes=meta['num_classes'],
                           in_channels=spec_widths)
    model = MODELS.build(cfg)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    return model.eval()


def ours_logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x.clone(), mode='tensor')


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')])
    return subprocess.run([sys.executable, str(CLI), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)
