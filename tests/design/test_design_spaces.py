"""Design spaces (docs/design.md, Design spaces): sampling, membership, sizes, registry."""
import json
import math

import numpy as np
import pytest

from regnet_plugin.design import (AnyNetSpec, RegNetParams, adjust_block_compatibility,
                                  complexity, get_preset, quantized_linear_widths)
from regnet_plugin.design.sampler import batch_complexity
from regnet_plugin.design.spaces import (SPACE_NAMES, AnyNetSpace, RegNetSpace, get_space,
                                         log_uniform)

ANYNET = ['AnyNetX_A', 'AnyNetX_B', 'AnyNetX_C', 'AnyNetX_D', 'AnyNetX_E']
REGNET = ['RegNetX', 'RegNetY', 'RegNetX_constrained', 'RegNetY_constrained']


def test_registry_lists_all_spaces():
    assert set(SPACE_NAMES) == set(ANYNET + REGNET)
    for name in SPACE_NAMES:
        assert get_space(name).name == name


def test_table1_sizes():
    """Table 1 to the printed precision, computed from the space parameters."""
    printed = {'AnyNetX_A': '1.8e18', 'AnyNetX_B': '6.8e16', 'AnyNetX_C': '3.2e14',
               'AnyNetX_D': '1.3e13', 'AnyNetX_E': '5.5e11', 'RegNetX': '3.0e8'}
    for name, text in printed.items():
        assert get_space(name).size_str == text
        assert float(f'{get_space(name).size:.1e}') == float(text)
    # the counts follow the parameters, not a table
    assert get_space('AnyNetX_A').size == (16 * 128 * 3 * 6) ** 4
    assert get_space('AnyNetX_A', depth_range=(1, 8)).size == (8 * 128 * 3 * 6) ** 4
    assert get_space('AnyNetX_C', group_widths=(1, 2)).size == 2048 ** 4 * 3 * 2
    assert get_space('RegNetX', bottleneck_ratios=(1.0,)).size == 63 * 64 ** 3 * 6
    # exact counts of the sorted spaces differ from the paper's /4! rule, as expected
    d_space = get_space('AnyNetX_D')
    assert d_space.exact_size == math.comb(131, 4) * 16 ** 4 * 18
    assert get_space('AnyNetX_A').exact_size == (16 * 128 * 3 * 6) ** 4


def test_unknown_space_or_parameter():
    with pytest.raises(ValueError, match='unknown design space .*valid spaces: AnyNetX_A'):
        get_space('AnyNetX_F')
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['widht_range'\].*"
                                         r"valid parameters: .*width_range"):
        get_space('AnyNetX_A', widht_range=(8, 512))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['w0'\]"):
        get_space('RegNetX', w0=24)
    with pytest.raises(ValueError, match='unknown parameter'):
        get_space('RegNetX').replace(bogus=1)


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth_range=(0, 16)), r'depth_range\[0\] must be an integer >= 1, got 0'),
    (dict(depth_range=(8, 4)), 'depth_range'),
    (dict(width_range=(12, 1024)), 'multiples of width_quantum'),
    (dict(group_widths=()), 'group_widths must have at least 1 entries'),
    (dict(group_widths=(0, 2)), r'group_widths\[0\] must be an integer >= 1, got 0'),
    (dict(bottleneck_ratios=(1, -2)), 'bottleneck_ratios'),
    (dict(se_ratio=1.0), 'se_ratio'),
    (dict(width_distribution='normal'), 'width_distribution must be one of'),
])
def test_bad_anynet_space_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_space('AnyNetX_A', **kwargs)


@pytest.mark.parametrize('kwargs, match', [
    (dict(w0_range=(4, 248)), 'w0_range'),
    (dict(w0_range=(12, 248)), 'multiples of 8'),
    (dict(wm_range=(1.0, 3.0)), 'wm_range must satisfy 1 < low'),
    (dict(wa_range=(0.0, 3.0)), 'wa_range'),
    (dict(depth_range=(20, 10)), 'depth_range'),
    (dict(wm_distribution='gamma'), 'wm_distribution must be one of'),
])
def test_bad_regnet_space_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_space('RegNetX', **kwargs)


