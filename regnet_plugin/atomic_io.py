"""Small file helpers shared by the analysis and the studies (standard library only).

Kept apart from ``analysis.report`` and ``studies.results`` so that writing a study
file imports neither scipy nor matplotlib (``import regnet_plugin`` stays cheap).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and ``os.replace`` so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
