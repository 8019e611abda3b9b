"""ImageNet initialisation of a detector's backbone from a converted checkpoint.

The README's recipe, end to end: a timm RegNetY-4.0GF classifier (random weights:
no model hub here) -> ``tools/convert_weights.py --src timm`` -> our MMPretrain-style
checkpoint (``backbone.*`` and ``head.fc.*``) -> a detection config's backbone
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` ->
``init_weights()``. The detector's backbone must then hold exactly the checkpoint's
tensors and compute timm's own features.
"""
from __future__ import annotations

import importlib.util

import pytest
import torch
from detection_helpers import REPO

CONFIG = REPO / 'configs' / 'mask_rcnn' / 'mask-rcnn_regnety-4.0gf_fpn_1x_coco.py'


def _convert_weights_cli():
    spec = importlib.util.spec_from_file_location(
        'convert_weights', REPO / 'tools' / 'convert_weights.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _randomize_batchnorm_(model: torch.nn.Module) -> None:
    """Fresh BNs are identities; random statistics make a mixed-up BN visible."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)


@pytest.fixture(scope='module')
def timm_classifier_and_checkpoint(tmp_path_factory):
    timm = pytest.importorskip('timm')
    folder = tmp_path_factory.mktemp('pretrained')
    classifier = timm.create_model('regnety_040', pretrained=False).eval()
    _randomize_batchnorm_(classifier)
    source = folder / 'regnety_040_timm.pth'
    torch.save(classifier.state_dict(), source)
    converted = folder / 'regnety_4.0gf_ours.pth'
    rc = _convert_weights_cli()(['--src', 'timm', '--arch', 'regnety_4.0gf',
                                 str(source), str(converted)])
    assert rc == 0
    return classifier, converted


def test_detector_backbone_is_initialised_from_the_converted_checkpoint(
        timm_classifier_and_checkpoint):
    import regnet_plugin  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    classifier, converted = timm_classifier_and_checkpoint
    checkpoint = torch.load(converted, map_location='cpu')
    expected = {key[len('backbone.'):]: value
                for key, value in checkpoint['state_dict'].items()
                if key.startswith('backbone.')}
    assert any(key.startswith('head.fc.') for key in checkpoint['state_dict'])

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(CONFIG))
    # the config's own init_cfg (Pretrained, prefix='backbone.'), pointed at our file
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(converted)})
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', prefix='backbone.',
                                               checkpoint=str(converted))
    detector = MODELS.build(cfg.model)
    before = {k: v.clone() for k, v in detector.backbone.state_dict().items()}
    detector.init_weights()
    loaded = detector.backbone.state_dict()

    assert set(loaded) == set(expected)
    mismatched = [k for k in expected if not torch.equal(loaded[k], expected[k])]
    assert not mismatched, mismatched[:5]
    # the load changed something: the random init does not equal the checkpoint
    assert not all(torch.equal(before[k], expected[k]) for k in expected)

    # ... and it computes what the ImageNet classifier computes (last stage, eval mode)
    # on the same picture, each fed as it expects: the detector gets the image as
    # MMDetection loads it (BGR, uint8) through its own data preprocessor (pycls
    # statistics, no RGB conversion); timm's classifier gets it in RGB, normalised
    # with the RGB ImageNet statistics it was trained with
    detector.eval()
    image_bgr = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(1))
    rgb_mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    rgb_std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    image_rgb = (image_bgr.flip(0).float() - rgb_mean) / rgb_std
    with torch.no_grad():
        inputs = detector.data_preprocessor({'inputs': [image_bgr]}, False)['inputs']
        ours = detector.backbone(inputs)[-1]
        theirs = classifier.forward_features(image_rgb[None])
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max().item() < 1e-4 * max(1.0, theirs.abs().max().item())
