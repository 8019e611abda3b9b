"""AnyNet, RegNetX and RegNetY backbones for MMPretrain and MMDetection.

The network is described by an :class:`~regnet_plugin.design.AnyNetSpec` (kept as
``backbone.spec``); the torch modules follow it exactly, so the trainable parameter
count equals ``complexity(spec, num_classes=0).params`` (without DCN or plugins).
There is no classification head: MMPretrain's ``GlobalAveragePooling`` neck and
``LinearClsHead`` provide it.

The constructor speaks MMPretrain's and MMDetection's ``RegNet`` (a ``ResNet``):
the same arguments with the same meaning, and ``out_indices`` numbers the stages from
0 (0..3 = stages 1..4, strides 4..32; C2..C5). The stem output, which their RegNet
does not return, is available with ``out_stem=True``. Where the two toolboxes'
defaults differ (``out_indices``, ``norm_eval``) these classes take MMPretrain's; the
``Det*`` classes take MMDetection's and are what ``type='RegNetX'`` builds in an
MMDetection config (see ``regnet_plugin/registry.py``).
"""
from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any, Mapping, Sequence

import torch
from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..design.arch import arch_to_spec
from ..design.parts import STEMS
from ..design.presets import (ALL_PRESET_NAMES, ALL_PRESETS, REGNETZ_PRESET_NAMES,
                              preset_family, resolve_preset)
from ..design.regnet import WIDTH_ROUNDINGS, RegNetParams
from ..design.spec import AnyNetSpec, check_out_indices
from ..validate import (MAX_IMG_SIZE, MAX_WIDTH, check_bool, check_choice, check_int,
                        check_int_list, check_keys, check_mapping, check_number,
                        check_sequence)
from .blocks import DEFAULT_NORM_CFG, PLUGIN_POSITIONS, XBlock
from .layers import check_layer_cfg, check_norm_cfg
from .parts import BLOCK_MODULES, HEAD_MODULES, STEM_MODULES, set_activation

#: pycls' initialisation: conv weights ~ N(0, sqrt(2 / fan_out)) (fan_out = k*k*c_out),
#: biases 0; norm weights 1, biases 0.
DEFAULT_INIT_CFG: list[dict[str, Any]] = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu',
         distribution='normal', bias=0),
    dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1, bias=0),
]
#: The warning MMDetection's ResNet/RegNet give for ``pretrained=`` (same text).
PRETRAINED_DEPRECATION = ('DeprecationWarning: pretrained is deprecated, please use '
                          '"init_cfg" instead')
STYLES = ('pytorch', 'caffe')


