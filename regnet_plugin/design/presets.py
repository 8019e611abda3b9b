"""Preset models: the paper's 24 RegNetX/RegNetY (its Figures 15/16) and RegNetZ.

X/Y are named as MMPretrain/MMDetection name theirs: ``regnetx_400mf``,
``regnetx_3.2gf``, ... RegNetZ ("Fast and Accurate Model Scaling", Dollar, Singh,
Girshick, CVPR 2021) is ClassyVision's RegNetZ-500MF and RegNetZ-4GF, as timm's
``regnetz_005``, ``regnetz_040`` and ``regnetz_040_h`` (the last with a 1536-wide head
conv): ``regnetz_500mf``, ``regnetz_4gf``, ``regnetz_4gf_h``.
``get_preset`` also takes the paper's, timm's and torchvision's names for them
(``PRESET_ALIASES``).
"""
from __future__ import annotations

import dataclasses
import difflib
import re

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
    return resolve_preset(name)[0].split('_')[0]


class UnknownPresetError(ValueError, AssertionError):
    """An arch name that is no preset. A ``ValueError`` like every bad value here, and
    also an ``AssertionError``: MMPretrain's and MMDetection's ``RegNet`` assert on
    unknown arch names, so code (and their unit tests) written against them still
    catches it when our backbones are dropped in."""


def _size_token(size: str, style: str) -> str:
    """'4.0gf' as timm ('040') or torchvision ('4gf', '1_6gf') spell it."""
    value = float(size[:-2]) * (1 if size.endswith('mf') else 1000)
    if style == 'timm':                  # hundreds of MF, three digits: 1.6GF -> 016
        return f'{round(value / 100):03d}'
    return size.replace('.0gf', 'gf').replace('.', '_')


#: timm's names of the RegNetZ presets.
_TIMM_REGNETZ = {'regnetz_005': 'regnetz_500mf', 'regnetz_040': 'regnetz_4gf',
                 'regnetz_040_h': 'regnetz_4gf_h'}
#: torchvision's RegNet models (torchvision.models.regnet_{x,y}_*); their widths follow
#: torchvision's rounding, so these names imply ``width_rounding='torchvision'``.
_TORCHVISION_SIZES = ('400mf', '800mf', '1.6gf', '3.2gf', '8.0gf', '16gf', '32gf')


def _build_aliases() -> dict[str, tuple[str, str]]:
    """Every accepted spelling (normalised) -> (preset name, width rounding).

    Ours and MMPretrain/MMDetection's (``regnetx_4.0gf``), the paper's
    (``RegNetX-4.0GF``, normalised to ours), timm's (``regnetx_040``) and
    torchvision's (``regnet_x_4gf`` style, for the sizes torchvision has).
    """
    aliases = {}
    for name in PRESET_NAMES:
        family, size = name.split('_')
        aliases[name] = (name, 'pycls')
        aliases[f'{family}_{_size_token(size, "timm")}'] = (name, 'pycls')
        if size in _TORCHVISION_SIZES:
            tv_name = f'regnet_{family[-1]}_{_size_token(size, "torchvision")}'
            aliases[tv_name] = (name, 'torchvision')
    for name in REGNETZ_PRESET_NAMES:
        aliases[name] = (name, 'pycls')
    aliases.update({timm: (ours, 'pycls') for timm, ours in _TIMM_REGNETZ.items()})
    return aliases


PRESET_ALIASES: dict[str, tuple[str, str]] = _build_aliases()
_SIZE_RE = re.compile(r'(?P<family>regnet_?[xy])[_]?(?P<value>\d+(?:[._]\d+)?)'
                      r'(?P<unit>mf|gf)')


def _normalise(name: str) -> str:
    """Accept the paper's spelling too: 'RegNetX-3.2GF' -> 'regnetx_3.2gf'.

    A name that is not a string is a TypeError (``get_preset(None)``)."""
    return check_str('preset name', name).strip().lower().replace('-', '_')


def _suggestion(key: str) -> str | None:
    """The preset a mistyped name most likely means: the same family and size written
    another way ('regnety_4gf' -> 'regnety_4.0gf'), else the closest spelling."""
    match = _SIZE_RE.fullmatch(key)
    if match:
        family = match['family'].replace('_', '')
        value = float(match['value'].replace('_', '.'))
        for name in PRESET_NAMES:
            fam, size = name.split('_')
            if fam == family and size[-2:] == match['unit'] \
                    and float(size[:-2]) == value:
                return name
    close = difflib.get_close_matches(key, ALL_PRESET_NAMES, n=1, cutoff=0.5)
    return close[0] if close else None


def resolve_preset(name: str) -> tuple[str, str]:
    """Any accepted spelling -> (our preset name, the width rounding it implies).

    Unknown names raise :class:`UnknownPresetError` with the most likely preset.
    """
    key = _normalise(name)
    if key in PRESET_ALIASES:
        return PRESET_ALIASES[key]
    hint = _suggestion(key)
    hint = f" Did you mean '{hint}'?" if hint else ''
    raise UnknownPresetError(
        f'unknown RegNet preset {name!r}.{hint} Valid presets: '
        f'{", ".join(ALL_PRESET_NAMES)} '
        f"(also spelled as in the paper 'RegNetX-4.0GF', timm 'regnetx_040' or "
        f"torchvision 'regnet_x_1_6gf')")


def get_preset(name: str) -> RegNetParams:
    """The preset's RegNet parameters; unknown names list the valid ones.

    torchvision's names give torchvision's width rounding (its checkpoints need it).
    """
    preset, rounding = resolve_preset(name)
    params = ALL_PRESETS[preset]
    return params if rounding == 'pycls' else dataclasses.replace(
        params, width_rounding=rounding)


def is_preset(name: str) -> bool:
    """Whether ``name`` names a preset, any family and spelling (TypeError if not a
    string)."""
    return _normalise(name) in PRESET_ALIASES


def preset_spec(name: str, width_rounding: str | None = None) -> AnyNetSpec:
    """The preset's AnyNetSpec, its widths rounded as ``width_rounding`` says
    (``'pycls'``: the paper's; ``'torchvision'``: torchvision's, to fit its checkpoints;
    None: what the name implies, i.e. torchvision's for torchvision's names)."""
    params = get_preset(name)
    if width_rounding is not None:
        params = dataclasses.replace(params, width_rounding=width_rounding)
    return params.to_spec()
