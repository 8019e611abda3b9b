"""The checkpoint formats we read (and, for pycls, write), one module each.

Each module defines its :class:`~regnet_plugin.convert.keymap.KeyLayout`: the naming of
the stem, the stage/block prefixes and the classifier. The names inside a block come
from the block types' key layouts (``regnet_plugin/design/parts.py``); finding the state
dict inside a checkpoint file is :func:`regnet_plugin.convert.checkpoint.extract_state_dict`'s
job, for every format.
"""
from __future__ import annotations

from ..keymap import OURS, KeyLayout
from . import openmmlab, pycls, timm, torchvision

#: source name -> its layout ('mmdet' shares MMPretrain's naming).
LAYOUTS: dict[str, KeyLayout] = {
    'pycls': pycls.LAYOUT,
    'torchvision': torchvision.LAYOUT,
    'timm': timm.LAYOUT,
    'mmpretrain': openmmlab.LAYOUT,
    'mmdet': openmmlab.LAYOUT,
    'ours': OURS,
}
SOURCES: tuple[str, ...] = tuple(LAYOUTS)

__all__ = ['LAYOUTS', 'SOURCES']
