"""InMemoryDataset: any dataset, loaded once into memory, then transformed per item.

A small dataset read from files (the embedded digits demo: 1,797 PNGs of 32x32)
costs more to decode than to train on when every epoch of every model decodes every
image again. This wrapper runs the *loading* part of a pipeline once per item and
keeps the results; the rest of the pipeline (random crops, packing) still runs per
access, exactly as before::

    dataset=dict(
        type='InMemoryDataset',
        dataset=dict(type='CustomDataset', data_root=..., data_prefix='train',
                     pipeline=[dict(type='LoadImageFromFile')]),      # once
        pipeline=[dict(type='RandomCrop', crop_size=32, padding=2),    # per access
                  dict(type='PackInputs')])

Each item is the source pipeline's output for the same index, so the per-access
pipeline sees what it would have seen after ``LoadImageFromFile`` (the same array,
dtype and keys), draws the same random numbers and gives the same batches: a model
trains to bit-identical weights either way. Only deterministic transforms belong in
the source pipeline (a random one would be frozen at its first draw).

The common per-access pipeline ``[RandomCrop(...), PackInputs()]`` (or
``[PackInputs()]``) runs as one step (``fuse=True``): each item's padded image is
kept, and per access only RandomCrop's own offset draw, its own crop and PackInputs
run, without the dataset's per-item unpickling and the transforms' bookkeeping
(about half the time per item on the digits demo). The output and the random draws
are RandomCrop's and PackInputs' own, so batches stay bit-identical.

The DataLoader asks for a whole batch at once (``__getitems__``, torch's batched
fetch). When all padded images share one shape, the fused step then serves the batch
in a few array operations: the padded images are stacked once; the crop offsets of
the whole batch are drawn by one ``np.random.randint`` call that draws exactly the
numbers, in exactly the order, that ``rand_crop_params`` draws item by item (the
legacy ``RandomState`` stream, frozen by NumPy's NEP 19); the batch's crops are
gathered at once, already channel-first as PackInputs makes them; and each item's
DataSample is a fresh copy of the one PackInputs built for that item (it does not
depend on the crop offset). Paired with ``collate_fn=dict(type='default_collate')``
(mmengine's own: it stacks the inputs, so ``ClsDataPreprocessor`` converts and
normalizes the batch as one tensor, the same arithmetic element by element) a
64-image batch costs a fraction of a millisecond instead of several.

Within one process the loaded items are kept in a cache keyed by a fingerprint of
the source (its class, pipeline, annotations and the size and mtime of each image
file), so a process that builds the dataset once (``preload``) and then forks one
training process per model decodes each file once in all; the fused step's stacked
images and DataSamples are kept the same way (keyed by that fingerprint, the subset
and the transforms' settings). Meant for datasets that fit in memory; ImageNet-scale
training keeps its file-based loading.
"""
from __future__ import annotations

import copy
import hashlib
import os
import pickle
from stat import S_ISREG
from typing import Any, Iterable, Mapping

from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS

#: fingerprint -> loaded items (shared by forks of the process that filled it)
_CACHE: dict[str, list[dict]] = {}
#: (fingerprint, subset, transforms) -> the fused step's stacked padded images and
#: PackInputs' DataSamples (preload fills it before the forks, as _CACHE)
_STACKS: dict[tuple, tuple] = {}
_MAX_CACHED = 8          # distinct sources kept per process (a study has 2: train, val)


