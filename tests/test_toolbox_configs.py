"""The toolboxes' own RegNet configs with one word changed: each of MMDetection 3.3's
26 ``mmdet::regnet/*.py`` and MMPretrain 1.2's 8 ``mmpretrain::regnet/*.py``, with
only ``model.backbone.type`` set to ours, builds the same model as with their
``RegNet`` (same parameter shapes and count, same FPN/head channels), and with their
weights, converted by ``tools/convert_weights.py`` or loaded as they are, computes
the same outputs.

The references are the toolboxes themselves: their config files as installed, their
``RegNet`` built from the unchanged config. Models are built on the meta device (no
memory, no init) except where outputs are compared.
"""
from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch
from model_helpers import randomize_state_

REPO = Path(__file__).resolve().parents[1]


def _config_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    return Path(spec.submodule_search_locations[0]) / '.mim' / 'configs' / 'regnet'


MMDET_CONFIGS = sorted(_config_dir('mmdet').glob('*.py'))
MMPRETRAIN_CONFIGS = sorted(_config_dir('mmpretrain').glob('*.py'))
CONFIGS = [('mmdet', p) for p in MMDET_CONFIGS] + [('mmpretrain', p)
                                                   for p in MMPRETRAIN_CONFIGS]
#: One full detector per detection family (the rest: backbones only).
FULL_DETECTORS = ('cascade-mask-rcnn_regnetx-400MF_fpn_ms-3x_coco',
                  'faster-rcnn_regnetx-400MF_fpn_ms-3x_coco',
                  'mask-rcnn_regnetx-3.2GF-mdconv-c3-c5_fpn_1x_coco',
                  'retinanet_regnetx-800MF_fpn_1x_coco')


pytestmark = pytest.mark.usefixtures('one_thread')   # tests/conftest.py


def test_all_their_regnet_configs_are_here():
    assert len(MMDET_CONFIGS) == 26 and len(MMPRETRAIN_CONFIGS) == 8
    assert any(p.stem == 'mask-rcnn_regnetx-3.2GF-mdconv-c3-c5_fpn_1x_coco'
               for p in MMDET_CONFIGS)


def _load(path: Path):
    from mmengine.config import Config
    return Config.fromfile(str(path))


def _swapped(model_cfg):
    """Their model config with the one change a user makes: the backbone type."""
    cfg = copy.deepcopy(model_cfg)
    assert cfg['backbone']['type'] == 'RegNet'
    cfg['backbone']['type'] = 'RegNetX'
    return cfg


def _registry(toolbox: str):
    import regnet_plugin  # noqa: F401
    if toolbox == 'mmdet':
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules
    else:
        from mmpretrain.registry import MODELS
        from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return MODELS


def _build(toolbox: str, cfg, device: str = 'meta'):
    from mmengine.registry import DefaultScope
    registry = _registry(toolbox)
    with DefaultScope.overwrite_default_scope(toolbox), torch.device(device):
        return registry.build(copy.deepcopy(cfg))


def _shapes(module: torch.nn.Module) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for p in module.parameters())


@pytest.mark.parametrize('toolbox,path', CONFIGS, ids=lambda x: getattr(x, 'stem', x))
def test_swapping_the_type_builds_the_same_backbone(toolbox, path):
    cfg = _load(path)
    theirs = _build(toolbox, cfg.model.backbone)
    ours = _build(toolbox, _swapped(cfg.model)['backbone'])
    assert type(ours).__name__ == ('DetRegNetX' if toolbox == 'mmdet' else 'RegNetX')
    assert _shapes(ours) == _shapes(theirs)
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())
    assert ours.out_indices == tuple(theirs.out_indices)
    assert (ours.frozen_stages, ours.norm_eval) == (theirs.frozen_stages, theirs.norm_eval)
    if toolbox == 'mmdet':   # the FPN their config types by hand gets our features
        assert list(ours.out_channels) == list(cfg.model.neck.in_channels)
    else:
        assert ours.out_channels[-1] == cfg.model.head.in_channels


