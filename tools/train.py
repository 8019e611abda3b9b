#!/usr/bin/env python
"""Train a classifier or detector config with mmengine's Runner (thin CLI over
``regnet_plugin.launch``). The config's ``default_scope`` picks MMPretrain or MMDetection.

  python tools/train.py configs/regnet/regnetx-400mf_8xb128_in1k.py
  bash tools/dist_train.sh CONFIG 8            # torchrun, --launcher pytorch
  torchrun --nproc_per_node=2 tools/train.py CONFIG --launcher pytorch   # also on CPU (gloo)

A ``load_from`` checkpoint must fit the model (as in tools/test.py; ``--allow-partial``
loads what fits on purpose, e.g. to fine-tune with another head). Bad input exits 2
with one line on stderr (``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import os
import sys

from regnet_plugin.cli_errors import BadInput, add_debug_flag, cli_main
from regnet_plugin.launch import (LAUNCHERS, CfgOptionsAction, build_runner,
                                  check_checkpoint_fits, prepare_config, read_checkpoint)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: the config\'s work_dir, else ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CHECKPOINT, or without a value from the latest '
                             'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision (AmpOptimWrapper; needs a GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the actual total batch size over the '
                             "config's auto_scale_lr.base_batch_size")
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config entries, e.g. train_cfg.max_epochs=10')
    parser.add_argument('--allow-partial', action='store_true',
                        help="load a load_from checkpoint that does not fit the model "
                             "(what does not fit is listed, not loaded)")
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher (pytorch: torchrun; slurm: srun)')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    add_debug_flag(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.resume not in (None, 'auto') and not os.path.isfile(args.resume):
        raise BadInput(f'--resume: no checkpoint file at {args.resume!r}')
    cfg = prepare_config(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                         launcher=args.launcher, amp=args.amp, resume=args.resume,
                         auto_scale_lr=args.auto_scale_lr)
    load_from = cfg.get('load_from')
    state_dict = read_checkpoint(str(load_from)) if load_from else None   # fail fast
    runner = build_runner(cfg)
    if load_from:
        for problem in check_checkpoint_fits(runner.model, state_dict, str(load_from),
                                             args.allow_partial):
            print(f'train.py: warning: --allow-partial: {problem}', file=sys.stderr)
    del state_dict
    runner.train()


if __name__ == '__main__':
    main()
