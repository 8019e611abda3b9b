"""Sampler: n distinct models in a complexity regime, deterministic, bounded."""
import numpy as np
import pytest

from regnet_plugin.design import complexity
from regnet_plugin.design.sampler import Regime, Sample, batch_complexity, sample_models
from regnet_plugin.design.spaces import get_space


def naive_sample(space, n, regime, seed, batch_size):
    """The one-at-a-time reference: every draw built as a spec, full complexity()."""
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        batch = space.draw_batch(rng, batch_size)
        for i in range(len(batch)):
            if not batch.valid[i]:
                continue
            spec = batch.draw(i).spec
            rep = complexity(spec, regime.img_size, regime.num_classes)
            if regime.contains(rep) and spec.id not in seen:
                seen.add(spec.id)
                out.append(spec.id)
                if len(out) == n:
                    break
    return out


@pytest.mark.parametrize('name', ['RegNetX', 'AnyNetX_A', 'AnyNetX_E', 'RegNetY'])
def test_samples_in_regime_distinct_and_equal_to_naive(name):
    regime = Regime.paper()
    result = sample_models(name, 25, regime, seed=3, batch_size=512)
    assert len(result) == 25
    ids = [s.id for s in result]
    assert len(set(ids)) == 25
    for s in result:
        assert isinstance(s, Sample) and s.space == name
        assert s.id == s.spec.id
        rep = complexity(s.spec)
        assert (s.complexity.flops, s.complexity.params, s.complexity.acts) == \
            (rep.flops, rep.params, rep.acts)
        assert 360e6 <= rep.flops <= 400e6
        assert s.params                       # space-level parameters for the studies
    # the fast path selects exactly what the full-complexity loop selects
    assert ids == naive_sample(get_space(name), 25, regime, 3, 512)
    if name.startswith('RegNet'):
        first = result[0].params
        assert set(first) >= {'depth', 'w0', 'wa', 'wm', 'group_width', 'bottleneck_ratio'}
    else:
        assert set(result[0].params) == {'depths', 'widths', 'bottleneck_ratios',
                                         'group_widths', 'drawn'}


def test_deterministic_per_seed():
    a = sample_models('RegNetX', 20, Regime.paper(), seed=1)
    b = sample_models('RegNetX', 20, Regime.paper(), seed=1)
    c = sample_models('RegNetX', 20, Regime.paper(), seed=2)
    assert [s.id for s in a] == [s.id for s in b]
    assert a.draws == b.draws
    assert [s.id for s in a] != [s.id for s in c]


def test_params_and_acts_bounds_and_img_size():
    regime = Regime(min_flops=100e6, max_flops=300e6, max_params=3e6, min_acts=2e6,
                    img_size=160)
    result = sample_models('AnyNetX_C', 10, regime, seed=0)
    for s in result:
        rep = complexity(s.spec, img_size=160)
        assert rep.flops == s.complexity.flops and 100e6 <= rep.flops <= 300e6
        assert rep.params <= 3e6 and rep.acts >= 2e6
        assert s.complexity.img_size == (160, 160)


def test_batch_complexity_matches_for_every_draw():
    space = get_space('AnyNetX_B')
    batch = space.draw_batch(np.random.default_rng(0), 200)
    f, p, a = batch_complexity(batch, img_size=128, num_classes=10)
    for i in range(200):
        rep = complexity(batch.draw(i).spec, 128, 10)
        assert (f[i], p[i], a[i]) == (rep.flops, rep.params, rep.acts)


def test_impossible_regime_stops_with_counts():
    regime = Regime(min_flops=1e15)                 # no model is that big
    with pytest.raises(RuntimeError, match=r'found 0 of 5 distinct models .* after 3000 '
                                           r'draws \(max_draws=3000\)'):
        sample_models('RegNetX', 5, regime, seed=0, max_draws=3000)
    narrow = Regime(min_flops=380_000_000, max_flops=380_000_100)
    with pytest.raises(RuntimeError, match=r'found \d+ of 50 distinct models'):
        sample_models('AnyNetX_A', 50, narrow, seed=0, max_draws=5000)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(min_flops=400e6, max_flops=360e6), ValueError,
     r'min_flops \(400000000.0\) must be <= max_flops'),
    (dict(min_params=5, max_params=1), ValueError, 'min_params'),
    (dict(min_acts=3, max_acts=2), ValueError, 'min_acts'),
    (dict(max_flops=-1), ValueError, r'max_flops \(or None\) must be a finite number >= 0'),
    (dict(min_flops='big'), TypeError, "min_flops .*must be a finite number >= 0, got 'big'"),
    (dict(img_size=0), ValueError, r'img_size must be an integer in \[1, 32768\], got 0'),
    (dict(img_size=224.5), TypeError, 'img_size must be an integer .*got 224.5'),
    (dict(num_classes=-1), ValueError, r'num_classes must be an integer in \[0, '),
])
def test_bad_regime(kwargs, error, match):
    """Wrong types give TypeError (changed: they used to give ValueError)."""
    with pytest.raises(error, match=match):
        Regime(**kwargs)


def test_bad_sampler_arguments():
    with pytest.raises(ValueError, match='n must be an integer >= 1, got 0'):
        sample_models('RegNetX', 0)
    with pytest.raises(ValueError, match='max_draws must be an integer >= 1'):
        sample_models('RegNetX', 1, max_draws=0)
    with pytest.raises(ValueError, match='batch_size must be an integer >= 1'):
        sample_models('RegNetX', 1, batch_size=0)
    with pytest.raises(ValueError, match='unknown design space'):
        sample_models('ResNet', 1)
    with pytest.raises(ValueError, match=r"unknown sampler parameter\(s\) \['regime_'\]"):
        sample_models('RegNetX', 1, regime_=Regime.paper())


def test_as_dict_is_json_friendly():
    import json
    result = sample_models('RegNetY_constrained', 3, Regime.paper(), seed=0)
    for s in result:
        data = json.loads(json.dumps(s.as_dict()))
        assert data['id'] == s.id and data['flops'] == s.complexity.flops
        assert get_space('RegNetY_constrained').contains(s.spec)
