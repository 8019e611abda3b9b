"""timm ``regnetx_004`` (paper widths), ``regnetx_004_tv`` (torchvision widths), ...

Keys: ``stem.conv``/``stem.bn``, ``s1.b1.conv1.conv``/``conv1.bn`` (ConvNormAct),
SE ``se.fc1``/``se.fc2``, shortcut ``downsample.conv``/``downsample.bn``, ``head.fc``.
Only the plain post-activation RegNets (X/Y) fit our block; timm's pre-activation
RegNetZ/V variants have other tensors and are refused by the key check.
"""
from __future__ import annotations

from ..keymap import KeyLayout

LAYOUT = KeyLayout(
    registry_format='timm',
    name='timm',
    stem={'stem.conv': 'conv', 'stem.bn': 'bn'},
    block_regex=r's(?P<stage>\d+)\.b(?P<block>\d+)',
    block_format='s{stage}.b{block}',
    first_stage=1, first_block=1,
    block_modules=None,        # every registered block type's (design/parts.py)
    head={'head.fc': 'fc'},
    input_channels='rgb',     # trained on RGB images (flipped to ours: BGR)
)
