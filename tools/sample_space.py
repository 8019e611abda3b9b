#!/usr/bin/env python
"""Design-space study: sample a population, train it, compare the spaces' EDFs.

    python tools/sample_space.py CONFIG sample  [--work-dir DIR] [--force]
    python tools/sample_space.py CONFIG train   [--work-dir DIR] [--executor subprocess|local|slurm]
                                                [--workers N] [--gpus-per-model G] [--retry-failed]
    python tools/sample_space.py CONFIG analyze [--work-dir DIR]
    python tools/sample_space.py CONFIG run     [...]   (sample, train, analyze)

A study can be interrupted at any time (Ctrl-C, kill -9, a lost node) and run
again: finished models are never retrained and no result is lost. The library is
``regnet_plugin.studies`` / ``regnet_plugin.analysis``; this is only the CLI.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regnet_plugin.cli_errors import add_debug_flag, cli_main  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument('config', help='study config (a training config + study=dict(...))')
    parser.add_argument('command', choices=['sample', 'train', 'analyze', 'run'])
    parser.add_argument('--work-dir', help='study directory (default: work_dirs/<config name>)')
    parser.add_argument('--force', action='store_true',
                        help='re-sample a work dir made by a different config (every '
                             'model config is rewritten; results trained with another '
                             'recipe or data are moved under superseded/, never deleted)')
    parser.add_argument('--executor', choices=['subprocess', 'local', 'slurm'])
    parser.add_argument('--workers', type=int, help='concurrent workers / array tasks')
    parser.add_argument('--gpus-per-model', type=int)
    parser.add_argument('--launcher', help="per-model launcher: 'none', 'pytorch' or 'slurm'")
    parser.add_argument('--trainer', help="'runner' (default) or 'module:function'")
    parser.add_argument('--timeout', type=float, help='seconds per model')
    parser.add_argument('--torch-threads', type=int, help='threads per model process')
    parser.add_argument('--launch', choices=['spawn', 'fork'],
                        help='fresh interpreter per model, or fork a worker')
    parser.add_argument('--retry-failed', action='store_true',
                        help='train models that failed in earlier runs again')
    parser.add_argument('--stale-after', type=float, metavar='SECONDS',
                        help='take over claims from other hosts whose heartbeat is this '
                             'old (default 900; 0: at once, when their workers are gone)')
    parser.add_argument('--no-wait', action='store_true',
                        help='slurm: submit the job array and return')
    parser.add_argument('--no-progress', action='store_true')
    add_debug_flag(parser)
    return parser.parse_args(argv)


@cli_main
def main(argv=None) -> int:
    """Bad input exits 2 with one line on stderr (``--debug``: the traceback)."""
    args = parse_args(argv)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from regnet_plugin.studies.cli import run_command
    return run_command(args)


if __name__ == '__main__':
    status = main()
    from regnet_plugin.studies.process import freeze_heap_for_exit
    freeze_heap_for_exit()          # a faster exit (see there); nothing is left unwritten
    sys.exit(status)
