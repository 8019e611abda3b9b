"""Running the workers of a study: local processes, submitit local, Slurm job arrays.

All executors start ``workers`` copies of the same worker loop (``worker.py``) on
the shared study directory; the claims make them split the population between
them. The driver shows one progress bar (with ETA) over the whole population by
watching the results directory, whichever executor runs the workers.

* ``subprocess``: N worker processes here, forked from the driver with
  ``launch='fork'`` (with ``warm_fork`` the driver warms up once for all of them:
  ``train_one.warm_up``) or fresh ``python -m regnet_plugin.studies.worker``
  interpreters (either way they die with the driver, so a killed study leaves no
  orphans; the driver returns as soon as the last one ends);
* ``local``: submitit's ``LocalExecutor``, an array of N tasks on this machine (the
  same code path as Slurm, testable without a cluster);
* ``slurm``: submitit's ``AutoExecutor`` job array of N tasks; each task is one
  worker with ``gpus_per_model`` GPUs (models on several GPUs run under torchrun).
  ``study.train.slurm`` is passed to ``update_parameters`` (partition, account,
  timeout_min, cpus_per_task, mem_gb, ...).

A worker that dies (killed, out of memory, a lost node) does not end the study with
a traceback: the others go on (they take over its claim once it is stale), and the
summary says which models finished, which failed or are unfinished, and which
worker died (``TrainSummary.worker_errors``). The driver also shows the workers'
``waiting`` events: what they wait for when other processes hold the claims.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .claims import RUN_ENV, ClaimBook
from .layout import StudyDir
from .manifest import Manifest
from .process import kill_group, preexec_die_with_parent
from .results import ResultStore
from .schema import TrainOptions
from .worker import result_is_final
from .worker import unfinished as unfinished_models

POLL_S = 1.0


@dataclass
class TrainSummary:
    """Where the population stands after a train call."""

    total: int
    done: int
    failed: int
    pending: int
    failures: dict[str, str] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    worker_errors: list[str] = field(default_factory=list)   # workers that died


class ProgressMonitor:
    """A tqdm bar over the population, advanced by counting final result files."""

    def __init__(self, study: StudyDir, manifest: Manifest,
                 retry_failed_before: float | None, enabled: bool = True,
                 log: Callable[[str], None] = print) -> None:
        self.study, self.manifest = study, manifest
        self.store = ResultStore(study.results)
        self.retry_failed_before = retry_failed_before
        self._final: dict[str, Any] = {}     # final results never change: read once
        self.finished = self._count()
        self.log = log
        try:
            self.events_offset = study.events.stat().st_size
        except FileNotFoundError:
            self.events_offset = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=len(manifest.models), initial=self.finished,
                            desc=f'training {manifest.name}', unit='model',
                            dynamic_ncols=True, file=sys.stderr)

    def _results(self) -> dict[str, Any]:
        """Every model's result; a final one is read once (the workers skip models
        with a final result, so it is not rewritten in this run), the others at each
        poll (a thousand-model study would otherwise re-read and checksum every
        finished result each second, on the cores that train)."""
        results = {}
        for key in self.manifest.keys():
            result = self._final.get(key)
            if result is None:
                result = self.store.peek(key)
                if result_is_final(result, self.retry_failed_before):
                    self._final[key] = result
            results[key] = result
        return results

    def _count(self) -> int:
        return sum(result_is_final(r, self.retry_failed_before)
                   for r in self._results().values())

    def _say(self, message: str) -> None:
        if self.bar is not None:
            self.bar.write(message, file=sys.stderr)
        else:
            self.log(message)

    def _new_events(self) -> list[dict[str, Any]]:
        """Complete events appended to events.jsonl since the last poll."""
        try:
            with open(self.study.events, 'rb') as f:
                f.seek(self.events_offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b'\n') + 1          # a line still being written waits
        self.events_offset += end
        events = []
        for line in chunk[:end].splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def poll(self) -> int:
        for event in self._new_events():
            if event.get('event') == 'waiting':
                self._say(f"worker {event.get('host')}:{event.get('pid')} is "
                          f"{event.get('message', 'waiting')}")
        results = self._results()
        finished = sum(result_is_final(r, self.retry_failed_before)
                       for r in results.values())
        if self.bar is not None and finished != self.finished:
            failed = sum(r is not None and r.status == 'failed' for r in results.values())
            done = [r for r in results.values() if r is not None and r.status == 'done']
            best = min((r.final_error for r in done), default=float('nan'))
            self.bar.set_postfix(failed=failed, best_error=f'{best:.2f}')
            self.bar.update(finished - self.finished)
        self.finished = finished
        return finished

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summarize(study: StudyDir, manifest: Manifest) -> TrainSummary:
    store = ResultStore(study.results)
    done = failed = 0
    failures = {}
    unfinished = []
    for key in manifest.keys():
        result = store.peek(key)
        if result is None:
            unfinished.append(key)
            continue
        if result.status == 'done':
            done += 1
        else:
            failed += 1
            failures[key] = result.reason or 'unknown'
    total = len(manifest.models)
    return TrainSummary(total, done, failed, total - done - failed, failures,
                        unfinished=unfinished)


def describe_exit(code: int | None) -> str:
    """How a worker process ended, in words."""
    if code is None:
        return 'did not report an exit status'
    if code < 0:
        try:
            return f'was killed by {signal.Signals(-code).name}'
        except ValueError:
            return f'was killed by signal {-code}'
    return f'exited with code {code}'


def _last_line(path: Path) -> str:
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            lines = [ln.strip() for ln in f.read().decode(errors='replace').splitlines()]
    except OSError:
        return ''
    lines = [ln for ln in lines if ln]
    return lines[-1][:200] if lines else ''


def _worker_error(i: int, pid: int, code: int | None, log: Path) -> str:
    last = _last_line(log)
    return (f'worker {i} (pid {pid}) {describe_exit(code)}; log: {log}'
            + (f' (last line: {last})' if last else ''))


@contextmanager
def _run_token():
    """Mark this run's workers (claims.RUN_ENV, inherited by forks, subprocesses and
    submitit tasks) so they tell each other's claims from other runs'."""
    previous = os.environ.get(RUN_ENV)
    os.environ[RUN_ENV] = f'{os.getpid()}-{secrets.token_hex(4)}'
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(RUN_ENV, None)
        else:
            os.environ[RUN_ENV] = previous


def train_study(study_root: str | Path, options: TrainOptions | None = None,
                trainer: str | None = None, progress: bool = True,
                log: Callable[[str], None] = print) -> TrainSummary:
    """Train every unfinished model of the study with the chosen executor."""
    study = StudyDir(study_root)
    manifest = Manifest.load(study)
    from .schema import StudyConfig
    base = StudyConfig.from_dict(manifest.study).train
    options = options or base
    trainer = trainer or options.trainer
    from .trainers import resolve_trainer
    resolve_trainer(trainer)         # a bad --trainer fails here, not in every worker
    retry_before = time.time() if options.retry_failed else None
    monitor = ProgressMonitor(study, manifest, retry_before, progress, log)
    try:
        with _run_token():
            if options.executor == 'subprocess':
                jobs, errors = _run_subprocesses(study, options, trainer, retry_before,
                                                 monitor)
            else:
                jobs, errors = _run_submitit(study, options, trainer, retry_before,
                                             monitor, log)
    finally:
        monitor.poll()
        monitor.close()
    ClaimBook(study.claims, options.stale_after_s).sweep_stale()
    summary = summarize(study, manifest)
    summary.jobs = jobs
    summary.worker_errors = errors
    for error in errors:
        study.log_event('worker_error', None, error=error)
    return summary


def _options_json(options: TrainOptions) -> str:
    return json.dumps(asdict(options), default=list)


def _fork_worker(root: str, trainer: str, options: dict, retry_before: float | None,
                 log: str) -> None:
    """Body of a forked worker: die with the driver, log to its file, run the loop."""
    from .process import run_forked_child
    from .worker import run_worker
    run_forked_child(lambda: run_worker(root, trainer, TrainOptions.from_dict(options),
                                        retry_before), log, append=True)


def _warm_up_workers(study: StudyDir, monitor: ProgressMonitor,
                     warm_up: Callable[..., None]) -> None:
    """Warm this process up (``train_one.warm_up``: the config's toolbox, the
    modules the Runner and EDFHook use, the in-memory datasets) before forking the
    workers, with the config of the first model left to train: the workers start
    warm instead of each doing the same work on its own (on a small machine the
    workers' first models then start seconds earlier, and the decoded data is
    shared by all of them). A failure is left to the model's own process, which
    meets it again and logs it."""
    left = unfinished_models(monitor.manifest, monitor.store, monitor.retry_failed_before)
    config = study.model_config(left[0].key) if left else None
    if config is not None and config.exists():
        try:
            warm_up(config, str(study.root))
        except Exception:  # noqa: BLE001  (see docstring)
            pass


def _run_subprocesses(study: StudyDir, options: TrainOptions, trainer: str,
                      retry_before: float | None, monitor: ProgressMonitor
                      ) -> tuple[list[str], list[str]]:
    """N local workers: forked from this process with ``launch='fork'`` (no import
    cost: the toolboxes are imported once, here), else fresh interpreters."""
    logs = study.root / 'workers'
    logs.mkdir(parents=True, exist_ok=True)
    if options.launch == 'fork':
        import multiprocessing
        from multiprocessing.connection import wait
        if trainer == 'runner':
            from . import train_one  # noqa: F401  (import the toolboxes before forking)
            if options.warm_fork:
                _warm_up_workers(study, monitor, train_one.warm_up)
        context = multiprocessing.get_context('fork')
        procs = [context.Process(target=_fork_worker, args=(
            str(study.root), trainer, asdict(options), retry_before,
            str(logs / f'worker{i}.log'))) for i in range(options.workers)]
        for proc in procs:
            proc.start()
        try:
            while any(p.is_alive() for p in procs):
                monitor.poll()
                # woken at once when a worker ends (the last one: the study is done)
                ended = wait([p.sentinel for p in procs if p.is_alive()], timeout=POLL_S)
                for proc in procs:
                    if proc.sentinel in ended:
                        proc.join(POLL_S)   # it is exiting: reap it (no busy loop)
        finally:
            for proc in procs:
                if proc.is_alive():
                    kill_group(proc.pid)
                    proc.join()
        errors = [_worker_error(i, p.pid, p.exitcode, logs / f'worker{i}.log')
                  for i, p in enumerate(procs) if p.exitcode]
        return [str(p.pid) for p in procs], errors
    command = [sys.executable, '-m', 'regnet_plugin.studies.worker', str(study.root),
               '--trainer', trainer, '--options', _options_json(options)]
    if retry_before is not None:
        command += ['--retry-failed-before', repr(retry_before)]
    procs = []
    try:
        for i in range(options.workers):
            out = open(logs / f'worker{i}.log', 'ab')
            procs.append((subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                           preexec_fn=preexec_die_with_parent), out))
        while any(p.poll() is None for p, _ in procs):
            monitor.poll()
            running = next(p for p, _ in procs if p.poll() is None)
            try:                    # woken at once when it ends (the last one: done)
                running.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                pass
    finally:
        for proc, out in procs:
            if proc.poll() is None:         # interrupted (Ctrl-C): stop the workers
                kill_group(proc.pid)
                proc.wait()
            out.close()
    errors = [_worker_error(i, p.pid, p.returncode, logs / f'worker{i}.log')
              for i, (p, _) in enumerate(procs) if p.returncode]
    return [str(p.pid) for p, _ in procs], errors


def _run_submitit(study: StudyDir, options: TrainOptions, trainer: str,
                  retry_before: float | None, monitor: ProgressMonitor,
                  log: Callable[[str], None]) -> tuple[list[str], list[str]]:
    try:
        import submitit
    except ImportError:
        raise RuntimeError('the local and slurm executors need submitit '
                           '(pip install submitit)') from None
    from .worker import run_worker_task
    folder = study.submitit / '%j'
    slurm = dict(options.slurm)
    timeout_min = int(slurm.pop('timeout_min', 24 * 60))
    if options.executor == 'local':
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=timeout_min)
    else:
        executor = submitit.AutoExecutor(folder=folder, cluster='slurm')
        params = dict(timeout_min=timeout_min, gpus_per_node=options.gpus_per_model,
                      tasks_per_node=1, nodes=1,
                      slurm_array_parallelism=options.workers, name=study.root.name)
        params.update(slurm)
        executor.update_parameters(**params)
    n = options.workers
    opts = asdict(options)
    jobs = executor.map_array(run_worker_task, [str(study.root)] * n, [trainer] * n,
                              [opts] * n, [retry_before] * n)
    job_ids = [str(j.job_id) for j in jobs]
    log(f'{options.executor}: submitted {n} worker task(s): {", ".join(job_ids)} '
        f'(logs under {study.submitit})')
    if options.executor == 'slurm' and not options.wait:
        return job_ids, []
    while not all(j.done() for j in jobs):
        monitor.poll()
        time.sleep(POLL_S)
    errors = []
    for job in jobs:
        try:
            job.result()
        except Exception as exc:  # noqa: BLE001  (report every task's failure)
            errors.append(f'worker task {job.job_id} failed: {exc}'.splitlines()[0][:300]
                          + f' (logs under {study.submitit})')
    return job_ids, errors
