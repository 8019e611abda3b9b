"""Every source format converts into ours with identical outputs.

Each test builds the source model with random weights (random BN statistics too),
saves its state dict, converts it (CLI or library), loads the result strictly into our
classifier built from the checkpoint's meta, and compares logits (or backbone features)
in eval mode: max abs diff <= 1e-4. Sources trained on RGB (torchvision, timm) are
compared on the same image in both channel orders: theirs gets RGB, ours BGR (the
converter reverses their stem's input channels; every RegNet config here feeds BGR).
"""
from __future__ import annotations

import pytest
import torch

from convert_helpers import (TOLERANCE, build_ours, max_abs_diff, ours_logits,
                             random_input, randomize_, run_cli)
from regnet_plugin.convert import convert_file, to_ours


def bgr(x: torch.Tensor) -> torch.Tensor:
    """The same images with the channels in the other order (RGB <-> BGR)."""
    return x[:, [2, 1, 0]]


def _convert_and_load(tmp_path, state_dict, src, **kwargs):
    source_file = tmp_path / f'{src}.pth'
    torch.save(state_dict, source_file)
    out = tmp_path / 'ours.pth'
    conversion = convert_file(src, source_file, out, **kwargs)
    checkpoint = torch.load(out, weights_only=True)
    return conversion, checkpoint


def test_torchvision_regnet_x_400mf_has_torchvision_widths_via_cli(tmp_path):
    from torchvision.models import regnet_x_400mf
    source = randomize_(regnet_x_400mf())
    source_file = tmp_path / 'tv.pth'
    torch.save(source.state_dict(), source_file)
    out = tmp_path / 'ours.pth'
    result = run_cli('--src', 'torchvision', source_file, out)
    assert result.returncode == 0, result.stderr
    assert "regnetx_400mf (width_rounding='torchvision')" in result.stdout
    checkpoint = torch.load(out, weights_only=True)
    meta = checkpoint['meta']['regnet_plugin']
    assert meta['backbone'] == dict(type='RegNetX', arch='regnetx_400mf',
                                    width_rounding='torchvision')
    # torchvision's group rounding: 400 in the last stage, not the paper's 384
    assert [s['width'] for s in meta['spec']['stages']] == [32, 64, 160, 400]
    ours = build_ours(checkpoint)
    x = random_input()
    with torch.no_grad():
        expected = source(x)
    assert max_abs_diff(ours_logits(ours, bgr(x)), expected) <= TOLERANCE


def test_torchvision_regnet_y_400mf(tmp_path):
    from torchvision.models import regnet_y_400mf
    source = randomize_(regnet_y_400mf(num_classes=10))
    conversion, checkpoint = _convert_and_load(tmp_path, source.state_dict(), 'torchvision')
    assert conversion.architecture.preset == 'regnety_400mf'
    assert conversion.num_classes == 10
    x = random_input()
    with torch.no_grad():
        expected = source(x)
    assert max_abs_diff(ours_logits(build_ours(checkpoint), bgr(x)), expected) <= TOLERANCE

    # The same file initialises a bare backbone through mmengine's Pretrained init.
    from mmpretrain.registry import MODELS
    backbone = MODELS.build(dict(checkpoint['meta']['regnet_plugin']['backbone'],
                                 init_cfg=dict(type='Pretrained',
                                               checkpoint=str(tmp_path / 'ours.pth'),
                                               prefix='backbone.')))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert all(torch.equal(loaded[k[len('backbone.'):]], v)
               for k, v in checkpoint['state_dict'].items() if k.startswith('backbone.'))


@pytest.mark.parametrize('name, preset, rounding', [
    ('regnetx_004', 'regnetx_400mf', 'pycls'),
    ('regnety_004', 'regnety_400mf', 'pycls'),
    ('regnetx_004_tv', 'regnetx_400mf', 'torchvision'),
])
def test_timm(tmp_path, name, preset, rounding):
    timm = pytest.importorskip('timm')
    source = randomize_(timm.create_model(name, pretrained=False, num_classes=7))
    conversion, checkpoint = _convert_and_load(tmp_path, source.state_dict(), 'timm')
    assert (conversion.architecture.preset,
            conversion.architecture.width_rounding) == (preset, rounding)
    x = random_input()
    with torch.no_grad():
        expected = source(x)
    assert max_abs_diff(ours_logits(build_ours(checkpoint), bgr(x)), expected) <= TOLERANCE


