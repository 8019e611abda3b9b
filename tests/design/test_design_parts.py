"""Registered parts (stems, blocks, heads): one cost model, stable spec ids."""
import numpy as np
import pytest

from regnet_plugin.design import AnyNetSpec, complexity, preset_spec
from regnet_plugin.design.complexity import specs_complexity
from regnet_plugin.design.parts import BLOCKS, HEADS, STEMS, Registry


def test_spec_ids_of_existing_models_unchanged():
    """Ids are file names and manifest keys of studies: naming the parts must not
    change them. The values were computed before AnyNetSpec had part fields."""
    assert {n: preset_spec(n).id for n in ('regnetx_400mf', 'regnety_8.0gf',
                                           'regnetx_32gf')} == \
        {'regnetx_400mf': 'df717bde7f48', 'regnety_8.0gf': 'f3e6d7ebad56',
         'regnetx_32gf': '1612739d2f55'}
    assert preset_spec('regnetx_400mf', 'torchvision').id == 'a5a037559ae3'
    spec = AnyNetSpec.from_lists([1, 2, 3, 2], [24, 48, 96, 192], [2, 1, 2, 2],
                                 [1.0, 2.0, 4.0, 0.25], [8, 8, 8, 16], 0.25, 24)
    assert spec.id == '3c6754d4bed2'
    assert set(spec.to_dict()) == {'stem_width', 'stages'}


def test_part_names_round_trip_and_change_the_id():
    base = preset_spec('regnetx_200mf')
    named = AnyNetSpec.from_dict({**base.to_dict(), 'stem_type': 'res_stem_in',
                                  'block_type': 'res_bottleneck_linear_block',
                                  'head_width': 256, 'activation': 'silu'})
    assert AnyNetSpec.from_dict(named.to_dict()) == named
    assert named.id != base.id
    assert named.to_dict()['stem_type'] == 'res_stem_in'
    assert 'head_type' not in named.to_dict()          # still the default
    assert named.feature_channels((2, 3)) == (152, 256)  # head conv on the last stage


@pytest.mark.parametrize('field, value, match', [
    ('block_type', 'bottleneck', 'unknown block type'),
    ('stem_type', 'res_stem', 'unknown stem type'),
    ('head_type', 'conv_head', 'unknown head type'),
    ('activation', 'gelu', 'activation must be one of'),
])
def test_unknown_part_names_list_the_registered_ones(field, value, match):
    with pytest.raises(ValueError, match=match):
        AnyNetSpec.from_dict({**preset_spec('regnetx_200mf').to_dict(), field: value})


def test_blocks_without_bottleneck_refuse_its_parameters():
    with pytest.raises(ValueError, match='no bottleneck'):
        AnyNetSpec.from_lists([1], [64], group_widths=[8], block_type='res_basic_block')
    AnyNetSpec.from_lists([2, 2], [64, 128], block_type='vanilla_block')


def test_registry_errors():
    registry = Registry('thing')
    item = BLOCKS.get('vanilla_block')
    registry.register(item)
    registry.register(item)                 # the same object again: fine
    with pytest.raises(KeyError, match='already registered'):
        registry.register(BLOCKS.get('res_basic_block'), name='vanilla_block')
    with pytest.raises(ValueError, match="unknown thing 'x'; registered: vanilla_block"):
        registry.get('x')


def _random_specs(rng, block, stem, head_width, se, n=25):
    specs = []
    bottleneck = BLOCKS.get(block).bottleneck
    strides = [int(s) for s in rng.choice([1, 2], 3)]
    for _ in range(n):
        if bottleneck:
            bs = [float(b) for b in rng.choice([0.25, 1.0, 2.0, 4.0], 3)]
            gs = [int(g) for g in rng.choice([1, 2, 4, 8], 3)]
            widths = [int(g * rng.integers(1, 10) * max(b, 1)) * 2 for g, b in zip(gs, bs)]
            widths = [max(w, 8) for w in widths]
            widths = [w if round(w / b) % g == 0 else int(g * b * 4)
                      for w, b, g in zip(widths, bs, gs)]
        else:
            bs, gs, widths = [1.0] * 3, [1] * 3, [8 * int(v) for v in rng.integers(1, 20, 3)]
        specs.append(AnyNetSpec.from_lists(
            [int(d) for d in rng.integers(1, 5, 3)], widths, strides, bs, gs,
            se if bottleneck else 0.0, 24, block_type=block, stem_type=stem,
            head_width=head_width))
    return specs


