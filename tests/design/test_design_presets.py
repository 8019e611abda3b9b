"""RegNet generation and the 24 presets (docs/design.md, RegNet and Presets), against
the paper's tables and pycls."""
import numpy as np
import pytest

from regnet_plugin.design import (PRESET_NAMES, RegNetParams, complexity, get_preset,
                                  quantized_linear_widths)

# the paper's Figures 15/16 (docs/design.md, Presets), typed in: d, w0, wa, wm, g,
# stage depths, stage widths, flops (B),
# params (M), acts (M).
SPEC_TABLE = {
    'regnetx_200mf': (13, 24, 36.44, 2.49, 8, [1, 1, 4, 7], [24, 56, 152, 368], 0.2, 2.7, 2.2),
    'regnetx_400mf': (22, 24, 24.48, 2.54, 16, [1, 2, 7, 12], [32, 64, 160, 384], 0.4, 5.2, 3.1),
    'regnetx_600mf': (16, 48, 36.97, 2.24, 24, [1, 3, 5, 7], [48, 96, 240, 528], 0.6, 6.2, 4.0),
    'regnetx_800mf': (16, 56, 35.73, 2.28, 16, [1, 3, 7, 5], [64, 128, 288, 672], 0.8, 7.3, 5.1),
    'regnetx_1.6gf': (18, 80, 34.01, 2.25, 24, [2, 4, 10, 2], [72, 168, 408, 912], 1.6, 9.2, 7.9),
    'regnetx_3.2gf': (25, 88, 26.31, 2.25, 48, [2, 6, 15, 2], [96, 192, 432, 1008], 3.2, 15.3,
                      11.4),
    'regnetx_4.0gf': (23, 96, 38.65, 2.43, 40, [2, 5, 14, 2], [80, 240, 560, 1360], 4.0, 22.1,
                      12.2),
    'regnetx_6.4gf': (17, 184, 60.83, 2.07, 56, [2, 4, 10, 1], [168, 392, 784, 1624], 6.5, 26.2,
                      16.4),
    'regnetx_8.0gf': (23, 80, 49.56, 2.88, 120, [2, 5, 15, 1], [80, 240, 720, 1920], 8.0, 39.6,
                      14.1),
    'regnetx_12gf': (19, 168, 73.36, 2.37, 112, [2, 5, 11, 1], [224, 448, 896, 2240], 12.1, 46.1,
                     21.4),
    'regnetx_16gf': (22, 216, 55.59, 2.10, 128, [2, 6, 13, 1], [256, 512, 896, 2048], 15.9, 54.3,
                     25.5),
    'regnetx_32gf': (23, 320, 69.86, 2.00, 168, [2, 7, 13, 1], [336, 672, 1344, 2520], 31.7,
                     107.8, 36.3),
    'regnety_200mf': (13, 24, 36.44, 2.49, 8, [1, 1, 4, 7], [24, 56, 152, 368], 0.2, 3.2, 2.2),
    'regnety_400mf': (16, 48, 27.89, 2.09, 8, [1, 3, 6, 6], [48, 104, 208, 440], 0.4, 4.3, 3.9),
    'regnety_600mf': (15, 48, 32.54, 2.32, 16, [1, 3, 7, 4], [48, 112, 256, 608], 0.6, 6.1, 4.3),
    'regnety_800mf': (14, 56, 38.84, 2.40, 16, [1, 3, 8, 2], [64, 128, 320, 768], 0.8, 6.3, 5.2),
    'regnety_1.6gf': (27, 48, 20.71, 2.65, 24, [2, 6, 17, 2], [48, 120, 336, 888], 1.6, 11.2, 8.0),
    'regnety_3.2gf': (21, 80, 42.63, 2.66, 24, [2, 5, 13, 1], [72, 216, 576, 1512], 3.2, 19.4,
                      11.3),
    'regnety_4.0gf': (22, 96, 31.41, 2.24, 64, [2, 6, 12, 2], [128, 192, 512, 1088], 4.0, 20.6,
                      12.3),
    'regnety_6.4gf': (25, 112, 33.22, 2.27, 72, [2, 7, 14, 2], [144, 288, 576, 1296], 6.4, 30.6,
                      16.4),
    'regnety_8.0gf': (17, 192, 76.82, 2.19, 56, [2, 4, 10, 1], [168, 448, 896, 2016], 8.0, 39.2,
                      18.0),
    'regnety_12gf': (19, 168, 73.36, 2.37, 112, [2, 5, 11, 1], [224, 448, 896, 2240], 12.1, 51.8,
                     21.4),
    'regnety_16gf': (18, 200, 106.23, 2.48, 112, [2, 4, 11, 1], [224, 448, 1232, 3024], 15.9,
                     83.6, 23.0),
    'regnety_32gf': (20, 232, 115.89, 2.53, 232, [2, 5, 12, 1], [232, 696, 1392, 3712], 32.3,
                     145.0, 30.3),
}


