"""The torch modules of the registered parts, by the names of ``design/parts.py``.

``design/parts.py`` holds each part type's cost and checkpoint key layout (torch-free);
this module registers its torch module under the same name: :data:`BLOCK_MODULES`,
:data:`STEM_MODULES`, :data:`HEAD_MODULES`. ``AnyNet`` builds a spec's parts from
these registries, and a test keeps every registered cost model equal to the parameter
count of its module and every key layout equal to its state-dict names.

All blocks take ``(in_channels, stage, stride, **options)`` like :class:`XBlock` (see
``blocks.py`` for the options); stems ``(out_channels, in_channels, norm_cfg, conv_cfg)``.
The activation of a spec (ReLU or SiLU) is set on the built network by
:func:`set_activation`. Module names are part of the state-dict format
(``docs/design.md``, "Network structure").
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch.utils.checkpoint as checkpoint
from mmcv.cnn import build_conv_layer
from mmcv.cnn.bricks import DropPath
from torch import Tensor, nn

from ..design.parts import Registry
from ..design.spec import StageSpec
from .blocks import DEFAULT_NORM_CFG, Downsample, Stem, XBlock, norm_layer

BLOCK_MODULES: Registry[type] = Registry('block module')
STEM_MODULES: Registry[type] = Registry('stem module')
HEAD_MODULES: Registry[type] = Registry('head module')


# -- blocks ------------------------------------------------------------------------
class LinearBottleneckBlock(XBlock):
    """pycls' ``res_bottleneck_linear_block`` (RegNetZ's, [Scaling] Section 5): the X
    block's transform (1x1, 3x3 group conv, [SE], 1x1, norms) with a linear output:
    no ReLU after it, no projection, and the input added only where the block keeps
    the shape (stride 1, same width).
    """

    def __init__(self, in_channels: int, stage: StageSpec, stride: int = 1,
                 **options: Any) -> None:
        super().__init__(in_channels, stage, stride, **options)
        self.downsample = None                      # never a projection shortcut
        self.has_skip = stride == 1 and in_channels == stage.width

    def _transform(self, x: Tensor) -> Tensor:
        out = self._branch(x)
        if self.has_skip:
            if self.drop_path is not None:
                out = self.drop_path(out)
            out = out + x
        return out

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._transform, x, use_reentrant=False)
        return self._transform(x)


class BasicBlock(nn.Module):
    """pycls' ``res_basic_block`` (ResNet's basic block, [NDS] Section 4): 3x3 conv
    (stride), norm, ReLU, 3x3 conv, norm; identity or projection shortcut; ReLU.
    ``vanilla_block`` (:class:`VanillaBlock`) is the same without a shortcut."""

    shortcut = True

    def __init__(self, in_channels: int, stage: StageSpec, stride: int = 1, *,
                 dilation: int = 1, style: str = 'pytorch', avg_down: bool = False,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
                 dcn: Mapping[str, Any] | None = None,
                 plugins: Sequence[Mapping[str, Any]] | None = None,
                 with_cp: bool = False, drop_path_rate: float = 0.0) -> None:
        super().__init__()
        if dcn is not None or plugins:
            raise ValueError(f'{type(self).__name__} takes no dcn or plugins (they fit '
                             f'the bottleneck blocks), got dcn={dcn!r}, plugins={plugins!r}')
        out_channels = stage.width
        conv_cfg = conv_cfg and dict(conv_cfg)
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.with_cp = with_cp
        self.conv1 = build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.bn1 = norm_layer(norm_cfg, out_channels)
        self.conv2 = build_conv_layer(conv_cfg, out_channels, out_channels, 3,
                                      padding=dilation, dilation=dilation, bias=False)
        self.bn2 = norm_layer(norm_cfg, out_channels)
        self.downsample = (Downsample(in_channels, out_channels, stride, norm_cfg, conv_cfg,
                                      avg_down)
                           if self.shortcut and (stride != 1 or in_channels != out_channels)
                           else None)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else None
        self.relu = nn.ReLU(inplace=True)

    def _forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if not self.shortcut:
            return self.relu(out)
        if self.drop_path is not None:
            out = self.drop_path(out)
        out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


class VanillaBlock(BasicBlock):
    """pycls' ``vanilla_block``: [3x3 conv, norm, ReLU] x 2, no shortcut."""

    shortcut = False


# -- stems -------------------------------------------------------------------------
class ResStem(Stem):
    """ResNet's ImageNet stem (pycls' ``res_stem_in``): 7x7 conv stride 2, norm, ReLU,
    3x3 max-pool stride 2."""

    kernel_size, stride, max_pool = 7, 2, True


class CifarStem(Stem):
    """ResNet's CIFAR stem (pycls' ``res_stem_cifar``): 3x3 conv stride 1, norm, ReLU."""

    kernel_size, stride, max_pool = 3, 1, False


# -- head conv ---------------------------------------------------------------------
class FinalConv(nn.Module):
    """The head's 1x1 conv, norm, activation (pycls' ``HEAD_W``, timm's ``final_conv``)
    on the last stage, before the pooling and fc of the classifier."""

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
                 conv_cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.conv = build_conv_layer(conv_cfg and dict(conv_cfg), in_channels,
                                     out_channels, 1, bias=False)
        self.bn = norm_layer(norm_cfg, out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))

    @classmethod
    def build(cls, in_channels: int, head_width: int,
              norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
              conv_cfg: Mapping[str, Any] | None = None) -> nn.Module | None:
        """The backbone's head module for ``head_width`` (None: nothing to run)."""
        return cls(in_channels, head_width, norm_cfg, conv_cfg) if head_width else None


class FinalConvOrAct(FinalConv):
    """``final_act_head``: the head conv, or without one the activation alone on the
    last stage (timm's RegNet whose blocks end linear, e.g. its RegNetZ-4GF)."""

    @classmethod
    def build(cls, in_channels: int, head_width: int,
              norm_cfg: Mapping[str, Any] = DEFAULT_NORM_CFG,
              conv_cfg: Mapping[str, Any] | None = None) -> nn.Module | None:
        if head_width:
            return FinalConv(in_channels, head_width, norm_cfg, conv_cfg)
        return nn.ReLU()             # set_activation makes it the spec's activation


# -- activation --------------------------------------------------------------------
ACTIVATION_MODULES = {'relu': nn.ReLU, 'silu': nn.SiLU}


def set_activation(module: nn.Module, activation: str) -> nn.Module:
    """Put ``activation`` ('relu' or 'silu') in place of every ReLU in ``module``
    (stem, blocks, SE, head conv), keeping each one's ``inplace``."""
    cls = ACTIVATION_MODULES[activation]
    if cls is nn.ReLU:
        return module
    for parent in module.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.ReLU:
                setattr(parent, name, cls(inplace=child.inplace))
    return module


# -- registrations: the same names as design/parts.py --------------------------------
BLOCK_MODULES.register(XBlock, 'res_bottleneck_block')
BLOCK_MODULES.register(LinearBottleneckBlock, 'res_bottleneck_linear_block')
BLOCK_MODULES.register(BasicBlock, 'res_basic_block')
BLOCK_MODULES.register(VanillaBlock, 'vanilla_block')
STEM_MODULES.register(Stem, 'simple_stem_in')
STEM_MODULES.register(ResStem, 'res_stem_in')
STEM_MODULES.register(CifarStem, 'res_stem_cifar')
HEAD_MODULES.register(FinalConv, 'any_head')
HEAD_MODULES.register(FinalConvOrAct, 'final_act_head')

