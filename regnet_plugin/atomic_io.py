"""Small file helpers shared by the analysis and the studies (standard library only).

Kept apart from ``analysis.report`` and ``studies.results`` so that writing a study
file imports neither scipy nor matplotlib (``import regnet_plugin`` stays cheap).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[IO], None],
                 mode: str = 'wb', encoding: str | None = None) -> None:
    """Write ``path`` all at once: ``write(file)`` fills a temporary file in the same
    directory, which is fsynced and renamed over ``path`` (then the directory is
    fsynced). A failure part-way (disk full, an exception in ``write``, a kill) leaves
    the old ``path`` as it was and no temporary file behind (except after a kill)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(21, 'Is a directory (expected a file name)', str(path))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, mode, encoding=encoding) as f:
            os.fchmod(f.fileno(), _new_file_mode(path))  # not mkstemp's private 0600
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _new_file_mode(path: Path) -> int:
    """The mode ``open(path, 'w')`` would give: the old file's, else 0666 less umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and ``os.replace`` so readers never see half a file."""
    atomic_write(path, lambda f: f.write(text), 'w', encoding='utf-8')


def fsync_dir(path: Path) -> None:
    """fsync a directory, so a rename into it survives a crash (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits and ``-_.`` replaced by ``_``
    (a file-system safe name: model keys, per-space plot files)."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)
