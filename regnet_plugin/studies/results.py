"""Per-model result files: atomic, checksummed, never half-counted.

A result is written to a temporary file in the same directory, flushed and fsynced,
then ``os.replace``d over ``results/<key>.json`` (atomic on POSIX), and the directory
is fsynced so the rename survives a power cut. The JSON carries ``complete: true``
and a SHA-256 checksum of its canonical payload; a file that fails to parse, lacks
the flag or whose checksum does not match (torn write on a non-POSIX file system,
manual edit, disk error) is *corrupt*: it is moved to ``results/corrupt/`` and the
model counts as not done, so it is trained again; it is never counted.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..atomic_io import atomic_write_text, fsync_dir

RESULT_FORMAT = 1
STATUSES = ('done', 'failed')


class CorruptResult(ValueError):
    """A result file that cannot be trusted."""


def _canonical(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(',', ':'),
                      allow_nan=False).encode()


def checksum(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(payload)).hexdigest()


def _finite_or_none(value: Any) -> float | None:
    """JSON has no NaN: a NaN/inf error is stored as None (and the status says why)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def atomic_write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Atomic write (tmp file + fsync + os.replace), then fsync the directory so the
    rename itself survives a crash."""
    atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False))
    fsync_dir(path.parent)


@dataclass(frozen=True)
class ModelResult:
    """The outcome of training one model."""

    key: str
    status: str                       # 'done' or 'failed'
    final_error: float | None = None  # top-1 error (%) after the last epoch
    best_error: float | None = None   # lowest top-1 error (%) over validations
    reason: str | None = None         # why it failed
    history: tuple[float, ...] = ()   # top-1 error after each validation
    epochs: int | None = None
    train_seconds: float | None = None
    host: str = ''
    finished_at: float = 0.0
    extra: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f'result status must be one of {STATUSES}, got {self.status!r}')
        if self.status == 'failed' and not self.reason:
            raise ValueError('a failed result needs a reason')
        if self.status == 'done' and _finite_or_none(self.final_error) is None:
            raise ValueError(f'a done result needs a finite final_error, '
                             f'got {self.final_error!r}')

    @classmethod
    def done(cls, key: str, final_error: float, best_error: float | None = None,
             history: tuple[float, ...] = (), **kwargs: Any) -> 'ModelResult':
        return cls(key, 'done', float(final_error),
                   float(best_error if best_error is not None else final_error),
                   None, tuple(float(h) for h in history), **kwargs)

    @classmethod
    def failed(cls, key: str, reason: str, **kwargs: Any) -> 'ModelResult':
        return cls(key, 'failed', reason=reason, **kwargs)

    def payload(self) -> dict[str, Any]:
        return {'format': RESULT_FORMAT, 'key': self.key, 'status': self.status,
                'final_error': _finite_or_none(self.final_error),
                'best_error': _finite_or_none(self.best_error), 'reason': self.reason,
                'history': [_finite_or_none(h) for h in self.history],
                'epochs': self.epochs, 'train_seconds': self.train_seconds,
                'host': self.host or socket.gethostname(),
                'finished_at': self.finished_at or time.time(),
                'extra': dict(self.extra or {}), 'complete': True}

    @classmethod
    def from_file_data(cls, data: Mapping[str, Any]) -> 'ModelResult':
        return cls(key=data['key'], status=data['status'], final_error=data['final_error'],
                   best_error=data['best_error'], reason=data['reason'],
                   history=tuple(h for h in data['history'] if h is not None),
                   epochs=data['epochs'], train_seconds=data['train_seconds'],
                   host=data['host'], finished_at=data['finished_at'],
                   extra=data.get('extra') or {})

    def as_dict(self) -> dict[str, Any]:
        return self.payload()


class ResultStore:
    """The ``results/`` directory of a study."""

    def __init__(self, results_dir: str | os.PathLike) -> None:
        self.dir = Path(results_dir)

    def path(self, key: str) -> Path:
        return self.dir / f'{key}.json'

    def write(self, result: ModelResult) -> Path:
        payload = result.payload()
        atomic_write_json(self.path(result.key), {**payload, 'checksum': checksum(payload)})
        return self.path(result.key)

    def load(self, key: str) -> ModelResult | None:
        """The valid result of ``key``, None if absent. Raises CorruptResult if damaged."""
        path = self.path(key)
        try:
            text = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)      # bytes: undecodable ones are a ValueError too
        except ValueError as exc:
            raise CorruptResult(f'{path}: not valid JSON ({exc})') from None
        if not isinstance(data, dict) or data.get('complete') is not True:
            raise CorruptResult(f'{path}: incomplete (no complete flag)')
        stored = data.pop('checksum', None)
        try:
            expected = checksum(data)
        except (TypeError, ValueError) as exc:
            raise CorruptResult(f'{path}: unserialisable content ({exc})') from None
        if stored != expected:
            raise CorruptResult(f'{path}: checksum mismatch')
        if data.get('key') != key:
            raise CorruptResult(f'{path}: belongs to {data.get("key")!r}, not {key!r}')
        try:
            return ModelResult.from_file_data(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptResult(f'{path}: malformed result ({exc})') from None

    def peek(self, key: str) -> ModelResult | None:
        """The valid result of ``key``; None if absent or damaged. Read-only: a
        corrupt file stays where it is (the worker that claims the model moves it
        aside, see ``load_or_quarantine``)."""
        try:
            return self.load(key)
        except CorruptResult:
            return None

    def load_or_quarantine(self, key: str) -> tuple[ModelResult | None, str | None]:
        """(result, None), or (None, why) after moving a corrupt file aside."""
        try:
            return self.load(key), None
        except CorruptResult as exc:
            self.quarantine(key)
            return None, str(exc)

    def quarantine(self, key: str) -> Path | None:
        """Move a damaged result to ``corrupt/`` (kept for inspection, never counted)."""
        path = self.path(key)
        target = self.dir / 'corrupt' / f'{key}.{time.strftime("%Y%m%dT%H%M%S")}.' \
                                        f'{os.getpid()}.json'
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except FileNotFoundError:
            return None
        return target

    def keys(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(p.stem for p in self.dir.glob('*.json'))
