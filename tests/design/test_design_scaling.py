"""Model scaling ("Fast and Accurate Model Scaling") against pycls' scaler.

PYCLS_SCALED was produced by running pycls' own code on our presets' AnyNet
configs: ``scaling_factors`` and the ``anynet`` branch of ``scale_model`` from
facebookresearch/pycls ``pycls/models/scaler.py``, and ``adjust_block_compatibility``
from ``pycls/models/blocks.py``, copied verbatim into a scratch script (pycls 0.1.1,
the version installed for the other tests, predates the scaler). One change was
needed to run it: ``np.lcm(g, b)`` with a float bottleneck multiplier raises in numpy,
so ``b`` was passed as ``int(b)`` (all multipliers there are integral when > 1).
Rows: (model, type, factor, depths, widths, group widths, resolution from 224).
"""
import json
import math
import os
import subprocess
import sys

import pytest

from regnet_plugin.design import complexity, parse_arch, preset_spec
from regnet_plugin.design.scaling import parse_scale_type, scale_spec, scaling_factors

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESNET50 = {'MODEL': {'TYPE': 'anynet', 'NUM_CLASSES': 1000},
            'ANYNET': {'STEM_TYPE': 'res_stem_in', 'STEM_W': 64,
                       'BLOCK_TYPE': 'res_bottleneck_block', 'DEPTHS': [3, 4, 6, 3],
                       'WIDTHS': [256, 512, 1024, 2048], 'STRIDES': [1, 2, 2, 2],
                       'BOT_MULS': [0.25] * 4, 'GROUP_WS': [64, 128, 256, 512]}}

