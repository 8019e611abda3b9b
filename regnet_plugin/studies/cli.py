"""What ``tools/sample_space.py`` does with its parsed arguments (kept in the library
so it is tested and reusable; the tool itself only parses)."""
from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

from ..cli_errors import BadInput
from .claims import StudyBusy
from .executors import TrainSummary, train_study
from .layout import StudyDir
from .manifest import ConfigMismatch, Manifest
from .schema import StudyConfig
from .study import (analyze_study, check_same_config, config_hash, load_config,
                    sample_study)


def _log(message: str) -> None:
    print(message, flush=True)


def _progress(enabled: bool, desc: str, unit: str):
    if not enabled:
        return None
    from tqdm import tqdm
    return lambda items: tqdm(items, desc=desc, unit=unit, file=sys.stderr,
                              dynamic_ncols=True)


def default_work_dir(config: str) -> Path:
    return Path('work_dirs') / Path(config).stem


def train_options(args: argparse.Namespace, study_dir: StudyDir):
    base = StudyConfig.from_dict(Manifest.load(study_dir).study).train
    stale_after = getattr(args, 'stale_after', None)
    if stale_after is not None and not stale_after >= 0:
        raise ValueError(f'--stale-after must be a number of seconds >= 0, got {stale_after}')
    options = base.replace(executor=args.executor, workers=args.workers,
                           gpus_per_model=args.gpus_per_model, launcher=args.launcher,
                           trainer=args.trainer, timeout_s=args.timeout,
                           torch_threads=args.torch_threads, launch=args.launch,
                           retry_failed=True if args.retry_failed else None,
                           wait=False if args.no_wait else None, stale_after_s=stale_after)
    if options.executor == 'slurm' and shutil.which('sbatch') is None:
        raise ValueError("--executor slurm needs Slurm, but there is no 'sbatch' on PATH "
                         "here; use --executor subprocess (local processes) or local "
                         "(submitit's local job array), or run where Slurm is installed")
    return options


def resume_command(args: argparse.Namespace, work_dir: Path) -> str:
    return shlex.join(['python', 'tools/sample_space.py', str(args.config), 'train',
                       '--work-dir', str(work_dir)])


def report_training(summary: TrainSummary, resume: str) -> None:
    """The summary of a train call: counts, failures, dead workers, how to resume."""
    _log(f'trained: {summary.done} done, {summary.failed} failed, '
         f'{summary.pending} unfinished of {summary.total}')
    for key, reason in list(summary.failures.items())[:10]:
        _log(f'  failed {key}: {reason}')
    for error in summary.worker_errors:
        _log(f'  {error}')
    if summary.worker_errors and not summary.pending:
        _log('  the other workers finished its models: nothing is missing')
    if summary.pending:
        shown = ', '.join(summary.unfinished[:8])
        more = f' and {summary.pending - 8} more' if summary.pending > 8 else ''
        _log(f'  unfinished: {shown}{more}')
        _log(f'  resume (finished models are kept): {resume}')


def run_command(args: argparse.Namespace) -> int:
    """Run one subcommand. Bad input raises (ValueError, OSError, ``BadInput`` for a
    work dir of another config or one being trained): the tool's ``cli_main`` makes
    it one ``error:`` line and exit status 2. Returns 1 when models are left
    unfinished (a worker died), after a summary saying how to resume."""
    work_dir = Path(args.work_dir) if args.work_dir else default_work_dir(args.config)
    study_dir = StudyDir(work_dir)
    show = not args.no_progress
    start = time.time()
    try:
        if args.command in ('sample', 'run'):
            sample_study(args.config, work_dir, force=args.force, log=_log,
                         progress=_progress(show, 'sampling', 'space'))
        elif args.command in ('train', 'analyze'):
            # a work dir sampled from another config: refuse unless --force
            check_same_config(study_dir, Manifest.load(study_dir), args.config,
                              config_hash(load_config(args.config)[0]), args.force,
                              'Use the matching --work-dir, or --force to use it anyway')
        if args.command in ('train', 'run'):
            options = train_options(args, study_dir)
            summary = train_study(work_dir, options, progress=show, log=_log)
            if summary.pending and options.executor == 'slurm' and not options.wait:
                _log(f'slurm jobs {", ".join(summary.jobs)} submitted; run `analyze` '
                     f'when they are done')
                return 0
            report_training(summary, resume_command(args, work_dir))
            if summary.pending:
                _log(f'{args.command} stopped after {time.time() - start:.1f} s with '
                     f'{summary.pending} model(s) unfinished')
                return 1
        if args.command in ('analyze', 'run'):
            result = analyze_study(work_dir, log=_log,
                                   progress=_progress(show, 'fitting widths', 'model'))
            if result.message:
                _log(result.message)
            for space, s in result.summary['spaces'].items():
                _log(f"  {space}: n={s['n']} min error {s['min_error']:.2f}% "
                     f"mean {s['mean_error']:.2f}%")
            for ks in result.summary['ks']:
                _log(f"  KS {ks['spaces'][0]} vs {ks['spaces'][1]}: D={ks['D']:.3f} "
                     f"p={ks['pvalue']:.3g}")
            if 'ordering' in result.summary:
                _log(result.summary['ordering']['headline'])
                for step in result.summary['ordering']['steps']:
                    word = {True: 'holds', False: 'does not hold'}.get(step['holds'],
                                                                       'not testable')
                    _log(f"  {step['worse']} {step['step']} {step['better']}: {word}")
            _log(f'report: {result.report_path}')
            _log(f'plots:  {sorted(str(p) for k, p in result.files.items() if p.suffix == ".png")}')
            _log(f'data:   {result.files["summary"]}, {result.files["csv"]}')
    except (ConfigMismatch, StudyBusy) as exc:
        raise BadInput(str(exc)) from exc
    _log(f'{args.command} finished in {time.time() - start:.1f} s')
    return 0

