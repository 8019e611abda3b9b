"""The building blocks of AnyNet/RegNet: stem, X/Y block (residual bottleneck with
group conv and optional Squeeze-and-Excitation), SE, projection shortcut.

One class per block type, each built from the stage it belongs to
(:class:`~regnet_plugin.design.spec.StageSpec`) plus the per-block options the
toolboxes' ResNet family takes (stride, dilation, conv/norm configs, DCN, plugins,
checkpointing, stochastic depth). ``AnyNet`` builds every block of a stage with
``block_cls(in_channels, stage, stride=..., **options)``.

Module and attribute names are part of the public state-dict format (weight converters
rely on them): ``stem.conv``/``stem.bn``; block ``conv1``/``bn1``, ``conv2``/``bn2``,
``se.fc1``/``se.fc2``, ``conv3``/``bn3``, ``downsample.conv``/``downsample.bn``.
Every norm is registered directly after its conv (stem, blocks, shortcut; SE has no
norm): conv+BN fusion (:meth:`AnyNet.fuse_conv_bn`, i.e. mmcv's ``fuse_conv_bn``) walks
a module's children in registration order and folds each BN into the conv registered
just before it, so keep every ``bn*`` right after its ``conv*`` when editing.

The forward passes are traceable (``torch.fx``, ``torch.jit.trace``, ONNX export,
``torch.compile`` without graph breaks): no data-dependent Python branches; the only
branch, gradient checkpointing, depends on ``self.training``-time flags that tracing
sees as constants (``with_cp`` is off by default). ReLUs are in place and the residual
is added in place into the (fresh) bn3 output.
"""
from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any, Mapping, Sequence

import torch.utils.checkpoint as checkpoint
from mmcv.cnn import build_conv_layer, build_norm_layer, build_plugin_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from ..design.spec import StageSpec

#: BN as in the reference implementation (pycls): eps 1e-5, momentum 0.1.
DEFAULT_NORM_CFG: dict[str, Any] = dict(type='BN', eps=1e-5, momentum=0.1,
                                        requires_grad=True)
#: Where MMDetection's ResNet bottleneck accepts plugins (``plugins[i]['position']``).
PLUGIN_POSITIONS: tuple[str, ...] = ('after_conv1', 'after_conv2', 'after_conv3')


def norm_layer(norm_cfg: Mapping[str, Any], channels: int) -> nn.Module:
    """mmcv ``build_norm_layer`` without its name (our names are fixed: bn, bn1, ...)."""
    return build_norm_layer(dict(norm_cfg), channels)[1]


class Stem(nn.Module):
    """3x3 conv, stride 2, norm, ReLU: ``in_channels`` -> ``out_channels`` at half
    resolution (the paper's simple stem, Section 3: 'stem' of AnyNet, Figure 3).

    pycls' other stems differ only in the conv's kernel and stride and an optional
    max-pool; they are the subclasses in ``models/parts.py`` that set these three.
    """

    kernel_size: int = 3
    stride: int = 2
    max_pool: bool = False      # ResNet's 3x3 stride-2 max-pool after the ReLU

    def __init__(self, out_channels: int, in_channels: int = 3,
                 norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
                 conv_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        k = self.kernel_size
        self.conv = build_conv_layer(conv_cfg and dict(conv_cfg), in_channels,
                                     out_channels, k, stride=self.stride, padding=k // 2,
                                     bias=False)
        self.bn = norm_layer(norm_cfg, out_channels)
        self.relu = nn.ReLU(inplace=True)
        if self.max_pool:
            self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn(self.conv(x)))
        return self.pool(x) if self.max_pool else x


