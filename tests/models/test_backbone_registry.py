"""Configs find our backbones by ``type=`` in MMPretrain and MMDetection (with or
without a default scope), each toolbox's configs get that toolbox's RegNet defaults,
the toolboxes' own ``RegNet`` stays theirs, and a full MMPretrain classifier has
exactly the analytic parameter count."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import DefaultScope

import regnet_plugin  # noqa: F401  (registers our models)
from regnet_plugin.design import complexity, get_preset
from regnet_plugin.models import AnyNet, DetAnyNet, DetRegNetX, DetRegNetY, RegNetX, RegNetY

#: What ``type=`` finds in each toolbox's registry: MMDetection's gets the variants with
#: its RegNet's defaults.
EXPECTED = {'mmpretrain': {'AnyNet': AnyNet, 'RegNetX': RegNetX, 'RegNetY': RegNetY},
            'mmdet': {'AnyNet': DetAnyNet, 'RegNetX': DetRegNetX, 'RegNetY': DetRegNetY}}


pytestmark = pytest.mark.usefixtures('one_thread')   # tests/conftest.py


def _registries():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    return {'mmpretrain': MMPRETRAIN_MODELS, 'mmdet': MMDET_MODELS}


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_build_from_each_toolbox_registry(scope):
    registry = _registries()[scope]
    with torch.device('meta'):
        model = registry.build(dict(type='RegNetY', arch='regnety_400mf'))
        x = registry.build(dict(type='RegNetX', arch='regnetx_3.2gf',
                                out_indices=(0, 1, 2, 3)))
        anynet = registry.build(dict(type='AnyNet', arch=dict(depths=[1, 1], widths=[32, 64],
                                                               group_widths=[8, 8])))
    expected = EXPECTED[scope]
    assert type(model) is expected['RegNetY']
    assert model.spec == get_preset('regnety_400mf').to_spec()
    assert type(x) is expected['RegNetX'] and x.out_channels == (96, 192, 432, 1008)
    assert type(anynet) is expected['AnyNet']


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet'])
def test_each_toolbox_gets_its_own_regnet_defaults(scope):
    """The defaults of the toolbox's own RegNet (read off its signature), for configs
    that leave them out: MMDetection's (0, 1, 2, 3) and norm_eval=True, MMPretrain's
    (3,) and False; zero_init_residual=True in both."""
    import inspect
    registry = _registries()[scope]
    theirs = inspect.signature(registry.get('RegNet').__init__).parameters
    with torch.device('meta'):
        ours = registry.build(dict(type='RegNetX', arch='regnetx_400mf'))
    assert ours.out_indices == tuple(theirs['out_indices'].default)
    assert ours.norm_eval is theirs['norm_eval'].default
    assert ours.zero_init_residual is theirs['zero_init_residual'].default is True
    assert ours.style == theirs['style'].default


@pytest.mark.parametrize('default_scope', ['mmpretrain', 'mmdet'])
def test_build_under_default_scope(default_scope):
    registries = _registries()
    with DefaultScope.overwrite_default_scope(default_scope):
        for registry in registries.values():
            with torch.device('meta'):
                model = registry.build(dict(type='RegNetY', arch='regnety_400mf'))
            # the default scope decides which toolbox's registry (and defaults) serve
            assert type(model) is EXPECTED[default_scope]['RegNetY']
        # explicitly scoped types work from the other toolbox too
        other = 'mmdet' if default_scope == 'mmpretrain' else 'mmpretrain'
        with torch.device('meta'):
            scoped = registries[default_scope].build(
                dict(type=f'{other}.RegNetX', arch='regnetx_400mf'))
        assert type(scoped) is EXPECTED[other]['RegNetX']


def test_toolboxes_keep_their_own_regnet():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    from mmpretrain.models.backbones import RegNet as MMPretrainRegNet
    registries = _registries()
    assert registries['mmpretrain'].get('RegNet') is MMPretrainRegNet
    assert registries['mmdet'].get('RegNet') is MMDetRegNet
    for scope, registry in registries.items():
        for name, cls in EXPECTED[scope].items():
            assert registry.get(name) is cls
    registry = registries['mmpretrain']
    with torch.device('meta'):
        theirs = registry.build(dict(type='RegNet', arch='regnetx_400mf'))
    assert type(theirs) is MMPretrainRegNet


@pytest.mark.parametrize('backbone', [
    dict(type='RegNetX', arch='regnetx_400mf'),
    dict(type='RegNetY', arch='regnety_4.0gf'),
])
def test_image_classifier_params_equal_complexity(backbone):
    from mmpretrain.registry import MODELS
    with torch.device('meta'):
        in_channels = MODELS.build(backbone).out_channels[-1]
        classifier = MODELS.build(dict(
            type='ImageClassifier', backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=in_channels,
                      loss=dict(type='CrossEntropyLoss'))))
    spec = classifier.backbone.spec
    params = sum(p.numel() for p in classifier.parameters() if p.requires_grad)
    assert params == complexity(spec, num_classes=1000).params


def test_image_classifier_trains_a_step():
    """A real forward/backward through MMPretrain's classifier and data flow."""
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    classifier = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='RegNetY', arch='regnety_200mf'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=368,
                  loss=dict(type='CrossEntropyLoss'))))
    classifier.init_weights()
    images = torch.randn(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (1, 7)]
    losses = classifier(images, samples, mode='loss')
    losses['loss'].backward()
    assert torch.isfinite(losses['loss'])
    assert classifier.backbone.stage4.block7.conv3.weight.grad is not None


def test_mmdet_fpn_from_backbone_out_channels():
    """Necks are configured from the backbone's out_channels."""
    from mmdet.registry import MODELS
    backbone = MODELS.build(dict(type='RegNetX', arch='regnetx_400mf',
                                 out_indices=(0, 1, 2, 3), frozen_stages=1,
                                 norm_cfg=dict(type='BN', requires_grad=False),
                                 norm_eval=True))
    neck = MODELS.build(dict(type='FPN', in_channels=list(backbone.out_channels),
                             out_channels=16, num_outs=5))
    backbone.init_weights()
    backbone.train()
    with torch.no_grad():
        outs = neck(backbone(torch.randn(1, 3, 64, 64)))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]
    assert all(o.shape[1] == 16 for o in outs)
