"""torchvision ``regnet_x_400mf()``, ``regnet_y_400mf()``, ... (plain state dicts).

Keys: ``stem.0``/``stem.1`` (conv, BN), ``trunk_output.block1.block1-0.f.a.0`` ...
(stage from 1, block from 0), SE ``f.se.fc1``/``fc2``, shortcut ``proj.0``/``proj.1``,
classifier ``fc``. Its widths follow torchvision's group rounding, which for several
presets (e.g. RegNetX-400MF) differs from the paper's: conversion then yields a spec with
``width_rounding='torchvision'``.
"""
from __future__ import annotations

from ..keymap import KeyLayout

LAYOUT = KeyLayout(
    registry_format='torchvision',
    name='torchvision',
    stem={'stem.0': 'conv', 'stem.1': 'bn'},
    block_regex=r'trunk_output\.block(?P<stage>\d+)\.block(?P=stage)-(?P<block>\d+)',
    block_format='trunk_output.block{stage}.block{stage}-{block}',
    first_stage=1, first_block=0,
    block_modules=None,        # every registered block type's (design/parts.py)
    head={'fc': 'fc'},
    input_channels='rgb',     # trained on RGB images (flipped to ours: BGR)
)