class InMemoryDataset(BaseDataset):
    """A dataset whose items are loaded once and kept in memory (see module doc).

    Args:
        dataset: the source dataset (a config dict or a built ``BaseDataset``);
            its own ``pipeline`` is the loading part, run once per item.
        pipeline: transforms run on every access (random augmentation, packing).
        indices: as ``BaseDataset``: keep only these items (an int: the first n).
        test_mode: as ``BaseDataset``.
        lazy_init: as ``BaseDataset``: load on first access instead of at build.
        cache: keep the loaded items in the process-wide cache (see module doc).
        fuse: run a ``[RandomCrop, PackInputs]`` or ``[PackInputs]`` pipeline as one
            step (see module doc; same output); other pipelines run as usual.
    """

    def __init__(self, dataset: Mapping[str, Any] | BaseDataset,
                 pipeline: Iterable = (), indices: int | list[int] | None = None,
                 test_mode: bool = False, lazy_init: bool = False, cache: bool = True,
                 max_refetch: int = 1000, fuse: bool = True) -> None:
        if isinstance(dataset, Mapping):
            self._source_cfg: Mapping[str, Any] | None = copy.deepcopy(dict(dataset))
            self.source: BaseDataset | None = None
        elif isinstance(dataset, BaseDataset):
            self._source_cfg, self.source = None, dataset
        else:
            raise TypeError(f'dataset must be a dataset config dict or a BaseDataset, '
                            f'got {type(dataset).__name__}')
        if not isinstance(cache, bool):
            raise TypeError(f'cache must be a bool, got {cache!r}')
        self.cache = cache
        if not isinstance(fuse, bool):
            raise TypeError(f'fuse must be a bool, got {fuse!r}')
        self.fuse = fuse
        self._fused: _CropAndPack | bool | None = None     # None: not looked at yet
        self._source_key: str | None = None               # the loaded items' fingerprint
        super().__init__(ann_file='', metainfo=None, pipeline=list(pipeline),
                         indices=indices, test_mode=test_mode, lazy_init=lazy_init,
                         serialize_data=True, max_refetch=max_refetch)

    def _build_source(self) -> BaseDataset:
        if self.source is None:
            self.source = DATASETS.build(copy.deepcopy(self._source_cfg))
        if not self.source._fully_initialized:
            self.source.full_init()
        return self.source

    @property
    def metainfo(self) -> dict:
        """The source's metainfo (class names...): the wrapper adds none."""
        return copy.deepcopy(self._build_source().metainfo)

    def load_data_list(self) -> list[dict]:
        source = self._build_source()
        key = fingerprint(source) if self.cache else None
        self._source_key = key
        if key is not None and key in _CACHE:
            return list(_CACHE[key])       # (BaseDataset pickles the items: no copy)
        items = []
        for index in range(len(source)):
            item = source.prepare_data(index)
            if item is None:
                raise ValueError(f'the source pipeline of {type(source).__name__} gave '
                                 f'nothing for item {index}; InMemoryDataset loads '
                                 f'every item once and cannot skip one')
            items.append(item)
        if key is not None:
            while len(_CACHE) >= _MAX_CACHED:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = items
        return list(items)


    def _fused_step(self) -> '_CropAndPack | bool':
        if not self.fuse:
            return False
        if self._fused is None:
            self._fused = _CropAndPack.of(self)
        return self._fused

    def prepare_data(self, idx: int) -> Any:
        fused = self._fused_step()
        if fused:
            return fused(idx)
        return super().prepare_data(idx)

    def __getitems__(self, indices: list[int]) -> list:
        """The items of a batch (torch's DataLoader fetches a batch through this):
        the same items, random draws and order as ``[self[i] for i in indices]``."""
        if not self._fully_initialized:
            self.full_init()
        fused = self._fused_step()
        if fused:
            return fused.batch(indices)
        return [self[i] for i in indices]


class _CropAndPack:
    """``[RandomCrop, PackInputs]`` / ``[PackInputs]`` of an InMemoryDataset as one
    step: RandomCrop's deterministic padding is done once per item; its offset draw
    (``rand_crop_params``), its crop (``mmcv.imcrop``) and PackInputs are the
    transforms' own, so the output and the random numbers drawn are theirs."""

    def __init__(self, dataset: BaseDataset, crop: Any, pack: Any) -> None:
        self.crop, self.pack = crop, pack
        self.dataset = dataset
        self._items: list[dict] | None = None
        self.padded: list[Any] = [None] * len(dataset)
        self._stack: _StackedItems | bool | None = None   # None: not built yet
        # what the stacked images and DataSamples depend on (None: not cached)
        source_key = getattr(dataset, '_source_key', None)
        self.key = None if source_key is None else (
            source_key, repr(getattr(dataset, '_indices', None)), repr(crop), repr(pack))

    @classmethod
    def of(cls, dataset: BaseDataset) -> '_CropAndPack | bool':
        """The fused step for ``dataset``'s pipeline, or False when it does not fit."""
        try:
            from mmpretrain.datasets.transforms import PackInputs, RandomCrop
        except ImportError:
            return False
        transforms = list(getattr(dataset.pipeline, 'transforms', []))
        crop = transforms.pop(0) if len(transforms) == 2 else None
        if len(transforms) != 1 or type(transforms[0]) is not PackInputs:
            return False
        if crop is not None and (type(crop) is not RandomCrop or crop.pad_if_needed):
            return False
        return cls(dataset, crop, transforms[0])

    @property
    def items(self) -> list[dict]:
        """The items as get_data_info gives them (with the wrapper's sample_idx);
        read on first use (a cached stack needs none of them)."""
        if self._items is None:
            self._items = [self.dataset.get_data_info(i) for i in range(len(self.dataset))]
        return self._items

    def __call__(self, idx: int) -> dict:
        import mmcv
        import numpy as np
        item = self.items[idx]
        # a fresh dict per access, arrays copied (the serialized items were too)
        results = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in item.items()
                   if k != 'img'}
        if self.crop is None:
            results['img'] = item['img'].copy()
            return self.pack(results)
        padded = self._padded(idx)
        offset_h, offset_w, target_h, target_w = self.crop.rand_crop_params(padded)
        img = mmcv.imcrop(padded, np.array([offset_w, offset_h, offset_w + target_w - 1,
                                            offset_h + target_h - 1]))
        results['img'] = img
        results['img_shape'] = img.shape
        return self.pack(results)

    def _padded(self, idx: int) -> Any:
        """Item ``idx``'s image as RandomCrop pads it (once per item)."""
        import mmcv
        padded = self.padded[idx]
        if padded is None:                   # RandomCrop.transform's padding
            img = self.items[idx]['img']
            padded = img if self.crop is None or self.crop.padding is None else mmcv.impad(
                img, padding=self.crop.padding, pad_val=self.crop.pad_val)
            self.padded[idx] = padded
        return padded

    def batch(self, indices: list[int]) -> list[dict]:
        """``[self(i) for i in indices]``, in a few array operations when every
        padded image has the same shape and dtype (see module doc)."""
        if self._stack is None:
            self._stack = _StackedItems.of(self)
        if not self._stack:
            return [self(i) for i in indices]
        return self._stack.batch(indices)

    def warm(self) -> None:
        """Build the stacked images and every item's DataSample now (``preload``:
        into the process-wide cache, before the per-model forks)."""
        if self._stack is None:
            self._stack = _StackedItems.of(self)
        if self._stack:
            for idx in range(len(self.padded)):
                self._stack._template(idx)


