"""Where everything of a study lives on disk (one directory, shareable by many workers).

::

    STUDY_DIR/
      manifest.json              the population + config hash (written once by `sample`)
      study_config.py            the study config as sampled (for the record)
      models/<key>/config.py     a runnable mmengine training config per model
      models/<key>/work/         that model's Runner work_dir (logs, checkpoints)
      models/<key>/train.log     stdout+stderr of its training process
      claims/<key>.claim         who trains <key> now (atomic O_CREAT|O_EXCL files)
      results/<key>.json         the model's result (atomic, checksummed)
      results/corrupt/           damaged result files, moved aside (never counted)
      events.jsonl               audit log: one line per training start/finish/failure,
                                 waits for others' claims, dead workers, set-aside results
      data/<root>-<hash>/        prepared data, one directory per data setting
      superseded/<time>/         results (and model dirs) of another recipe or data, set
                                 aside by a re-sample (superseded.json says which, why)
      workers/worker<i>.log      the local workers' output
      analysis/                  report.md, plots, summary.json, results.csv
      submitit/                  submitit's job files (local/slurm executors)

A model's key is ``<space>-<spec id>``: stable across runs and readable in listings.
Nothing here imports torch or mmengine.
"""
from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..atomic_io import safe_name

MANIFEST = 'manifest.json'
STUDY_CONFIG = 'study_config.py'


def model_key(space: str, spec_id: str) -> str:
    """File-system safe key of a model of a space."""
    return f'{safe_name(space)}-{spec_id}'


def map_strings(tree: Any, fn: Callable[[str], str]) -> Any:
    """A copy of a config tree (mappings become dicts, lists and tuples stay lists and
    tuples) with ``fn`` applied to every string: how study paths in configs are
    filled in (``study.substitute``) and moved (``rebase_paths``)."""
    if isinstance(tree, str):
        return fn(tree)
    if isinstance(tree, Mapping):
        return {k: map_strings(v, fn) for k, v in tree.items()}
    if isinstance(tree, list):
        return [map_strings(v, fn) for v in tree]
    if isinstance(tree, tuple):
        return tuple(map_strings(v, fn) for v in tree)
    return tree


def rebase_paths(value: Any, old: str, new: str) -> Any:
    """Every string of a config tree that is ``old`` or lies under it, moved to ``new``."""
    return map_strings(value, lambda text: new + text[len(old):]
                       if text == old or text.startswith(old + '/') else text)


class StudyDir:
    """Paths of one study directory (created lazily)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f'StudyDir({str(self.root)!r})'

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def study_config(self) -> Path:
        return self.root / STUDY_CONFIG

    @property
    def models(self) -> Path:
        return self.root / 'models'

    @property
    def claims(self) -> Path:
        return self.root / 'claims'

    @property
    def results(self) -> Path:
        return self.root / 'results'

    @property
    def analysis(self) -> Path:
        return self.root / 'analysis'

    @property
    def submitit(self) -> Path:
        return self.root / 'submitit'

    @property
    def events(self) -> Path:
        return self.root / 'events.jsonl'

    def model_dir(self, key: str) -> Path:
        return self.models / key

    def model_config(self, key: str) -> Path:
        return self.model_dir(key) / 'config.py'

    def model_work_dir(self, key: str) -> Path:
        return self.model_dir(key) / 'work'

    def model_log(self, key: str) -> Path:
        return self.model_dir(key) / 'train.log'

    def make(self) -> 'StudyDir':
        for path in (self.models, self.claims, self.results, self.analysis):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def log_event(self, event: str, key: str | None = None, **fields: Any) -> None:
        """Append one JSON line to events.jsonl (a single O_APPEND write: atomic)."""
        record = {'time': time.time(), 'host': socket.gethostname(), 'pid': os.getpid(),
                  'event': event, 'key': key, **fields}
        line = (json.dumps(record, default=str) + '\n').encode()
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.events, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_events(self) -> list[dict[str, Any]]:
        """All complete event lines (a torn last line from a crash is skipped)."""
        if not self.events.exists():
            return []
        events = []
        for line in self.events.read_text().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events
