"""Preset models: the paper's 24 RegNetX/RegNetY (its Figures 15/16) and RegNetZ.

X/Y are named as MMPretrain/MMDetection name theirs: ``regnetx_400mf``,
``regnetx_3.2gf``, ... RegNetZ ("Fast and Accurate Model Scaling", Dollar, Singh,
Girshick, CVPR 2021) is ClassyVision's RegNetZ-500MF and RegNetZ-4GF, as timm's
``regnetz_005``, ``regnetz_040`` and ``regnetz_040_h`` (the last with a 1536-wide head
conv): ``regnetz_500mf``, ``regnetz_4gf``, ``regnetz_4gf_h``.
"""
from __future__ import annotations

import dataclasses
import difflib

from ..validate import check_str
from .regnet import RegNetParams
from .spec import AnyNetSpec

SE_RATIO_Y = 0.25

# name: (depth, w0, wa, wm, group width); all presets have b = 1.
_X = {
    '200mf': (13, 24, 36.44, 2.49, 8),
    '400mf': (22, 24, 24.48, 2.54, 16),
    '600mf': (16, 48, 36.97, 2.24, 24),
    '800mf': (16, 56, 35.73, 2.28, 16),
    '1.6gf': (18, 80, 34.01, 2.25, 24),
    '3.2gf': (25, 88, 26.31, 2.25, 48),
    '4.0gf': (23, 96, 38.65, 2.43, 40),
    '6.4gf': (17, 184, 60.83, 2.07, 56),
    '8.0gf': (23, 80, 49.56, 2.88, 120),
    '12gf': (19, 168, 73.36, 2.37, 112),
    '16gf': (22, 216, 55.59, 2.10, 128),
    '32gf': (23, 320, 69.86, 2.00, 168),
}
_Y = {
    '200mf': (13, 24, 36.44, 2.49, 8),
    '400mf': (16, 48, 27.89, 2.09, 8),
    '600mf': (15, 48, 32.54, 2.32, 16),
    '800mf': (14, 56, 38.84, 2.40, 16),
    '1.6gf': (27, 48, 20.71, 2.65, 24),
    '3.2gf': (21, 80, 42.63, 2.66, 24),
    '4.0gf': (22, 96, 31.41, 2.24, 64),
    '6.4gf': (25, 112, 33.22, 2.27, 72),
    '8.0gf': (17, 192, 76.82, 2.19, 56),
    '12gf': (19, 168, 73.36, 2.37, 112),
    '16gf': (18, 200, 106.23, 2.48, 112),
    '32gf': (20, 232, 115.89, 2.53, 232),
}


def _build() -> dict[str, RegNetParams]:
    presets = {}
    for family, table, se in (('regnetx', _X, 0.0), ('regnety', _Y, SE_RATIO_Y)):
        for size, (d, w0, wa, wm, g) in table.items():
            presets[f'{family}_{size}'] = RegNetParams(
                depth=d, w0=w0, wa=wa, wm=wm, group_width=g, se_ratio=se)
    return presets


PRESETS: dict[str, RegNetParams] = _build()
#: The paper's 24 (X and Y).
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)

#: RegNetZ: inverted bottleneck (b = 1/4) with a linear output, SE 0.25, SiLU.
#: name: (depth, w0, wa, wm, group width, head conv width, head type); without a head
#: conv, timm's RegNetZ-4GF puts the activation after the last (linear-output) stage.
_Z = {
    '500mf': (21, 16, 10.7, 2.51, 4, 1024, 'any_head'),
    '4gf': (28, 48, 14.5, 2.226, 8, 0, 'final_act_head'),
    '4gf_h': (28, 48, 14.5, 2.226, 8, 1536, 'any_head'),
}
REGNETZ_PRESETS: dict[str, RegNetParams] = {
    f'regnetz_{size}': RegNetParams(depth=d, w0=w0, wa=wa, wm=wm, group_width=g,
                                    bottleneck_ratio=0.25, se_ratio=SE_RATIO_Y,
                                    block_type='res_bottleneck_linear_block',
                                    head_type=head_type, head_width=head,
                                    activation='silu')
    for size, (d, w0, wa, wm, g, head, head_type) in _Z.items()}
REGNETZ_PRESET_NAMES: tuple[str, ...] = tuple(REGNETZ_PRESETS)
#: Every preset, all families.
ALL_PRESETS: dict[str, RegNetParams] = {**PRESETS, **REGNETZ_PRESETS}
ALL_PRESET_NAMES: tuple[str, ...] = tuple(ALL_PRESETS)


def preset_family(name: str) -> str:
    """'regnetx', 'regnety' or 'regnetz' (unknown names: ValueError)."""
    get_preset(name)
    return _normalise(name).split('_')[0]


def _normalise(name: str) -> str:
    """Accept the paper's spelling too: 'RegNetX-3.2GF' -> 'regnetx_3.2gf'.

    A name that is not a string is a TypeError (``get_preset(None)``)."""
    return check_str('preset name', name).strip().lower().replace('-', '_')


def get_preset(name: str) -> RegNetParams:
    """The preset's RegNet parameters; unknown names list the valid ones."""
    key = _normalise(name)
    if key in ALL_PRESETS:
        return ALL_PRESETS[key]
    close = difflib.get_close_matches(key, ALL_PRESET_NAMES, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ''
    raise ValueError(f'unknown RegNet preset {name!r}.{hint} '
                     f'Valid presets: {", ".join(ALL_PRESET_NAMES)}')


def is_preset(name: str) -> bool:
    """Whether ``name`` is a preset's name, any family (TypeError if not a string)."""
    return _normalise(name) in ALL_PRESETS


def preset_spec(name: str, width_rounding: str = 'pycls') -> AnyNetSpec:
    """The preset's AnyNetSpec, its widths rounded as ``width_rounding`` says
    (``'pycls'``: the paper's; ``'torchvision'``: torchvision's, to fit its checkpoints)."""
    return dataclasses.replace(get_preset(name), width_rounding=width_rounding).to_spec()
