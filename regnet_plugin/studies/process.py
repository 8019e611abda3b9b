"""Process helpers: children that die with their parent, and killing process groups.

If a study is killed (kill -9 of the driver), its workers and their training
processes must not live on as orphans that keep writing into the study directory
while the next run starts: every child asks the kernel (Linux ``PR_SET_PDEATHSIG``)
to be sent SIGKILL when its parent dies. Elsewhere this is a no-op and orphans
are handled by the claims (a live orphan keeps its claim; a dead one is stale).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent exits."""
    if not sys.platform.startswith('linux'):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:        # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def preexec_die_with_parent() -> None:
    """``preexec_fn`` for subprocess: own process group + die with the parent."""
    os.setpgrp()
    die_with_parent()


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal the process group led by ``pid`` (a child started with setpgrp)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
