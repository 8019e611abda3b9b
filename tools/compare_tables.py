#!/usr/bin/env python
"""Reproduce the paper's comparison tables side by side with our own figures.

Prints and writes (Markdown, CSV, plots) Table 3 (ResNe(X)t, (a) and (b)), Table 4
(EfficientNet), Table 2 (mobile regime) and the RegNetX/RegNetY model tables, with
flops/params/acts computed here, inference time measured on this machine, and top-1
errors from your own evaluations. See ``regnet_plugin/compare`` for the how.

Examples::

    # everything, the paper's timing setup (64 images; slow on a CPU)
    python tools/compare_tables.py --out-dir work_dirs/tables
    # a quick look: two tables, small batch, no plots
    python tools/compare_tables.py --tables table3a table4 --batch-size 8 --repeats 3
    # counts only, selected rows, with your errors
    python tools/compare_tables.py --no-timing --rows ResNet-50 RegNetX-3.2GF \
        --results my_errors.json
    # evaluate a checkpoint through MMPretrain's test loop first
    python tools/compare_tables.py --rows RegNetX-3.2GF \
        --eval RegNetX-3.2GF=ckpt/regnetx_3.2gf.pth --data-root data/imagenet
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from regnet_plugin.cli_errors import BadInput, add_debug_flag, cli_main  # noqa: E402
from regnet_plugin.compare.paper import TABLE_ALIASES, TABLES, resolve_tables  # noqa: E402
from regnet_plugin.validate import MAX_IMG_SIZE, check_int  # noqa: E402

#: Every model row of every table (what --results/--eval/--rows names must be).
ALL_MODELS = tuple(dict.fromkeys(row.model for t in TABLES.values() for row in t.rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--tables', nargs='+', metavar='TABLE',
                        help=f'tables to produce (default all): '
                             f'{", ".join(list(TABLES) + list(TABLE_ALIASES))}')
    parser.add_argument('--rows', nargs='+', metavar='MODEL',
                        help='only these rows, by the paper\'s model names '
                             '(e.g. ResNet-50 RegNetX-3.2GF EfficientNet-B0)')
    parser.add_argument('--out-dir', default='work_dirs/compare_tables',
                        help='where comparison.md, comparison.csv and the plots go')
    timing = parser.add_argument_group('timing')
    timing.add_argument('--batch-size', type=int, default=64,
                        help='images per timed forward pass (paper: 64)')
    timing.add_argument('--repeats', type=int, default=10, help='timed passes (median)')
    timing.add_argument('--warmup', type=int, default=None,
                        help='untimed passes first (default: min(3, repeats))')
    timing.add_argument('--device', default=None,
                        help='cuda, cuda:1, cpu (default: cuda when available)')
    timing.add_argument('--threads', type=int, default=None,
                        help=f'torch CPU threads, 1..{os.cpu_count()} (default: torch\'s '
                             f'choice)')
    timing.add_argument('--timing-resolution', default='native',
                        help="'native' (each model at the resolution it is counted at, "
                             "as the paper times EfficientNet) or a size such as 224")
    timing.add_argument('--no-timing', action='store_true', help='skip timing')
    errors = parser.add_argument_group('top-1 errors (yours; otherwise "not evaluated")')
    errors.add_argument('--results', action='append', default=[], metavar='JSON',
                        help='JSON: model name -> top-1 error (%%), or -> path of an '
                             'MMEngine Runner.test() output (work dir, .json or .log)')
    errors.add_argument('--runner-output', action='append', default=[],
                        metavar='MODEL=PATH',
                        help='read MODEL\'s error from a Runner.test() work dir/json/log')
    errors.add_argument('--eval', action='append', default=[], metavar='MODEL=CHECKPOINT',
                        help='evaluate CHECKPOINT as MODEL on ImageNet val '
                             '(needs --data-root) with MMPretrain\'s test loop')
    errors.add_argument('--data-root', help='ImageNet root with val/ (and meta/val.txt)')
    errors.add_argument('--eval-batch-size', type=int, default=32)
    parser.add_argument('--no-plots', action='store_true')
    parser.add_argument('--quiet', action='store_true', help='no progress lines')
    add_debug_flag(parser)
    args = parser.parse_args(argv)
    # Every option is checked here, before any model is built, timed or evaluated.
    if args.timing_resolution != 'native':
        try:
            args.timing_resolution = int(args.timing_resolution)
        except ValueError:
            parser.error(f"--timing-resolution must be 'native' or an integer, "
                         f"got {args.timing_resolution!r}")
        check_int('--timing-resolution', args.timing_resolution, 1, MAX_IMG_SIZE)
    if args.eval and not args.data_root:
        parser.error('--eval needs --data-root')
    if args.data_root and not os.path.isdir(args.data_root):
        parser.error(f'--data-root {args.data_root!r} is not a directory')
    for flag, value in (('--batch-size', args.batch_size), ('--repeats', args.repeats),
                        ('--eval-batch-size', args.eval_batch_size)):
        check_int(flag, value, 1)
    if args.warmup is not None:
        check_int('--warmup', args.warmup, 0)
    if args.threads is not None:
        check_int('--threads', args.threads, 1, os.cpu_count() or 1)
    for name in args.rows or []:
        _known_model(name, '--rows')
    for path in args.results:
        if not os.path.isfile(path):
            parser.error(f'--results {path!r}: no such file')
    for flag, pairs in (('--runner-output', args.runner_output), ('--eval', args.eval)):
        for pair in pairs:
            _split_pair(pair, flag)
    return args


def _known_model(name: str, where: str) -> str:
    from regnet_plugin.compare.results import check_model_name
    return check_model_name(name, ALL_MODELS, where)


def _split_pair(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition('=')
    if not sep or not name or not value:
        raise BadInput(f'{flag} expects MODEL=PATH, got {text!r}')
    _known_model(name, flag)
    if not os.path.exists(value):
        raise BadInput(f'{flag} {text!r}: no such file or directory {value!r}')
    return name, value


def read_errors(args: argparse.Namespace) -> dict:
    """The top-1 errors the user gives as files (--results, --runner-output): read and
    checked before any work, so a bad file or an unknown model name stops the tool
    before anything is computed or written."""
    from regnet_plugin.compare.results import (load_results, normalise_name,
                                               top1_error_from_runner_output)
    errors = {}
    for path in args.results:
        errors.update(load_results(path, known_models=ALL_MODELS))
    for pair in args.runner_output:
        name, path = _split_pair(pair, '--runner-output')
        errors[normalise_name(name)] = top1_error_from_runner_output(path)
    return errors


def evaluate_errors(args: argparse.Namespace, out_dir: Path, log) -> dict:
    """The top-1 errors of --eval checkpoints (slow: MMPretrain's test loop each)."""
    from regnet_plugin.compare.results import normalise_name
    errors = {}
    for name, checkpoint in [_split_pair(pair, '--eval') for pair in args.eval]:
        from regnet_plugin.compare.evaluate import evaluate_checkpoint
        from regnet_plugin.compare.zoo import model_entry
        log(f'[{name}] evaluating {checkpoint} on {args.data_root}')
        errors[normalise_name(name)] = evaluate_checkpoint(
            model_entry(name), checkpoint, args.data_root,
            out_dir / 'eval' / normalise_name(name), batch_size=args.eval_batch_size)
    return errors


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Bad options exit 2 with one line on stderr, before anything is computed."""
    args = parse_args(argv)
    log = (lambda message: None) if args.quiet else (
        lambda message: print(message, file=sys.stderr, flush=True))
    tables = resolve_tables(args.tables)
    errors = read_errors(args)

    import torch

    from regnet_plugin.atomic_io import atomic_write_text

    from regnet_plugin.compare.render import correlation_text, csv_text, markdown_report
    from regnet_plugin.compare.tables import Measurer, compare_tables, time_correlation
    from regnet_plugin.compare.timing import pick_device, timing_setup

    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f'--out-dir {str(out_dir)!r} exists and is not a directory')
    device = None if args.no_timing else pick_device(args.device)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    setup = None
    if device is not None:
        warmup = min(3, args.repeats) if args.warmup is None else args.warmup
        setup = timing_setup(device, args.batch_size, warmup, args.repeats)
        log(f'timing on {setup.describe()}')
    errors.update(evaluate_errors(args, out_dir, log))
    measurer = Measurer(setup, args.timing_resolution, log=log)
    compared = compare_tables(tables, measurer, errors, args.rows)
    corr = time_correlation(measurer.cache.values())

    plots = []
    if not args.no_plots:
        from regnet_plugin.compare.plots import plot_comparison
        plots = [p.name for p in plot_comparison(compared, corr, out_dir)]
    report = markdown_report(compared, setup, corr, args.timing_resolution, plots)
    table_csv = csv_text(compared, setup)
    # Both texts exist before either file is written, and each is written whole: never
    # a comparison.md without its comparison.csv, nor half of either.
    atomic_write_text(out_dir / 'comparison.csv', table_csv)
    atomic_write_text(out_dir / 'comparison.md', report + '\n')
    print(report)
    log(correlation_text(corr))
    log(f'wrote {out_dir / "comparison.md"}, {out_dir / "comparison.csv"}'
        + (', ' + ', '.join(str(out_dir / p) for p in plots) if plots else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main())
