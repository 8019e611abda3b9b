"""configs/{mask_rcnn,faster_rcnn,retinanet}: every config loads, dumps, builds, and
keeps MMDetection's RegNet recipe with only the backbone swapped.

Independent references: MMDetection's own RegNet configs (their hand-typed FPN
in_channels and every non-backbone setting), and the built backbone's
``out_channels`` for the FPN channels our configs compute at load time.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from regnet_plugin.design import preset_spec
from regnet_plugin.detection import backbone_type, feature_channels, fpn_in_channels

from detection_helpers import REPO

DETECTORS = {'mask_rcnn': ('mask-rcnn', 'MaskRCNN'),
             'faster_rcnn': ('faster-rcnn', 'FasterRCNN'),
             'retinanet': ('retinanet', 'RetinaNet')}
CONFIGS = sorted(path for folder in DETECTORS
                 for path in (REPO / 'configs' / folder).glob('*.py'))
NAME_RE = re.compile(r'(?P<detector>mask-rcnn|faster-rcnn|retinanet)_'
                     r'(?P<family>regnet[xy])-(?P<size>[\d.]+(?:mf|gf))_fpn_'
                     r'(?P<schedule>1x|ms-3x)_coco')
REQUIRED_ARCHS = ('regnetx_3.2gf', 'regnetx_4.0gf', 'regnety_4.0gf')
PYCLS_MEAN_BGR = [0.406 * 255, 0.456 * 255, 0.485 * 255]
PYCLS_STD_BGR = [0.225 * 255, 0.224 * 255, 0.229 * 255]
#: Our config -> MMDetection's config (mmdet/.mim/configs) with the same detector,
#: schedule and backbone.
MMDET_TWINS = {
    'mask-rcnn_regnetx-3.2gf_fpn_1x_coco': 'regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py',
    'mask-rcnn_regnetx-3.2gf_fpn_ms-3x_coco':
        'regnet/mask-rcnn_regnetx-3.2GF_fpn_ms-3x_coco.py',
    'mask-rcnn_regnetx-4.0gf_fpn_1x_coco': 'regnet/mask-rcnn_regnetx-4GF_fpn_1x_coco.py',
    'faster-rcnn_regnetx-3.2gf_fpn_1x_coco':
        'regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py',
    'faster-rcnn_regnetx-3.2gf_fpn_ms-3x_coco':
        'regnet/faster-rcnn_regnetx-3.2GF_fpn_ms-3x_coco.py',
    'faster-rcnn_regnetx-4.0gf_fpn_ms-3x_coco':
        'regnet/faster-rcnn_regnetx-4GF_fpn_ms-3x_coco.py',
    'retinanet_regnetx-3.2gf_fpn_1x_coco': 'regnet/retinanet_regnetx-3.2GF_fpn_1x_coco.py',
}


def _parse_name(path: Path) -> dict[str, str]:
    match = NAME_RE.fullmatch(path.stem)
    assert match, (f'{path.name}: expected <detector>_<regnetx|regnety>-<size>_fpn_'
                   f'<1x|ms-3x>_coco.py')
    return dict(match.groupdict(), arch=f"{match['family']}_{match['size']}")


def _load(path: Path):
    from mmengine.config import Config
    return Config.fromfile(str(path))


@pytest.fixture(scope='module')
def configs():
    return {path: _load(path) for path in CONFIGS}


def test_every_detector_schedule_and_required_backbone_has_a_config():
    found = {(p.parent.name, _parse_name(p)['arch'], _parse_name(p)['schedule'])
             for p in CONFIGS}
    for folder in DETECTORS:
        for arch in REQUIRED_ARCHS:
            for schedule in ('1x', 'ms-3x'):
                assert (folder, arch, schedule) in found, (folder, arch, schedule)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_keeps_mmdetections_regnet_recipe(configs, path):
    cfg, name = configs[path], _parse_name(path)
    assert path.parent.name == name['detector'].replace('-', '_')
    assert cfg.custom_imports == dict(imports=['regnet_plugin'], allow_failed_imports=False)
    assert cfg.default_scope == 'mmdet'
    assert cfg.model.type == DETECTORS[path.parent.name][1]
    backbone = cfg.model.backbone
    assert backbone.type == backbone_type(name['arch'])
    assert backbone.arch == name['arch']
    assert backbone.out_indices == (0, 1, 2, 3)
    assert backbone.frozen_stages == 1 and backbone.norm_eval is True
    # ImageNet init from a converted classifier checkpoint, named after the preset
    assert backbone.init_cfg == dict(type='Pretrained', prefix='backbone.',
                                     checkpoint=f"checkpoints/{name['arch']}_in1k.pth")
    assert cfg.model.neck.in_channels == list(preset_spec(name['arch']).widths)
    preprocessor = cfg.model.data_preprocessor
    assert preprocessor.bgr_to_rgb is False
    assert preprocessor.mean == pytest.approx(PYCLS_MEAN_BGR)
    assert preprocessor.std == pytest.approx(PYCLS_STD_BGR)
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-5
    dataset = cfg.train_dataloader.dataset
    repeat = dataset.times if dataset.type == 'RepeatDataset' else 1
    epochs = cfg.train_cfg.max_epochs * repeat
    resizes = [t for t in cfg.train_pipeline if 'Resize' in t.type]
    if name['schedule'] == '1x':
        assert epochs == 12 and [t.type for t in resizes] == ['Resize']
    else:
        assert epochs == 36
        assert [t.type for t in resizes] in (['RandomResize'], ['RandomChoiceResize'])


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_dumps_and_reloads_unchanged(configs, path, tmp_path):
    """No function or module from the config's import leaks into the cfg."""
    cfg = configs[path]
    assert 'fpn_in_channels' not in cfg and 'preset_spec' not in cfg
    out = tmp_path / path.name
    cfg.dump(str(out))
    assert _load(out).to_dict() == cfg.to_dict()


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_fpn_takes_the_backbones_channels(configs, path):
    import regnet_plugin  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    model = MODELS.build(copy.deepcopy(configs[path].model))  # building edits the cfg
    assert type(model).__name__ == DETECTORS[path.parent.name][1]
    # in an MMDetection config, type='RegNetX' is our RegNetX with MMDetection's defaults
    assert type(model.backbone).__name__ == 'Det' + configs[path].model.backbone.type
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    # frozen stem and stage 1, trainable from stage 2 on
    assert not any(p.requires_grad for p in model.backbone.stem.parameters())
    assert not any(p.requires_grad for p in model.backbone.stage1.parameters())
    assert all(p.requires_grad for p in model.backbone.stage2.parameters())


