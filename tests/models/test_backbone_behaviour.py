"""What users of an MMPretrain/MMDetection backbone rely on: outputs and their
channels/strides, freezing, norm options, checkpointing, stochastic depth, init,
channels_last, conv+BN fusion, and numerical agreement with torchvision's RegNet."""
from __future__ import annotations

import functools
import math
import re

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from regnet_plugin.design import complexity
from regnet_plugin.models import AnyNet, RegNetX, RegNetY, XBlock

SMALL = 'regnety_200mf'   # stages: depths 1, 1, 4, 7; widths 24, 56, 152, 368


pytestmark = pytest.mark.usefixtures('one_thread')   # tests/conftest.py


def randomize_norm_stats(model: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN affine params and running stats, so eval-mode checks mean something."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def make_small(**kwargs) -> RegNetY:
    """Seeded, initialised; bn3 not zeroed (unless asked), so every branch computes."""
    torch.manual_seed(0)
    kwargs.setdefault('zero_init_residual', False)
    model = RegNetY(SMALL, **kwargs)
    model.init_weights()
    return model


# -- outputs -------------------------------------------------------------------
def test_default_output_is_tuple_of_last_stage():
    model = make_small().eval()
    out = model(torch.randn(2, 3, 64, 64))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 368, 2, 2)
    assert model.out_indices == (3,) and model.out_channels == (368,)


@pytest.mark.parametrize('size', [(64, 64), (97, 130)])
def test_all_out_indices_shapes_and_strides(size):
    model = make_small(out_indices=(0, 1, 2, 3), out_stem=True).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, *size))
    parts = complexity(model.spec, img_size=size, num_classes=0).parts
    assert model.out_feature_names == ('stem', 'stage1', 'stage2', 'stage3', 'stage4')
    assert model.out_channels == (32, 24, 56, 152, 368)
    assert model.stage_channels == dict(stem=32, stage1=24, stage2=56, stage3=152,
                                        stage4=368)
    assert model.out_strides == dict(stem=2, stage1=4, stage2=8, stage3=16, stage4=32)
    for out, name, channels, part in zip(outs, model.out_feature_names,
                                         model.out_channels,
                                         ['stem', 's1', 's2', 's3', 's4']):
        stride = model.out_strides[name]
        assert out.shape == (1, channels, *parts[part]['out_size'])
        assert out.shape[2:] == tuple(math.ceil(s / stride) for s in size)


def test_negative_and_int_out_indices():
    with torch.device('meta'):
        assert RegNetX('regnetx_400mf', out_indices=(-2, -1)).out_indices == (2, 3)
        model = RegNetX('regnetx_400mf', out_indices=(0, 1, 2, 3))
        assert RegNetX('regnetx_400mf', out_indices=1).out_channels == (64,)
        assert RegNetX('regnetx_400mf', out_indices=1, out_stem=True).out_channels == \
            (32, 64)
    assert model.out_channels == (32, 64, 160, 384)


# -- freezing and norms ------------------------------------------------------------
@pytest.mark.parametrize('frozen_stages', [-1, 0, 2, 4])
def test_frozen_stages(frozen_stages):
    model = make_small(frozen_stages=frozen_stages)
    model.train()
    parts = [model.stem] + model.stages
    for index, part in enumerate(parts):
        frozen = index <= frozen_stages
        assert all(p.requires_grad != frozen for p in part.parameters())
        assert all(m.training != frozen for m in part.modules())
    before = [m.running_mean.clone() for m in parts[0].modules() if isinstance(m, _BatchNorm)]
    out = model(torch.randn(2, 3, 32, 32))[0]
    after = [m.running_mean for m in parts[0].modules() if isinstance(m, _BatchNorm)]
    assert all(torch.equal(a, b) == (frozen_stages >= 0) for a, b in zip(before, after))
    assert out.requires_grad == (frozen_stages < model.num_stages)
    if out.requires_grad:
        out.sum().backward()
    for index, part in enumerate(parts):
        has_grad = [p.grad is not None for p in part.parameters()]
        assert all(has_grad) if index > frozen_stages else not any(has_grad)


