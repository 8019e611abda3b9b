"""The torch-free core: model specs, RegNet generation, complexity, design spaces.

Nothing in this sub-package imports torch; numpy and scipy are enough.
"""
from .parts import BLOCKS, HEADS, STEMS, Registry
from .complexity import ComplexityReport, complexity
from .presets import PRESET_NAMES, PRESETS, get_preset, is_preset, preset_spec
from .regnet import RegNetParams, adjust_block_compatibility, quantized_linear_widths
from .spec import AnyNetSpec, StageSpec
from .arch import Arch, parse_arch
from .fit import QuantizedLinearFit, fit_quantized_linear
from .sampler import Regime, Sample, SampleResult, sample_models
from .spaces import (SPACE_NAMES, AnyNetSpace, DesignSpace, Draw, RegNetSpace,
                     get_space)

__all__ = [
    'BLOCKS', 'STEMS', 'HEADS', 'Registry',
    'AnyNetSpec', 'StageSpec', 'RegNetParams', 'adjust_block_compatibility',
    'quantized_linear_widths', 'complexity', 'ComplexityReport', 'PRESETS',
    'PRESET_NAMES', 'get_preset', 'is_preset', 'preset_spec',
    'Arch', 'parse_arch', 'QuantizedLinearFit', 'fit_quantized_linear',
    'Regime', 'Sample', 'SampleResult', 'sample_models',
    'SPACE_NAMES', 'AnyNetSpace', 'DesignSpace', 'Draw', 'RegNetSpace', 'get_space',
]
