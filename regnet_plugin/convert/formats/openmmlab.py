"""MMPretrain ``RegNet`` and MMDetection ``RegNet`` (both built on their ResNet).

Backbone keys: stem ``conv1``/``bn1``, blocks ``layer1.0.conv1`` ... ``bn3`` (stage from 1,
block from 0), shortcut ``downsample.0``/``downsample.1``. In a classifier or detector
checkpoint they carry the ``backbone.`` prefix; an MMPretrain classifier's fc is
``head.fc``, and MMDetection's ImageNet-pretrained backbones (converted from pycls by its
``regnet2mmdet.py``) keep a bare ``fc``.
"""
from __future__ import annotations

from ..keymap import KeyLayout

LAYOUT = KeyLayout(
    registry_format='mmpretrain',
    name='mmpretrain/mmdet',
    stem={'conv1': 'conv', 'bn1': 'bn'},
    block_regex=r'layer(?P<stage>\d+)\.(?P<block>\d+)',
    block_format='layer{stage}.{block}',
    first_stage=1, first_block=0,
    block_modules=None,        # every registered block type's (design/parts.py)
    head={'head.fc': 'fc', 'fc': 'fc'},
    backbone_prefix='backbone.',
)
