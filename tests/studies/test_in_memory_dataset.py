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


def same_item(a: dict, b: dict) -> bool:
    """The same packed item: input tensor (values, dtype, layout), label, metainfo."""
    x, y = a['inputs'], b['inputs']
    sa, sb = a['data_samples'], b['data_samples']
    return (x.dtype == y.dtype and x.shape == y.shape and x.is_contiguous()
            and y.is_contiguous() and torch.equal(x, y)
            and type(sa) is type(sb) and sa.all_keys() == sb.all_keys()
            and sa.gt_label.dtype == sb.gt_label.dtype and torch.equal(sa.gt_label, sb.gt_label)
            and sa.metainfo == sb.metainfo
            and {k: type(v) for k, v in sa.metainfo.items()}
            == {k: type(v) for k, v in sb.metainfo.items()})


@pytest.mark.parametrize('pipeline,color', [
    ([CROP, dict(type='PackInputs')], 'color'),
    ([dict(type='RandomCrop', crop_size=28), dict(type='PackInputs')], 'color'),
    ([dict(type='RandomCrop', crop_size=(30, 27), padding=(1, 0, 2, 3), pad_val=7),
      dict(type='PackInputs')], 'color'),
    ([dict(type='RandomCrop', crop_size=30, padding=1), dict(type='PackInputs')],
     'grayscale'),
    ([dict(type='PackInputs')], 'color'),
])
def test_fused_crop_and_pack_is_the_transforms_own_output(digits, pipeline, color):
    """fuse=True (the default) gives what RandomCrop and PackInputs give one by one,
    item by item (``dataset[i]``) and a batch at a time (``__getitems__``, what the
    DataLoader calls): the same tensors, labels and metainfo, and the same numpy
    random draws in the same order."""
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401

    def build(**kwargs):
        cfg = in_memory(digits, 'val', pipeline, indices=80, **kwargs)
        cfg['dataset']['pipeline'] = [dict(type='LoadImageFromFile', color_type=color)]
        return DATASETS.build(cfg)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        fused, batched, plain = build(), build(), build(fuse=False)
    order = np.random.default_rng(0).integers(0, 80, 200).tolist()   # repeats: 2 "epochs"
    outputs, states = [], []
    for dataset in (fused, batched, plain):
        np.random.seed(5)
        if dataset is batched:
            outputs.append([item for start in range(0, len(order), 64)
                            for item in dataset.__getitems__(order[start:start + 64])])
        else:
            outputs.append([dataset[i] for i in order])
        states.append(np.random.get_state()[1].copy())
    assert fused._fused and plain._fused is None
    assert batched._fused._stack            # served by the stacked, batched path
    assert np.array_equal(states[0], states[2]) and np.array_equal(states[1], states[2])
    assert all(same_item(a, b) and same_item(c, b) for a, c, b in zip(*outputs))
    if color == 'grayscale':
        assert outputs[1][0]['inputs'].shape[0] == 1
    if pipeline[0]['type'] == 'RandomCrop':  # the crops are random, so the check has teeth
        assert len({tuple(o['inputs'].flatten()[:400].tolist())
                     for o, i in zip(outputs[1], order) if i == order[0]}) > 1
    # each access gets its own sample: changing one changes no later one
    first = outputs[1][0]['data_samples']
    first.gt_label += 1
    first.set_metainfo(dict(img_shape=(1, 1)))
    again = batched.__getitems__([order[0]])[0]['data_samples']
    reference = plain[order[0]]['data_samples']
    assert torch.equal(again.gt_label, reference.gt_label)
    assert again.metainfo == reference.metainfo