def test_rgb_sources_get_their_stem_reversed_and_say_so(tmp_path):
    """torchvision/timm trained on RGB: the stem conv is theirs with its input channels
    reversed, nothing else changes, and the checkpoint's meta records both orders."""
    from torchvision.models import regnet_x_400mf
    source = randomize_(regnet_x_400mf())
    conversion, checkpoint = _convert_and_load(tmp_path, source.state_dict(), 'torchvision')
    stem = checkpoint['state_dict']['backbone.stem.conv.weight']
    assert torch.equal(stem, source.stem[0].weight.detach()[:, [2, 1, 0]])
    assert torch.equal(checkpoint['state_dict']['backbone.stem.bn.weight'],
                       source.stem[1].weight.detach())
    meta = checkpoint['meta']['regnet_plugin']
    assert meta['input_channels'] == 'bgr'
    assert meta['converted_from']['input_channels'] == 'rgb'
    assert conversion.flipped_to_bgr and 'stem input channels reversed' in \
        conversion.summary()


def _mmpretrain_regnet_classifier(arch: str, num_classes: int):
    from mmpretrain.registry import MODELS
    from mmpretrain.models.backbones import RegNet
    widths = RegNet(arch).stage_widths        # its own arch -> widths computation
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='mmpretrain.RegNet', arch=arch),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=widths[-1])))


def test_mmpretrain_regnet_classifier(tmp_path):
    source = randomize_(_mmpretrain_regnet_classifier('regnetx_400mf', 5))
    conversion, checkpoint = _convert_and_load(tmp_path, source.state_dict(), 'mmpretrain')
    assert conversion.architecture.preset == 'regnetx_400mf'
    x = random_input()
    with torch.no_grad():
        expected = source(x.clone(), mode='tensor')
    assert max_abs_diff(ours_logits(build_ours(checkpoint), x), expected) <= TOLERANCE


def test_mmdet_backbone_and_detector_keys(tmp_path):
    """A detector checkpoint: the backbone is renamed, neck/head keys are kept verbatim.

    Compares the four stage outputs of MMDetection's RegNet with ours.
    """
    import regnet_plugin  # noqa: F401
    from mmdet.registry import MODELS as MMDET_MODELS
    source = randomize_(MMDET_MODELS.build(dict(type='mmdet.RegNet', arch='regnetx_3.2gf',
                                                out_indices=(0, 1, 2, 3))))
    neck = {'neck.lateral_convs.0.conv.weight': torch.randn(4, 96, 1, 1),
            'rpn_head.rpn_cls.bias': torch.randn(3)}
    detector = {f'backbone.{k}': v for k, v in source.state_dict().items()} | neck
    conversion, checkpoint = _convert_and_load(tmp_path, detector, 'mmdet')
    assert conversion.architecture.preset == 'regnetx_3.2gf'
    assert conversion.num_classes is None
    assert sorted(conversion.kept_verbatim) == sorted(neck)
    for key, value in neck.items():
        assert torch.equal(checkpoint['state_dict'][key], value)
    backbone = MMDET_MODELS.build(dict(checkpoint['meta']['regnet_plugin']['backbone'],
                                       out_indices=(0, 1, 2, 3)))
    backbone.load_state_dict({k[len('backbone.'):]: v
                              for k, v in checkpoint['state_dict'].items()
                              if k.startswith('backbone.')}, strict=True)
    backbone.eval()
    x = random_input()
    with torch.no_grad():
        expected, got = source(x.clone()), backbone(x.clone())
    assert len(expected) == len(got) == 4
    for e, g in zip(expected, got):
        assert max_abs_diff(g, e) <= TOLERANCE


def test_bare_mmdet_backbone_without_prefix_converts():
    """MMDetection's ImageNet-pretrained files are bare backbones (no 'backbone.')."""
    import regnet_plugin  # noqa: F401
    from mmdet.registry import MODELS as MMDET_MODELS
    source = MMDET_MODELS.build(dict(type='mmdet.RegNet', arch='regnetx_400mf'))
    conversion = to_ours(source.state_dict(), 'mmdet')
    assert conversion.architecture.preset == 'regnetx_400mf'
    assert all(k.startswith('backbone.') for k in conversion.state_dict)
