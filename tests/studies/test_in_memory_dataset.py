"""InMemoryDataset against MMPretrain's own CustomDataset loading the PNGs each time:
the same items and the same random crops, batch after batch, through the Runner's
own dataloader builder; decoded once per process; refreshed when a file changes."""
import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from regnet_plugin.studies.demo_data import write_digits_tree

CROP = dict(type='RandomCrop', crop_size=32, padding=2)


@pytest.fixture(scope='module')
def digits(tmp_path_factory) -> Path:
    return write_digits_tree(tmp_path_factory.mktemp('digits') / 'd', size=32)


def from_files(root: Path, prefix: str, pipeline: list) -> dict:
    return dict(type='CustomDataset', data_root=str(root), data_prefix=prefix,
                pipeline=[dict(type='LoadImageFromFile')] + pipeline)


def in_memory(root: Path, prefix: str, pipeline: list, **kwargs) -> dict:
    return dict(type='InMemoryDataset', pipeline=pipeline, **kwargs,
                dataset=dict(type='CustomDataset', data_root=str(root), data_prefix=prefix,
                             pipeline=[dict(type='LoadImageFromFile')]))


def batches(dataset_cfg: dict, seed: int, batch_size: int = 64, limit: int = 6) -> list:
    """What the Runner's train dataloader yields (its own builder, sampler, collate)."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(
            dict(batch_size=batch_size, num_workers=0, dataset=copy.deepcopy(dataset_cfg),
                 sampler=dict(type='DefaultSampler', shuffle=True)), seed=seed)
        np.random.seed(seed)             # RandomCrop draws from numpy's global state
        out = []
        for i, batch in enumerate(loader):
            if i == limit:
                break
            out.append((torch.stack(batch['inputs']),
                        [s.gt_label.tolist() for s in batch['data_samples']],
                        [s.img_path for s in batch['data_samples']]))
        return out


def test_same_batches_as_decoding_the_pngs_every_time(digits):
    import regnet_plugin  # noqa: F401
    pipeline = [CROP, dict(type='PackInputs')]
    files = batches(from_files(digits, 'train', pipeline), seed=3)
    memory = batches(in_memory(digits, 'train', pipeline), seed=3)
    assert len(files) == len(memory) == 6
    for (x0, y0, p0), (x1, y1, p1) in zip(files, memory):
        assert p0 == p1 and y0 == y1
        assert x0.dtype == x1.dtype == torch.uint8
        assert torch.equal(x0, x1)
    # and the crops are random (the check above is not trivially true)
    assert not torch.equal(files[0][0], batches(from_files(digits, 'train', pipeline),
                                                seed=4)[0][0])


def test_metainfo_subset_and_test_mode(digits):
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        source = DATASETS.build(from_files(digits, 'val', [dict(type='PackInputs')]))
        dataset = DATASETS.build(in_memory(digits, 'val', [dict(type='PackInputs')],
                                           indices=50, test_mode=True))
    assert len(dataset) == 50
    assert dataset.metainfo['classes'] == source.metainfo['classes']
    for i in (0, 17, 49):
        assert torch.equal(dataset[i]['inputs'], source[i]['inputs'])
        assert dataset[i]['data_samples'].gt_label == source[i]['data_samples'].gt_label


def test_decoded_once_per_process_and_again_when_a_file_changes(digits, monkeypatch):
    import mmcv
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401
    from regnet_plugin import in_memory_dataset
    calls = []
    decode = mmcv.imfrombytes

    def counting(*args, **kwargs):
        calls.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(mmcv, 'imfrombytes', counting)
    monkeypatch.setattr(in_memory_dataset, '_CACHE', {})
    cfg = in_memory(digits, 'val', [dict(type='PackInputs')])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        first = DATASETS.build(cfg)
        n = len(first)
        assert len(calls) == n
        second = DATASETS.build(cfg)                 # same files: no decoding at all
        assert len(calls) == n
        assert torch.equal(second[5]['inputs'], first[5]['inputs'])
        path = Path(first.get_data_info(5)['img_path'])
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10 ** 9))
        DATASETS.build(cfg)                          # a file changed: decoded again
        assert len(calls) == 2 * n
        DATASETS.build(dict(cfg, cache=False))       # no cache: decoded every time
        assert len(calls) == 3 * n


def test_bad_source_is_a_clear_error():
    from regnet_plugin.in_memory_dataset import InMemoryDataset
    with pytest.raises(TypeError, match='dataset must be a dataset config dict'):
        InMemoryDataset(dataset=[1, 2])
    with pytest.raises(TypeError, match='cache must be'):
        InMemoryDataset(dataset=dict(type='CustomDataset'), cache=1, lazy_init=True)


@pytest.mark.parametrize('pipeline', [
    [CROP, dict(type='PackInputs')],
    [dict(type='RandomCrop', crop_size=28), dict(type='PackInputs')],
    [dict(type='PackInputs')],
])
def test_fused_crop_and_pack_is_the_transforms_own_output(digits, pipeline):
    """fuse=True (the default) gives what RandomCrop and PackInputs give one by one:
    the same tensors, labels and metainfo, and the same numpy random draws."""
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        fused = DATASETS.build(in_memory(digits, 'val', pipeline, indices=80))
        plain = DATASETS.build(in_memory(digits, 'val', pipeline, indices=80, fuse=False))
    order = np.random.default_rng(0).integers(0, 80, 200)     # repeats: two "epochs"
    outputs, states = [], []
    for dataset in (fused, plain):
        np.random.seed(5)
        outputs.append([dataset[int(i)] for i in order])
        states.append(np.random.get_state()[1].copy())
    assert fused._fused and plain._fused is None
    assert np.array_equal(*states)
    for a, b in zip(*outputs):
        assert a['inputs'].dtype == b['inputs'].dtype and torch.equal(a['inputs'], b['inputs'])
        assert torch.equal(a['data_samples'].gt_label, b['data_samples'].gt_label)
        assert a['data_samples'].metainfo == b['data_samples'].metainfo
    if pipeline[0]['type'] == 'RandomCrop':  # the crops are random, so the check has teeth
        assert len({tuple(o['inputs'].flatten()[:400].tolist())
                     for o, i in zip(outputs[0], order) if i == order[0]}) > 1


def test_other_pipelines_run_their_transforms(digits):
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401
    pipeline = [dict(type='RandomFlip', prob=0.5), dict(type='PackInputs')]
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(in_memory(digits, 'val', pipeline, indices=4))
    dataset[0]
    assert dataset._fused is False
    with pytest.raises(TypeError, match='fuse'):
        DATASETS.build(in_memory(digits, 'val', pipeline, fuse='yes'))


def test_a_warm_worker_loads_each_study_dataset_once(digits, tmp_path, monkeypatch):
    """train_one.warm_up (the forking worker) preloads a config's datasets once; later
    models with the same datasets skip it (each model process checks its data
    against the files itself), another data config is loaded."""
    from mmengine.config import Config

    from regnet_plugin import in_memory_dataset
    from regnet_plugin.studies import train_one
    calls = []
    monkeypatch.setattr(in_memory_dataset, 'preload', lambda cfg: calls.append(cfg))
    monkeypatch.setattr(train_one, '_WARM_DATASETS', set())

    def config(prefix: str) -> Config:
        return Config(dict(default_scope='mmpretrain', train_dataloader=dict(
            dataset=in_memory(digits, prefix, [dict(type='PackInputs')]))))
    for cfg in (config('train'), config('train'), config('val'), config('train')):
        train_one.warm_up(cfg)
    assert len(calls) == 2
