#!/usr/bin/env python
"""Evaluate a checkpoint of a classifier or detector config with mmengine's Runner (thin
CLI over ``regnet_plugin.launch``). The config's ``default_scope`` picks the toolbox.

  python tools/test.py configs/regnet/regnetx-400mf_8xb128_in1k.py ckpt.pth
  torchrun --nproc_per_node=2 tools/test.py CONFIG ckpt.pth --launcher pytorch

The checkpoint must fit the model: missing, unexpected or mis-shaped tensors (a
checkpoint of another architecture) stop the run with an error naming the first few,
instead of mmengine's non-strict load and a chance-level score; ``--allow-partial``
loads what fits on purpose. Bad input exits 2 with one line on stderr (``--debug``
shows the traceback).
"""
from __future__ import annotations

import argparse
import sys

from mmengine.config import Config

from regnet_plugin.cli_errors import BadInput, add_debug_flag, cli_main
from regnet_plugin.launch import (LAUNCHERS, CfgOptionsAction, build_runner,
                                  check_checkpoint_fits, prepare_config, read_checkpoint)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint to evaluate (ours, e.g. from '
                                           'tools/convert_weights.py, or a training one)')
    parser.add_argument('--work-dir', help='directory for the evaluation logs')
    parser.add_argument('--out', help='also dump the raw predictions to this .pkl file')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision inference (test_cfg.fp16: autocast, float16 '
                             'on a GPU, bfloat16 on the CPU)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. test_dataloader.batch_size=64')
    parser.add_argument('--allow-partial', action='store_true',
                        help='evaluate even if the checkpoint does not fit the model '
                             '(missing/unexpected/mis-shaped tensors are then only listed)')
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch: torchrun; slurm: srun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    add_debug_flag(parser)
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    """The config with the command line applied. ``--amp`` sets ``test_cfg.fp16`` (the
    test loop's autocast), as MMPretrain's tools/test.py does: testing builds no
    optimizer wrapper, so switching that to AMP would be ignored (or fail without one)."""
    cfg = prepare_config(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                         launcher=args.launcher, load_from=args.checkpoint)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    return cfg


@cli_main
def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise BadInput(f'--out must be a .pkl/.pickle file, got {args.out!r}')
    state_dict = read_checkpoint(args.checkpoint)     # a text file etc.: fail fast
    runner = build_runner(make_config(args))
    for problem in check_checkpoint_fits(runner.model, state_dict, args.checkpoint,
                                         args.allow_partial):
        print(f'test.py: warning: --allow-partial: {problem}', file=sys.stderr)
    del state_dict
    if args.out is not None:
        from mmengine.evaluator import DumpResults
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
    return runner.test()


if __name__ == '__main__':
    main()
