"""Torch backbones: AnyNet, RegNetX, RegNetY (registered in MMPretrain and MMDetection
by ``regnet_plugin.registry``)."""
from .anynet import DEFAULT_INIT_CFG, AnyNet, RegNetX, RegNetY
from .blocks import SqueezeExcitation, Stem, XBlock

__all__ = ['AnyNet', 'RegNetX', 'RegNetY', 'XBlock', 'Stem', 'SqueezeExcitation',
           'DEFAULT_INIT_CFG']
