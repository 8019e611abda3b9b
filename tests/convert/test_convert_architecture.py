"""Architecture inference and checking (shapes only), and that the expected layout is
exactly our backbone's state dict."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from regnet_plugin.convert import (ConversionError, check_state_dict, expected_shapes,
                                   infer_spec, matching_presets, resolve_architecture)
from regnet_plugin.design import PRESET_NAMES, preset_spec


def _fake(shapes):
    """A 'state dict' of objects with only a shape: enough for the shape logic."""
    return {k: SimpleNamespace(shape=s) for k, s in shapes.items()}


@pytest.mark.parametrize('rounding', ['pycls', 'torchvision'])
def test_every_preset_is_recognised_from_its_shapes(rounding):
    for name in PRESET_NAMES:
        spec = preset_spec(name, rounding)
        state_dict = _fake(expected_shapes(spec, num_classes=1000))
        assert infer_spec(state_dict) == spec, name
        architecture = resolve_architecture(state_dict)
        assert architecture.spec == spec
        assert architecture.preset == name, name
        assert (name, rounding) in matching_presets(spec)
        # where both roundings give the same widths, the paper's ('pycls') is named
        if rounding == 'pycls' or spec == preset_spec(name, 'pycls'):
            assert architecture.width_rounding == 'pycls', name
        else:
            assert architecture.width_rounding == 'torchvision', name


def test_presets_that_differ_under_torchvision_rounding():
    """The roundings really differ for some presets (else the 'tv' path is untested)."""
    differ = [n for n in PRESET_NAMES
              if preset_spec(n, 'pycls') != preset_spec(n, 'torchvision')]
    assert 'regnetx_400mf' in differ
    assert preset_spec('regnetx_400mf', 'torchvision').widths == [32, 64, 160, 400]


def test_non_preset_shapes_need_arch_anynet():
    spec = preset_spec('regnetx_200mf', 'pycls')
    shapes = expected_shapes(spec, None)
    # one block fewer in the last stage: a valid AnyNet, but no preset
    shapes = {k: v for k, v in shapes.items() if '.stage4.block7.' not in k}
    with pytest.raises(ConversionError, match=r"matches no preset.*closest preset: "
                                              r"regnetx_200mf.*--arch anynet"):
        resolve_architecture(_fake(shapes))
    architecture = resolve_architecture(_fake(shapes), arch='anynet')
    assert architecture.preset is None and architecture.spec.depths == [1, 1, 4, 6]
    assert architecture.backbone_cfg()['type'] == 'AnyNet'


def test_shape_mismatch_names_key_and_both_shapes():
    spec = preset_spec('regnety_200mf', 'pycls')
    shapes = expected_shapes(spec, 10)
    shapes['backbone.stage2.block1.se.fc1.weight'] = (7, 56, 1, 1)
    with pytest.raises(ConversionError) as err:
        check_state_dict(_fake(shapes), spec, 10)
    assert ('backbone.stage2.block1.se.fc1.weight: checkpoint (7, 56, 1, 1) vs '
            'expected (6, 56, 1, 1)') in str(err.value)


def test_unknown_arch_lists_valid_presets():
    shapes = expected_shapes(preset_spec('regnetx_200mf', 'pycls'), None)
    with pytest.raises(ConversionError, match=r"unknown RegNet preset 'regnetx_300mf'.*"
                                              r"regnetx_200mf"):
        resolve_architecture(_fake(shapes), arch='regnetx_300mf')
    with pytest.raises(ConversionError, match='width_rounding must be one of'):
        resolve_architecture(_fake(shapes), width_rounding='timm')


@pytest.mark.parametrize('timm_name, name, rounding', [
    ('regnetx_004_tv', 'regnetx_400mf', 'torchvision'),
    ('regnety_008_tv', 'regnety_800mf', 'torchvision'),
    ('regnety_004', 'regnety_400mf', 'pycls'),
    ('regnety_320', 'regnety_32gf', 'pycls'),
    ('regnetx_120', 'regnetx_12gf', 'pycls')])
def test_expected_shapes_equal_an_independent_implementations(timm_name, name, rounding):
    """The expected layout (read off our backbone) is exactly what an independent
    implementation's checkpoint renames to: timm's RegNet, renamed key by key with the
    timm layout alone (no shape check involved). Guards against drift between our
    module names / shapes and the converter's naming."""
    timm = pytest.importorskip('timm')
    import regnet_plugin  # noqa: F401
    from regnet_plugin.convert import LAYOUTS, OURS, rename
    with torch.device('meta'):
        source = timm.create_model(timm_name, pretrained=False, num_classes=7)
    renamed, unknown = rename(source.state_dict(), LAYOUTS['timm'], OURS)
    assert not unknown
    theirs = {k: tuple(v.shape) for k, v in renamed.items()}
    expected = expected_shapes(preset_spec(name, rounding), num_classes=7)
    assert list(theirs) == list(expected)          # same keys, in module order
    assert theirs == expected


def test_expected_shapes_are_our_backbones_state_dict():
    """Keys include the BN buffers (running stats and counter), with our prefix."""
    from regnet_plugin.models import RegNetY
    with torch.device('meta'):
        backbone = RegNetY('regnety_200mf')
    ours = {f'backbone.{k}': tuple(v.shape) for k, v in backbone.state_dict().items()}
    shapes = expected_shapes(preset_spec('regnety_200mf'), None)
    assert ours == shapes
    assert shapes['backbone.stage1.block1.bn1.num_batches_tracked'] == ()
    assert shapes['backbone.stage1.block1.bn1.running_var'] == (24,)
    assert not any(k.startswith('head.') for k in shapes)


@pytest.mark.parametrize('toolbox', ['mmpretrain', 'mmdet'])
def test_every_openmmlab_regnet_arch_is_the_papers_preset(toolbox):
    """MMPretrain/MMDetection round widths as pycls does: each of their arch names
    converts to our preset of the same name with the paper's widths."""
    import regnet_plugin  # noqa: F401
    from regnet_plugin.convert import to_ours
    if toolbox == 'mmpretrain':
        from mmpretrain.models.backbones import RegNet
    else:
        from mmdet.models.backbones import RegNet
    assert len(RegNet.arch_settings) == 8
    for arch in RegNet.arch_settings:
        with torch.device('meta'):
            source = RegNet(arch)
        architecture = to_ours(source.state_dict(), toolbox).architecture
        assert (architecture.preset, architecture.width_rounding) == (arch, 'pycls')
