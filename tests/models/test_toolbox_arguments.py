"""Every constructor argument of MMDetection's and MMPretrain's ``RegNet`` means the
same in ours: for each option, MMDetection's own RegNet (the independent reference)
and ours are built with it, MMDetection's weights are loaded into ours (its key
names, read by our backbone's load hook), and the two compute the same features.
Bad values fail with TypeError/ValueError naming the value (never a bare assert)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from regnet_plugin.models import DetRegNetX, RegNetX, RegNetY
from model_helpers import randomize_state_

ARCH = 'regnetx_400mf'      # stages 32, 64, 160, 384; depths 1, 2, 7, 12


pytestmark = pytest.mark.usefixtures('one_thread')   # tests/conftest.py


def _randomize_(model: torch.nn.Module) -> torch.nn.Module:
    return randomize_state_(model, scale=0.3, offset_scale=0.1)


def _mmdet_and_ours(**options):
    from mmdet.models.backbones import RegNet as MMDetRegNet
    # deep copies: MMDetection's bottleneck pops 'fallback_on_stride' out of dcn
    theirs = _randomize_(MMDetRegNet(ARCH, **copy.deepcopy(options)))
    theirs.eval()       # (MMDetection's ResNet.train, so eval, returns None)
    ours = DetRegNetX(ARCH, **copy.deepcopy(options))
    # their state dict, their key names: our load hook renames them (strict: all used)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return theirs, ours.eval()


OPTIONS = {
    'defaults': {},
    'dilated': dict(strides=(1, 2, 2, 1), dilations=(1, 1, 2, 4)),
    'caffe_style': dict(style='caffe'),
    'avg_down': dict(avg_down=True),
    'stem_channels': dict(stem_channels=48, base_channels=64),
    'conv_ws': dict(conv_cfg=dict(type='ConvWS')),
    'group_norm': dict(norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)),
    'mdconv_c3_c5': dict(dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
                         stage_with_dcn=(False, True, True, True)),
    'gcb_plugin': dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 4),
                                     stages=(False, True, True, True),
                                     position='after_conv3')]),
    'two_plugins': dict(plugins=[
        dict(cfg=dict(type='GeneralizedAttention', spatial_range=-1, num_heads=8,
                      attention_type='0010', kv_stride=2),
             stages=(False, False, True, True), position='after_conv2'),
        dict(cfg=dict(type='NonLocal2d', reduction=4), stages=(True, True, False, False),
             position='after_conv1')]),
}


@pytest.mark.parametrize('name', OPTIONS)
def test_option_computes_what_mmdetections_regnet_computes(name):
    options = OPTIONS[name]
    theirs, ours = _mmdet_and_ours(**options)
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert len(got) == len(expected) == 4
    for a, b in zip(got, expected):
        assert a.shape == b.shape and torch.isfinite(b).all()
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_dcn_is_mmcvs_modulated_deform_conv_in_the_group_conv():
    from mmcv.ops import ModulatedDeformConv2dPack
    _, ours = _mmdet_and_ours(**OPTIONS['mdconv_c3_c5'])
    assert type(ours.stage1.block1.conv2) is torch.nn.Conv2d
    conv2 = ours.stage3.block2.conv2
    assert isinstance(conv2, ModulatedDeformConv2dPack)
    assert conv2.groups == ours.spec.stages[2].groups == 160 // 16


def test_training_mode_and_frozen_stages_match_mmdetection():
    """Train mode with norm_eval (their default) and frozen_stages=1, as in every config:
    same outputs, same frozen parameters, the same BN layers left in eval mode."""
    theirs, ours = _mmdet_and_ours(frozen_stages=1)
    theirs.train()
    ours.train()
    assert [p.requires_grad for p in ours.parameters()] == \
        [p.requires_grad for p in theirs.parameters()]
    assert sorted(m.training for m in ours.modules() if isinstance(m, _BatchNorm)) == \
        sorted(m.training for m in theirs.modules() if isinstance(m, _BatchNorm))
    x = torch.randn(2, 3, 64, 64)
    for a, b in zip(ours(x), theirs(x)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_pretrained_is_deprecated_with_mmdetections_warning(tmp_path):
    from mmdet.models.backbones import RegNet as MMDetRegNet
    path = str(tmp_path / 'weights.pth')
    with pytest.warns(UserWarning) as theirs_warning:
        theirs = MMDetRegNet(ARCH, pretrained=path)
    with pytest.warns(UserWarning) as ours_warning:
        ours = RegNetX(ARCH, pretrained=path)
    assert str(ours_warning[0].message) == str(theirs_warning[0].message)
    assert ours.init_cfg == theirs.init_cfg == dict(type='Pretrained', checkpoint=path)
    with pytest.raises(ValueError, match='init_cfg and pretrained cannot be specified'):
        RegNetX(ARCH, pretrained=path, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(TypeError, match='pretrained must be a str or None, got 1'):
        RegNetX(ARCH, pretrained=1)


def test_their_checkpoint_loads_through_their_init_cfg(tmp_path):
    """Their configs keep ``init_cfg=dict(type='Pretrained', checkpoint=...)`` pointing
    at their RegNet's weights; swapping ``type`` must still load every tensor."""
    from mmdet.models.backbones import RegNet as MMDetRegNet
    theirs = _randomize_(MMDetRegNet(ARCH))
    theirs.eval()
    path = tmp_path / 'mmdet_regnetx_400mf.pth'
    torch.save({'state_dict': theirs.state_dict()}, path)
    ours = DetRegNetX(ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    ours.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(ours(x), theirs(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_their_checkpoint_passes_the_fit_check_of_our_tools():
    """tools/test.py, tools/train.py and compare_tables --eval refuse a checkpoint that
    does not fit before mmengine loads it; the check sees the keys as our backbone loads
    them (renamed by its pre-hook), so an MMDetection RegNet detector checkpoint fits,
    and another size still does not."""
    from mmdet.models.backbones import RegNet as MMDetRegNet

    from regnet_plugin.launch import CheckpointMismatch, check_checkpoint_fits
    checkpoint = {f'backbone.{k}': v for k, v in MMDetRegNet(ARCH).state_dict().items()}
    assert check_checkpoint_fits(torch.nn.ModuleDict({'backbone': DetRegNetX(ARCH)}),
                                 checkpoint, 'theirs.pth') == []
    assert any(k.startswith('backbone.layer1.') for k in checkpoint)     # left as it was
    with pytest.raises(CheckpointMismatch,
                       match=r'mis-shaped tensors: backbone.stage1.block1.conv1.weight \(32'):
        check_checkpoint_fits(torch.nn.ModuleDict({'backbone': DetRegNetX('regnetx_200mf')}),
                              checkpoint, 'theirs.pth')


def test_out_stem_returns_the_stem_first():
    model = RegNetY('regnety_200mf', out_indices=(0, 3), out_stem=True).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1:] for o in outs] == [(32, 32, 32), (24, 16, 16), (368, 2, 2)]
    assert model.out_feature_names == ('stem', 'stage1', 'stage4')
    assert model.out_channels == (32, 24, 368)


# -- bad values --------------------------------------------------------------------
BAD = [
    (dict(in_channels='3'), TypeError, r"in_channels must be an integer .* got '3'"),
    (dict(in_channels=0), ValueError, r'in_channels must be an integer in \[1, '),
    (dict(stem_channels=0), ValueError, r'stem_channels must be .* got 0'),
    (dict(base_channels=1.5), TypeError, r'base_channels must be an integer'),
    (dict(strides=(2, 2, 2)), ValueError, r'strides must have 4 entries, got 3'),
    (dict(strides=(2, 2, 2, 3)), ValueError, r'strides\[3\] must be an integer in \[1, 2\], got 3'),
    (dict(strides=2), TypeError, r'strides must be a list, got 2'),
    (dict(dilations=(1, 1, 1, 0)), ValueError, r'dilations\[3\] must be .* got 0'),
    (dict(style='tf'), ValueError, r"style must be one of \['pytorch', 'caffe'\], got 'tf'"),
    (dict(deep_stem=True), ValueError, r'deep_stem=True: RegNet has no deep stem'),
    (dict(deep_stem='yes'), TypeError, r"deep_stem must be True or False, got 'yes'"),
    (dict(avg_down=1), TypeError, r'avg_down must be True or False, got 1'),
    (dict(conv_cfg='ConvWS'), TypeError, r"conv_cfg must be a dict, got 'ConvWS'"),
    (dict(conv_cfg=dict()), ValueError, r"conv_cfg needs a 'type', got \{\}"),
    (dict(norm_cfg=dict(type='FooNorm')), ValueError,
     r"norm_cfg type 'FooNorm' is not a registered norm layer; accepted: \['BN'"),
    (dict(norm_cfg=dict(type='GN')), ValueError, r"norm_cfg GN needs num_groups"),
    (dict(norm_cfg=dict(type='GN', num_groups=7)), ValueError,
     r'GN num_groups=7 must divide the channels .* does not divide \[32, 64, 160, 384\]'),
    (dict(norm_cfg=dict(type='LN')), ValueError, r"norm_cfg type 'LN' does not fit"),
    (dict(norm_cfg=dict(type='BN', foo=1)), TypeError,
     r"norm_cfg \{'type': 'BN', 'foo': 1\} does not build a norm layer.*foo"),
    (dict(norm_cfg=None), None, None),    # None: the default BN (accepted)
    (dict(norm_eval='no'), TypeError, r"norm_eval must be True or False, got 'no'"),
    (dict(dcn='DCNv2'), TypeError, r"dcn must be a dict, got 'DCNv2'"),
    (dict(dcn=dict(type='DCNv2'), stage_with_dcn=(True,)), ValueError,
     r'stage_with_dcn must have 4 entries, got 1'),
    (dict(dcn=dict(type='DCNv2'), conv_cfg=dict(type='ConvWS')), ValueError,
     r'conv_cfg must be None with dcn'),
    (dict(plugins=dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv3')),
     TypeError, r'plugins must be a list'),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv4')]),
     ValueError, r"plugins\[0\]\[\"position\"\] must be one of \['after_conv1', "),
    (dict(plugins=[dict(position='after_conv3')]), ValueError,
     r"plugins\[0\]: missing key\(s\) \['cfg'\]"),
    (dict(plugins=[dict(cfg=dict(type='ContextBlock', ratio=0.25), position='after_conv3',
                        stages=(True,))]), ValueError,
     r'plugins\[0\]\["stages"\] must have 4 entries, got 1'),
    (dict(with_cp='yes'), TypeError, r"with_cp must be True or False, got 'yes'"),
    (dict(zero_init_residual='yes'), TypeError, r'zero_init_residual must be True or False'),
    (dict(out_stem=1), TypeError, r'out_stem must be True or False, got 1'),
]


@pytest.mark.parametrize('kwargs,error,match', BAD, ids=[str(b[0]) for b in BAD])
def test_bad_values_are_named(kwargs, error, match):
    with torch.device('meta'):
        if error is None:
            RegNetX(ARCH, **kwargs)
            return
        with pytest.raises(error, match=match):
            RegNetX(ARCH, **kwargs)


def test_no_op_arguments_of_theirs_are_accepted():
    """base_channels does nothing in either toolbox's RegNet; dcn=None ignores
    stage_with_dcn (as MMDetection does, whatever its length)."""
    with torch.device('meta'):
        reference = RegNetX(ARCH)
        for kwargs in (dict(base_channels=64), dict(stage_with_dcn=(True, True)),
                       dict(deep_stem=False), dict(plugins=None), dict(dcn=None)):
            model = RegNetX(ARCH, **kwargs)
            assert [p.shape for p in model.parameters()] == \
                [p.shape for p in reference.parameters()], kwargs
