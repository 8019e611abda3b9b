"""Weight conversion between RegNet implementations and ours.

Sources: pycls 0.1.1, torchvision, timm, MMPretrain ``RegNet``, MMDetection ``RegNet``
(and ours); destinations: ours (an MMPretrain-style checkpoint) and pycls. The CLI is
``tools/convert_weights.py``.
"""
from .architecture import (CUSTOM_ARCH, Architecture, check_state_dict, expected_shapes,
                           infer_spec, matching_presets, resolve_architecture)
from .checkpoint import (DESTINATIONS, Conversion, convert_file, extract_state_dict,
                         load_checkpoint_file, ours_checkpoint, to_ours, to_pycls)
from .formats import LAYOUTS, SOURCES
from .keymap import OURS, ConversionError, KeyLayout, TensorName, rename

__all__ = [
    'CUSTOM_ARCH', 'Architecture', 'check_state_dict', 'expected_shapes', 'infer_spec',
    'matching_presets', 'resolve_architecture', 'DESTINATIONS', 'Conversion',
    'convert_file', 'extract_state_dict', 'load_checkpoint_file', 'ours_checkpoint',
    'to_ours', 'to_pycls', 'LAYOUTS', 'SOURCES', 'OURS', 'ConversionError', 'KeyLayout',
    'TensorName', 'rename',
]