def test_norm_eval_keeps_bn_in_eval_but_trains_weights():
    model = make_small(norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(bn.training for bn in bns)
    assert model.stage1.block1.conv1.training
    before = bns[-1].running_mean.clone()
    model(torch.randn(2, 3, 32, 32))[0].mean().backward()
    assert torch.equal(before, bns[-1].running_mean)
    assert bns[-1].weight.grad is not None
    model.train(False)
    model.train(True)
    assert not any(bn.training for bn in bns)


def test_frozen_bn_as_in_mmdetection_configs():
    """norm_cfg=dict(type='BN', requires_grad=False) + norm_eval=True: affine frozen."""
    model = make_small(norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert all(not p.requires_grad for bn in bns for p in bn.parameters())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(p.requires_grad for conv in convs for p in conv.parameters())
    bn_params = sum(p.numel() for bn in bns for p in bn.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == complexity(model.spec, num_classes=0).params - bn_params
    model(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert all(bn.weight.grad is None for bn in bns)
    assert all(conv.weight.grad is not None for conv in convs)


def test_group_norm_and_sync_bn_build_and_run():
    gn = make_small(norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    norms = [m for m in gn.modules() if isinstance(m, nn.GroupNorm)]
    assert len(norms) == sum(1 for n, _ in gn.named_modules() if re.search(r'bn\d?$', n))
    assert norms[0].num_groups == 8
    assert sum(p.numel() for p in gn.parameters()) == \
        complexity(gn.spec, num_classes=0).params
    out = gn.train()(torch.randn(2, 3, 32, 32))[0]
    assert out.shape == (2, 368, 1, 1) and torch.isfinite(out).all()

    sync = make_small(norm_cfg=dict(type='SyncBN'))
    assert isinstance(sync.stage2.block1.bn2, nn.SyncBatchNorm)
    assert isinstance(sync.stem.bn, nn.SyncBatchNorm)
    sync.eval()
    assert torch.isfinite(sync(torch.randn(1, 3, 32, 32))[0]).all()


# -- training options --------------------------------------------------------------
def _count_checkpoints(monkeypatch) -> list:
    """Record every torch.utils.checkpoint.checkpoint call (ours and the toolboxes')."""
    import torch.utils.checkpoint as cp
    calls = []
    original = cp.checkpoint

    def counting_checkpoint(*args, **kwargs):
        calls.append(args[0])
        kwargs.setdefault('use_reentrant', False)   # MMDetection passes none
        return original(*args, **kwargs)

    monkeypatch.setattr(cp, 'checkpoint', counting_checkpoint)
    return calls


def test_with_cp_gives_the_same_output_and_grads(monkeypatch):
    calls = _count_checkpoints(monkeypatch)
    x = torch.randn(2, 3, 32, 32)
    grads = []
    outputs = []
    for with_cp in (False, True):
        model = make_small(with_cp=with_cp).train()   # same seed -> same weights
        out = model(x)[0]
        assert len(calls) == (13 if with_cp else 0)   # one checkpoint per block
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        outputs.append(out.detach())
        grads.append({n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(outputs[0], outputs[1])
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name],
                                   msg=f'gradient of {name} differs with with_cp')


@pytest.mark.parametrize('frozen_stages', [-1, 1])
def test_with_cp_checkpoints_the_blocks_mmdetections_regnet_does(monkeypatch,
                                                                 frozen_stages):
    """Per block, as MMDetection's RegNet: with frozen_stages=1 (every detection config)
    stage 2's first block sees a frozen input and is not checkpointed; the other 20 of
    RegNetX-400MF's 22 blocks are (deciding per stage lost all of stage 2: 19)."""
    from mmdet.models.backbones import RegNet as MMDetRegNet

    from regnet_plugin.models import DetRegNetX
    calls = _count_checkpoints(monkeypatch)
    x = torch.randn(1, 3, 32, 32)
    counts = []
    for cls in (MMDetRegNet, DetRegNetX):
        torch.manual_seed(0)
        model = cls('regnetx_400mf', frozen_stages=frozen_stages, with_cp=True)
        model.train()           # (MMDetection's ResNet.train returns None)
        del calls[:]
        model(x)
        counts.append(len(calls))
    assert counts[0] == counts[1] == (22 if frozen_stages == -1 else 20)


def test_drop_path_rates_increase_linearly():
    model = make_small(drop_path_rate=0.2)
    blocks = [m for m in model.modules() if isinstance(m, XBlock)]
    total = len(blocks)
    assert total == 13
    assert blocks[0].drop_path is None
    for k, block in enumerate(blocks[1:], 1):
        assert block.drop_path.drop_prob == pytest.approx(0.2 * k / (total - 1))
    x = torch.randn(4, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], model(x)[0])
        reference = make_small().eval()(x)[0]
    torch.testing.assert_close(model(x)[0], reference)
    model.train()
    torch.manual_seed(1)
    first = model(x)[0]
    torch.manual_seed(2)
    assert not torch.allclose(first, model(x)[0])


def test_default_init_is_pycls_kaiming():
    model = make_small(zero_init_residual=False)
    conv = model.stage4.block2.conv1           # 368 -> 368 1x1: 135k weights
    expected_std = math.sqrt(2.0 / (conv.out_channels * 1 * 1))
    assert conv.weight.mean().item() == pytest.approx(0.0, abs=expected_std * 0.02)
    assert conv.weight.std().item() == pytest.approx(expected_std, rel=0.02)
    conv3x3 = model.stage4.block2.conv2        # fan_out = 9 * out_channels (pycls)
    assert conv3x3.weight.std().item() == pytest.approx(
        math.sqrt(2.0 / (9 * conv3x3.out_channels)), rel=0.05)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert torch.equal(m.bias, torch.zeros_like(m.bias))
    assert torch.equal(model.stage1.block1.se.fc1.bias,
                       torch.zeros_like(model.stage1.block1.se.fc1.bias))


@pytest.mark.parametrize('kwargs', [{}, dict(zero_init_residual=True),
                                    dict(zero_init_last_bn=True)])
def test_zero_init_residual_is_the_default(kwargs):
    """As MMPretrain's and MMDetection's RegNet (zero_init_last_bn: our older name);
    AnyNet keeps pycls' default (no zero init), which the studies train with."""
    assert not AnyNet(SMALL).zero_init_residual
    torch.manual_seed(0)
    model = RegNetY(SMALL, **kwargs)
    assert model.zero_init_residual
    model.init_weights()
    for block in (m for m in model.modules() if isinstance(m, XBlock)):
        assert torch.count_nonzero(block.bn3.weight) == 0
        assert torch.equal(block.bn2.weight, torch.ones_like(block.bn2.weight))


def test_pretrained_init_cfg_loads_through_mmengine(tmp_path):
    source = make_small()
    randomize_norm_stats(source)
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.state_dict().items()}},
               path)
    model = RegNetY(SMALL, zero_init_last_bn=True, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


# -- inference -----------------------------------------------------------------------
def test_channels_last_matches_contiguous():
    model = make_small(out_indices=(1, 3), out_stem=True)
    randomize_norm_stats(model)
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)
        from_cl_input = model(x.to(memory_format=torch.channels_last))
        model_cl = model.to(memory_format=torch.channels_last)
        fully_cl = model_cl(x.to(memory_format=torch.channels_last))
    for ref, a, b in zip(reference, from_cl_input, fully_cl):
        torch.testing.assert_close(a, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(b, ref, rtol=1e-4, atol=1e-4)
    assert fully_cl[-1].shape == (2, 368, 2, 2)


def test_channels_last_option():
    reference = make_small(out_stem=True)
    randomize_norm_stats(reference)
    model = make_small(out_stem=True, channels_last=True)
    model.load_state_dict(reference.state_dict())
    assert model.stage2.block1.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    assert not reference.stage2.block1.conv2.weight.is_contiguous(
        memory_format=torch.channels_last)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model.eval()(x), reference.eval()(x)):
            assert a.is_contiguous(memory_format=torch.channels_last)
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
        fused = model.fuse_conv_bn()(x)
    assert model.stage2.block1.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fused[-1], reference(x)[-1], rtol=1e-4, atol=1e-4)