@pytest.mark.parametrize('name', ANYNET)
def test_anynet_samples_follow_the_rules(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(200):
        draw = space.draw(rng)
        spec, raw = draw.spec, draw.params
        assert spec.num_stages == 4 and spec.strides == [2] * 4 and spec.se_ratios == [0.0] * 4
        assert all(1 <= d <= 16 for d in spec.depths)
        assert all(8 <= w <= 1024 and w % 8 == 0 for w in raw['widths'])
        assert all(b in (1, 2, 4) for b in raw['bottleneck_ratios'])
        assert all(g in (1, 2, 4, 8, 16, 32) for g in raw['group_widths'])
        # the spec is the raw draw after group compatibility
        w, g = adjust_block_compatibility(raw['widths'], raw['bottleneck_ratios'],
                                          raw['group_widths'])
        assert spec.widths == w and spec.group_widths == g
        assert spec.depths == raw['depths']
        assert all(st.bottleneck_width % st.group_width == 0 for st in spec.stages)
        if name != 'AnyNetX_A':
            assert len(set(spec.bottleneck_ratios)) == 1
        if name in ('AnyNetX_C', 'AnyNetX_D', 'AnyNetX_E'):
            assert len(set(raw['group_widths'])) == 1
        if name in ('AnyNetX_D', 'AnyNetX_E'):
            assert spec.widths == sorted(spec.widths)
        if name == 'AnyNetX_E':
            assert spec.depths == sorted(spec.depths)
        assert space.contains(spec)


def test_anynet_compatibility_matches_pycls():
    """Every AnyNetX stage choice (w, b, g) is adjusted exactly as pycls 0.1.1 does
    (its adjust_ws_gs_comp takes the bottleneck multiplier 1 / b), scalar and vectorised,
    and the vectorised draws of every AnyNetX space agree with it."""
    regnet = pytest.importorskip('pycls.models.regnet')
    space = get_space('AnyNetX_A')
    cases = [(w, b, g) for w in range(8, 1025, 8) for b in space.bottleneck_ratios
             for g in space.group_widths]
    assert len(cases) == 128 * 3 * 6
    ws, bs, gs = (list(c) for c in zip(*cases))
    expected = regnet.adjust_ws_gs_comp(ws, [1 / b for b in bs], gs)
    assert adjust_block_compatibility(ws, bs, gs) == expected
    # not vacuous: many choices are changed by the adjustment
    assert sum(w != e for w, e in zip(ws, expected[0])) > 100
    assert sum(g != e for g, e in zip(gs, expected[1])) > 30
    rng = np.random.default_rng(6)
    for name in ANYNET:
        batch = get_space(name).draw_batch(rng, 500)
        raw = batch.params
        for i in range(len(batch)):
            exp_w, exp_g = regnet.adjust_ws_gs_comp(
                raw['widths'][i].tolist(), (1 / raw['bottleneck_ratios'][i]).tolist(),
                raw['group_widths'][i].tolist())
            assert (batch.widths[i].tolist(), batch.group_widths[i].tolist()) == \
                (exp_w, exp_g)
            if batch.valid[i]:
                spec = batch.draw(i).spec
                assert (spec.widths, spec.group_widths) == (exp_w, exp_g)


def test_anynet_draws_are_spread_log_uniformly():
    rng = np.random.default_rng(5)
    widths = log_uniform(rng, 8, 1024, 8, 20000)
    assert widths.min() == 8 and widths.max() == 1024 and np.all(widths % 8 == 0)
    # pycls' quantized log-uniform: f log-uniform on (8 - 4, 1024], rounded up to a
    # multiple of 8, so P(w <= 88) = P(f <= 88) = log(88 / 4) / log(1024 / 4)
    expected = math.log(88 / 4) / math.log(1024 / 4)
    assert abs(np.mean(widths <= 88) - expected) < 0.015
    assert abs(np.mean(widths <= 512) - math.log(512 / 4) / math.log(256)) < 0.015
    depths = log_uniform(rng, 1, 16, 1, 20000)
    assert set(depths.astype(int).tolist()) == set(range(1, 17))
    # 'uniform' is a constructor choice: every multiple of 8 about equally likely
    space = get_space('AnyNetX_A', width_distribution='uniform')
    raw = space.draw_batch(rng, 5000).params['widths']
    assert raw.min() == 8 and raw.max() == 1024
    assert abs(np.mean(raw <= 512) - 64 / 128) < 0.015
    # RegNet depth is uniform by default (pycls' regnet_sampler)
    d = get_space('RegNetX').draw_batch(rng, 20000).params['depth']
    assert d.min() == 1 and d.max() == 63 and abs(np.mean(d <= 32) - 32 / 63) < 0.015


def test_anynet_contains_rejects_non_members():
    a, c, d, e = (get_space(n) for n in ('AnyNetX_A', 'AnyNetX_C', 'AnyNetX_D', 'AnyNetX_E'))
    ok = AnyNetSpec.from_lists([1, 2, 4, 8], [32, 64, 128, 256], group_widths=8)
    assert all(s.contains(ok) for s in (a, c, d, e))
    shrinking = AnyNetSpec.from_lists([1, 2, 4, 8], [64, 32, 128, 256], group_widths=8)
    assert c.contains(shrinking) and not d.contains(shrinking)
    deeper_first = AnyNetSpec.from_lists([8, 2, 4, 8], [32, 64, 128, 256], group_widths=8)
    assert d.contains(deeper_first) and not e.contains(deeper_first)
    mixed_b = AnyNetSpec.from_lists([1, 1, 1, 1], [32, 64, 128, 256],
                                    bottleneck_ratios=[1, 2, 1, 1], group_widths=8)
    assert a.contains(mixed_b) and not get_space('AnyNetX_B').contains(mixed_b)
    mixed_g = AnyNetSpec.from_lists([1, 1, 1, 1], [32, 64, 128, 256],
                                    group_widths=[8, 16, 8, 8])
    assert get_space('AnyNetX_B').contains(mixed_g) and not c.contains(mixed_g)
    # g = 12 is the image of g = 16 at bottleneck width 12 (w = 24, b = 2) ...
    g12 = AnyNetSpec.from_lists([1, 1, 1, 1], [24, 64, 128, 256],
                                bottleneck_ratios=[2, 1, 1, 1], group_widths=[12, 8, 8, 8])
    assert a.contains(g12)
    # ... but g = 12 at bottleneck width 24 is not the image of any allowed draw
    g12_bad = AnyNetSpec.from_lists([1, 1, 1, 1], [24, 64, 128, 256],
                                    group_widths=[12, 8, 8, 8])
    assert not a.contains(g12_bad)
    for bad in (AnyNetSpec.from_lists([17, 1, 1, 1], [32, 64, 128, 256], group_widths=8),
                AnyNetSpec.from_lists([1, 1, 1, 1], [32, 64, 128, 1032], group_widths=8),
                AnyNetSpec.from_lists([1, 1, 1], [32, 64, 128], group_widths=8),
                AnyNetSpec.from_lists([1, 1, 1, 1], [32, 64, 128, 256], group_widths=8,
                                      se_ratios=0.25),
                AnyNetSpec.from_lists([1, 1, 1, 1], [32, 64, 128, 256], [1, 2, 2, 2],
                                      group_widths=8)):
        assert not a.contains(bad)
    with pytest.raises(ValueError, match='expects an AnyNetSpec'):
        a.contains('regnetx_400mf')


@pytest.mark.parametrize('name', REGNET)
def test_regnet_samples_follow_the_rules(name):
    space = get_space(name)
    rng = np.random.default_rng(1)
    constrained = name.endswith('constrained')
    for _ in range(40):
        draw = space.draw(rng)
        p = draw.regnet
        assert isinstance(p, RegNetParams)
        # params are JSON friendly and rebuild the drawn RegNet
        assert json.loads(json.dumps(draw.params)) == draw.params
        assert RegNetParams(**draw.params) == p
        # on pycls' sampling grid: wa a multiple of 0.1, wm of 0.001
        assert p.wa == round(p.wa, 1) and p.wm == round(p.wm, 3)
        assert draw.spec.num_stages == 4 and draw.spec.depth == p.depth
        assert draw.spec.bottleneck_ratios == [p.bottleneck_ratio] * 4
        assert all(g <= p.group_width for g in draw.spec.group_widths)
        assert draw.spec.widths == sorted(draw.spec.widths)
        assert p.se_ratio == (0.25 if name.startswith('RegNetY') else 0.0)
        lo, hi = (12, 28) if constrained else (1, 63)
        assert lo <= p.depth <= hi
        assert 8 <= p.w0 <= 248 and p.w0 % 8 == 0
        assert 8 <= p.wa < 256
        assert (2.0 if constrained else 1.5) <= p.wm <= 3.0
        assert p.bottleneck_ratio in ((1.0,) if constrained else (1.0, 2.0, 4.0))
        assert p.group_width in (1, 2, 4, 8, 16, 32)
        if constrained:
            rep = complexity(draw.spec)
            gf = rep.flops / 1e9
            assert rep.params / 1e6 < 3 + 5.5 * gf and rep.acts / 1e6 < 6.5 * math.sqrt(gf)
        assert space.contains(p)


def test_regnet_batch_agrees_with_scalar_path():
    """Vectorised stage arrays and validity equal RegNetParams.to_spec() draw by draw."""
    space = get_space('RegNetY')
    batch = space.draw_batch(np.random.default_rng(2), 400)
    f, p, a = batch_complexity(batch)
    assert 0 < batch.valid.sum() < 400
    for i in range(400):
        params = space._regnet_params({k: v[i] for k, v in batch.params.items()})
        block_widths, exps = quantized_linear_widths(params.depth, params.w0, params.wa,
                                                     params.wm)
        # kept exactly when the exponents are 0..3, all present, with 4 distinct widths
        four_stages = (set(exps.tolist()) == {0, 1, 2, 3}
                       and len(set(block_widths.tolist())) == 4)
        assert bool(batch.valid[i]) == four_stages, params
        if not four_stages:
            continue
        spec = batch.draw(i).spec
        assert spec == params.to_spec()
        assert batch.depths[i].tolist() == \
            np.unique(block_widths, return_counts=True)[1].tolist()
        assert (batch.depths[i].tolist(), batch.widths[i].tolist(),
                batch.group_widths[i].tolist()) == (spec.depths, spec.widths,
                                                    spec.group_widths)
        rep = complexity(spec)
        assert (f[i], p[i], a[i]) == (rep.flops, rep.params, rep.acts)


def test_regnet_contains_specs():
    rx, ry = get_space('RegNetX'), get_space('RegNetY')
    rng = np.random.default_rng(4)
    for _ in range(3):
        draw = rx.draw(rng)
        found = rx.find_params(draw.spec)
        assert found is not None and found.to_spec() == draw.spec
        assert rx.contains(draw.spec) and not ry.contains(draw.spec)
    # presets with g in {1..32} are members (their wa, wm are off the sampling grid,
    # but a grid point gives the same spec); g = 24 or 112 is not in the space
    for name in ('regnetx_200mf', 'regnetx_400mf', 'regnetx_800mf'):
        assert rx.contains(get_preset(name)) and rx.contains(get_preset(name).to_spec())
        assert rx.find_params(get_preset(name).to_spec()).to_spec() == \
            get_preset(name).to_spec()
    assert not rx.contains(get_preset('regnetx_12gf'))
    assert not rx.contains(get_preset('regnetx_1.6gf'))
    assert not rx.contains(get_preset('regnetx_12gf').to_spec())
    constrained = get_space('RegNetX_constrained')
    shallow = RegNetParams(depth=10, w0=24, wa=36.4, wm=2.49, group_width=8)
    assert rx.contains(shallow) and not constrained.contains(shallow)
    narrow_wm = RegNetParams(depth=16, w0=24, wa=36.4, wm=1.8, group_width=8)
    assert not constrained.contains(narrow_wm)
    not_regnet = AnyNetSpec.from_lists([1, 2, 7, 12], [32, 64, 160, 384], group_widths=16,
                                       bottleneck_ratios=[1, 1, 2, 1])
    assert not rx.contains(not_regnet)
    assert not rx.contains(AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=16))


