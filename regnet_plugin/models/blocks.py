"""The building blocks of AnyNet/RegNet: stem, X/Y block (residual bottleneck with
group conv and optional Squeeze-and-Excitation), SE.

Module and attribute names are part of the public state-dict format (weight converters
rely on them): ``stem.conv``/``stem.bn``; block ``conv1``/``bn1``, ``conv2``/``bn2``,
``se.fc1``/``se.fc2``, ``conv3``/``bn3``, ``downsample.conv``/``downsample.bn``.
Every norm is registered directly after its conv (stem, blocks, shortcut; SE has no
norm): conv+BN fusion (:meth:`AnyNet.fuse_conv_bn`, i.e. mmcv's ``fuse_conv_bn``) walks
a module's children in registration order and folds each BN into the conv registered
just before it, so keep every ``bn*`` right after its ``conv*`` when editing.

The forward passes avoid needless copies: ReLUs are in place, the residual is added in
place into the (fresh) bn3 output, and SE pools with ``mean`` rather than a pooling module.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

#: BN as in the reference implementation (pycls): eps 1e-5, momentum 0.1.
DEFAULT_NORM_CFG: dict[str, Any] = dict(type='BN', eps=1e-5, momentum=0.1,
                                        requires_grad=True)


def norm_layer(norm_cfg: dict[str, Any], channels: int) -> nn.Module:
    """mmcv ``build_norm_layer`` without its name (our names are fixed: bn, bn1, ...)."""
    return build_norm_layer(norm_cfg, channels)[1]


class Stem(nn.Module):
    """3x3 conv, stride 2, BN, ReLU: 3 -> ``out_channels`` at half resolution."""

    def __init__(self, out_channels: int, in_channels: int = 3,
                 norm_cfg: dict[str, Any] = DEFAULT_NORM_CFG) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1,
                              bias=False)
        self.bn = norm_layer(norm_cfg, out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class SqueezeExcitation(nn.Module):
    """SE on the bottleneck (``channels`` = w_b) with ``se_channels`` = round(ratio * w_in).

    The squeeze is a spatial mean and the two FCs are 1x1 convs with bias, so the
    weights have the reference implementation's shapes (w_se, w_b, 1, 1).
    """

    def __init__(self, channels: int, se_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, se_channels, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(se_channels, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = self.fc2(self.relu(self.fc1(scale))).sigmoid_()
        if x.requires_grad:
            return x * scale
        # Inference: x is a ReLU output nobody else holds, scale it in place.
        return x.mul_(scale)


class Downsample(nn.Sequential):
    """Projection shortcut: 1x1 conv with the block's stride, then norm."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 norm_cfg: dict[str, Any]) -> None:
        super().__init__(OrderedDict(
            conv=nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            bn=norm_layer(norm_cfg, out_channels)))


class XBlock(nn.Module):
    """The X block (Y block when ``se_channels`` > 0), SPEC section 1.

    1x1 w_in->w_b, 3x3 group conv (stride, groups = w_b / g), [SE], 1x1 w_b->w_out,
    each followed by norm (ReLU after the first two); shortcut is identity or a
    projection when the stride or width changes; ReLU after the sum.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 bottleneck_channels: int, groups: int, se_channels: int = 0,
                 norm_cfg: dict[str, Any] = DEFAULT_NORM_CFG,
                 drop_path_rate: float = 0.0) -> None:
        super().__init__()
        if bottleneck_channels % groups:
            raise ValueError(f'groups {groups} must divide the bottleneck width '
                             f'{bottleneck_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        w_b = bottleneck_channels
        # Each bn right after its conv: mmcv's conv+BN fusion pairs them by registration
        # order (see the module docstring); SE (convs, no norm) sits between bn2 and conv3.
        self.conv1 = nn.Conv2d(in_channels, w_b, 1, bias=False)
        self.bn1 = norm_layer(norm_cfg, w_b)
        self.conv2 = nn.Conv2d(w_b, w_b, 3, stride=stride, padding=1, groups=groups,
                               bias=False)
        self.bn2 = norm_layer(norm_cfg, w_b)
        self.se = SqueezeExcitation(w_b, se_channels) if se_channels else None
        self.conv3 = nn.Conv2d(w_b, out_channels, 1, bias=False)
        self.bn3 = norm_layer(norm_cfg, out_channels)
        self.downsample = (Downsample(in_channels, out_channels, stride, norm_cfg)
                           if stride != 1 or in_channels != out_channels else None)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        if self.se is not None:
            out = self.se(out)
        out = self.bn3(self.conv3(out))
        if self.drop_path is not None:
            out = self.drop_path(out)
        # out is a fresh tensor (norm/conv output or DropPath product): add in place.
        out += shortcut
        return self.relu(out)
