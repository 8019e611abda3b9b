"""The checkpoint formats we read (and, for pycls, write), one module each.

Each module defines its :class:`~regnet_plugin.convert.keymap.KeyLayout` (the naming of
the RegNet tensors) and how to find the state dict inside its checkpoint files.
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
