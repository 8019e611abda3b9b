"""AnyNetSpec / StageSpec: dict round trip, stable ids, bad input."""
import hashlib
import json

import numpy as np
import pytest

from regnet_plugin.design import AnyNetSpec, StageSpec, preset_spec


def _random_spec(rng):
    stages = []
    for _ in range(int(rng.integers(1, 6))):
        b = float(rng.choice([0.25, 1.0, 2.0, 4.0]))
        g = int(rng.choice([1, 2, 4, 8]))
        w_b = g * int(rng.integers(1, 20)) * (4 if b == 0.25 else 1)  # width >= 1
        stages.append(StageSpec(depth=int(rng.integers(1, 9)), width=int(w_b * b),
                                stride=int(rng.choice([1, 2])), bottleneck_ratio=b,
                                group_width=g, se_ratio=float(rng.choice([0.0, 0.25]))))
    return AnyNetSpec(tuple(stages), stem_width=int(rng.choice([16, 32])))


def test_dict_round_trip_random_and_presets():
    rng = np.random.default_rng(0)
    specs = [_random_spec(rng) for _ in range(50)]
    specs += [preset_spec('regnetx_400mf'), preset_spec('regnety_32gf')]
    for spec in specs:
        data = spec.to_dict()
        again = AnyNetSpec.from_dict(json.loads(json.dumps(data)))
        assert again == spec
        assert again.id == spec.id
        assert again.to_dict() == data


def test_from_lists_equals_stage_construction():
    spec = AnyNetSpec.from_lists([1, 2, 7, 12], [32, 64, 160, 384], group_widths=16)
    assert spec.depths == [1, 2, 7, 12]
    assert spec.widths == [32, 64, 160, 384]
    assert spec.group_widths == [16] * 4
    assert spec.strides == [2] * 4
    assert spec.block_widths == [32] + [64] * 2 + [160] * 7 + [384] * 12
    assert spec == preset_spec('regnetx_400mf')


def test_id_is_stable_and_discriminating():
    spec = AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=[8, 8])
    # The id is the sha1 of the canonical JSON; recompute it from a hand-written dict
    # so that any change of the canonical form (which would orphan stored results) fails.
    stage = lambda d, w: {'bottleneck_ratio': 1.0, 'depth': d, 'group_width': 8,  # noqa
                          'se_ratio': 0.0, 'stride': 2, 'width': w}
    canonical = json.dumps({'stages': [stage(1, 32), stage(2, 64)], 'stem_width': 32},
                           sort_keys=True, separators=(',', ':'))
    assert spec.id == hashlib.sha1(canonical.encode()).hexdigest()[:12]
    # numpy integers give the same spec and id
    np_spec = AnyNetSpec.from_lists(np.array([1, 2]), np.array([32, 64]),
                                    group_widths=np.array([8, 8]))
    assert np_spec.id == spec.id
    # any change gives another id
    others = [AnyNetSpec.from_lists([1, 3], [32, 64], group_widths=8),
              AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=[8, 16]),
              AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=8, se_ratios=0.25),
              AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=8, stem_width=16)]
    assert len({spec.id, *(o.id for o in others)}) == 5


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=0, width=32), 'depth'),
    (dict(depth=1.5, width=32), 'depth'),    # TypeError (was ValueError)
    (dict(depth=1, width=0), 'width'),
    (dict(depth=1, width=32, stride=3), 'stride'),
    (dict(depth=1, width=32, bottleneck_ratio=0), 'bottleneck_ratio'),
    (dict(depth=1, width=32, bottleneck_ratio=-1), 'bottleneck_ratio'),
    (dict(depth=1, width=32, group_width=0), 'group_width'),
    (dict(depth=1, width=32, group_width=3), 'group_width 3 must divide'),
    (dict(depth=1, width=32, bottleneck_ratio=4, group_width=16), 'must divide'),
    (dict(depth=1, width=32, se_ratio=1.0), 'se_ratio'),
    (dict(depth=True, width=32), 'depth'),  # TypeError (was ValueError)
    (dict(depth=1, width=32, bottleneck_ratio='2'), 'bottleneck_ratio'),  # TypeError
])
def test_bad_stage_input(kwargs, match):
    """Bad values: ValueError; wrong types: TypeError (they used to be ValueError)."""
    with pytest.raises((ValueError, TypeError), match=match):
        StageSpec(**kwargs)


def test_bad_spec_input():
    with pytest.raises(ValueError, match='stages must have at least 1 entries'):
        AnyNetSpec(())
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['bogus'\]"):
        AnyNetSpec.from_dict({'stages': [], 'bogus': 1})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['stages'\]"):
        AnyNetSpec.from_dict({})
    with pytest.raises(ValueError, match=r"stages\[0\]: unknown key\(s\) \['colour'\]"):
        AnyNetSpec.from_dict({'stages': [{'depth': 1, 'width': 8, 'colour': 1}]})
    # malformed JSON specs name the bad part (they used to fail inside with TypeErrors)
    with pytest.raises(ValueError, match=r"stages\[0\]: missing key\(s\) \['width'\]"):
        AnyNetSpec.from_dict({'stages': [{'depth': 1}]})
    with pytest.raises(TypeError, match='stages must be a list, got 5'):
        AnyNetSpec.from_dict({'stages': 5})
    with pytest.raises(TypeError, match=r'stages\[0\] must be a dict, got 1'):
        AnyNetSpec.from_dict({'stages': [1, 2]})
    with pytest.raises(ValueError, match='at most 10000 blocks'):
        AnyNetSpec.from_lists([6000, 6000], [8, 8])
    with pytest.raises(ValueError, match='widths .* must have 2 entries, got 1'):
        AnyNetSpec.from_lists([1, 2], [32])
    with pytest.raises(ValueError, match='group_widths .* must have 2 entries, got 3'):
        AnyNetSpec.from_lists([1, 2], [32, 64], group_widths=[8, 8, 8])
    with pytest.raises(ValueError, match='stem_width'):
        AnyNetSpec.from_lists([1], [32], stem_width=0)


def test_from_lists_rejects_scalars_with_type_error():
    """A scalar where a list is expected is a wrong type: TypeError (was ValueError)."""
    with pytest.raises(TypeError, match='depths .*must be a list'):
        AnyNetSpec.from_lists(1, [32])
    with pytest.raises(TypeError, match="widths .*must be a list, got '32'"):
        AnyNetSpec.from_lists([1], '32')


def test_feature_channels_follow_the_backbone_numbering():
    """MMPretrain/MMDetection's numbering: 0..3 = stages 1..4, negative from the end,
    None = last stage, the stem only with out_stem; RegNetX-3.2GF's stage widths are
    the paper's 96, 192, 432, 1008 after a 32-wide stem."""
    from regnet_plugin.design import get_preset
    spec = get_preset('regnetx_3.2gf').to_spec()
    assert spec.feature_channels((0, 1, 2, 3)) == (96, 192, 432, 1008)
    assert spec.feature_channels((0, 1, 2, 3), out_stem=True) == (32, 96, 192, 432, 1008)
    assert spec.feature_channels((1, -1)) == (192, 1008)
    assert spec.feature_channels(None) == spec.feature_channels(-1) == (1008,)
    for bad, match in (((1, 4), r'in \[-4, 3\], got 4'), ((3, 2), 'increasing'),
                       ((), 'must not be empty')):
        with pytest.raises(ValueError, match=match):
            spec.feature_channels(bad)
    with pytest.raises(TypeError, match='must be an integer'):   # was ValueError
        spec.feature_channels((1.0,))
