"""Train one model of a study: ``python -m regnet_plugin.studies.train_one CONFIG``.

What ``tools/train.py`` of the toolboxes does, reduced to the study's needs: load
the model's config (written by ``sample``), build the Runner, train. The config's
EDFHook records the result and stops training on a NaN/inf loss. For several
GPUs per model the worker starts this under ``torchrun`` with ``--launcher pytorch``.

A model config holds absolute paths into its study directory (work dir, EDFHook's
study, generated data). ``--study-dir`` names the directory the model is trained in
now; when the study was moved or copied (rsync from a cluster, a backup), those
paths are rebased onto it, so a copy never writes into the original.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

import torch  # noqa: F401  (imported before mmengine on purpose: fork saves its import)
from mmengine.config import Config
from mmengine.runner import Runner

import regnet_plugin  # noqa: F401  (registers AnyNet, EDFHook, DesignSpaceDataset)
from regnet_plugin.launch import LAUNCHERS, setup_launcher
from regnet_plugin.studies.layout import rebase_paths


def recorded_study_dir(cfg: Config) -> str | None:
    """The study directory a model config was written for (its EDFHook's)."""
    for hook in cfg.get('custom_hooks') or []:
        if isinstance(hook, Mapping) and hook.get('type') == 'EDFHook':
            return hook.get('study_dir')
    return None


def relocate(cfg: Config, study_dir: str | None) -> Config:
    """``cfg`` with its study paths pointing at ``study_dir`` (see module doc)."""
    recorded = recorded_study_dir(cfg)
    if study_dir is None or recorded is None:
        return cfg
    old, new = str(Path(recorded)), str(Path(study_dir).resolve())
    if old == new or Path(old).resolve() == Path(new):
        return cfg
    return Config(rebase_paths(cfg.to_dict(), old, new), filename=cfg.filename,
                  format_python_code=False)


def load_config(path: str | os.PathLike) -> Config:
    """The model's config, printed without yapf: the Runner logs the config and dumps
    it (three times per model), and yapf-formatting it cost about 1.1 s per model
    on this project's CPU demo. mmengine 0.10's ``Config.fromfile`` drops its own
    ``format_python_code=False`` for plain Python configs, so it is set here."""
    cfg = Config.fromfile(str(path), format_python_code=False)
    object.__setattr__(cfg, '_format_python_code', False)
    return cfg


def warm_up(config: str | Config, study_dir: str | None = None) -> None:
    """Do once, in a process that forks one training process per model, what every
    model would otherwise redo after the fork: import the config's toolbox (its
    registries' modules: models, datasets, transforms, metrics), the modules the
    Runner imports to log its environment and the study hook to plot, and load the
    config's ``InMemoryDataset``s; the heap is frozen out of the garbage
    collector's sight before and after loading them (each fork would otherwise
    walk and copy all of it). Later
    calls with the same datasets do nothing: each model process checks its data
    against the files anyway (the cache is keyed by their state), and checking
    here too cost ~0.25 s per model on the digits demo."""
    import gc
    cfg = model_config(config, study_dir) \
        if isinstance(config, (str, os.PathLike)) else config
    scope = cfg.get('default_scope') or ''
    first = scope not in _WARM_SCOPES
    if first:
        import importlib
        try:
            importlib.import_module(f'{scope}.utils').register_all_modules(
                init_default_scope=False)
        except (ImportError, AttributeError, ValueError):
            pass              # a scope without register_all_modules: imported lazily
        from mmengine.utils.dl_utils import collect_env
        collect_env()                             # torchvision, cv2, cpp_extension
        import matplotlib  # noqa: F401  (EDFHook's live EDF plot)
        from regnet_plugin.analysis import plots, report  # noqa: F401
        # frozen before loading the data: mmengine's datasets call gc.collect()
        # after serializing their data list, which walked every object the
        # toolboxes' imports made (~0.37 s a call, 2.2 s for the demo's datasets)
        gc.collect()
        gc.freeze()
    datasets = repr([(cfg.get(section) or {}).get('dataset') for section in
                     ('train_dataloader', 'val_dataloader', 'test_dataloader')])
    if datasets not in _WARM_DATASETS:
        from regnet_plugin.in_memory_dataset import preload
        preload(cfg)
        _WARM_DATASETS.add(datasets)
    if first:                # (later calls: nothing new worth freezing)
        gc.collect()
        gc.freeze()
        _WARM_SCOPES.add(scope)


_WARM_SCOPES: set = set()
_WARM_DATASETS: set = set()


def model_config(config: str | os.PathLike, study_dir: str | None = None) -> Config:
    """A model's config as ``train`` uses it: loaded, rebased onto ``study_dir``."""
    return relocate(load_config(config), study_dir)


def train(config: str | Config, launcher: str = 'none', threads: int | None = None,
          study_dir: str | None = None) -> None:
    """Build the Runner from ``config`` (a path, rebased onto ``study_dir``; or a
    ``Config`` from :func:`model_config`, e.g. parsed by the parent of a fork) and
    train it."""
    if threads:
        torch.set_num_threads(int(threads))
    if not isinstance(config, Config):
        config = model_config(config, study_dir)
    # the launcher as tools/train.py sets it up (gloo and a CPU DDP wrapper without CUDA)
    cfg = setup_launcher(config, launcher)
    runner = Runner.from_cfg(cfg)
    runner.train()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Train one model of a design-space study')
    parser.add_argument('config')
    parser.add_argument('--launcher', default='none',
                        choices=LAUNCHERS)
    parser.add_argument('--study-dir', help='the study directory the model belongs to now')
    args = parser.parse_args(argv)
    threads = os.environ.get('OMP_NUM_THREADS')
    train(args.config, args.launcher, int(threads) if threads else None, args.study_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