def test_table_covers_all_presets():
    assert sorted(SPEC_TABLE) == sorted(PRESET_NAMES)
    assert len(PRESET_NAMES) == 24


@pytest.mark.parametrize('name', sorted(SPEC_TABLE))
def test_preset_matches_spec_table(name):
    d, w0, wa, wm, g, depths, widths, gflops, mparams, macts = SPEC_TABLE[name]
    params = get_preset(name)
    assert (params.depth, params.w0, params.wa, params.wm, params.group_width) == \
        (d, w0, wa, wm, g)
    assert params.bottleneck_ratio == 1.0
    assert params.se_ratio == (0.25 if name.startswith('regnety') else 0.0)
    spec = params.to_spec()
    assert spec.depths == depths and spec.widths == widths
    assert spec.depth == d and spec.stem_width == 32 and spec.strides == [2] * 4
    # after compatibility every bottleneck width divides by its group width
    assert all(st.bottleneck_width % st.group_width == 0 for st in spec.stages)
    rep = complexity(spec)
    assert round(rep.flops / 1e9, 1) == gflops
    assert round(rep.params / 1e6, 1) == mparams
    assert round(rep.acts / 1e6, 1) == macts


def test_paper_spelling_and_unknown_preset():
    assert get_preset('RegNetX-3.2GF') == get_preset('regnetx_3.2gf')
    with pytest.raises(ValueError, match="Did you mean 'regnetx_400mf'") as err:
        get_preset('regnetx_400gf')
    assert 'regnety_32gf' in str(err.value)