def test_spaces_compose():
    a = get_space('AnyNetX_A')
    narrower = a.replace(width_range=(8, 256), name='AnyNetX_A_narrow')
    assert narrower.name == 'AnyNetX_A_narrow' and narrower.size < a.size
    rng = np.random.default_rng(0)
    assert all(max(narrower.sample(rng).widths) <= 256 for _ in range(50))
    y_deep = get_space('RegNetY_constrained', depth_range=(12, 40))
    assert y_deep.se_ratio == 0.25 and y_deep.depth_range == (12, 40)
    assert get_space(y_deep) is y_deep
    assert isinstance(get_space('AnyNetX_E'), AnyNetSpace)
    assert isinstance(get_space('RegNetY'), RegNetSpace)


def test_sampling_is_deterministic_per_seed():
    for name in ('AnyNetX_B', 'RegNetX'):
        space = get_space(name)
        one = [space.sample(np.random.default_rng(9)).id for _ in range(3)]
        two = [space.sample(np.random.default_rng(9)).id for _ in range(3)]
        assert one == two
        rng = np.random.default_rng(9)
        ids = {space.sample(rng).id for _ in range(20)}
        assert len(ids) > 15


def test_empty_space_stops():
    # depth 1 with wa >= 8 can never make 4 stages
    space = get_space('RegNetX', depth_range=(1, 1), max_tries=50)
    with pytest.raises(RuntimeError, match='no member found in 50 draws'):
        space.sample(np.random.default_rng(0))
