"""Mask R-CNN with a RegNetY backbone, end to end on the CPU through MMDetection's
Runner: train a few iterations on a generated COCO-format set, then evaluate with the
real COCO metric (pycocotools, bbox and segm).

The run starts from our real config file (configs/mask_rcnn/...regnety-4.0gf..._1x) and
overrides only what a CPU test must: a small preset (RegNetY-200MF, FPN channels
recomputed, random init), the dataset paths and classes, 128x128 images, two epochs of two
iterations (4 images, batch 2), lighter RoI sampling, no workers, no checkpoints.
"""
from __future__ import annotations

import math

import pytest
from detection_helpers import CATEGORIES, REPO

from regnet_plugin.detection import backbone_type, fpn_in_channels

CONFIG = REPO / 'configs' / 'mask_rcnn' / 'mask-rcnn_regnety-4.0gf_fpn_1x_coco.py'
ARCH = 'regnety_200mf'
SCALE = (128, 128)
LOSSES = ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask', 'loss')
COCO_KEYS = [f'coco/{kind}_{item}' for kind in ('bbox', 'segm')
             for item in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')]


def _tiny_run_cfg(tiny_coco, work_dir):
    from mmengine.config import Config

    cfg = Config.fromfile(str(CONFIG))
    num_classes = len(CATEGORIES)
    dataset = dict(data_root=str(tiny_coco['root']), ann_file=str(tiny_coco['ann_file']),
                   data_prefix=dict(img=str(tiny_coco['images']) + '/'),
                   metainfo=dict(classes=CATEGORIES))
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=SCALE, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=SCALE, keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape',
                                              'img_shape', 'scale_factor')),
    ]
    loader = dict(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.merge_from_dict({
        'work_dir': str(work_dir),
        'model.backbone.type': backbone_type(ARCH),
        'model.backbone.arch': ARCH,
        'model.neck.in_channels': fpn_in_channels(ARCH),
        'model.backbone.init_cfg': None,      # random init: no ImageNet weights here
        'model.roi_head.bbox_head.num_classes': num_classes,
        'model.roi_head.mask_head.num_classes': num_classes,
        # Fewer proposals and sampled RoIs (COCO: 1000 and 512 per image) for 1-3
        # objects per image: the RoI heads dominate a CPU step otherwise.
        'model.train_cfg.rpn_proposal.max_per_img': 100,
        'model.train_cfg.rcnn.sampler.num': 64,
        'model.test_cfg.rpn.max_per_img': 100,
        'model.test_cfg.rcnn.max_per_img': 20,
        # A few iterations leave the classifier uncalibrated: keep every scored box so
        # that COCO evaluation has detections to score (MMDetection's threshold is 0.05).
        'model.test_cfg.rcnn.score_thr': 0.0,
        'train_dataloader': dict(loader, dataset=dict(dataset, pipeline=train_pipeline)),
        'val_dataloader': dict(loader, dataset=dict(dataset, pipeline=test_pipeline)),
        'val_evaluator.ann_file': str(tiny_coco['ann_file']),
        # no validation inside train(): the test runs runner.val() itself, once
        'train_cfg': dict(type='EpochBasedTrainLoop', max_epochs=2, val_begin=3),
        'default_hooks.checkpoint': None,
        'default_hooks.logger.interval': 1,
        'env_cfg.cudnn_benchmark': False,
        'randomness': dict(seed=0),
    })
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    return cfg


@pytest.fixture(scope='module')
def trained_runner(tiny_coco, tmp_path_factory):
    import regnet_plugin  # noqa: F401
    from mmengine.runner import Runner

    cfg = _tiny_run_cfg(tiny_coco, tmp_path_factory.mktemp('mask_rcnn_e2e'))
    assert cfg.val_evaluator.type == 'CocoMetric'
    assert list(cfg.val_evaluator.metric) == ['bbox', 'segm']
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.mark.slow
def test_training_iterations_have_finite_losses(trained_runner):
    # an MMDetection config's type='RegNetY' builds RegNetY with MMDetection's defaults
    from regnet_plugin.models import DetRegNetY, RegNetY
    assert type(trained_runner.model.backbone) is DetRegNetY
    assert isinstance(trained_runner.model.backbone, RegNetY)
    assert trained_runner.model.backbone.spec.widths == [24, 56, 152, 368]
    assert trained_runner.iter == 4            # 2 epochs x 2 batches of 2 images
    hub = trained_runner.message_hub
    for name in LOSSES:
        values = hub.get_scalar(f'train/{name}').data[0]
        assert len(values) == 4, name
        assert all(math.isfinite(float(v)) for v in values), (name, values)
    assert float(hub.get_scalar('train/loss_mask').current()) > 0


@pytest.mark.slow
def test_coco_metric_reports_bbox_and_segm(trained_runner):
    metrics = trained_runner.val()
    missing = [key for key in COCO_KEYS if key not in metrics]
    assert not missing, f'COCO metric gave no {missing}: {metrics}'
    for key in COCO_KEYS:
        value = metrics[key]
        assert isinstance(value, float), (key, value)
        # pycocotools reports -1 where no ground truth exists (e.g. no large objects)
        assert value == -1.0 or 0.0 <= value <= 1.0, (key, value)
    for key in ('coco/bbox_mAP', 'coco/segm_mAP', 'coco/bbox_mAP_s', 'coco/segm_mAP_s'):
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])


def test_coco_metric_scores_the_ground_truth_as_perfect(tiny_coco):
    """The generated annotations are valid COCO: predicting them back gives AP 1."""
    import numpy as np
    import torch
    from mmdet.evaluation import CocoMetric
    from pycocotools.coco import COCO

    coco = COCO(str(tiny_coco['ann_file']))
    metric = CocoMetric(ann_file=str(tiny_coco['ann_file']), metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=CATEGORIES)
    for image_id in coco.getImgIds():
        info = coco.imgs[image_id]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
        masks = np.stack([coco.annToMask(a) for a in anns]).astype(bool)
        pred = dict(bboxes=torch.tensor(boxes), scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(masks))
        metric.process({}, [dict(img_id=image_id, ori_shape=(info['height'], info['width']),
                                 pred_instances=pred)])
    results = metric.evaluate(size=len(coco.getImgIds()))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)
