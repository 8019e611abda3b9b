"""Evaluate a checkpoint on ImageNet val through the toolbox's own test loop.

The config is the one a user would write for MMPretrain: the row's classifier
(:func:`regnet_plugin.compare.zoo.classifier_config`), MMPretrain's ImageNet val
pipeline (resize the short edge to 256/224 of the crop, center crop to the row's
resolution; EfficientNet uses MMPretrain's ``EfficientNetCenterCrop`` as its configs
do), ``Accuracy(topk=(1, 5))``, and ``load_from`` the checkpoint. ``Runner.test()``
then writes its usual logs into ``work_dir``, which :mod:`.results` can read back.

``data_root`` must hold ``val/`` (class sub-folders, or flat images with
``meta/val.txt`` listing ``<file> <label>`` lines, MMPretrain's ImageNet layout).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .results import TOP1_KEY, ErrorResult
from .zoo import ModelEntry, build_classifier

if TYPE_CHECKING:
    from mmengine.runner import Runner

IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]

#: What each family's checkpoints were trained on, as MMPretrain's own configs say:
#: RegNets (pycls, MMPretrain's and ours, configs/regnet) take BGR images normalised
#: with the same statistics in BGR order; ResNe(X)t and EfficientNet take RGB.
PREPROCESSING = {
    'rgb': dict(mean=IMAGENET_MEAN, std=IMAGENET_STD, to_rgb=True),
    'bgr': dict(mean=IMAGENET_MEAN[::-1], std=IMAGENET_STD[::-1], to_rgb=False),
}
BGR_FAMILIES = ('regnetx', 'regnety')


def data_preprocessor(entry: ModelEntry) -> dict[str, Any]:
    """The row's ``ClsDataPreprocessor``: its family's channel order and statistics."""
    order = 'bgr' if entry.family in BGR_FAMILIES else 'rgb'
    return dict(type='ClsDataPreprocessor', num_classes=1000, **PREPROCESSING[order])


def imagenet_val_pipeline(entry: ModelEntry) -> list[dict[str, Any]]:
    crop = entry.resolution
    if entry.family == 'efficientnet':
        resize = [dict(type='EfficientNetCenterCrop', crop_size=crop)]
    else:
        resize = [dict(type='ResizeEdge', scale=round(crop * 256 / 224), edge='short'),
                  dict(type='CenterCrop', crop_size=crop)]
    return [dict(type='LoadImageFromFile'), *resize, dict(type='PackInputs')]


def evaluation_config(entry: ModelEntry, checkpoint: str | Path, data_root: str | Path,
                      work_dir: str | Path, batch_size: int = 32,
                      num_workers: int = 2) -> dict[str, Any]:
    """An MMEngine Runner config that tests ``checkpoint`` as ``entry`` on ImageNet val."""
    data_root = Path(data_root)
    if not (data_root / 'val').is_dir():
        raise FileNotFoundError(f'{data_root} has no val/ folder (expected the ImageNet '
                                f'layout: val/ and optionally meta/val.txt)')
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'no such checkpoint: {checkpoint}')
    ann_file = 'meta/val.txt' if (data_root / 'meta' / 'val.txt').is_file() else ''
    _, model_cfg = build_classifier(entry)          # resolves the head's in_channels
    model_cfg['data_preprocessor'] = data_preprocessor(entry)
    return dict(
        default_scope='mmpretrain',
        custom_imports=dict(imports=['regnet_plugin'], allow_failed_imports=False),
        model=model_cfg,
        work_dir=str(work_dir),
        load_from=str(checkpoint),
        test_dataloader=dict(
            batch_size=batch_size, num_workers=num_workers,
            persistent_workers=False,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='ImageNet', data_root=str(data_root), data_prefix='val',
                         ann_file=ann_file, pipeline=imagenet_val_pipeline(entry))),
        test_evaluator=dict(type='Accuracy', topk=(1, 5)),
        test_cfg=dict(),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=50)),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl')),
        launcher='none',
    )


def evaluation_runner(entry: ModelEntry, checkpoint: str | Path, data_root: str | Path,
                      work_dir: str | Path, batch_size: int = 32,
                      num_workers: int = 2) -> Runner:
    """The ``Runner`` that tests ``checkpoint`` as ``entry``, after checking that the
    checkpoint fits the row's model (it loads the weights when its test loop starts, or
    on ``load_or_resume()``)."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from ..launch import check_checkpoint_fits, read_checkpoint

    cfg = Config(evaluation_config(entry, checkpoint, data_root, work_dir, batch_size,
                                   num_workers))
    state_dict = read_checkpoint(str(checkpoint))
    runner = Runner.from_cfg(cfg)
    # mmengine loads non-strictly: a checkpoint of another model would score at chance
    check_checkpoint_fits(runner.model, state_dict, str(checkpoint))
    return runner


def evaluate_checkpoint(entry: ModelEntry, checkpoint: str | Path, data_root: str | Path,
                        work_dir: str | Path, batch_size: int = 32,
                        num_workers: int = 2) -> ErrorResult:
    """Run ``Runner.test()`` and return the top-1 error it measured."""
    metrics = evaluation_runner(entry, checkpoint, data_root, work_dir, batch_size,
                                num_workers).test()
    if TOP1_KEY not in metrics:
        raise RuntimeError(f'Runner.test() returned no {TOP1_KEY}: {sorted(metrics)}')
    return ErrorResult(100.0 - float(metrics[TOP1_KEY]), f'Runner.test() of {checkpoint}')
