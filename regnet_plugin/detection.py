"""Config-time helpers for MMDetection configs with our RegNet backbones.

A detection config must give its neck the channels of the backbone features it
receives. Typing them by hand (as MMDetection's own RegNet configs do) silently
breaks when the preset or ``out_indices`` changes; these helpers derive them from
the same torch-free spec the backbone is built from, so a config can compute them::

    _base_ = './_base_/mask-rcnn_regnet_fpn_1x_coco.py'   # _base_ first: see below
    from regnet_plugin.detection import backbone_type, fpn_in_channels

    arch = 'regnetx_3.2gf'
    model = dict(backbone=dict(type=backbone_type(arch), arch=arch),
                 neck=dict(in_channels=fpn_in_channels(arch)))

mmengine 0.10.7 treats a ``.py`` config whose first statements import a
non-builtin module as a "lazy import" (new-style) config; assigning ``_base_``
before the import keeps the classic parser, which drops the imported functions
from the resulting cfg (so ``cfg.dump()`` still works).
"""
from __future__ import annotations

from typing import Sequence

from .design import AnyNetSpec, get_preset, preset_spec

#: The stages an FPN takes, C2..C5 (strides 4..32), numbered as MMDetection's RegNet
#: and ours number them: 0..3 = stages 1..4.
FPN_OUT_INDICES: tuple[int, ...] = (0, 1, 2, 3)


def _spec_of(arch: str | AnyNetSpec) -> AnyNetSpec:
    return arch if isinstance(arch, AnyNetSpec) else preset_spec(arch)


def feature_channels(arch: str | AnyNetSpec,
                     out_indices: Sequence[int] = FPN_OUT_INDICES,
                     out_stem: bool = False) -> list[int]:
    """Channels of the features ``RegNetX(arch, out_indices=..., out_stem=...)`` returns
    (``AnyNetSpec.feature_channels``: the backbone's own numbering and checks)."""
    return list(_spec_of(arch).feature_channels(out_indices, out_stem=out_stem))


def fpn_in_channels(arch: str | AnyNetSpec,
                    out_indices: Sequence[int] = FPN_OUT_INDICES) -> list[int]:
    """FPN ``in_channels`` for our backbone ``arch`` with ``out_indices`` (default
    C2..C5). torchvision's names give torchvision's widths, as the backbone does."""
    return feature_channels(arch, out_indices)


def backbone_type(arch: str) -> str:
    """Registry name of our backbone class for a preset: 'RegNetX' or 'RegNetY'."""
    return 'RegNetY' if get_preset(arch).se_ratio else 'RegNetX'