def test_batched_fetch_of_images_of_several_shapes(tmp_path):
    """Images of different shapes are not stacked: the batch is served item by item,
    still the transforms' own output."""
    from mmengine.registry import DATASETS, DefaultScope
    from PIL import Image
    import regnet_plugin  # noqa: F401
    rng = np.random.default_rng(0)
    for i, size in enumerate([(20, 20), (24, 18), (20, 20), (30, 26), (20, 20)]):
        (tmp_path / 'x' / str(i % 2)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(
            tmp_path / 'x' / str(i % 2) / f'{i}.png')
    for pipeline in ([dict(type='RandomCrop', crop_size=16, padding=1),
                      dict(type='PackInputs')], [dict(type='PackInputs')]):
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            batched = DATASETS.build(in_memory(tmp_path, 'x', pipeline))
            plain = DATASETS.build(in_memory(tmp_path, 'x', pipeline, fuse=False))
        order = [4, 1, 1, 0, 3, 2, 4]
        np.random.seed(2)
        got = batched.__getitems__(order)
        state = np.random.get_state()[1].copy()
        np.random.seed(2)
        expected = [plain[i] for i in order]
        assert batched._fused._stack is False
        assert np.array_equal(state, np.random.get_state()[1])
        assert all(same_item(a, b) for a, b in zip(got, expected))


def preprocessed(cfg, loader_cfg: dict, seed: int, limit: int = 6) -> tuple[list, bytes]:
    """What the model sees: the Runner's train dataloader, then the config's
    ClsDataPreprocessor (training mode); and numpy's random state afterwards."""
    from mmengine.registry import MODELS, DefaultScope
    from mmengine.runner import Runner
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = Runner.build_dataloader(copy.deepcopy(loader_cfg), seed=seed)
        preprocessor = MODELS.build(dict(type='ClsDataPreprocessor',
                                         **cfg.data_preprocessor))
        np.random.seed(seed)
        out = []
        for i, data in enumerate(loader):
            if i == limit:
                break
            result = preprocessor(data, True)
            out.append((result['inputs'], result['data_samples']))
        return out, np.random.get_state()[1].tobytes()


@pytest.mark.parametrize('config', ['demo_digits.py', 'demo_digits_refinement.py'])
def test_demo_data_path_is_bit_identical_to_decoding_pngs_item_by_item(config, digits,
                                                                       tmp_path):
    """The demo configs' data path as configured (InMemoryDataset's batched fetch,
    default_collate) gives the model the very tensors (after ClsDataPreprocessor)
    and labels that CustomDataset decoding the PNGs, the transforms one by one and
    the Runner's default pseudo_collate give, and draws the same random numbers."""
    from mmengine.config import Config
    import regnet_plugin  # noqa: F401
    cfg = Config.fromfile(str(Path(__file__).parents[2] / 'configs' / 'studies' / config))
    size = cfg.study['data_preparation']['size']
    root = digits if size == 32 else write_digits_tree(tmp_path / 'd', size=size)
    new = cfg.train_dataloader.to_dict()
    new['dataset']['dataset']['data_root'] = str(root)
    assert new['collate_fn'] == dict(type='default_collate')
    source = new['dataset']['dataset']
    old = dict(new, collate_fn=dict(type='pseudo_collate'), dataset=dict(
        source, pipeline=source['pipeline'] + new['dataset']['pipeline']))
    got, state = preprocessed(cfg, new, seed=7)
    expected, expected_state = preprocessed(cfg, old, seed=7)
    assert state == expected_state and len(got) == len(expected) == 6
    for (x, samples), (y, reference) in zip(got, expected):
        assert x.dtype == y.dtype == torch.float32 and x.shape == y.shape
        assert x.shape[0] == 64 and torch.equal(x, y)
        assert [s.gt_label.tolist() for s in samples] == \
            [s.gt_label.tolist() for s in reference]
        assert [s.metainfo for s in samples] == [s.metainfo for s in reference]


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


def test_preload_readies_the_batched_path_for_later_builds(digits, monkeypatch):
    """preload (the warm worker, before its forks) decodes, pads and stacks the
    images and builds every item's DataSample once; a dataset built later from the
    same config reuses them and still gives the transforms' own output."""
    import mmcv
    from mmengine.registry import DATASETS, DefaultScope
    import regnet_plugin  # noqa: F401
    from regnet_plugin import in_memory_dataset
    monkeypatch.setattr(in_memory_dataset, '_CACHE', {})
    monkeypatch.setattr(in_memory_dataset, '_STACKS', {})
    pipeline = [CROP, dict(type='PackInputs')]
    cfg = dict(default_scope='mmpretrain',
               train_dataloader=dict(dataset=in_memory(digits, 'val', pipeline)))
    assert in_memory_dataset.preload(cfg) == 1
    (stacked, _, samples), = in_memory_dataset._STACKS.values()
    assert all(sample is not None for sample in samples)
    pads = []
    monkeypatch.setattr(mmcv, 'impad', lambda *a, **k: pads.append(1))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        later = DATASETS.build(in_memory(digits, 'val', pipeline))
        plain = DATASETS.build(in_memory(digits, 'val', pipeline, fuse=False))
    np.random.seed(1)
    got = later.__getitems__(list(range(40, 0, -3)))
    assert later._fused._stack.padded is stacked and not pads     # reused, not redone
    assert later._fused._items is None                         # nor the items read
    monkeypatch.undo()
    np.random.seed(1)
    assert all(same_item(a, plain[i]) for a, i in zip(got, range(40, 0, -3)))