class _StackedItems:
    """The padded images of a ``_CropAndPack`` stacked into one array, served a
    batch at a time: same crops, random draws and DataSamples as item by item."""

    def __init__(self, step: _CropAndPack, padded: Any, gray: bool,
                 samples: list | None = None) -> None:
        import numpy as np
        from numpy.lib.stride_tricks import sliding_window_view
        self.step = step
        self.padded = padded
        height, width = padded.shape[1:3]
        # RandomCrop.rand_crop_params, for this image shape (it depends on nothing else)
        self.draws: Any = None               # the exclusive highs of the two draws
        target_h, target_w = height, width
        if step.crop is not None:
            target_h, target_w = step.crop.crop_size
            if width == target_w and height == target_h:
                pass                           # it draws nothing: offsets (0, 0)
            else:
                target_h, target_w = min(height, target_h), min(width, target_w)
                self.draws = np.array([height - target_h + 1, width - target_w + 1])
        # every crop of every item as a view (item, top, left, channel, row, column):
        # indexing it gathers the crops channel-first, as PackInputs lays them out
        self.windows = sliding_window_view(padded, (target_h, target_w), axis=(1, 2))
        self.crop_shape = (target_h, target_w, padded.shape[3])
        self.gray = gray                    # the items' images are 2-d (H, W)
        if gray:
            self.crop_shape = self.crop_shape[:2]
        # per item: PackInputs' DataSample, as _template gives it (filled on first use)
        self.samples: list[Any] = [None] * len(padded) if samples is None else samples

    @classmethod
    def of(cls, step: _CropAndPack) -> '_StackedItems | bool':
        import numpy as np
        if step.key is not None and step.key in _STACKS:
            return cls(step, *_STACKS[step.key])
        padded = [step._padded(i) for i in range(len(step.padded))]
        if not padded or not all(isinstance(p, np.ndarray) for p in padded):
            return False
        shape, dtype = padded[0].shape, padded[0].dtype
        if len(shape) not in (2, 3) or any(p.shape != shape or p.dtype != dtype
                                           for p in padded):
            return False
        stacked = np.stack(padded)
        gray = stacked.ndim == 3
        if gray:                              # PackInputs' grayscale: one channel
            stacked = stacked[..., None]
        stacked.flags.writeable = False       # (shared by the datasets of one key)
        stack = cls(step, stacked, gray)
        if step.key is not None:
            while len(_STACKS) >= _MAX_CACHED:
                _STACKS.pop(next(iter(_STACKS)))
            _STACKS[step.key] = (stack.padded, gray, stack.samples)
        return stack

    def batch(self, indices: list[int]) -> list[dict]:
        import numpy as np
        import torch
        index = np.asarray(indices, dtype=np.intp)
        if self.draws is None:
            offsets = np.zeros((len(index), 2), dtype=np.intp)
        else:
            # [offset_h, offset_w] per item, in order: the same numbers and order as
            # rand_crop_params' two np.random.randint calls per item
            offsets = np.random.randint(0, np.tile(self.draws, len(index))).reshape(-1, 2)
        # (N, C, H, W), contiguous as PackInputs' own tensors are
        crops = np.ascontiguousarray(self.windows[index, offsets[:, 0], offsets[:, 1]])
        inputs = torch.from_numpy(crops).unbind(0)
        templates = [self._template(i) for i in indices]
        labels = [state.get('gt_label') for _, state, _ in templates]
        if all(isinstance(label, torch.Tensor) and label.ndim == 1
               and label.dtype == labels[0].dtype for label in labels):
            # fresh label tensors for the whole batch at once (PackInputs makes one
            # per item; these are views of one, as ClsDataPreprocessor's own are)
            labels = torch.cat(labels).split([len(label) for label in labels])
        else:
            labels = [_fresh(label) for label in labels]
        out = []
        for image, label, (cls, state, mutable) in zip(inputs, labels, templates):
            state = dict(state, _metainfo_fields=set(state['_metainfo_fields']),
                         _data_fields=set(state['_data_fields']))
            for key in mutable:
                state[key] = _fresh(state[key])
            if label is not None:
                state['gt_label'] = label
            sample = object.__new__(cls)
            object.__setattr__(sample, '__dict__', state)
            out.append({'inputs': image, 'data_samples': sample})
        return out

    def _template(self, idx: int) -> tuple[type, dict, tuple[str, ...]]:
        """The DataSample PackInputs builds for item ``idx`` (its label and metainfo;
        the crop's offset is not in it), as (class, attributes, the attributes
        other than the label that a copy must copy)."""
        template = self.samples[idx]
        if template is None:
            import numpy as np
            step = self.step
            results = {k: v for k, v in step.items[idx].items() if k != 'img'}
            results['img'] = np.zeros(self.crop_shape, self.windows.dtype)
            if step.crop is not None:
                results['img_shape'] = self.crop_shape
            sample = step.pack(results)['data_samples']
            state = dict(sample.__dict__)
            mutable = tuple(k for k, v in state.items() if k not in (
                '_metainfo_fields', '_data_fields', 'gt_label') and _fresh(v) is not v)
            template = self.samples[idx] = (type(sample), state, mutable)
        return template


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))


