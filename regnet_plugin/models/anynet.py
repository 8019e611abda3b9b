"""AnyNet, RegNetX and RegNetY backbones for MMPretrain and MMDetection.

The network is described by an :class:`~regnet_plugin.design.AnyNetSpec` (kept as
``backbone.spec``); the torch modules follow it exactly, so the trainable parameter
count equals ``complexity(spec, num_classes=0).params``. There is no classification
head: MMPretrain's ``GlobalAveragePooling`` neck and ``LinearClsHead`` provide it.

Feature indices: 0 is the stem (stride 2), 1..num_stages the stages (strides 4, 8,
16, 32 for the 4-stage RegNets). Note that MMDetection's own ``RegNet`` numbers its
stages from 0; with ours, MMDetection's ``out_indices=(0, 1, 2, 3)`` is ``(1, 2, 3, 4)``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import torch
import torch.utils.checkpoint as checkpoint
from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..design.arch import arch_to_spec
from ..design.presets import PRESET_NAMES, get_preset
from ..design.regnet import WIDTH_ROUNDINGS, RegNetParams
from ..design.spec import AnyNetSpec, check_index, check_out_indices
from .blocks import DEFAULT_NORM_CFG, Stem, XBlock

#: pycls' initialisation: conv weights ~ N(0, sqrt(2 / fan_out)) (fan_out = k*k*c_out),
#: biases 0; norm weights 1, biases 0.
DEFAULT_INIT_CFG: list[dict[str, Any]] = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu',
         distribution='normal', bias=0),
    dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1, bias=0),
]

class AnyNet(BaseModule):
    """AnyNet backbone (paper Section 3): stem, then stages of X/Y blocks.

    Args:
        arch: an :class:`AnyNetSpec`, its ``to_dict()``, a dict of per-stage lists
            (``depths``, ``widths`` and optionally ``strides``, ``bottleneck_ratios``,
            ``group_widths``, ``se_ratios``, ``stem_width``), or a preset name.
        in_channels: image channels.
        out_indices: features to return, as a tuple in increasing order: 0 is the stem,
            i in 1..num_stages is stage i; negative values count from the end
            (-1 = last stage). Default: the last stage only, i.e. ``(4,)`` for RegNets.
        frozen_stages: -1 freezes nothing, 0 the stem, k the stem and stages 1..k
            (parameters get ``requires_grad=False`` and their norms stay in eval mode).
        norm_cfg: mmcv norm config (``BN``, ``SyncBN``, ``GN``...); detection's frozen
            BN is ``dict(type='BN', requires_grad=False)`` (with ``norm_eval=True``).
        norm_eval: keep every BatchNorm in eval mode (running stats frozen) in train().
        with_cp: gradient checkpointing per block (saves memory, costs a re-forward).
        drop_path_rate: stochastic depth, rising linearly from 0 at the first block to
            this value at the last.
        zero_init_last_bn: start every block's last norm (bn3) with gamma 0.
        channels_last: keep weights and activations in NHWC (``torch.channels_last``);
            inputs are converted in forward and features come out NHWC. Often faster
            (oneDNN on CPU: ~1.5x here, see benchmarks/bench_backbone.py; tensor cores
            with AMP on GPU); off by default so outputs keep the usual layout.
        init_cfg: mmengine init config; default: pycls' Kaiming init (see
            ``DEFAULT_INIT_CFG``). ``dict(type='Pretrained', checkpoint=...)`` loads weights.
    """

    def __init__(self,
                 arch: AnyNetSpec | Mapping[str, Any] | str,
                 in_channels: int = 3,
                 out_indices: int | Sequence[int] | None = None,
                 frozen_stages: int = -1,
                 norm_cfg: Mapping[str, Any] | None = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 drop_path_rate: float = 0.0,
                 zero_init_last_bn: bool = False,
                 channels_last: bool = False,
                 init_cfg: dict | list[dict] | None = None) -> None:
        super().__init__(init_cfg=DEFAULT_INIT_CFG if init_cfg is None else init_cfg)
        self.spec = self._resolve_arch(arch)
        n = self.spec.num_stages
        self.num_stages = n
        self.in_channels = check_index('in_channels', in_channels, 1, 1 << 16)
        self.out_indices = self._check_out_indices(out_indices)
        self.frozen_stages = check_index('frozen_stages', frozen_stages, -1, n)
        if not 0.0 <= float(drop_path_rate) < 1.0:
            raise ValueError(f'drop_path_rate must be in [0, 1), got {drop_path_rate!r}')
        self.drop_path_rate = float(drop_path_rate)
        self.norm_cfg = dict(DEFAULT_NORM_CFG if norm_cfg is None else norm_cfg)
        if 'type' not in self.norm_cfg:
            raise ValueError(f"norm_cfg needs a 'type' (e.g. 'BN', 'SyncBN', 'GN'), "
                             f'got {norm_cfg!r}')
        self.norm_eval = bool(norm_eval)
        self.with_cp = bool(with_cp)
        self.zero_init_last_bn = bool(zero_init_last_bn)
        self.channels_last = bool(channels_last)

        self.stem = Stem(self.spec.stem_width, self.in_channels, self.norm_cfg)
        total_blocks = self.spec.depth
        rates = [self.drop_path_rate * k / max(total_blocks - 1, 1)
                 for k in range(total_blocks)]
        w_in, k = self.spec.stem_width, 0
        self.stage_names: tuple[str, ...] = tuple(f'stage{i}' for i in range(1, n + 1))
        for name, stage in zip(self.stage_names, self.spec.stages):
            blocks = nn.Sequential()
            for j in range(stage.depth):
                blocks.add_module(f'block{j + 1}', XBlock(
                    w_in, stage.width, stage.stride if j == 0 else 1,
                    stage.bottleneck_width, stage.groups, stage.se_width(w_in),
                    self.norm_cfg, rates[k]))
                w_in, k = stage.width, k + 1
            self.add_module(name, blocks)
        self._freeze_stages()
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    # -- arch ----------------------------------------------------------------
    def _resolve_arch(self, arch: Any) -> AnyNetSpec:
        return arch_to_spec(arch)

    def _check_out_indices(self, out_indices: Any) -> tuple[int, ...]:
        return check_out_indices(out_indices, self.num_stages)

    # -- what necks need -----------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        """All features by index: ('stem', 'stage1', ..., 'stageN')."""
        return ('stem',) + self.stage_names

    @property
    def stage_channels(self) -> dict[str, int]:
        """Channels of every feature, by name ('stem', 'stage1', ...)."""
        return dict(zip(self.feature_names, [self.spec.stem_width] + self.spec.widths))

    @property
    def out_strides(self) -> dict[str, int]:
        """Stride (w.r.t. the input) of every feature, by name ('stem', 'stage1', ...)."""
        strides, total = {'stem': 2}, 2
        for name, stride in zip(self.stage_names, self.spec.strides):
            total *= stride
            strides[name] = total
        return strides

    @property
    def out_feature_names(self) -> tuple[str, ...]:
        """Names of the features ``forward`` returns, in order."""
        return tuple(self.feature_names[i] for i in self.out_indices)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of each returned feature (configure necks from this)."""
        return self.spec.feature_channels(self.out_indices)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, name) for name in self.stage_names]

    # -- forward -------------------------------------------------------------
    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outs = []
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        if self.out_indices[0] == 0:
            outs.append(x)
        for index, stage in enumerate(self.stages, 1):
            if self.with_cp and x.requires_grad:
                for block in stage:
                    x = checkpoint.checkpoint(block, x, use_reentrant=False)
            else:
                x = stage(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    # -- training behaviour ----------------------------------------------------
    def _freeze_stages(self) -> None:
        modules = [self.stem] + self.stages
        for module in modules[:self.frozen_stages + 1]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'AnyNet':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = (isinstance(self.init_cfg, dict)
                      and self.init_cfg.get('type') == 'Pretrained')
        if self.zero_init_last_bn and not pretrained:
            for module in self.modules():
                gamma = getattr(module, 'bn3', None) if isinstance(module, XBlock) else None
                if getattr(gamma, 'weight', None) is not None:
                    nn.init.zeros_(gamma.weight)

    # -- inference -------------------------------------------------------------
    @torch.no_grad()
    def fuse_conv_bn(self) -> 'AnyNet':
        """Fold every BatchNorm into the conv before it (inference only; BN in eval).

        mmcv's ``fuse_conv_bn`` does the folding: it walks each module's children in
        registration order and folds a BN into the conv registered just before it,
        which is how the stem, blocks and shortcuts are laid out (``blocks.py``). The
        conv gets a bias and the BN becomes ``nn.Identity``, so the state-dict changes:
        fuse after loading weights. Non-BN norms (GN) are left as they are; the convs
        keep their ``requires_grad``.
        """
        if self.training:
            raise RuntimeError('fuse_conv_bn() folds running statistics: call eval() first')
        unfoldable = [name for name, module in self.named_modules()
                      if isinstance(module, _BatchNorm)
                      and not (module.affine and module.track_running_stats)]
        if unfoldable:
            raise ValueError(f'fuse_conv_bn() needs BatchNorms with affine parameters and '
                             f'running statistics; {len(unfoldable)} lack them, e.g. '
                             f'{unfoldable[0]!r}')
        requires_grad = [(conv, conv.weight.requires_grad) for conv in self.modules()
                         if isinstance(conv, nn.Conv2d)]
        mmcv_fuse_conv_bn(self)
        for conv, flag in requires_grad:    # mmcv's new Parameters all require grad
            conv.requires_grad_(flag)
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        return self


class RegNetX(AnyNet):
    """RegNetX backbone: AnyNet whose stages follow the quantized linear rule (SPEC 2).

    Args:
        arch: a RegNetX preset name (``'regnetx_400mf'``, ``'RegNetX-3.2GF'``...) or
            MMPretrain's arch dict ``dict(w0, wa, wm, group_w, depth, bot_mul)``.
        width_rounding: ``'pycls'`` (the paper's widths, default) or ``'torchvision'``
            (torchvision's group rounding, to load its checkpoints).
        **kwargs: the :class:`AnyNet` options (out_indices, frozen_stages, ...).
    """

    family = 'regnetx'
    default_se_ratio = 0.0

    def __init__(self, arch: str | Mapping[str, Any],
                 width_rounding: str = 'pycls', **kwargs: Any) -> None:
        self._se_ratio = self._check_se_ratio(kwargs.pop('se_ratio', self.default_se_ratio))
        if width_rounding not in WIDTH_ROUNDINGS:
            raise ValueError(f'width_rounding must be one of {WIDTH_ROUNDINGS}, '
                             f'got {width_rounding!r}')
        self._width_rounding = width_rounding
        super().__init__(arch, **kwargs)

    def _check_se_ratio(self, se_ratio: Any) -> float:
        if se_ratio != self.default_se_ratio:
            raise ValueError(f'RegNetX has no SE (se_ratio 0), got se_ratio={se_ratio!r}; '
                             f'use RegNetY')
        return float(se_ratio)

    def _resolve_arch(self, arch: Any) -> AnyNetSpec:
        self.regnet_params = self._regnet_params(arch)
        return self.regnet_params.to_spec()

    def _regnet_params(self, arch: Any) -> RegNetParams:
        cls_name = type(self).__name__
        own = [p for p in PRESET_NAMES if p.startswith(self.family + '_')]
        if isinstance(arch, str):
            params = get_preset(arch)
            family = 'regnety' if params.se_ratio else 'regnetx'
            if family != self.family:
                raise ValueError(
                    f'{cls_name} got {arch!r}, a {family} preset; use '
                    f'{"RegNetY" if family == "regnety" else "RegNetX"} for it. '
                    f'{cls_name} presets: {", ".join(own)}')
            return dataclasses.replace(params, se_ratio=self._se_ratio,
                                       width_rounding=self._width_rounding)
        if isinstance(arch, Mapping):
            return RegNetParams.from_mm_arch(arch, se_ratio=self._se_ratio,
                                             width_rounding=self._width_rounding)
        raise ValueError(
            f'{cls_name} arch must be a preset name ({", ".join(own)}) or a dict with '
            f'the keys depth, w0, wa, wm, group_w, bot_mul; got {type(arch).__name__}: '
            f'{arch!r}')


class RegNetY(RegNetX):
    """RegNetY backbone: RegNetX blocks plus Squeeze-and-Excitation.

    Args:
        arch: a RegNetY preset name (``'regnety_400mf'``...) or MMPretrain's arch dict.
        se_ratio: SE width as a fraction of each block's input width (paper: 0.25).
        width_rounding, **kwargs: as :class:`RegNetX`.
    """

    family = 'regnety'
    default_se_ratio = 0.25

    def __init__(self, arch: str | Mapping[str, Any], se_ratio: float = 0.25,
                 width_rounding: str = 'pycls', **kwargs: Any) -> None:
        super().__init__(arch, width_rounding=width_rounding, se_ratio=se_ratio, **kwargs)

    def _check_se_ratio(self, se_ratio: Any) -> float:
        if isinstance(se_ratio, bool) or not isinstance(se_ratio, (int, float)) \
                or not 0 < se_ratio < 1:
            raise ValueError(f'RegNetY se_ratio must be in (0, 1), got {se_ratio!r}')
        return float(se_ratio)