@pytest.mark.parametrize('block', BLOCKS.names())
@pytest.mark.parametrize('stem', STEMS.names())
def test_vectorised_equals_scalar_for_every_part(block, stem):
    """The sampler's closed form and complexity() walk the same part costs."""
    rng = np.random.default_rng(len(block) * 31 + len(stem))
    for head_width, se in ((0, 0.0), (96, 0.25)):
        specs = _random_specs(rng, block, stem, head_width, se)
        for size, nc in ((224, 1000), (45, 7), (32, 0)):
            f, p, a = specs_complexity(specs, size, nc)
            for i, spec in enumerate(specs):
                rep = complexity(spec, size, nc)
                assert (f[i], p[i], a[i]) == (rep.flops, rep.params, rep.acts)
                assert sum(part['flops'] for part in rep.parts.values()) == rep.flops


def test_part_costs_by_hand():
    """Independent arithmetic for the parts the paper's RegNets do not use."""
    # res_stem_in: 7x7 conv 3->64 stride 2 at 224 -> 112, BN; max-pool -> 56 (no acts)
    spec = AnyNetSpec.from_lists([1], [64], [1], stem_width=64, stem_type='res_stem_in',
                                 block_type='vanilla_block')
    stem = complexity(spec, 224, 0).parts['stem']
    assert stem == {'flops': 7 * 7 * 3 * 64 * 112 * 112, 'params': 7 * 7 * 3 * 64 + 128,
                    'acts': 64 * 112 * 112, 'out_size': [56, 56]}
    # vanilla block 64->64 stride 1 at 56: two 3x3 convs, no shortcut
    s1 = complexity(spec, 224, 0).parts['s1']
    assert s1['flops'] == 2 * 9 * 64 * 64 * 56 * 56
    assert s1['params'] == 2 * (9 * 64 * 64 + 128)
    # a linear bottleneck block never has a projection; the head conv is counted
    lin = AnyNetSpec.from_lists([1], [48], [2], [0.25], [8], 0.0, 32,
                                block_type='res_bottleneck_linear_block', head_width=64)
    rep = complexity(lin, 32, 10)
    w_b = 192
    s1 = (32 * w_b * 16 * 16 + 9 * w_b * w_b // (w_b // 8) * 8 * 8 + w_b * 48 * 8 * 8)
    assert rep.parts['s1']['flops'] == s1
    assert rep.parts['head'] == {'flops': 48 * 64 * 64 + 64 * 10 + 10,
                                 'params': 48 * 64 + 128 + 64 * 10 + 10,
                                 'acts': 64 * 64 + 10, 'out_size': [8, 8]}


def test_no_import_cycle_in_design():
    """The modules of design/ import each other without a cycle (at any depth,
    function-level imports included)."""
    import ast
    import pathlib

    import regnet_plugin.design as design
    root = pathlib.Path(design.__file__).parent
    graph = {}
    for path in root.glob('*.py'):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split('.')[0])
        graph[path.stem] = deps - {path.stem}
    state = {}

    def visit(name, trail):
        if state.get(name) == 'done':
            return
        assert state.get(name) != 'open', f'import cycle: {" -> ".join(trail + [name])}'
        state[name] = 'open'
        for dep in graph.get(name, ()):
            visit(dep, trail + [name])
        state[name] = 'done'

    for name in graph:
        visit(name, [])


def test_every_block_has_a_key_layout_for_pycls():
    for name in BLOCKS.names():
        layout = BLOCKS.get(name).key_map('pycls')
        assert set(layout.values()) <= set(BLOCKS.get(name).modules)
    assert set(HEADS.names()) == {'any_head', 'final_act_head'}


