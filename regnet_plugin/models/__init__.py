"""Torch backbones: AnyNet, RegNetX, RegNetY (registered in MMPretrain and MMDetection
by ``regnet_plugin.registry``), and their MMDetection-default variants ``Det*``."""
from .anynet import (DEFAULT_INIT_CFG, AnyNet, DetAnyNet, DetRegNetX, DetRegNetY,
                     DetRegNetZ, RegNetX, RegNetY, RegNetZ)
from .parts import BLOCK_MODULES, HEAD_MODULES, STEM_MODULES
from .blocks import Downsample, SqueezeExcitation, Stem, XBlock
from .small_map_conv import SmallMapConv2d

__all__ = ['AnyNet', 'RegNetX', 'RegNetY', 'RegNetZ', 'DetAnyNet', 'DetRegNetX',
           'DetRegNetY', 'DetRegNetZ', 'BLOCK_MODULES', 'STEM_MODULES', 'HEAD_MODULES',
           'XBlock', 'Stem', 'SqueezeExcitation', 'Downsample', 'DEFAULT_INIT_CFG',
           'SmallMapConv2d']
