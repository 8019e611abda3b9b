"""Torch backbones: AnyNet, RegNetX, RegNetY (registered in MMPretrain and MMDetection
by ``regnet_plugin.registry``), and their MMDetection-default variants ``Det*``."""
from .anynet import (DEFAULT_INIT_CFG, AnyNet, DetAnyNet, DetRegNetX, DetRegNetY,
                     RegNetX, RegNetY)
from .blocks import Downsample, SqueezeExcitation, Stem, XBlock

__all__ = ['AnyNet', 'RegNetX', 'RegNetY', 'DetAnyNet', 'DetRegNetX', 'DetRegNetY',
           'XBlock', 'Stem', 'SqueezeExcitation', 'Downsample', 'DEFAULT_INIT_CFG']
