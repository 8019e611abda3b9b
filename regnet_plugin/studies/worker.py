"""The worker loop: claim an unfinished model, train it, record its result, repeat.

Any number of workers (processes, submitit array tasks, hosts sharing the study
directory) can run this loop on one study at once. Together they train every model
exactly once and lose no result:

* a model is trained only by the worker holding its claim (``claims.py``);
* under the claim, an existing valid result means "finished": skip it; a corrupt
  one is moved aside and the model is trained again (``results.py``);
* results are written atomically before the claim is released, so a kill -9 at
  any moment leaves either a complete result or a claim of a dead process, which
  the next worker (or the next run) breaks and redoes;
* a worker keeps polling while the only unfinished models are claimed by others,
  so a claim left by a worker that died is picked up once it is stale.

Training itself is pluggable (``trainers.resolve_trainer``); whatever the trainer
does, exceptions become a 'failed' result with the reason, and the study goes on.
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .claims import ClaimBook, WaitNotice
from .layout import StudyDir
from .manifest import Manifest, ModelEntry
from .results import ModelResult, ResultStore
from .schema import TrainOptions
from .trainers import Trainer, resolve_trainer

POLL_S = 2.0
RECHECK_S = 0.2         # while waiting: how often to look for a released claim
WATCHED_CLAIMS = 8      # ... of the first few models waited for


@dataclass
class WorkerReport:
    """What one worker did."""

    worker: str
    trained: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0


def result_is_final(result: ModelResult | None, retry_failed_before: float | None) -> bool:
    """A model is finished if it has a result, unless it failed and we retry failures
    recorded before this run started (failures of this run are never retried twice)."""
    if result is None:
        return False
    if result.status == 'failed' and retry_failed_before is not None:
        return result.finished_at >= retry_failed_before
    return True


def training_order(models: list[ModelEntry]) -> list[ModelEntry]:
    """Round-robin over the spaces (1st of each space, then 2nd...), so that a study
    stopped part-way (or its live EDF) compares spaces on equal numbers of models."""
    rank: dict[str, int] = {}
    spaces = list(dict.fromkeys(m.space for m in models))
    keyed = []
    for m in models:
        keyed.append((rank.get(m.space, 0), spaces.index(m.space), m.index, m))
        rank[m.space] = rank.get(m.space, 0) + 1
    return [k[-1] for k in sorted(keyed, key=lambda k: k[:3])]


def unfinished(manifest: Manifest, store: ResultStore,
               retry_failed_before: float | None = None) -> list[ModelEntry]:
    """Models without a final result, in training order (read-only: corrupt files
    count as unfinished)."""
    left = []
    for entry in training_order(manifest.models):
        result = store.peek(entry.key)
        if not result_is_final(result, retry_failed_before):
            left.append(entry)
    return left


def wait_for_release(book: ClaimBook, keys: Sequence[str], timeout_s: float,
                     step_s: float = RECHECK_S, watch: int = WATCHED_CLAIMS) -> bool:
    """Sleep up to ``timeout_s``, returning early (True) once the claim of one of
    the first ``watch`` of ``keys`` is gone: its model is finished (or its claim was
    broken), so the worker looks again at once instead of after a whole poll. At
    the end of a study that is the moment the last result lands: the waiting
    workers, and so the study, end then. A stat per watched claim per step."""
    deadline = time.monotonic() + timeout_s
    watched = [book.path(key) for key in list(keys)[:watch]]
    while True:
        if any(not path.exists() for path in watched):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(step_s, left))


def train_safely(trainer: Trainer, study: StudyDir, entry: ModelEntry,
                 options: TrainOptions) -> ModelResult:
    """Run the trainer; any exception becomes a failed result with its reason."""
    start = time.time()
    try:
        result = trainer(study, entry, options)
        if not isinstance(result, ModelResult):
            raise TypeError(f'trainer returned {type(result).__name__}, '
                            f'expected ModelResult')
        if result.key != entry.key:
            raise ValueError(f'trainer returned the result of {result.key!r} '
                             f'for {entry.key!r}')
        return result
    except Exception as exc:  # noqa: BLE001  (a crash must not stop the study)
        return ModelResult.failed(entry.key, f'{type(exc).__name__}: {exc}'[:500],
                                  train_seconds=time.time() - start)


def run_worker(study_root: str | os.PathLike, trainer: str | Trainer = 'runner',
               options: TrainOptions | None = None, retry_failed_before: float | None = None,
               wait_for_others: bool = True, worker_name: str | None = None,
               poll_s: float = POLL_S) -> WorkerReport:
    """Train unfinished models of the study until none is left (see module docstring)."""
    options = options or TrainOptions()
    study = StudyDir(study_root)
    manifest = Manifest.load(study)
    store = ResultStore(study.results)
    book = ClaimBook(study.claims, options.stale_after_s)
    train = resolve_trainer(trainer) if isinstance(trainer, str) else trainer
    report = WorkerReport(worker_name or f'{socket.gethostname()}:{os.getpid()}')
    notice = WaitNotice(book, log_event=study.log_event)     # never wait silently
    while True:
        left = unfinished(manifest, store, retry_failed_before)
        if not left:
            return report
        claimed_any = False
        for entry in left:
            claim = book.try_claim(entry.key)
            if claim is None:
                continue
            claimed_any = True
            with claim.start_heartbeat():
                existing, corrupt = store.load_or_quarantine(entry.key)
                if corrupt:
                    study.log_event('corrupt_result', entry.key, reason=corrupt)
                if result_is_final(existing, retry_failed_before):
                    report.skipped += 1      # finished between our scan and our claim
                    continue
                study.log_event('start', entry.key, worker=report.worker)
                result = train_safely(train, study, entry, options)
                store.write(result)
                study.log_event('finish', entry.key, worker=report.worker,
                                status=result.status, reason=result.reason,
                                final_error=result.final_error)
                (report.trained if result.status == 'done' else report.failed).append(
                    entry.key)
        if not claimed_any:
            if not wait_for_others:
                return report
            notice.waiting([e.key for e in left])
            # others hold the rest; wait for them or their death
            wait_for_release(book, [e.key for e in left], poll_s)
        else:
            notice.resume()


def run_worker_task(study_root: str, trainer: str, options: dict,
                    retry_failed_before: float | None = None) -> dict:
    """Entry point of a submitit array task (plain arguments: picklable)."""
    opts = TrainOptions.from_dict(options)
    if opts.executor == 'local':
        from .process import die_with_parent
        die_with_parent()        # submitit's local task: do not outlive the driver
    report = run_worker(study_root, trainer, opts, retry_failed_before)
    return {'worker': report.worker, 'trained': report.trained, 'failed': report.failed,
            'skipped': report.skipped}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m regnet_plugin.studies.worker STUDY_DIR``: one worker process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('study_dir')
    parser.add_argument('--trainer', default='runner')
    parser.add_argument('--options', default='{}', help='TrainOptions as JSON')
    parser.add_argument('--retry-failed-before', type=float, default=None)
    args = parser.parse_args(argv)
    import json
    opts = TrainOptions.from_dict(json.loads(args.options))
    if opts.launch == 'fork' and args.trainer == 'runner':
        from . import train_one  # noqa: F401  (import the toolboxes once, fork per model)
    report = run_worker(Path(args.study_dir), args.trainer, opts, args.retry_failed_before)
    print(f'worker {report.worker}: trained {len(report.trained)}, '
          f'failed {len(report.failed)}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    status = main()
    from regnet_plugin.studies.process import freeze_heap_for_exit
    freeze_heap_for_exit()          # results and events are written: exit faster
    sys.exit(status)