def test_quantized_linear_widths_by_hand():
    # RegNetX-200MF: u_j = 24 + 36.44 j; s_j = round(log(u_j/24)/log(2.49)).
    widths, exps = quantized_linear_widths(13, 24, 36.44, 2.49)
    expected_s, expected_w = [], []
    for j in range(13):
        s = round(np.log((24 + 36.44 * j) / 24) / np.log(2.49))
        expected_s.append(s)
        expected_w.append(int(round(24 * 2.49 ** s / 8) * 8))
    assert exps.tolist() == expected_s
    assert widths.tolist() == expected_w
    assert sorted(set(expected_w)) == [24, 56, 152, 368]


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(w0=20), ValueError, 'w0 must be a positive multiple of 8, got 20'),
    (dict(w0=0), ValueError, 'w0 must be a positive multiple of 8'),
    (dict(w0=-8), ValueError, 'w0 must be a positive multiple of 8'),
    (dict(w0=24.5), ValueError, 'w0 must be a positive multiple of 8'),
    (dict(w0=8e20), ValueError, r'w0 must be a positive multiple of 8, got 8e\+20 .*1048576'),
    (dict(wm=1.0), ValueError, 'wm must be a finite number > 1, got 1.0'),
    (dict(wm=0.5), ValueError, 'wm must be a finite number > 1'),
    (dict(wm=float('nan')), ValueError, 'wm must be a finite number > 1, got nan'),
    (dict(wa=-1.0), ValueError, 'wa must be a finite number >= 0, got -1.0'),
    (dict(wa=1e300), ValueError, r'block widths up to .* above the maximum width 1048576'),
    (dict(depth=0), ValueError, r'depth must be an integer in \[1, 10000\], got 0'),
    (dict(depth=100_000_000), ValueError, r'depth must be an integer in \[1, 10000\]'),
    (dict(depth=2.5), TypeError, 'depth must be an integer .*got 2.5'),
    (dict(group_width=0), ValueError, r'group_width must be an integer in \[1, .*got 0'),
    (dict(bottleneck_ratio=0), ValueError, 'bottleneck_ratio must be a finite number > 0'),
    (dict(se_ratio=1.5), ValueError, 'se_ratio must be a finite number >= 0 and < 1'),
    (dict(width_rounding='timm'), ValueError, 'width_rounding must be one of'),
    # bools and strings are not numbers here
    (dict(wa=True), TypeError, 'wa must be a finite number >= 0, got True'),
    (dict(wm=True), TypeError, 'wm must be a finite number > 1, got True'),
    (dict(wm='2'), TypeError, "wm must be a finite number > 1, got '2'"),
    (dict(depth=True), TypeError, 'depth must be an integer .*got the bool True'),
    (dict(w0=True), TypeError, 'w0 must be a finite number, got True'),
    (dict(group_width=True), TypeError, 'group_width must be an integer .*got the bool True'),
])
def test_bad_regnet_params(kwargs, error, match):
    """Wrong type: TypeError; bad value: ValueError (changed: wrong types used to give
    ValueError); widths that would overflow (wa=1e300) are refused, not wrapped."""
    base = dict(depth=22, w0=24, wa=24.48, wm=2.54, group_width=16)
    with pytest.raises(error, match=match):
        RegNetParams(**{**base, **kwargs})


# -- against the reference implementation --------------------------------------------
@pytest.mark.parametrize('name', sorted(SPEC_TABLE))
def test_preset_widths_match_pycls(name):
    regnet = pytest.importorskip('pycls.models.regnet')
    p = get_preset(name)
    ws, num_stages, _, _ = regnet.generate_regnet(p.wa, p.w0, p.wm, p.depth)
    assert p.block_widths() == ws
    s_ws, s_ds = regnet.get_stages_from_blocks(ws, ws)
    s_ws, s_gs = regnet.adjust_ws_gs_comp(s_ws, [1.0] * num_stages,
                                          [p.group_width] * num_stages)
    spec = p.to_spec()
    assert (spec.depths, spec.widths, spec.group_widths) == (s_ds, s_ws, s_gs)


def test_random_regnets_match_pycls():
    """Random RegNet parameters (any stage count, b = 1) give pycls' stages exactly."""
    regnet = pytest.importorskip('pycls.models.regnet')
    rng = np.random.default_rng(3)
    for _ in range(300):
        d, w0 = int(rng.integers(1, 64)), 8 * int(rng.integers(1, 32))
        wa, wm = round(float(rng.uniform(0, 256)), 1), round(float(rng.uniform(1.1, 3)), 3)
        g = int(rng.choice([1, 2, 4, 8, 16, 32, 48]))
        p = RegNetParams(depth=d, w0=w0, wa=wa, wm=wm, group_width=g)
        ws, num_stages, _, _ = regnet.generate_regnet(wa, w0, wm, d)
        s_ws, s_ds = regnet.get_stages_from_blocks(ws, ws)
        s_ws, s_gs = regnet.adjust_ws_gs_comp(s_ws, [1.0] * num_stages, [g] * num_stages)
        spec = p.to_spec()
        assert (spec.depths, spec.widths, spec.group_widths) == (s_ds, s_ws, s_gs), p