def test_every_bn_is_registered_right_after_its_conv():
    """mmcv's fuse_conv_bn folds a BN into the conv registered just before it (walking
    children in order): in the stem, every X/Y block (SE included) and every shortcut
    each BN's previous sibling must be its own conv."""
    for cls, arch in ((RegNetX, 'regnetx_200mf'), (RegNetY, SMALL)):
        model = cls(arch)
        pairs = 0
        for owner_name, owner in model.named_modules():
            children = list(owner.named_children())
            for (prev_name, prev), (name, child) in zip([(None, None)] + children,
                                                         children):
                if isinstance(child, _BatchNorm):
                    where = f'{cls.__name__} {owner_name}.{name}'
                    assert isinstance(prev, nn.Conv2d), where
                    assert prev.out_channels == child.num_features, where
                    assert prev_name.replace('conv', 'bn') == name, where
                    pairs += 1
        assert pairs == sum(isinstance(m, _BatchNorm) for m in model.modules())
        # the stem, three per block, one shortcut per stage
        assert pairs == 1 + 3 * model.spec.depth + model.num_stages


@pytest.mark.parametrize('cls, arch', [(RegNetX, 'regnetx_200mf'), (RegNetY, SMALL)])
def test_fuse_conv_bn_keeps_outputs(cls, arch):
    torch.manual_seed(0)
    model = cls(arch, out_indices=(0, 3), out_stem=True, frozen_stages=1)
    model.init_weights()
    randomize_norm_stats(model)
    model.eval()
    conv_requires_grad = {n: p.requires_grad for n, p in model.named_parameters()
                          if 'conv' in n}
    assert not conv_requires_grad['stem.conv.weight']                # frozen_stages=1
    num_bns = sum(isinstance(m, _BatchNorm) for m in model.modules())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)
        assert model.fuse_conv_bn() is model
        fused = model(x)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    assert sum(isinstance(m, nn.Identity) for m in model.modules()) == num_bns
    assert model.stem.conv.bias is not None and model.stage4.block1.conv3.bias is not None
    assert model.stage1.block1.downsample.conv.bias is not None
    params = dict(model.named_parameters())
    for name, flag in conv_requires_grad.items():     # frozen stem/stage1 stay frozen
        assert params[name].requires_grad == flag, name
    assert not params['stem.conv.bias'].requires_grad
    assert params['stage2.block1.conv1.bias'].requires_grad
    assert len(fused) == len(reference) == 3
    for a, b in zip(fused, reference):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    with pytest.raises(RuntimeError, match='eval'):
        cls(arch).train().fuse_conv_bn()


