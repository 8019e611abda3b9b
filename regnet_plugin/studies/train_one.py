"""Train one model of a study: ``python -m regnet_plugin.studies.train_one CONFIG``.

What ``tools/train.py`` of the toolboxes does, reduced to the study's needs: load
the model's config (written by ``sample``), build the Runner, train. The config's
EDFHook records the result and stops training on a NaN/inf loss. For several
GPUs per model the worker starts this under ``torchrun`` with ``--launcher pytorch``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import torch  # noqa: F401  (imported before mmengine on purpose: fork saves its import)
from mmengine.config import Config
from mmengine.runner import Runner

import regnet_plugin  # noqa: F401  (registers AnyNet, EDFHook, DesignSpaceDataset)


def train(config: str, launcher: str = 'none', threads: int | None = None) -> None:
    """Build the Runner from ``config`` and train it."""
    if threads:
        torch.set_num_threads(int(threads))
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if launcher != 'none' and not torch.cuda.is_available():
        # CPU distributed (tests, debugging): gloo and no device ids, see ENVIRONMENT.md
        import torch.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group('gloo')
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    runner = Runner.from_cfg(cfg)
    runner.train()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Train one model of a design-space study')
    parser.add_argument('config')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    args = parser.parse_args(argv)
    threads = os.environ.get('OMP_NUM_THREADS')
    train(args.config, args.launcher, int(threads) if threads else None)
    return 0


if __name__ == '__main__':
    sys.exit(main())