def _fresh(value: Any) -> Any:
    """A copy of a DataSample field, as a fresh PackInputs call would hold (the
    value itself when it is immutable)."""
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, tuple) and all(isinstance(v, _IMMUTABLE) for v in value):
        return value
    import torch
    if isinstance(value, torch.Tensor):
        return value.clone()
    return copy.deepcopy(value)


def fingerprint(source: BaseDataset) -> str:
    """What the loaded items depend on: the source's class, its (loading) pipeline,
    its annotations, and the size and modification time of each file they name."""
    digest = hashlib.sha256()
    digest.update(f'{type(source).__module__}.{type(source).__qualname__}\n'.encode())
    digest.update(repr(source.pipeline).encode())
    infos = [sorted(source.get_data_info(i).items(), key=lambda kv: kv[0])
             for i in range(len(source))]
    digest.update(pickle.dumps(infos, protocol=4))
    files = []
    for info in infos:
        for _, value in info:
            if isinstance(value, str):
                try:
                    stat = os.stat(value)
                except (OSError, ValueError):
                    continue
                if S_ISREG(stat.st_mode):
                    files.append(f'{stat.st_size}:{stat.st_mtime_ns}')
    digest.update('\n'.join(files).encode())
    return digest.hexdigest()


def preload(cfg: Mapping[str, Any]) -> int:
    """Load (into this process's cache) every ``InMemoryDataset`` of a training
    config's dataloaders, under its ``default_scope``, with its fused step's
    stacked images and DataSamples: processes forked afterwards start with the data
    decoded and ready. Returns how many datasets were loaded."""
    from mmengine.registry import DefaultScope
    loaded = 0
    scope = cfg.get('default_scope')
    for section in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(section)
        dataset = loader.get('dataset') if isinstance(loader, Mapping) else None
        if not isinstance(dataset, Mapping) or dataset.get('type') not in (
                'InMemoryDataset', InMemoryDataset):
            continue
        with DefaultScope.overwrite_default_scope(scope):
            built = DATASETS.build(copy.deepcopy(dict(dataset)))
            fused = built._fused_step()
            if fused:
                fused.warm()
        loaded += 1
    return loaded
