"""How one model is trained: pluggable, isolated, failures recorded with a reason.

A trainer is any callable ``trainer(study: StudyDir, entry: ModelEntry,
options: TrainOptions) -> ModelResult``. ``resolve_trainer`` accepts

* ``'runner'``: :class:`RunnerTrainer`, the toolbox's Runner on the model's config
  in its own process (the default, and what real studies use);
* ``'package.module:function'`` or ``'/path/to/file.py:function'``: anything else
  (tests plug in a cheap real trainer this way; the string travels to subprocesses
  and submitit tasks, a callable would not).

:class:`RunnerTrainer` runs ``python -m regnet_plugin.studies.train_one CONFIG`` (or
``torchrun --nproc_per_node=N`` for several GPUs per model, with mmengine's pytorch
launcher), or forks the already-importing worker (``launch='fork'``: saves the
toolboxes' import time per model on CPU; with ``warm_fork`` the worker also imports
the config's toolbox and loads its in-memory datasets once, see
``train_one.warm_up``). The model's EDFHook writes its result;
if the process dies first, the reason is read from its exit status and log:
NaN/inf loss (EDFHook's loss check), out of memory, a signal, a timeout,
or the last error line.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from .layout import StudyDir
from .manifest import ModelEntry
from .process import kill_group, preexec_die_with_parent, run_forked_child
from .results import ModelResult, ResultStore
from .schema import TrainOptions


class Trainer(Protocol):
    def __call__(self, study: StudyDir, entry: ModelEntry,
                 options: TrainOptions) -> ModelResult: ...


def resolve_trainer(spec: str) -> Trainer:
    """'runner', 'module:function' or 'file.py:function' -> a trainer callable."""
    if spec == 'runner':
        return RunnerTrainer()
    if ':' not in spec:
        raise ValueError(f"trainer must be 'runner', 'package.module:function' or "
                         f"'path/to/file.py:function', got {spec!r}")
    where, _, name = spec.rpartition(':')
    if where.endswith('.py'):
        path = Path(where)
        if not path.exists():
            raise ValueError(f'trainer file {path} does not exist')
        module_name = f'_regnet_study_trainer_{abs(hash(str(path.resolve())))}'
        module = sys.modules.get(module_name)
        if module is None:
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f'cannot import trainer module {where!r}: {exc}') from None
    trainer = getattr(module, name, None)
    if not callable(trainer):
        raise ValueError(f'{where} has no callable {name!r} to use as a trainer')
    return trainer


# -- failure diagnosis -------------------------------------------------------------
_PATTERNS: list[tuple[str, str]] = [
    (r'NonFiniteLossError|loss become infinite or NaN|loss is (nan|inf)|non-finite loss',
     'loss became NaN or infinite'),
    (r'CUDA out of memory|OutOfMemoryError|out of memory|MemoryError|'
     r'Cannot allocate memory|DefaultCPUAllocator: can\'t allocate', 'out of memory'),
]


def diagnose(returncode: int | None, log_tail: str, timed_out: bool,
             timeout_s: float | None) -> str:
    """A one-line reason for a training process that left no result."""
    if timed_out:
        return f'timed out after {timeout_s:g} s'
    for pattern, reason in _PATTERNS:
        if re.search(pattern, log_tail, flags=re.IGNORECASE):
            return f'{reason} ({_last_error_line(log_tail)})'
    if returncode is not None and returncode < 0:
        sig = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ \
            else str(-returncode)
        hint = ' (the kernel\'s OOM killer sends SIGKILL)' if sig == 'SIGKILL' else ''
        return f'killed by {sig}{hint}'
    if returncode == 0:
        return 'training ended without a validation result'
    return f'exit code {returncode}: {_last_error_line(log_tail)}'


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for line in reversed(lines):
        if re.match(r'^\w*(Error|Exception)\b|^\w+Error:', line):
            return line[:300]
    return lines[-1][:300] if lines else 'no output'


def tail(path: Path, size: int = 20_000) -> str:
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors='replace')
    except OSError:
        return ''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _child_env(options: TrainOptions) -> dict[str, str]:
    env = dict(os.environ)
    env['PYTHONUNBUFFERED'] = '1'
    env.setdefault('MPLBACKEND', 'Agg')
    if options.torch_threads:
        for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'):
            env[var] = str(options.torch_threads)
    return env


def _fork_target(config: Any, launcher: str, log: str, threads: int | None,
                 study_dir: str) -> None:
    """Body of a forked training process: log to the model's file, then train
    (``config``: its path, or the ``Config`` the warm parent parsed already)."""
    from .train_one import train
    run_forked_child(lambda: train(config, launcher, threads, study_dir), log)


class RunnerTrainer:
    """Train a model with the toolbox's Runner in its own process (see module doc)."""

    def command(self, config: Path, options: TrainOptions, study_dir: Path) -> list[str]:
        if options.gpus_per_model > 1:
            return [sys.executable, '-m', 'torch.distributed.run',
                    f'--nproc_per_node={options.gpus_per_model}',
                    f'--master_port={_free_port()}', '-m',
                    'regnet_plugin.studies.train_one', str(config), '--launcher', 'pytorch',
                    '--study-dir', str(study_dir)]
        return [sys.executable, '-m', 'regnet_plugin.studies.train_one', str(config),
                '--launcher', options.launcher, '--study-dir', str(study_dir)]

    def __call__(self, study: StudyDir, entry: ModelEntry,
                 options: TrainOptions) -> ModelResult:
        config = study.model_config(entry.key)
        if not config.exists():
            raise FileNotFoundError(f'{config} is missing: run `sample` again')
        work = study.model_work_dir(entry.key)
        if work.exists():          # a previous attempt died mid-way: start clean
            shutil.rmtree(work, ignore_errors=True)
        log = study.model_log(entry.key)
        log.parent.mkdir(parents=True, exist_ok=True)
        start = time.time()
        if options.launch == 'fork' and options.gpus_per_model == 1:
            returncode, timed_out = self._fork(config, options, log, study.root)
        else:
            returncode, timed_out = self._spawn(config, options, log, study.root)
        seconds = time.time() - start
        store = ResultStore(study.results)
        result = store.peek(entry.key)
        if result is not None and result.status == 'done' and result.finished_at >= start:
            return result          # recorded by this attempt's EDFHook (even if the
            # process was killed afterwards, e.g. by the timeout while summarising)
        reason = diagnose(returncode, tail(log), timed_out, options.timeout_s)
        return ModelResult.failed(entry.key, reason, train_seconds=seconds,
                                  extra={'returncode': returncode, 'log': str(log)})

    def _spawn(self, config: Path, options: TrainOptions, log: Path,
               study_dir: Path) -> tuple[int, bool]:
        with open(log, 'wb') as out:
            proc = subprocess.Popen(self.command(config, options, study_dir), stdout=out,
                                    stderr=subprocess.STDOUT, env=_child_env(options),
                                    preexec_fn=preexec_die_with_parent)
            try:
                return proc.wait(timeout=options.timeout_s), False
            except subprocess.TimeoutExpired:
                kill_group(proc.pid)
                proc.wait()
                return proc.returncode, True
            except BaseException:
                kill_group(proc.pid)
                raise

    def _fork(self, config: Path, options: TrainOptions, log: Path,
              study_dir: Path) -> tuple[int, bool]:
        import multiprocessing
        parsed: Any = str(config)
        if options.warm_fork:
            from .train_one import model_config, warm_up
            try:
                # parsed once, here: the child inherits it instead of parsing it again
                parsed = model_config(config, str(study_dir))
                warm_up(parsed)
            except Exception:  # noqa: BLE001  (the child meets it again, and logs it)
                pass
        context = multiprocessing.get_context('fork')
        proc = context.Process(target=_fork_target, daemon=False,
                               args=(parsed, options.launcher, str(log),
                                     options.torch_threads, str(study_dir)))
        proc.start()
        proc.join(options.timeout_s)
        if proc.is_alive():
            kill_group(proc.pid)
            proc.join()
            return proc.exitcode, True
        return proc.exitcode, False
