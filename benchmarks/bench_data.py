"""The data path of a demo model, per training iteration: from the sampler's indices
to the preprocessed batch the model sees.

Builds the demo's train dataloader (configs/studies/demo_digits.py by default: 1,437
digits of 32x32, batch 64, ``RandomCrop(padding=2)`` + ``PackInputs``) with the
Runner's own builder, and its ``ClsDataPreprocessor``, three ways, and runs one
epoch of each in turn, alternating, in this process:

* ``png``: MMPretrain's ``CustomDataset`` decoding the PNGs on every access, the
  transforms one by one, ``pseudo_collate`` (the path before ``InMemoryDataset``);
* ``item``: ``InMemoryDataset``'s fused crop-and-pack step called item by item
  (the DataLoader's per-item fetch), ``pseudo_collate``;
* ``batch``: the config as it is (``InMemoryDataset``'s batched fetch,
  ``__getitems__``, and the config's ``collate_fn``).

It checks that the three give the same preprocessed batches (inputs bit-identical,
same labels, same numpy random state after the epoch), then prints the median time
per iteration of each and the ratios. Timings on a shared machine are noisy: compare
the ratios, over several rounds.

    .venv/bin/python benchmarks/bench_data.py                     # ~30 s
    .venv/bin/python benchmarks/bench_data.py --config configs/studies/demo_digits_refinement.py
"""
from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def build(cfg, data_root: str, path: str):
    """The train dataloader and data preprocessor of ``cfg`` along ``path``."""
    from mmengine.registry import MODELS
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.train_dataloader.to_dict())
    dataset = loader_cfg['dataset']
    dataset['dataset']['data_root'] = data_root
    if path == 'png':
        source = dataset['dataset']
        loader_cfg['dataset'] = dict(source, pipeline=list(source['pipeline'])
                                     + list(dataset['pipeline']))
    if path in ('png', 'item'):
        loader_cfg['collate_fn'] = dict(type='pseudo_collate')
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    if path == 'item':
        loader.dataset.__getitems__ = None     # torch then fetches item by item
    preprocessor = MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
    return loader, preprocessor


def epoch(loader, preprocessor, seed: int, keep: bool) -> tuple[list[float], list, bytes]:
    """Per-iteration seconds (fetch, collate, preprocess), the batches if ``keep``,
    and numpy's random state afterwards."""
    np.random.seed(seed)
    loader.sampler.set_epoch(seed)
    times, batches = [], []
    iterator = iter(loader)
    while True:
        start = time.perf_counter()
        try:
            data = next(iterator)
        except StopIteration:
            break
        out = preprocessor(data, True)
        times.append(time.perf_counter() - start)
        if keep:
            batches.append((out['inputs'], torch.cat([s.gt_label for s in
                                                      out['data_samples']])))
    return times, batches, np.random.get_state()[1].tobytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=str(ROOT / 'configs/studies/demo_digits.py'))
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args()

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import regnet_plugin  # noqa: F401
    from regnet_plugin.studies.demo_data import write_digits_tree
    torch.set_num_threads(1)
    cfg = Config.fromfile(args.config)
    size = cfg.study['data_preparation']['size']
    root = write_digits_tree(Path(tempfile.mkdtemp(prefix='bench_data_')) / 'digits',
                             size=size)
    paths = ('png', 'item', 'batch')
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        built = {path: build(cfg, str(root), path) for path in paths}
        reference = None
        for path in paths:                   # same batches, same random draws
            _, batches, state = epoch(*built[path], seed=1, keep=True)
            if reference is None:
                reference = (batches, state)
                continue
            same = (state == reference[1] and len(batches) == len(reference[0]) and all(
                x.dtype == y.dtype and torch.equal(x, y) and torch.equal(a, b)
                for (x, a), (y, b) in zip(batches, reference[0])))
            if not same:
                raise SystemExit(f'{path}: not the same batches as png')
        print(f'{args.config}: {len(built["batch"][0])} iterations of '
              f'{cfg.train_dataloader.batch_size} per epoch; batches identical on all '
              f'paths (inputs, labels, numpy random state)')
        medians: dict[str, list[float]] = {path: [] for path in paths}
        for r in range(args.rounds):
            order = paths if r % 2 == 0 else paths[::-1]
            for path in order:
                times, _, _ = epoch(*built[path], seed=2 + r, keep=False)
                medians[path].append(statistics.median(times))
            print(f'round {r}: ' + ', '.join(f'{p} {medians[p][-1] * 1e3:.2f} ms'
                                            for p in paths), flush=True)
    best = {p: statistics.median(v) for p, v in medians.items()}
    print('median ms per iteration (fetch + collate + preprocess): '
          + ', '.join(f'{p} {best[p] * 1e3:.2f}' for p in paths))
    for path in ('item', 'png'):
        ratios = [a / b for a, b in zip(medians[path], medians['batch'])]
        print(f'{path}/batch: median of per-round ratios {statistics.median(ratios):.1f}x '
              f'(rounds: {", ".join(f"{r:.1f}" for r in ratios)})')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