@pytest.mark.parametrize('ours,theirs', sorted(MMDET_TWINS.items()))
def test_only_the_backbone_differs_from_mmdetections_config(configs, ours, theirs,
                                                          tmp_path):
    """Against MMDetection's own RegNetX config: same everything but the backbone, and
    our computed FPN in_channels equal its hand-typed ones."""
    cfg = configs[next(p for p in CONFIGS if p.stem == ours)].to_dict()
    # loaded the way ours inherit it (mmdet:: adds the same _scope_ entries)
    (tmp_path / 'twin.py').write_text(f"_base_ = 'mmdet::{theirs}'\n")
    twin = _load(tmp_path / 'twin.py').to_dict()
    assert cfg['model']['neck'] == twin['model']['neck']
    ours_backbone, their_backbone = cfg['model'].pop('backbone'), twin['model'].pop('backbone')
    assert ours_backbone['arch'] == their_backbone['arch']
    for key in ('frozen_stages', 'norm_cfg', 'norm_eval'):
        assert ours_backbone[key] == their_backbone[key], key
    # our additions: the plugin import, the preset name and the shared backbone block
    # (configs/_base_/regnet_fpn_backbone.py) the _base_ files put into the model
    assert {k: v for k, v in cfg.pop('regnet_fpn_backbone').items()
            if k not in ('type', 'arch', 'init_cfg')} == \
        {k: v for k, v in ours_backbone.items() if k not in ('type', 'arch', 'init_cfg')}
    for key in ('custom_imports', 'arch'):
        cfg.pop(key)
    assert cfg == twin


@pytest.mark.parametrize('arch', ['regnetx_400mf', 'regnetx_3.2gf', 'regnety_200mf',
                                  'regnety_4.0gf'])
@pytest.mark.parametrize('out_indices,out_stem', [((0, 1, 2, 3), False), ((1, 3), True),
                                                  ((1, 2, -1), False)])
def test_feature_channels_match_the_built_backbone(arch, out_indices, out_stem):
    import torch

    from regnet_plugin.models import RegNetX, RegNetY

    backbone = (RegNetY if arch.startswith('regnety') else RegNetX)(
        arch, out_indices=out_indices, out_stem=out_stem)
    with torch.no_grad():
        features = backbone.eval()(torch.zeros(1, 3, 32, 32))
    channels = tuple(f.shape[1] for f in features)
    assert tuple(feature_channels(arch, out_indices, out_stem)) == channels
    assert backbone.out_channels == channels
    if out_indices == (0, 1, 2, 3):
        assert tuple(fpn_in_channels(arch)) == channels


def test_feature_channels_reject_out_of_range_indices():
    with pytest.raises(ValueError, match=r'out_indices entry .* in \[-4, 3\], got 4'):
        feature_channels('regnetx_400mf', (1, 4))
    with pytest.raises(ValueError, match='unknown RegNet preset'):
        fpn_in_channels('regnetx_3.2GFF')


@pytest.mark.slow
def test_mmdetections_get_flops_tool_reads_our_config(tiny_coco):
    """MMDetection's own tools/analysis_tools/get_flops.py (as installed) on one of our
    configs: it builds the detector and counts a real image of a (tiny) dataset."""
    import importlib.util
    import os
    import subprocess
    import sys

    tool = (Path(importlib.util.find_spec('mmdet').submodule_search_locations[0])
            / '.mim' / 'tools' / 'analysis_tools' / 'get_flops.py')
    config = REPO / 'configs' / 'retinanet' / 'retinanet_regnetx-3.2gf_fpn_1x_coco.py'
    options = [f"val_dataloader.dataset.data_root={tiny_coco['root']}",
               f"val_dataloader.dataset.ann_file={tiny_coco['ann_file']}",
               f"val_dataloader.dataset.data_prefix.img={tiny_coco['images']}/",
               'val_dataloader.dataset.pipeline.1.scale=(128,128)',
               'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]),
        OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, str(tool), str(config), '--num-images', '1',
                             '--cfg-options', *options], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    params = re.search(r'Params: ([\d.]+)M', result.stdout)
    flops = re.search(r'Flops: ([\d.]+)G', result.stdout)
    assert params and flops, result.stdout[-2000:]
    # RetinaNet + RegNetX-3.2GF: 3.85M backbone (frozen ones included) + FPN + head
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import regnet_plugin  # noqa: F401
    with torch.device('meta'), DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(Config.fromfile(str(config)).model)
    assert float(params[1]) == pytest.approx(
        sum(p.numel() for p in model.parameters()) / 1e6, abs=0.001)
    assert float(flops[1]) > 0