PYCLS_SCALED = [
    ('regnetx_400mf', 'd', 4, [4, 8, 28, 48], [32, 64, 160, 384], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'd', 0.5, [1, 1, 4, 6], [32, 64, 160, 384], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'd', 16, [16, 32, 112, 192], [32, 64, 160, 384], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w', 4, [1, 2, 7, 12], [64, 128, 320, 768], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w', 0.5, [1, 2, 7, 12], [32, 48, 112, 272], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w', 16, [1, 2, 7, 12], [128, 256, 640, 1536], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'g', 4, [1, 2, 7, 12], [32, 64, 128, 384], [32, 64, 64, 64], 224),
    ('regnetx_400mf', 'g', 0.5, [1, 2, 7, 12], [32, 64, 160, 384], [8, 8, 8, 8], 224),
    ('regnetx_400mf', 'g', 16, [1, 2, 7, 12], [32, 64, 160, 512], [32, 64, 160, 256], 224),
    ('regnetx_400mf', 'r', 4, [1, 2, 7, 12], [32, 64, 160, 384], [16, 16, 16, 16], 448),
    ('regnetx_400mf', 'r', 0.5, [1, 2, 7, 12], [32, 64, 160, 384], [16, 16, 16, 16], 160),
    ('regnetx_400mf', 'r', 16, [1, 2, 7, 12], [32, 64, 160, 384], [16, 16, 16, 16], 896),
    ('regnetx_400mf', 'dw', 4, [2, 4, 14, 24], [48, 96, 224, 544], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'dw', 0.5, [1, 1, 5, 8], [32, 64, 128, 320], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'dw', 16, [4, 8, 28, 48], [64, 128, 320, 768], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'dwr', 4, [2, 3, 11, 19], [32, 80, 192, 480], [16, 16, 16, 16], 284),
    ('regnetx_400mf', 'dwr', 0.5, [1, 2, 6, 10], [32, 64, 144, 352], [16, 16, 16, 16], 200),
    ('regnetx_400mf', 'dwr', 16, [3, 5, 18, 30], [48, 96, 256, 608], [16, 16, 16, 16], 356),
    ('regnetx_400mf', 'd1_w8_g8_r1', 4, [1, 2, 8, 14], [64, 128, 288, 672], [32, 32, 32, 32], 240),
    ('regnetx_400mf', 'd1_w8_g8_r1', 0.5, [1, 2, 7, 11], [32, 48, 128, 288], [16, 16, 16, 16], 216),
    ('regnetx_400mf', 'd1_w8_g8_r1', 16, [1, 3, 9, 16],
     [96, 192, 480, 1152], [48, 48, 48, 48], 256),
    ('regnetx_400mf', 'd1_w2', 4, [2, 3, 11, 19], [48, 96, 256, 608], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'd1_w2', 0.5, [1, 2, 6, 10], [32, 48, 128, 304], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'd1_w2', 16, [3, 5, 18, 30], [80, 160, 400, 960], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w4_g1', 4, [1, 2, 7, 12], [64, 128, 320, 768], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w4_g1', 0.5, [1, 2, 7, 12], [32, 48, 112, 272], [16, 16, 16, 16], 224),
    ('regnetx_400mf', 'w4_g1', 16, [1, 2, 7, 12], [120, 264, 648, 1536], [24, 24, 24, 24], 224),
    ('regnety_4.0gf', 'd', 4, [8, 24, 48, 8], [128, 192, 512, 1088], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'd', 0.5, [1, 3, 6, 1], [128, 192, 512, 1088], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'd', 16, [32, 96, 192, 32], [128, 192, 512, 1088], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'w', 4, [2, 6, 12, 2], [256, 384, 1024, 2176], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'w', 0.5, [2, 6, 12, 2], [64, 128, 384, 768], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'w', 16, [2, 6, 12, 2], [512, 768, 2048, 4352], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'g', 4, [2, 6, 12, 2], [128, 192, 512, 1024], [128, 192, 256, 256], 224),
    ('regnety_4.0gf', 'g', 0.5, [2, 6, 12, 2], [128, 192, 512, 1088], [32, 32, 32, 32], 224),
    ('regnety_4.0gf', 'g', 16, [2, 6, 12, 2], [128, 192, 512, 1024], [128, 192, 512, 1024], 224),
    ('regnety_4.0gf', 'r', 4, [2, 6, 12, 2], [128, 192, 512, 1088], [64, 64, 64, 64], 448),
    ('regnety_4.0gf', 'r', 0.5, [2, 6, 12, 2], [128, 192, 512, 1088], [64, 64, 64, 64], 160),
    ('regnety_4.0gf', 'r', 16, [2, 6, 12, 2], [128, 192, 512, 1088], [64, 64, 64, 64], 896),
    ('regnety_4.0gf', 'dw', 4, [4, 12, 24, 4], [192, 256, 704, 1536], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'dw', 0.5, [1, 4, 8, 1], [128, 128, 448, 896], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'dw', 16, [8, 24, 48, 8], [256, 384, 1024, 2176], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'dwr', 4, [3, 10, 19, 3], [128, 256, 640, 1344], [64, 64, 64, 64], 284),
    ('regnety_4.0gf', 'dwr', 0.5, [2, 5, 10, 2], [128, 192, 448, 960], [64, 64, 64, 64], 200),
    ('regnety_4.0gf', 'dwr', 16, [5, 15, 30, 5], [192, 320, 832, 1728], [64, 64, 64, 64], 356),
    ('regnety_4.0gf', 'd1_w8_g8_r1', 4, [2, 7, 14, 2],
     [224, 336, 896, 1904], [112, 112, 112, 112], 240),
    ('regnety_4.0gf', 'd1_w8_g8_r1', 0.5, [2, 6, 11, 2],
     [96, 144, 384, 816], [48, 48, 48, 48], 216),
    ('regnety_4.0gf', 'd1_w8_g8_r1', 16, [3, 8, 16, 3],
     [384, 576, 1536, 3264], [192, 192, 192, 192], 256),
    ('regnety_4.0gf', 'd1_w2', 4, [3, 10, 19, 3], [192, 320, 832, 1728], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'd1_w2', 0.5, [2, 5, 10, 2], [128, 128, 384, 896], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'd1_w2', 16, [5, 15, 30, 5], [320, 512, 1280, 2752], [64, 64, 64, 64], 224),
    ('regnety_4.0gf', 'w4_g1', 4, [2, 6, 12, 2], [240, 400, 1040, 2160], [80, 80, 80, 80], 224),
    ('regnety_4.0gf', 'w4_g1', 0.5, [2, 6, 12, 2], [112, 112, 336, 784], [56, 56, 56, 56], 224),
    ('regnety_4.0gf', 'w4_g1', 16, [2, 6, 12, 2], [528, 792, 2024, 4312], [88, 88, 88, 88], 224),
    ('regnetx_1.6gf', 'd', 4, [8, 16, 40, 8], [72, 168, 408, 912], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'd', 0.5, [1, 2, 5, 1], [72, 168, 408, 912], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'd', 16, [32, 64, 160, 32], [72, 168, 408, 912], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'w', 4, [2, 4, 10, 2], [144, 336, 816, 1824], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'w', 0.5, [2, 4, 10, 2], [48, 120, 288, 648], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'w', 16, [2, 4, 10, 2], [288, 672, 1632, 3648], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'g', 4, [2, 4, 10, 2], [72, 192, 384, 960], [72, 96, 96, 96], 224),
    ('regnetx_1.6gf', 'g', 0.5, [2, 4, 10, 2], [64, 160, 416, 912], [16, 16, 16, 16], 224),
    ('regnetx_1.6gf', 'g', 16, [2, 4, 10, 2], [72, 168, 384, 768], [72, 168, 384, 384], 224),
    ('regnetx_1.6gf', 'r', 4, [2, 4, 10, 2], [72, 168, 408, 912], [24, 24, 24, 24], 448),
    ('regnetx_1.6gf', 'r', 0.5, [2, 4, 10, 2], [72, 168, 408, 912], [24, 24, 24, 24], 160),
    ('regnetx_1.6gf', 'r', 16, [2, 4, 10, 2], [72, 168, 408, 912], [24, 24, 24, 24], 896),
    ('regnetx_1.6gf', 'dw', 4, [4, 8, 20, 4], [96, 240, 576, 1296], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'dw', 0.5, [1, 3, 7, 1], [72, 144, 336, 768], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'dw', 16, [8, 16, 40, 8], [144, 336, 816, 1824], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'dwr', 4, [3, 6, 16, 3], [96, 216, 504, 1152], [24, 24, 24, 24], 284),
    ('regnetx_1.6gf', 'dwr', 0.5, [2, 3, 8, 2], [72, 144, 360, 816], [24, 24, 24, 24], 200),
    ('regnetx_1.6gf', 'dwr', 16, [5, 10, 25, 5], [120, 264, 648, 1440], [24, 24, 24, 24], 356),
    ('regnetx_1.6gf', 'd1_w8_g8_r1', 4, [2, 5, 11, 2],
     [120, 280, 720, 1600], [40, 40, 40, 40], 240),
    ('regnetx_1.6gf', 'd1_w8_g8_r1', 0.5, [2, 4, 9, 2], [64, 128, 320, 688], [16, 16, 16, 16], 216),
    ('regnetx_1.6gf', 'd1_w8_g8_r1', 16, [3, 5, 13, 3],
     [216, 504, 1224, 2736], [72, 72, 72, 72], 256),
    ('regnetx_1.6gf', 'd1_w2', 4, [3, 6, 16, 3], [120, 264, 648, 1440], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'd1_w2', 0.5, [2, 3, 8, 2], [48, 144, 312, 720], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'd1_w2', 16, [5, 10, 25, 5], [192, 432, 1032, 2304], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'w4_g1', 4, [2, 4, 10, 2], [128, 320, 832, 1824], [32, 32, 32, 32], 224),
    ('regnetx_1.6gf', 'w4_g1', 0.5, [2, 4, 10, 2], [48, 120, 288, 648], [24, 24, 24, 24], 224),
    ('regnetx_1.6gf', 'w4_g1', 16, [2, 4, 10, 2], [288, 672, 1632, 3648], [32, 32, 32, 32], 224),
    ('resnet50', 'd', 4, [12, 16, 24, 12], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'd', 0.5, [2, 2, 3, 2], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'd', 16, [48, 64, 96, 48], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'w', 4, [3, 4, 6, 3], [512, 1024, 2048, 4096], [64, 128, 256, 512], 224),
    ('resnet50', 'w', 0.5, [3, 4, 6, 3], [184, 360, 728, 1448], [46, 90, 182, 362], 224),
    ('resnet50', 'w', 16, [3, 4, 6, 3], [1024, 2048, 4096, 8192], [64, 128, 256, 512], 224),
    ('resnet50', 'g', 4, [3, 4, 6, 3], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'g', 0.5, [3, 4, 6, 3], [256, 512, 1024, 2048], [32, 64, 128, 256], 224),
    ('resnet50', 'g', 16, [3, 4, 6, 3], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'r', 4, [3, 4, 6, 3], [256, 512, 1024, 2048], [64, 128, 256, 512], 448),
    ('resnet50', 'r', 0.5, [3, 4, 6, 3], [256, 512, 1024, 2048], [64, 128, 256, 512], 160),
    ('resnet50', 'r', 16, [3, 4, 6, 3], [256, 512, 1024, 2048], [64, 128, 256, 512], 896),
    ('resnet50', 'dw', 4, [6, 8, 12, 6], [256, 512, 1024, 2048], [64, 128, 256, 512], 224),
    ('resnet50', 'dw', 0.5, [2, 3, 4, 2], [216, 432, 864, 1720], [54, 108, 216, 430], 224),
    ('resnet50', 'dw', 16, [12, 16, 24, 12], [512, 1024, 2048, 4096], [64, 128, 256, 512], 224),
    ('resnet50', 'dwr', 4, [5, 6, 10, 5], [256, 512, 1024, 2048], [64, 128, 256, 512], 284),
    ('resnet50', 'dwr', 0.5, [2, 3, 5, 2], [232, 456, 912, 1824], [58, 114, 228, 456], 200),
    ('resnet50', 'dwr', 16, [8, 10, 15, 8], [512, 1024, 2048, 4096], [64, 128, 256, 512], 356),
    ('resnet50', 'd1_w8_g8_r1', 4, [3, 5, 7, 3], [448, 888, 1784, 3552], [112, 222, 446, 888], 240),
    ('resnet50', 'd1_w8_g8_r1', 0.5, [3, 4, 6, 3], [192, 384, 768, 1536], [48, 96, 192, 384], 216),
    ('resnet50', 'd1_w8_g8_r1', 16, [4, 5, 8, 4],
     [768, 1536, 3104, 6208], [192, 384, 776, 1552], 256),
    ('resnet50', 'd1_w2', 4, [5, 6, 10, 5], [512, 1024, 2048, 4096], [64, 128, 256, 512], 224),
    ('resnet50', 'd1_w2', 0.5, [2, 3, 5, 2], [200, 408, 816, 1624], [50, 102, 204, 406], 224),
    ('resnet50', 'd1_w2', 16, [8, 10, 15, 8], [768, 1536, 3072, 6144], [64, 128, 256, 512], 224),
    ('resnet50', 'w4_g1', 4, [3, 4, 6, 3], [640, 1216, 2432, 4864], [80, 152, 304, 608], 224),
    ('resnet50', 'w4_g1', 0.5, [3, 4, 6, 3], [184, 360, 728, 1448], [46, 90, 182, 362], 224),
    ('resnet50', 'w4_g1', 16, [3, 4, 6, 3], [1056, 2208, 4320, 8640], [88, 184, 360, 720], 224),
]


def _spec(name):
    return parse_arch(RESNET50).spec if name == 'resnet50' else preset_spec(name)


@pytest.mark.parametrize('row', PYCLS_SCALED, ids=lambda r: f'{r[0]}-{r[1]}-{r[2]}')
def test_scaled_models_equal_pycls_scaler(row):
    name, scale_type, factor, depths, widths, group_widths, img_size = row
    spec = _spec(name)
    scaled = scale_spec(spec, scale_type, factor, 224)
    assert (scaled.spec.depths, scaled.spec.widths, scaled.spec.group_widths,
            scaled.img_size) == (depths, widths, group_widths, img_size)
    # what is kept: strides, stem, bottleneck ratios, SE, parts
    assert scaled.spec.strides == spec.strides
    assert scaled.spec.bottleneck_ratios == spec.bottleneck_ratios
    assert (scaled.spec.stem_type, scaled.spec.stem_width) == (spec.stem_type,
                                                               spec.stem_width)
    rep = complexity(scaled.spec, img_size)
    assert (scaled.complexity.flops, scaled.complexity.acts) == (rep.flops, rep.acts)


def test_scaling_factors_split_the_flops():
    for scale_type in ('d', 'w', 'r', 'dw', 'dwr', 'd1_w8_g8_r1', 'd1_w2'):
        d, w, _, r = scaling_factors(scale_type, 4.0)
        assert math.isclose(d * w * w * r * r, 4.0)
    assert scaling_factors('d1_w8_g8_r1', 4.0) == pytest.approx(
        (4 ** 0.1, 4 ** 0.4, 4 ** 0.4, 4 ** 0.05))
    assert scaling_factors('g', 4.0) == (1.0, 1.0, 4.0, 1.0)   # groups alone
    assert parse_scale_type('dw') == {'d': 1.0, 'w': 1.0, 'g': 0.0, 'r': 0.0}


def test_fast_compound_scaling_grows_acts_like_sqrt_flops():
    """The paper's point (Section 4): dwr-with-w-heavy weights keeps acts ~ sqrt(s)."""
    spec = preset_spec('regnety_400mf')
    base = complexity(spec)
    for factor in (4, 16):
        fast = scale_spec(spec, 'd1_w8_g8_r1', factor)
        depth = scale_spec(spec, 'd', factor)
        flops_growth = fast.complexity.flops / base.flops
        acts_growth = fast.complexity.acts / base.acts
        assert 0.8 * math.sqrt(flops_growth) < acts_growth < 1.25 * math.sqrt(flops_growth)
        # depth scaling, for contrast: acts grow about as the flops
        assert depth.complexity.acts / base.acts > \
            0.7 * depth.complexity.flops / base.flops


@pytest.mark.parametrize('scale_type, factor, match', [
    ('x2', 2, 'each part is a dimension'), ('dd', 2, 'repeats'), ('d1_d2', 2, 'once'),
    ('d-1', 2, 'each part'), ('', 2, 'non-empty'), ('dw', 0, 'factor must be'),
    ('dw', float('nan'), 'factor must be'),
    ('r', 1e-6, r'rounds to 0 pixels.*at least 4'),
])
def test_bad_scaling_arguments(scale_type, factor, match):
    with pytest.raises(ValueError, match=match):
        scale_spec(preset_spec('regnetx_200mf'), scale_type, factor)


def test_scale_model_cli():
    tool = os.path.join(REPO, 'tools', 'scale_model.py')
    out = subprocess.run([sys.executable, tool, 'regnetx_400mf', '--type', 'd1_w8_g8_r1',
                          '--factor', '4', '--json'], capture_output=True, text=True,
                         check=True).stdout
    result = json.loads(out)
    row = next(r for r in PYCLS_SCALED if r[:3] == ('regnetx_400mf', 'd1_w8_g8_r1', 4))
    assert (result['scaled']['depths'], result['scaled']['widths'],
            result['scaled']['group_widths'], result['scaled']['img_size']) == row[3:]
    text = subprocess.run([sys.executable, tool, 'regnetx_400mf', '--type', 'dw',
                           '--factor', '2'], capture_output=True, text=True,
                          check=True).stdout
    assert 'stage widths' in text and 'flops' in text
    bad = subprocess.run([sys.executable, tool, 'regnetx_400mf', '--type', 'q1',
                          '--factor', '2'], capture_output=True, text=True)
    assert bad.returncode == 2 and 'error:' in bad.stderr
