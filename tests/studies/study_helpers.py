"""Helpers shared by the study tests (``from study_helpers import ...``: pytest's
default import mode puts this directory, which has no ``__init__.py``, on sys.path)."""
from __future__ import annotations

from pathlib import Path

from regnet_plugin.studies.layout import StudyDir


def starts_per_key(root: Path) -> dict[str, int]:
    """How often each model's training was started, from the study's events.jsonl."""
    counts: dict[str, int] = {}
    for event in StudyDir(root).read_events():
        if event['event'] == 'start':
            counts[event['key']] = counts.get(event['key'], 0) + 1
    return counts
