"""Running the workers of a study: local processes, submitit local, Slurm job arrays.

All executors start ``workers`` copies of the same worker loop (``worker.py``) on
the shared study directory; the claims make them split the population between
them. The driver shows one progress bar (with ETA) over the whole population by
watching the results directory, whichever executor runs the workers.

* ``subprocess``: N worker processes here, forked from the driver with
  ``launch='fork'`` or fresh ``python -m regnet_plugin.studies.worker`` interpreters
  (either way they die with the driver, so a killed study leaves no orphans);
* ``local``: submitit's ``LocalExecutor``, an array of N tasks on this machine (the
  same code path as Slurm, testable without a cluster);
* ``slurm``: submitit's ``AutoExecutor`` job array of N tasks; each task is one
  worker with ``gpus_per_model`` GPUs (models on several GPUs run under torchrun).
  ``study.train.slurm`` is passed to ``update_parameters`` (partition, account,
  timeout_min, cpus_per_task, mem_gb, ...).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .claims import ClaimBook
from .layout import StudyDir
from .manifest import Manifest
from .process import kill_group, preexec_die_with_parent
from .results import ResultStore
from .schema import TrainOptions
from .worker import result_is_final

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


class ProgressMonitor:
    """A tqdm bar over the population, advanced by counting final result files."""

    def __init__(self, study: StudyDir, manifest: Manifest,
                 retry_failed_before: float | None, enabled: bool = True) -> None:
        self.study, self.manifest = study, manifest
        self.store = ResultStore(study.results)
        self.retry_failed_before = retry_failed_before
        self.finished = self._count()
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(total=len(manifest.models), initial=self.finished,
                            desc=f'training {manifest.name}', unit='model',
                            dynamic_ncols=True, file=sys.stderr)

    def _results(self) -> dict[str, Any]:
        return {key: self.store.peek(key) for key in self.manifest.keys()}

    def _count(self) -> int:
        return sum(result_is_final(r, self.retry_failed_before)
                   for r in self._results().values())

    def poll(self) -> int:
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
    for key in manifest.keys():
        result = store.peek(key)
        if result is None:
            continue
        if result.status == 'done':
            done += 1
        else:
            failed += 1
            failures[key] = result.reason or 'unknown'
    total = len(manifest.models)
    return TrainSummary(total, done, failed, total - done - failed, failures)


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
    retry_before = time.time() if options.retry_failed else None
    monitor = ProgressMonitor(study, manifest, retry_before, progress)
    try:
        if options.executor == 'subprocess':
            jobs = _run_subprocesses(study, options, trainer, retry_before, monitor)
        else:
            jobs = _run_submitit(study, options, trainer, retry_before, monitor, log)
    finally:
        monitor.poll()
        monitor.close()
    ClaimBook(study.claims, options.stale_after_s).sweep_stale()
    summary = summarize(study, manifest)
    summary.jobs = jobs
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


def _run_subprocesses(study: StudyDir, options: TrainOptions, trainer: str,
                      retry_before: float | None, monitor: ProgressMonitor) -> list[str]:
    """N local workers: forked from this process with ``launch='fork'`` (no import
    cost: the toolboxes are imported once, here), else fresh interpreters."""
    logs = study.root / 'workers'
    logs.mkdir(parents=True, exist_ok=True)
    if options.launch == 'fork':
        import multiprocessing
        if trainer == 'runner':
            from . import train_one  # noqa: F401  (import the toolboxes before forking)
        context = multiprocessing.get_context('fork')
        procs = [context.Process(target=_fork_worker, args=(
            str(study.root), trainer, asdict(options), retry_before,
            str(logs / f'worker{i}.log'))) for i in range(options.workers)]
        for proc in procs:
            proc.start()
        try:
            while any(p.is_alive() for p in procs):
                monitor.poll()
                time.sleep(POLL_S)
        finally:
            for proc in procs:
                if proc.is_alive():
                    kill_group(proc.pid)
                    proc.join()
        bad = [(i, p.exitcode) for i, p in enumerate(procs) if p.exitcode]
        if bad:
            raise RuntimeError(f'worker(s) exited with errors {bad}; see {logs}/worker*.log')
        return [str(p.pid) for p in procs]
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
            time.sleep(POLL_S)
    finally:
        for proc, out in procs:
            if proc.poll() is None:         # interrupted (Ctrl-C): stop the workers
                kill_group(proc.pid)
                proc.wait()
            out.close()
    bad = [(i, p.returncode) for i, (p, _) in enumerate(procs) if p.returncode]
    if bad:
        raise RuntimeError(f'worker(s) exited with errors {bad}; see {logs}/worker*.log')
    return [str(p.pid) for p, _ in procs]


def _run_submitit(study: StudyDir, options: TrainOptions, trainer: str,
                  retry_before: float | None, monitor: ProgressMonitor,
                  log: Callable[[str], None]) -> list[str]:
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
        return job_ids
    while not all(j.done() for j in jobs):
        monitor.poll()
        time.sleep(POLL_S)
    errors = []
    for job in jobs:
        try:
            job.result()
        except Exception as exc:  # noqa: BLE001  (report every task's failure)
            errors.append(f'{job.job_id}: {exc}'.splitlines()[0])
    if errors:
        raise RuntimeError('worker task(s) failed: ' + '; '.join(errors))
    return job_ids