class AnyNet(BaseModule):
    """AnyNet backbone (paper Section 3): stem, then stages of X/Y blocks.

    Args:
        arch: an :class:`AnyNetSpec`, its ``to_dict()``, a dict of per-stage lists
            (``depths``, ``widths`` and optionally ``strides``, ``bottleneck_ratios``,
            ``group_widths``, ``se_ratios``, ``stem_width``), or a preset name.
        in_channels: image channels.
        stem_channels: stem width (default: the spec's, 32 for every RegNet).
        base_channels: accepted for MMPretrain/MMDetection configs; unused there and
            here.
        strides: stride of each stage's first block (default: the spec's, 2 each);
            1 keeps the resolution (dilated backbones, with ``dilations``).
        dilations: dilation of each stage's 3x3 convs (default 1 each).
        out_indices: stages to return, MMPretrain/MMDetection's numbering: 0..N-1 are
            stages 1..N (negative: from the end), increasing. Default: the last stage.
        out_stem: also return the stem output (stride 2), before the stages.
        style: ``'pytorch'`` (stride on the 3x3 conv, the paper's) or ``'caffe'``
            (stride on the first 1x1 conv).
        deep_stem: only False: RegNet's stem is one 3x3 conv (MMPretrain's RegNet also
            refuses True; MMDetection's silently ignores it).
        avg_down: projection shortcuts pool, then a stride-1 1x1 conv.
        frozen_stages: -1 freezes nothing, 0 the stem, k the stem and stages 1..k
            (parameters get ``requires_grad=False`` and their norms stay in eval mode).
        conv_cfg: mmcv conv config of every conv but SE's (None: ``nn.Conv2d``).
        norm_cfg: mmcv norm config (``BN``, ``SyncBN``, ``GN`` with ``num_groups``...);
            detection's frozen BN is ``dict(type='BN', requires_grad=False)``.
        norm_eval: keep every BatchNorm in eval mode (running stats frozen) in train().
            Default False (MMPretrain's; MMDetection's RegNet: True).
        dcn: mmcv config of a deformable conv for the 3x3 group conv, e.g.
            ``dict(type='DCNv2', deform_groups=1, fallback_on_stride=False)``, in the
            stages ``stage_with_dcn`` marks (as MMDetection's ResNeXt/RegNet).
        stage_with_dcn: one bool per stage.
        plugins: MMDetection ResNet plugins: ``dict(cfg=dict(type=...),
            position='after_conv1'|'after_conv2'|'after_conv3', stages=(bools))``.
        with_cp: gradient checkpointing, decided per block (as the toolboxes do: a
            block is checkpointed when its input requires grad).
        zero_init_residual: start every block's last norm (bn3) with gamma 0 (skipped
            when loading pretrained weights). Default: False for AnyNet (pycls' default,
            which the design-space studies follow), True for RegNetX/RegNetY (as
            MMPretrain's and MMDetection's RegNet). ``zero_init_last_bn``: older name.
        pretrained: deprecated (as in MMDetection): a checkpoint path, same as
            ``init_cfg=dict(type='Pretrained', checkpoint=pretrained)``.
        init_cfg: mmengine init config; default: pycls' Kaiming init (see
            ``DEFAULT_INIT_CFG``). ``dict(type='Pretrained', checkpoint=...)`` loads weights.
        drop_path_rate: stochastic depth, rising linearly from 0 at the first block to
            this value at the last.
        channels_last: keep weights and activations in NHWC (``torch.channels_last``);
            inputs are converted in forward and features come out NHWC. Often faster
            (oneDNN on CPU: ~1.5x here, see benchmarks/bench_backbone.py; tensor cores
            with AMP on GPU); off by default so outputs keep the usual layout.
    """

    #: The block type of every stage (one class per block type, see ``blocks.py``).
    block_cls: type[nn.Module] = XBlock
    #: Defaults where MMPretrain's and MMDetection's RegNet differ (MMPretrain's here).
    default_out_indices: str = 'last'       # 'last' stage, or 'all' stages
    default_norm_eval: bool = False
    default_zero_init_residual: bool = False    # pycls' (BN.ZERO_INIT_FINAL_GAMMA)

    def __init__(self,
                 arch: AnyNetSpec | Mapping[str, Any] | str,
                 in_channels: int = 3,
                 stem_channels: int | None = None,
                 base_channels: int = 32,
                 strides: Sequence[int] | None = None,
                 dilations: Sequence[int] | None = None,
                 out_indices: int | Sequence[int] | None = None,
                 style: str = 'pytorch',
                 deep_stem: bool = False,
                 avg_down: bool = False,
                 frozen_stages: int = -1,
                 conv_cfg: Mapping[str, Any] | None = None,
                 norm_cfg: Mapping[str, Any] | None = None,
                 norm_eval: bool | None = None,
                 dcn: Mapping[str, Any] | None = None,
                 stage_with_dcn: Sequence[bool] | None = None,
                 plugins: Sequence[Mapping[str, Any]] | None = None,
                 with_cp: bool = False,
                 zero_init_residual: bool | None = None,
                 pretrained: str | None = None,
                 init_cfg: dict | list[dict] | None = None,
                 *,
                 out_stem: bool = False,
                 drop_path_rate: float = 0.0,
                 channels_last: bool = False,
                 zero_init_last_bn: bool | None = None) -> None:
        init_cfg = self._init_cfg_of(pretrained, init_cfg)
        super().__init__(init_cfg=DEFAULT_INIT_CFG if init_cfg is None else init_cfg)
        spec = self._resolve_arch(arch)
        n = spec.num_stages
        self.num_stages = n
        self.in_channels = check_int('in_channels', in_channels, 1, MAX_WIDTH)
        if stem_channels is not None:
            spec = dataclasses.replace(
                spec, stem_width=check_int('stem_channels', stem_channels, 1, MAX_WIDTH))
        if strides is not None:
            strides = check_int_list('strides', strides, 1, 2, length=n)
            spec = dataclasses.replace(spec, stages=tuple(
                dataclasses.replace(stage, stride=s) for stage, s in zip(spec.stages, strides)))
        self.spec = spec
        self.stem_channels = spec.stem_width
        self.base_channels = check_int('base_channels', base_channels, 1, MAX_WIDTH)
        self.strides = tuple(spec.strides)
        self.dilations = tuple(check_int_list('dilations', dilations, 1, MAX_IMG_SIZE,
                                              length=n) if dilations is not None
                               else [1] * n)
        if out_indices is None:
            out_indices = tuple(range(n)) if self.default_out_indices == 'all' else (n - 1,)
        self.out_indices = check_out_indices(out_indices, n)
        self.out_stem = check_bool('out_stem', out_stem)
        self.style = check_choice('style', style, STYLES)
        if check_bool('deep_stem', deep_stem):
            raise ValueError('deep_stem=True: RegNet has no deep stem (its stem is one '
                             '3x3 conv, paper Section 3); use deep_stem=False')
        self.deep_stem = False
        self.avg_down = check_bool('avg_down', avg_down)
        self.frozen_stages = check_int('frozen_stages', frozen_stages, -1, n)
        self.conv_cfg = check_layer_cfg('conv_cfg', conv_cfg)
        self.norm_cfg = check_norm_cfg(DEFAULT_NORM_CFG if norm_cfg is None else norm_cfg,
                                       self._norm_widths(spec))
        self.norm_eval = check_bool('norm_eval', self.default_norm_eval
                                    if norm_eval is None else norm_eval)
        self.dcn = check_layer_cfg('dcn', dcn)
        self.stage_with_dcn = self._check_stage_flags(
            'stage_with_dcn', (False,) * n if stage_with_dcn is None else stage_with_dcn,
            n if self.dcn is not None else None)
        if self.dcn is not None and self.conv_cfg is not None:
            raise ValueError(f'conv_cfg must be None with dcn (the deformable conv replaces '
                             f'the 3x3 conv), got conv_cfg={conv_cfg!r}, dcn={dcn!r}')
        self.plugins = self._check_plugins(plugins, n)
        self.with_cp = check_bool('with_cp', with_cp)
        if zero_init_last_bn is not None:
            zero_init_residual = zero_init_last_bn
        if zero_init_residual is None:
            zero_init_residual = self.default_zero_init_residual
        self.zero_init_residual = check_bool('zero_init_residual', zero_init_residual)
        self.drop_path_rate = check_number('drop_path_rate', drop_path_rate, 0, 1,
                                           max_inclusive=False)
        self.channels_last = check_bool('channels_last', channels_last)

        # every part by its registered name (design/parts.py, models/parts.py)
        self.block_cls = BLOCK_MODULES.get(spec.block_type)
        self.stem = STEM_MODULES.get(spec.stem_type)(spec.stem_width, self.in_channels,
                                                     self.norm_cfg, self.conv_cfg)
        total_blocks = spec.depth
        rates = [self.drop_path_rate * k / max(total_blocks - 1, 1)
                 for k in range(total_blocks)]
        w_in, k = spec.stem_width, 0
        self.stage_names: tuple[str, ...] = tuple(f'stage{i}' for i in range(1, n + 1))
        for i, (name, stage) in enumerate(zip(self.stage_names, spec.stages)):
            options = dict(
                dilation=self.dilations[i], style=self.style, avg_down=self.avg_down,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, with_cp=self.with_cp,
                dcn=self.dcn if self.dcn is not None and self.stage_with_dcn[i] else None,
                plugins=[p for p in self.plugins
                         if p.get('stages') is None or p['stages'][i]] or None)
            blocks = nn.Sequential()
            for j in range(stage.depth):
                blocks.add_module(f'block{j + 1}', self.block_cls(
                    w_in, stage, stage.stride if j == 0 else 1,
                    drop_path_rate=rates[k], **options))
                w_in, k = stage.width, k + 1
            self.add_module(name, blocks)
        # the head's conv (pycls' HEAD_W), run on the last stage; None when there is none
        self.final_conv = HEAD_MODULES.get(spec.head_type).build(
            w_in, spec.head_width, self.norm_cfg, self.conv_cfg)
        set_activation(self, spec.activation)
        self._freeze_stages()
        if self.channels_last:
            self.to(memory_format=torch.channels_last)
        self.register_load_state_dict_pre_hook(_rename_toolbox_keys)

    # -- arguments -------------------------------------------------------------
    def _resolve_arch(self, arch: Any) -> AnyNetSpec:
        return arch_to_spec(arch)

    @staticmethod
    def _norm_widths(spec: AnyNetSpec) -> list[int]:
        """The channels of every norm layer (what a GN's num_groups must divide)."""
        return sorted({spec.stem_width, *spec.widths,
                       *(stage.bottleneck_width for stage in spec.stages)})

    @staticmethod
    def _init_cfg_of(pretrained: Any, init_cfg: Any) -> Any:
        """MMDetection's deprecated ``pretrained=``: same checks, same warning."""
        if pretrained is None:
            return init_cfg
        if not isinstance(pretrained, str):
            raise TypeError(f'pretrained must be a str or None, got {pretrained!r} '
                            f'({type(pretrained).__name__})')
        if init_cfg is not None:
            raise ValueError(f'init_cfg and pretrained cannot be specified at the same '
                             f'time, got pretrained={pretrained!r}, init_cfg={init_cfg!r}')
        warnings.warn(PRETRAINED_DEPRECATION)
        return dict(type='Pretrained', checkpoint=pretrained)

    @staticmethod
    def _check_stage_flags(name: str, flags: Any, length: int | None) -> tuple[bool, ...]:
        items = check_sequence(name, flags, length)
        return tuple(check_bool(f'{name}[{i}]', flag) for i, flag in enumerate(items))

    def _check_plugins(self, plugins: Any, n: int) -> list[dict[str, Any]]:
        if plugins is None:
            return []
        checked = []
        for i, plugin in enumerate(check_sequence('plugins', plugins)):
            plugin = check_mapping(f'plugins[{i}]', plugin)
            check_keys(f'plugins[{i}]', plugin, ('cfg', 'position', 'stages'),
                       ('cfg', 'position'))
            check_layer_cfg(f'plugins[{i}]["cfg"]', plugin['cfg'])
            check_choice(f'plugins[{i}]["position"]', plugin['position'], PLUGIN_POSITIONS)
            if plugin.get('stages') is not None:
                plugin['stages'] = self._check_stage_flags(f'plugins[{i}]["stages"]',
                                                           plugin['stages'], n)
            checked.append(plugin)
        return checked

    # -- what necks need -----------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        """Every feature: ('stem', 'stage1', ..., 'stageN')."""
        return ('stem',) + self.stage_names

    @property
    def stage_channels(self) -> dict[str, int]:
        """Channels of every feature, by name ('stem', 'stage1', ...)."""
        return dict(zip(self.feature_names, [self.spec.stem_width] + self.spec.widths))

    @property
    def out_strides(self) -> dict[str, int]:
        """Stride (w.r.t. the input) of every feature, by name ('stem', 'stage1', ...)."""
        total = STEMS.get(self.spec.stem_type).stride
        strides = {'stem': total}
        for name, stride in zip(self.stage_names, self.spec.strides):
            total *= stride
            strides[name] = total
        return strides

    @property
    def out_feature_names(self) -> tuple[str, ...]:
        """Names of the features ``forward`` returns, in order."""
        return ('stem',) * self.out_stem + tuple(self.stage_names[i]
                                                 for i in self.out_indices)

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of each returned feature (configure necks from this)."""
        return self.spec.feature_channels(self.out_indices, out_stem=self.out_stem)

    @property
    def feat_dim(self) -> int:
        """Width of the last output (MMPretrain's RegNet attribute): the head conv's
        when there is one, else the last stage's."""
        return self.spec.out_width

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, name) for name in self.stage_names]

    # -- forward -------------------------------------------------------------
    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        outs = [x] if self.out_stem else []
        last = len(self.stage_names) - 1
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index == last and self.final_conv is not None:
                x = self.final_conv(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    # -- training behaviour ----------------------------------------------------
    def _freeze_stages(self) -> None:
        modules = [self.stem] + self.stages
        if self.final_conv is not None:         # frozen with the last stage
            modules[-1] = nn.ModuleList([modules[-1], self.final_conv])
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
        if self.channels_last:
            # initialise in NCHW: random fills run in memory order, so NHWC weights
            # would get other values from the same seed than channels_last=False
            self.to(memory_format=torch.contiguous_format)
        try:
            self._init_weights()
        finally:
            if self.channels_last:
                self.to(memory_format=torch.channels_last)

    def _init_weights(self) -> None:
        super().init_weights()
        pretrained = (isinstance(self.init_cfg, dict)
                      and self.init_cfg.get('type') == 'Pretrained')
        if self.zero_init_residual and not pretrained:
            for stage in self.stages:
                for block in stage:
                    last_bn = getattr(block, 'bn3', None) or block.bn2   # basic blocks
                    gamma = getattr(last_bn, 'weight', None)
                    if gamma is not None:
                        nn.init.zeros_(gamma)

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


_TOOLBOX_STEM = re.compile(r'(?:conv1|(?:bn|gn|in|ln)1)\.')
_TOOLBOX_BLOCK = re.compile(r'layer(\d+)\.(\d+)\.(.*)')
_TOOLBOX_NORM = re.compile(r'(?:bn|gn|in|ln)([123])\.')


def _rename_toolbox_keys(module: AnyNet, state_dict: dict[str, Any], prefix: str,
                         *args: Any) -> None:
    """Load-state-dict pre-hook: MMPretrain's/MMDetection's RegNet keys -> ours.

    Their RegNet is a ResNet (stem ``conv1``/``bn1``, blocks ``layer1.0.conv1`` ...,
    shortcut ``downsample.0``/``.1``), so their checkpoints (``init_cfg=dict(
    type='Pretrained', checkpoint='open-mmlab://regnetx_3.2gf')`` in their configs,
    a detector's ``load_from``) load into our backbone unchanged, as do their
    ResNet/ResNeXt checkpoints into the AnyNet points of ``compare.zoo.resnet_spec``
    (same names; the stride on the 3x3 conv, their 'pytorch' style). Keys are renamed in
    place in ``state_dict``; keys already ours, DCN offsets and plugins (same names
    inside a block) pass through, anything else is reported by the loader as usual.
    """
    shortcut = ({'1': 'conv', '2': 'bn'} if module.avg_down else {'0': 'conv', '1': 'bn'})
    for key in [k for k in state_dict if k.startswith(prefix)]:
        local = key[len(prefix):]
        if _TOOLBOX_STEM.match(local):
            new = ('stem.conv.' if local.startswith('conv1.') else 'stem.bn.') + \
                local.split('.', 1)[1]
        else:
            match = _TOOLBOX_BLOCK.fullmatch(local)
            if not match:
                continue
            stage, block, rest = match.groups()
            rest = _TOOLBOX_NORM.sub(r'bn\1.', rest, count=1) \
                if _TOOLBOX_NORM.match(rest) else rest
            if rest.startswith('downsample.'):
                index, _, tail = rest[len('downsample.'):].partition('.')
                if index not in shortcut:
                    continue
                rest = f'downsample.{shortcut[index]}.{tail}'
            new = f'stage{stage}.block{int(block) + 1}.{rest}'
        if prefix + new not in state_dict:
            state_dict[prefix + new] = state_dict.pop(key)


class RegNetX(AnyNet):
    """RegNetX backbone: AnyNet whose stages follow the quantized linear rule (paper
    Section 4, Eqs. 2-4), a drop-in for MMPretrain's and MMDetection's ``RegNet``.

    Args:
        arch: a RegNetX preset name, spelled as we/MMPretrain/MMDetection
            (``'regnetx_4.0gf'``), the paper (``'RegNetX-4.0GF'``), timm
            (``'regnetx_040'``) or torchvision (``'regnet_x_1_6gf'``), or MMPretrain's
            arch dict ``dict(w0, wa, wm, group_w, depth, bot_mul)``.
        width_rounding: ``'pycls'`` (the paper's widths) or ``'torchvision'``
            (torchvision's group rounding, to load its checkpoints). Default: what the
            name implies (torchvision's names: ``'torchvision'``; others ``'pycls'``).
        *args, **kwargs: the :class:`AnyNet` options (out_indices, frozen_stages, ...),
            in MMPretrain's/MMDetection's order.
    """

    family = 'regnetx'
    default_se_ratio = 0.0
    default_zero_init_residual = True     # MMPretrain's and MMDetection's RegNet

    def __init__(self, arch: str | Mapping[str, Any], *args: Any,
                 width_rounding: str | None = None, **kwargs: Any) -> None:
        self._se_ratio = self._check_se_ratio(kwargs.pop('se_ratio', self.default_se_ratio))
        if width_rounding is not None:
            check_choice('width_rounding', width_rounding, WIDTH_ROUNDINGS)
        self._width_rounding = width_rounding
        super().__init__(arch, *args, **kwargs)

    def _check_se_ratio(self, se_ratio: Any) -> float:
        if se_ratio != self.default_se_ratio:
            raise ValueError(f'RegNetX has no SE (se_ratio 0), got se_ratio={se_ratio!r}; '
                             f'use RegNetY')
        return float(se_ratio)

    def _resolve_arch(self, arch: Any) -> AnyNetSpec:
        self.regnet_params = self._regnet_params(arch)
        return self.regnet_params.to_spec()

    def _regnet_params(self, arch: Any) -> RegNetParams:
        cls_name = _FAMILY_CLASSES[self.family]
        own = [p for p in ALL_PRESET_NAMES if p.startswith(self.family + '_')]
        if isinstance(arch, str):
            name, rounding = resolve_preset(arch)
            params = ALL_PRESETS[name]
            family = preset_family(name)
            if family != self.family:
                use = _FAMILY_CLASSES[family]
                raise ValueError(
                    f'{cls_name} got {arch!r}, a {family} preset; use {use} for it. '
                    f'{cls_name} presets: {", ".join(own)}')
            return dataclasses.replace(params, se_ratio=self._se_ratio,
                                       width_rounding=self._width_rounding or rounding)
        if isinstance(arch, Mapping):
            return RegNetParams.from_mm_arch(arch, se_ratio=self._se_ratio,
                                             width_rounding=self._width_rounding or 'pycls')
        raise TypeError(
            f'{cls_name} arch must be a preset name ({", ".join(own)}) or a dict with '
            f'the keys depth, w0, wa, wm, group_w, bot_mul; got {type(arch).__name__}: '
            f'{arch!r}')


class RegNetY(RegNetX):
    """RegNetY backbone: RegNetX blocks plus Squeeze-and-Excitation (paper Section 5).

    Args:
        arch: a RegNetY preset name (``'regnety_400mf'``, ``'regnety_016'``...) or
            MMPretrain's arch dict.
        se_ratio: SE width as a fraction of each block's input width (paper: 0.25).
        *args, width_rounding, **kwargs: as :class:`RegNetX`.
    """

    family = 'regnety'
    default_se_ratio = 0.25

    def __init__(self, arch: str | Mapping[str, Any], *args: Any, se_ratio: float = 0.25,
                 width_rounding: str | None = None, **kwargs: Any) -> None:
        super().__init__(arch, *args, width_rounding=width_rounding, se_ratio=se_ratio,
                         **kwargs)

    def _check_se_ratio(self, se_ratio: Any) -> float:
        return check_number('RegNetY se_ratio', se_ratio, 0, 1, min_inclusive=False,
                            max_inclusive=False)


class RegNetZ(RegNetY):
    """RegNetZ backbone ("Fast and Accurate Model Scaling", Dollar, Singh, Girshick,
    CVPR 2021, Section 5): RegNet widths with the linear bottleneck block (b = 1/4, an
    inverted bottleneck; no projection, residual only where the shape is kept), SE 1/4,
    SiLU and a head conv. Presets as ClassyVision/timm define them: ``'regnetz_500mf'``
    (timm ``regnetz_005``), ``'regnetz_4gf'`` (``regnetz_040``), ``'regnetz_4gf_h'``
    (``regnetz_040_h``); their timm checkpoints convert with ``--src timm``.

    Args:
        arch: a RegNetZ preset name.
        *args, **kwargs: the :class:`AnyNet` options (out_indices, frozen_stages, ...).
    """

    family = 'regnetz'
    default_zero_init_residual = False    # most blocks have no residual to fall back on

    def __init__(self, arch: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(arch, *args, **kwargs)

    def _regnet_params(self, arch: Any) -> RegNetParams:
        if not isinstance(arch, str):
            raise TypeError(f'RegNetZ arch must be a RegNetZ preset name '
                            f'({", ".join(REGNETZ_PRESET_NAMES)}), got {arch!r}')
        return super()._regnet_params(arch)


_FAMILY_CLASSES = {'regnetx': 'RegNetX', 'regnety': 'RegNetY', 'regnetz': 'RegNetZ'}


class _MMDetDefaults:
    """MMDetection's RegNet defaults: every stage out (C2..C5), BN statistics frozen."""

    default_out_indices = 'all'
    default_norm_eval = True


class DetAnyNet(_MMDetDefaults, AnyNet):
    """:class:`AnyNet` with MMDetection's defaults (``out_indices`` all stages,
    ``norm_eval=True``): ``type='AnyNet'`` in an MMDetection config."""


class DetRegNetX(_MMDetDefaults, RegNetX):
    """:class:`RegNetX` with MMDetection's RegNet defaults (``out_indices=(0, 1, 2, 3)``,
    ``norm_eval=True``): ``type='RegNetX'`` in an MMDetection config."""


class DetRegNetZ(_MMDetDefaults, RegNetZ):
    """:class:`RegNetZ` with MMDetection's RegNet defaults: ``type='RegNetZ'`` in an
    MMDetection config."""


class DetRegNetY(_MMDetDefaults, RegNetY):
    """:class:`RegNetY` with MMDetection's RegNet defaults (``out_indices=(0, 1, 2, 3)``,
    ``norm_eval=True``): ``type='RegNetY'`` in an MMDetection config."""