@pytest.mark.parametrize('name', FULL_DETECTORS)
def test_swapping_the_type_builds_the_same_detector(name):
    cfg = _load(next(p for p in MMDET_CONFIGS if p.stem == name))
    theirs = _build('mmdet', cfg.model)
    ours = _build('mmdet', _swapped(cfg.model))
    assert type(ours) is type(theirs)
    assert type(ours.backbone).__name__ == 'DetRegNetX'
    assert _shapes(ours) == _shapes(theirs)
    assert sum(p.numel() for p in ours.parameters()) == \
        sum(p.numel() for p in theirs.parameters())


@pytest.mark.parametrize('path', MMPRETRAIN_CONFIGS, ids=lambda p: p.stem)
def test_swapping_the_type_builds_the_same_classifier(path):
    cfg = _load(path)
    theirs = _build('mmpretrain', cfg.model)
    ours = _build('mmpretrain', _swapped(cfg.model))
    assert _shapes(ours) == _shapes(theirs)


# -- outputs with their weights ---------------------------------------------------
def _randomize_(model: torch.nn.Module) -> torch.nn.Module:
    return randomize_state_(model, scale=0.2, offset_scale=0.05)


def _convert(tmp_path: Path, model: torch.nn.Module, src: str) -> Path:
    spec = importlib.util.spec_from_file_location('convert_weights',
                                                  REPO / 'tools' / 'convert_weights.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    source, converted = tmp_path / f'{src}.pth', tmp_path / 'ours.pth'
    torch.save({'state_dict': model.state_dict()}, source)
    assert module.main(['--src', src, str(source), str(converted)]) == 0
    return converted


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    from mmengine.runner import load_checkpoint
    checkpoint = load_checkpoint(model, str(path), map_location='cpu', strict=True)
    assert checkpoint


def _max_diff(a, b) -> float:
    if isinstance(a, torch.Tensor):
        assert a.shape == b.shape
        return (a - b).abs().max().item()
    assert len(a) == len(b)
    return max(_max_diff(x, y) for x, y in zip(a, b))


@pytest.mark.slow
def test_mmpretrain_classifier_with_converted_weights_gives_their_logits(tmp_path):
    cfg = _load(next(p for p in MMPRETRAIN_CONFIGS if p.stem.startswith('regnetx-400mf')))
    theirs = _randomize_(_build('mmpretrain', cfg.model, 'cpu')).eval()
    ours = _build('mmpretrain', _swapped(cfg.model), 'cpu').eval()
    _load_weights(ours, _convert(tmp_path, theirs, 'mmpretrain'))
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert _max_diff(ours(x, mode='tensor'), theirs(x, mode='tensor')) <= 1e-4


@pytest.mark.slow
def test_mmdet_retinanet_with_converted_weights_gives_their_outputs(tmp_path):
    """Backbone, FPN and RetinaNet head outputs (scores and boxes at every level)."""
    cfg = _load(next(p for p in MMDET_CONFIGS
                     if p.stem == 'retinanet_regnetx-800MF_fpn_1x_coco'))
    theirs = _randomize_(_build('mmdet', cfg.model, 'cpu')).eval()
    ours = _build('mmdet', _swapped(cfg.model), 'cpu').eval()
    _load_weights(ours, _convert(tmp_path, theirs, 'mmdet'))
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        assert _max_diff(ours._forward(x), theirs._forward(x)) <= 1e-4


@pytest.mark.slow
def test_mmdet_dcn_mask_rcnn_loads_their_checkpoint_as_is(tmp_path):
    """The mdconv config (DCNv2 in stages 2-4): their whole detector checkpoint loads
    into the swapped detector unconverted (``load_from``), features and RPN agree."""
    cfg = _load(next(p for p in MMDET_CONFIGS
                     if p.stem == 'mask-rcnn_regnetx-3.2GF-mdconv-c3-c5_fpn_1x_coco'))
    theirs = _randomize_(_build('mmdet', cfg.model, 'cpu')).eval()
    ours = _build('mmdet', _swapped(cfg.model), 'cpu').eval()
    path = tmp_path / 'their_detector.pth'
    torch.save({'state_dict': theirs.state_dict()}, path)
    _load_weights(ours, path)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        feats_ours, feats_theirs = ours.extract_feat(x), theirs.extract_feat(x)
        assert _max_diff(feats_ours, feats_theirs) <= 1e-4
        assert _max_diff(ours.rpn_head(feats_ours), theirs.rpn_head(feats_theirs)) <= 1e-4
