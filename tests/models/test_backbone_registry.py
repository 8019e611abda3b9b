"""Configs find our backbones by ``type=`` in MMPretrain and MMDetection (with or
without a default scope), the toolboxes' own ``RegNet`` stays theirs, and a full
MMPretrain classifier has exactly the analytic parameter count."""
from __future__ import annotations

import pytest
import torch
from mmengine.registry import DefaultScope

import regnet_plugin  # noqa: F401  (registers our models)
from regnet_plugin.design import complexity, get_preset
from regnet_plugin.models import AnyNet, RegNetX, RegNetY


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """These models are tiny: one thread avoids OpenMP spin-waiting on a shared,
    oversubscribed machine (50x slower there); restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
                                out_indices=(1, 2, 3, 4)))
        anynet = registry.build(dict(type='AnyNet', arch=dict(depths=[1, 1], widths=[32, 64],
                                                               group_widths=[8, 8])))
    assert type(model) is RegNetY and model.spec == get_preset('regnety_400mf').to_spec()
    assert type(x) is RegNetX and x.out_channels == (96, 192, 432, 1008)
    assert type(anynet) is AnyNet and anynet.out_channels == (64,)


@pytest.mark.parametrize('default_scope', ['mmpretrain', 'mmdet'])
def test_build_under_default_scope(default_scope):
    registries = _registries()
    with DefaultScope.overwrite_default_scope(default_scope):
        for registry in registries.values():
            with torch.device('meta'):
                model = registry.build(dict(type='RegNetY', arch='regnety_400mf'))
            assert type(model) is RegNetY
        # explicitly scoped types work from the other toolbox too
        other = 'mmdet' if default_scope == 'mmpretrain' else 'mmpretrain'
        with torch.device('meta'):
            scoped = registries[default_scope].build(
                dict(type=f'{other}.RegNetX', arch='regnetx_400mf'))
        assert type(scoped) is RegNetX


def test_toolboxes_keep_their_own_regnet():
    from mmdet.models.backbones import RegNet as MMDetRegNet
    from mmpretrain.models.backbones import RegNet as MMPretrainRegNet
    registries = _registries()
    assert registries['mmpretrain'].get('RegNet') is MMPretrainRegNet
    assert registries['mmdet'].get('RegNet') is MMDetRegNet
    for registry in registries.values():
        assert registry.get('RegNetX') is RegNetX
        assert registry.get('RegNetY') is RegNetY
        assert registry.get('AnyNet') is AnyNet
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
                                 out_indices=(1, 2, 3, 4), frozen_stages=1,
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