# -- design spaces: registered by name, or defined by a config -----------------------
def test_register_and_define_spaces():
    from regnet_plugin.design.spaces import (SPACES, AnyNetSpace, get_space,
                                             register_space, space_from_config)
    from regnet_plugin.design.sampler import Regime, sample_models
    assert {'AnyNetX_A', 'RegNetY_constrained'} <= set(SPACES.names())
    entry = register_space('test_AnyNetX_shallow', 'AnyNetSpace', depth_range=(1, 3),
                           shared_group=True)
    try:
        space = get_space('test_AnyNetX_shallow')
        assert isinstance(space, AnyNetSpace) and space.depth_range == (1, 3)
        assert get_space('test_AnyNetX_shallow', depth_range=(2, 3)).depth_range == (2, 3)
        result = sample_models('test_AnyNetX_shallow', 3, Regime(max_flops=400e6), seed=0)
        assert all(max(s.spec.depths) <= 3 and s.space == 'test_AnyNetX_shallow'
                   for s in result)
    finally:
        SPACES._items.pop(entry.name)
    own = space_from_config(dict(type='RegNetSpace', name='mine', depth_range=(10, 20),
                                 group_widths=[8, 16]))
    assert (own.name, own.depth_range, own.group_widths) == ('mine', (10, 20), (8, 16))
    based = get_space(dict(base='RegNetY', name='Y_short', depth_range=(5, 9)))
    assert (based.name, based.se_ratio, based.depth_range) == ('Y_short', 0.25, (5, 9))
    with pytest.raises(ValueError, match="unknown parameter"):
        register_space('bad', 'AnyNetSpace', depht_range=(1, 2))
    with pytest.raises(ValueError, match="exactly one of 'type'"):
        space_from_config(dict(name='x'))


def test_study_config_defines_its_own_space():
    from regnet_plugin.studies.schema import SpaceEntry
    entry = SpaceEntry.parse(dict(name='Shallow', space=dict(type='AnyNetSpace',
                                                             depth_range=[1, 4])))
    assert entry.space().name == 'Shallow' and entry.space().depth_range == (1, 4)
    assert entry.as_dict()['space'] == {'type': 'AnyNetSpace', 'depth_range': [1, 4]}
    # entries naming a registered space serialise (and hash) as before
    assert SpaceEntry.parse('AnyNetX_A').as_dict() == \
        {'name': 'AnyNetX_A', 'overrides': {}, 'label': 'AnyNetX_A'}
    with pytest.raises(ValueError, match='unknown design space type'):
        SpaceEntry.parse(dict(name='x', space=dict(type='Nope')))


def test_regnetz_presets_are_timms_networks():
    """Stage depths/widths/group widths read off timm 1.x's regnetz_005, regnetz_040
    and regnetz_040_h modules (conv3 out channels, conv2 channels per group, blocks per
    stage); flops/params/acts are fvcore's count of those modules at 224 (with bias
    adds), which tests/models/test_backbone_parts.py recomputes when timm is there."""
    from regnet_plugin.design import get_preset, is_preset
    expected = {
        'regnetz_500mf': ([1, 4, 9, 7], [16, 40, 104, 256], 4, 1024,
                          (507217126, 7122742, 5860358)),
        'regnetz_4gf': ([2, 6, 14, 6], [48, 104, 240, 528], 8, 0,
                        (3075543744, 27116800, 18529376)),
        'regnetz_4gf_h': ([2, 6, 14, 6], [48, 104, 240, 528], 8, 1536,
                          (3116291136, 28938880, 18604640)),
    }
    for name, (depths, widths, g, head, counts) in expected.items():
        assert is_preset(name) and is_preset(name.replace('_', '-', 1).upper())
        spec = preset_spec(name)
        assert (spec.depths, spec.widths, set(spec.group_widths), spec.head_width) == \
            (depths, widths, {g}, head)
        assert (spec.block_type, spec.activation, set(spec.bottleneck_ratios),
                set(spec.se_ratios)) == ('res_bottleneck_linear_block', 'silu', {0.25},
                                         {0.25})
        rep = complexity(spec)
        assert (rep.flops, rep.params, rep.acts) == counts
        assert get_preset(name).to_spec() == spec