class SqueezeExcitation(nn.Module):
    """SE on the bottleneck (``channels`` = w_b) with ``se_channels`` = round(ratio * w_in).

    The squeeze is a spatial mean and the two FCs are 1x1 convs with bias, so the
    weights have the reference implementation's shapes (w_se, w_b, 1, 1). The scaling
    is out of place, so the block traces (fx, ONNX, compile) the same in every mode.
    """

    def __init__(self, channels: int, se_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, se_channels, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(se_channels, channels, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = self.fc2(self.relu(self.fc1(scale))).sigmoid()
        return x * scale


class Downsample(nn.Sequential):
    """Projection shortcut: 1x1 conv with the block's stride, then norm.

    With ``avg_down`` (MMPretrain/MMDetection's ResNet option) the stride is taken by
    an average pool before a stride-1 conv (``pool``, ``conv``, ``bn``).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 norm_cfg: Mapping[str, Any], conv_cfg: Mapping[str, Any] | None = None,
                 avg_down: bool = False) -> None:
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        if avg_down and stride != 1:
            layers['pool'] = nn.AvgPool2d(stride, stride, ceil_mode=True,
                                          count_include_pad=False)
            stride = 1
        layers['conv'] = build_conv_layer(conv_cfg and dict(conv_cfg), in_channels,
                                          out_channels, 1, stride=stride, bias=False)
        layers['bn'] = norm_layer(norm_cfg, out_channels)
        super().__init__(layers)


class XBlock(nn.Module):
    """The X block (a Y block when the stage has SE), paper Section 3 / Figure 4.

    1x1 w_in->w_b, 3x3 group conv (groups = w_b / g), [SE], 1x1 w_b->w_out, each
    followed by norm (ReLU after the first two); the shortcut is identity or a
    projection when the stride or width changes; ReLU after the sum.

    Args:
        in_channels: the block's input width w_in.
        stage: the stage it belongs to (width, bottleneck ratio, group width, SE ratio).
        stride: this block's stride (the stage's on its first block, else 1).
        dilation: dilation (and padding) of the 3x3 conv.
        style: ``'pytorch'`` puts the stride on the 3x3 conv (the paper's), ``'caffe'``
            on the first 1x1 conv (MMPretrain/MMDetection's ResNet option).
        avg_down: the projection shortcut pools before a stride-1 conv.
        conv_cfg, norm_cfg: mmcv layer configs of every conv / norm.
        dcn: an mmcv conv config (e.g. ``dict(type='DCNv2', deform_groups=1)``) for the
            3x3 group conv, as MMDetection's ResNeXt/RegNet bottleneck builds it;
            ``fallback_on_stride=True`` in it keeps a plain conv.
        plugins: MMDetection plugin entries for this block,
            ``dict(cfg=..., position='after_conv1'|'after_conv2'|'after_conv3')``.
        with_cp: gradient checkpointing of this block (when its input requires grad).
        drop_path_rate: stochastic depth probability of the residual branch.
    """

    def __init__(self, in_channels: int, stage: StageSpec, stride: int = 1, *,
                 dilation: int = 1, style: str = 'pytorch', avg_down: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
                 dcn: Mapping[str, Any] | None = None,
                 plugins: Sequence[Mapping[str, Any]] | None = None,
                 with_cp: bool = False, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        w_b, out_channels = stage.bottleneck_width, stage.width
        se_channels = stage.se_width(in_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        conv_cfg = conv_cfg and dict(conv_cfg)
        # Each bn right after its conv: mmcv's conv+BN fusion pairs them by registration
        # order (see the module docstring); SE (convs, no norm) sits between bn2 and conv3.
        self.conv1 = build_conv_layer(conv_cfg, in_channels, w_b, 1, stride=conv1_stride,
                                      bias=False)
        self.bn1 = norm_layer(norm_cfg, w_b)
        conv2_cfg = conv_cfg
        if dcn is not None:
            dcn = dict(dcn)
            if not dcn.pop('fallback_on_stride', False):
                conv2_cfg = dcn
        self.conv2 = build_conv_layer(conv2_cfg, w_b, w_b, 3, stride=conv2_stride,
                                      padding=dilation, dilation=dilation,
                                      groups=stage.groups, bias=False)
        self.bn2 = norm_layer(norm_cfg, w_b)
        self.se = SqueezeExcitation(w_b, se_channels) if se_channels else None
        self.conv3 = build_conv_layer(conv_cfg, w_b, out_channels, 1, bias=False)
        self.bn3 = norm_layer(norm_cfg, out_channels)
        self.downsample = (Downsample(in_channels, out_channels, stride, norm_cfg,
                                      conv_cfg, avg_down)
                           if stride != 1 or in_channels != out_channels else None)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else None
        self.relu = nn.ReLU(inplace=True)
        self.plugin_names: dict[str, list[str]] = {p: [] for p in PLUGIN_POSITIONS}
        channels = {'after_conv1': w_b, 'after_conv2': w_b, 'after_conv3': out_channels}
        for plugin in plugins or ():
            cfg = copy.deepcopy(dict(plugin['cfg']))
            name, layer = build_plugin_layer(cfg, in_channels=channels[plugin['position']],
                                             postfix=cfg.pop('postfix', ''))
            if hasattr(self, name):
                raise ValueError(f'plugin name {name!r} is used twice in one block: give '
                                 f"each plugin of one type its own cfg 'postfix'")
            self.add_module(name, layer)
            self.plugin_names[plugin['position']].append(name)

    def _plugins(self, x: Tensor, position: str) -> Tensor:
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def _branch(self, x: Tensor) -> Tensor:
        """The bottleneck transform: 1x1, 3x3 group conv, [SE], 1x1, norms, plugins."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self._plugins(out, 'after_conv1')
        out = self.relu(self.bn2(self.conv2(out)))
        out = self._plugins(out, 'after_conv2')
        if self.se is not None:
            out = self.se(out)
        out = self.bn3(self.conv3(out))
        return self._plugins(out, 'after_conv3')

    def _residual(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self._branch(x)
        if self.drop_path is not None:
            out = self.drop_path(out)
        # out is a fresh tensor (norm/conv output or DropPath product): add in place.
        out += shortcut
        return out

    def forward(self, x: Tensor) -> Tensor:
        # Decided per block, as MMPretrain's/MMDetection's bottlenecks do.
        if self.with_cp and x.requires_grad:
            out = checkpoint.checkpoint(self._residual, x, use_reentrant=False)
        else:
            out = self._residual(x)
        return self.relu(out)
