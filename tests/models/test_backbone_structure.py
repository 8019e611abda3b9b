"""The backbone's modules follow the spec exactly: parameter counts equal the analytic
complexity, state-dict names are the fixed ones, groups and SE widths are the paper's,
and independent implementations (torchvision) agree where their widths do."""
from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from regnet_plugin.design import PRESET_NAMES, complexity, get_preset, preset_spec
from regnet_plugin.models import AnyNet, RegNetX, RegNetY, XBlock


def backbone_class(preset: str) -> type:
    return RegNetY if preset.startswith('regnety') else RegNetX


def trainable_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize('preset', PRESET_NAMES)
def test_preset_params_equal_complexity(preset):
    with torch.device('meta'):
        model = backbone_class(preset)(preset)
    assert model.spec == get_preset(preset).to_spec()
    assert trainable_params(model) == complexity(model.spec, num_classes=0).params


def test_paper_params_with_head():
    """Backbone + fc(1000) rounds to the paper's figure (RegNetX-400MF 5.2M, Y 4.3M)."""
    for preset, paper_millions in (('regnetx_400mf', 5.2), ('regnety_400mf', 4.3)):
        with torch.device('meta'):
            model = backbone_class(preset)(preset)
        fc = model.out_channels[-1] * 1000 + 1000
        assert round((trainable_params(model) + fc) / 1e6, 1) == paper_millions


def test_state_dict_names_and_shapes():
    model = RegNetY('regnety_200mf')   # stages 24, 56, 152, 368; g = 8
    sd = model.state_dict()
    assert sd['stem.conv.weight'].shape == (32, 3, 3, 3)
    for key in ('stem.bn.weight', 'stem.bn.bias', 'stem.bn.running_mean',
                'stem.bn.running_var'):
        assert sd[key].shape == (32,)
    # stage 2, block 1: 24 -> 56, stride 2, w_b 56, groups 7, w_se = round(0.25 * 24) = 6
    prefix = 'stage2.block1.'
    assert sd[prefix + 'conv1.weight'].shape == (56, 24, 1, 1)
    assert sd[prefix + 'conv2.weight'].shape == (56, 8, 3, 3)
    assert sd[prefix + 'se.fc1.weight'].shape == (6, 56, 1, 1)
    assert sd[prefix + 'se.fc1.bias'].shape == (6,)
    assert sd[prefix + 'se.fc2.weight'].shape == (56, 6, 1, 1)
    assert sd[prefix + 'se.fc2.bias'].shape == (56,)
    assert sd[prefix + 'conv3.weight'].shape == (56, 56, 1, 1)
    assert sd[prefix + 'downsample.conv.weight'].shape == (56, 24, 1, 1)
    assert sd[prefix + 'downsample.bn.weight'].shape == (56,)
    # later blocks: w_se from their own input width (round(0.25 * 152) = 38), no shortcut
    assert sd['stage3.block4.se.fc1.weight'].shape == (38, 152, 1, 1)
    assert 'stage3.block2.downsample.conv.weight' not in sd
    blocks = {k.split('.')[0] + '.' + k.split('.')[1] for k in sd if k.startswith('stage')}
    assert blocks == {f'stage{i}.block{j}' for i, d in enumerate((1, 1, 4, 7), 1)
                      for j in range(1, d + 1)}
    assert [name for name, _ in model.named_children()] == \
        ['stem', 'stage1', 'stage2', 'stage3', 'stage4']