def test_fuse_conv_bn_leaves_group_norm_and_refuses_bn_it_cannot_fold():
    model = make_small(norm_cfg=dict(type='GN', num_groups=8)).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = model(x)[-1]
        fused = model.fuse_conv_bn()(x)[-1]
    assert isinstance(model.stage1.block1.bn1, nn.GroupNorm)
    assert model.stage1.block1.conv1.bias is None
    torch.testing.assert_close(fused, reference, rtol=0, atol=0)
    with pytest.raises(ValueError, match='affine parameters and running statistics'):
        make_small(norm_cfg=dict(type='BN', affine=False)).eval().fuse_conv_bn()


# -- agreement with an independent implementation ----------------------------------
def torchvision_to_ours(key: str) -> str:
    """torchvision RegNet state-dict key -> ours (test-only mapping)."""
    if key.startswith('stem.'):
        return re.sub(r'^stem\.0\.', 'stem.conv.', re.sub(r'^stem\.1\.', 'stem.bn.', key))
    match = re.match(r'^trunk_output\.block(\d+)\.block\d+-(\d+)\.(.*)$', key)
    assert match, key
    stage, block, rest = int(match[1]), int(match[2]) + 1, match[3]
    for theirs, ours in (('proj.0.', 'downsample.conv.'), ('proj.1.', 'downsample.bn.'),
                         ('f.a.0.', 'conv1.'), ('f.a.1.', 'bn1.'),
                         ('f.b.0.', 'conv2.'), ('f.b.1.', 'bn2.'),
                         ('f.se.', 'se.'), ('f.c.0.', 'conv3.'), ('f.c.1.', 'bn3.')):
        if rest.startswith(theirs):
            return f'stage{stage}.block{block}.{ours}{rest[len(theirs):]}'
    raise AssertionError(f'unmapped torchvision key {key}')


@pytest.mark.parametrize('ours_cls, preset, init_params', [
    (RegNetY, 'regnety_400mf',
     dict(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)),
    (RegNetX, 'regnetx_400mf',
     dict(depth=22, w_0=24, w_a=24.48, w_m=2.54, group_width=16)),
])
def test_same_function_as_torchvision(ours_cls, preset, init_params):
    from torchvision.models import regnet as tv_regnet
    torch.manual_seed(0)
    tv = tv_regnet.RegNet(tv_regnet.BlockParams.from_init_params(**init_params),
                          norm_layer=functools.partial(nn.BatchNorm2d, eps=1e-5,
                                                       momentum=0.1))
    randomize_norm_stats(tv)
    state = {torchvision_to_ours(k): v for k, v in tv.state_dict().items()
             if not k.startswith('fc.')}
    ours = ours_cls(preset, width_rounding='torchvision', out_indices=(0, 1, 2, 3))
    ours.load_state_dict(state, strict=True)
    tv.eval()
    ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        theirs = tv.trunk_output(tv.stem(x))
        mine = ours(x)
    torch.testing.assert_close(mine[-1], theirs, rtol=1e-4, atol=1e-4)