@pytest.mark.parametrize('preset', ['regnetx_3.2gf', 'regnety_1.6gf'])
def test_block_structure_follows_spec(preset):
    with torch.device('meta'):
        model = backbone_class(preset)(preset)
    w_in = model.spec.stem_width
    for stage, stage_module in zip(model.spec.stages, model.stages):
        blocks = list(stage_module.children())
        assert len(blocks) == stage.depth
        for j, block in enumerate(blocks):
            assert isinstance(block, XBlock)
            stride = stage.stride if j == 0 else 1
            assert block.conv2.stride == (stride, stride)
            assert block.conv2.groups == stage.groups
            assert block.conv2.out_channels // block.conv2.groups == stage.group_width
            assert block.conv1.out_channels == stage.bottleneck_width
            assert block.conv3.out_channels == stage.width
            if stage.se_ratio:
                assert block.se.fc1.out_channels == round(0.25 * w_in)
            else:
                assert block.se is None
            assert (block.downsample is not None) == (stride != 1 or w_in != stage.width)
            for conv in (block.conv1, block.conv2, block.conv3):
                assert conv.bias is None
            for bn in (block.bn1, block.bn2, block.bn3):
                assert isinstance(bn, nn.BatchNorm2d)
                assert (bn.eps, bn.momentum) == (1e-5, 0.1)
            w_in = stage.width


def test_anynet_accepts_spec_dict_and_lists():
    spec = get_preset('regnety_400mf').to_spec()
    lists = dict(depths=spec.depths, widths=spec.widths, strides=spec.strides,
                 bottleneck_ratios=spec.bottleneck_ratios,
                 group_widths=spec.group_widths, se_ratios=spec.se_ratios)
    with torch.device('meta'):
        for arch in (spec, spec.to_dict(), lists, 'regnety_400mf'):
            assert AnyNet(arch).spec == spec
        # a bottleneck (b = 2) 3-stage AnyNet: out_indices default to its last stage
        small = AnyNet(dict(depths=[1, 2, 1], widths=[32, 64, 128],
                            bottleneck_ratios=2, group_widths=[4, 8, 16]))
    assert small.out_indices == (2,)
    assert small.stage2.block1.conv2.out_channels == 32
    assert small.stage2.block1.conv2.groups == 4
    assert trainable_params(small) == complexity(small.spec, num_classes=0).params


def _torchvision_regnet(**init_params) -> nn.Module:
    """torchvision's RegNet (its widths are computed with torch ops: not on meta)."""
    from torchvision.models import regnet as tv_regnet
    block_params = tv_regnet.BlockParams.from_init_params(**init_params)
    norm = functools.partial(nn.BatchNorm2d, eps=1e-5, momentum=0.1)
    with torch.device('meta'):
        return tv_regnet.RegNet(block_params, norm_layer=norm)


def _param_shapes(module: nn.Module, skip: str = 'fc.') -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for n, p in module.named_parameters()
                  if not n.startswith(skip))


def test_regnetx_3_2gf_matches_torchvision_where_widths_agree():
    """For 3.2GF pycls' and torchvision's rounding agree: same tensors, same count."""
    tv = _torchvision_regnet(depth=25, w_0=88, w_a=26.31, w_m=2.25, group_width=48)
    widths = [96, 192, 432, 1008]
    assert preset_spec('regnetx_3.2gf').widths == widths
    assert preset_spec('regnetx_3.2gf', 'torchvision').widths == widths
    with torch.device('meta'):
        ours = RegNetX('regnetx_3.2gf')
    assert _param_shapes(ours) == _param_shapes(tv)
    assert trainable_params(ours) == sum(
        p.numel() for n, p in tv.named_parameters() if not n.startswith('fc.'))


def test_width_rounding_torchvision_fits_torchvision_400mf():
    """For 400MF the roundings differ (384 vs 400 last stage); width_rounding picks one."""
    tv = _torchvision_regnet(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16)
    with torch.device('meta'):
        pycls_widths = RegNetX('regnetx_400mf')
        tv_widths = RegNetX('regnetx_400mf', width_rounding='torchvision')
    assert pycls_widths.spec.widths == [32, 64, 160, 384]
    assert tv_widths.spec.widths == [32, 64, 160, 400]
    assert _param_shapes(tv_widths) == _param_shapes(tv)
    assert _param_shapes(pycls_widths) != _param_shapes(tv)
