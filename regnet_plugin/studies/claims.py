"""Claims: which worker trains which model, safe for many processes and hosts.

A claim is a small JSON file ``claims/<key>.claim`` created with
``os.open(O_CREAT | O_EXCL)``, which is atomic on local file systems and on NFSv3+:
of two workers claiming the same model, exactly one succeeds. The file records
pid, host, the pid's start time (to tell a reused pid from the claimer), the time,
and a random token. Its mtime is a heartbeat the owner refreshes while training.

A claim is *stale* (its owner is gone, the model must be redone) when

* the owner ran on this host and its pid no longer exists, or now belongs to a
  process started at another time (pid reuse), or
* the owner ran on another host (a cluster node) and its heartbeat is older than
  ``stale_after_s`` (a pid on another host cannot be checked from here).

Breaking a stale claim is itself racy (two workers may judge it stale at once),
so the breaker first renames the file to a name only it uses, then checks that it
renamed the very claim it judged stale (same token); if another worker had broken
and re-claimed it in between, the fresh claim is put back with ``os.link`` (which
never overwrites). Then it claims with O_EXCL as usual.

A worker whose remaining models are all claimed by others waits for them; it
never waits silently: ``WaitNotice`` says which models, who holds them (pid, host,
since when, last heartbeat), when each claim counts as stale, and how to end the
wait sooner, at once and then periodically (on stderr and as a ``waiting`` event in
the study's ``events.jsonl``, which the driver's progress display shows).
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

DEFAULT_STALE_AFTER_S = 15 * 60
DEFAULT_HEARTBEAT_S = 30.0
WAIT_NOTICE_EVERY_S = 60.0
#: set by the driver (executors.train_study) for its workers: claims of sibling
#: workers of one run are not "others" a worker needs to announce waiting for
RUN_ENV = 'REGNET_STUDY_RUN'


class StudyBusy(RuntimeError):
    """Live workers hold claims on the study (e.g. it cannot be re-sampled now)."""


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, from the state
    (field 3, index 0) on; None when unreadable (no such pid, or not Linux)."""
    try:
        with open(f'/proc/{pid}/stat', 'rb') as f:
            stat = f.read()
    except OSError:
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    return stat[stat.rfind(b')') + 2:].split()


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux /proc), None if unknown."""
    fields = _stat_fields(pid)
    try:
        return int(fields[19])          # field 22: starttime
    except (TypeError, IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (dead, not yet reaped by its new parent) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass               # exists, owned by someone else
    fields = _stat_fields(pid)
    # no /proc (not Linux): trust kill(0)
    return not fields or fields[0][:1] not in (b'Z', b'X')


@dataclass(frozen=True)
class ClaimInfo:
    """The content of a claim file."""

    key: str
    pid: int
    host: str
    pid_start: int | None
    time: float
    token: str
    run: str = ''          # the driver run the claimer belongs to (RUN_ENV), if any

    @classmethod
    def mine(cls, key: str) -> 'ClaimInfo':
        pid = os.getpid()
        return cls(key, pid, socket.gethostname(), process_start_time(pid), time.time(),
                   secrets.token_hex(8), os.environ.get(RUN_ENV, ''))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> 'ClaimInfo':
        data = json.loads(text)
        return cls(str(data['key']), int(data['pid']), str(data['host']),
                   data.get('pid_start'), float(data['time']), str(data['token']),
                   str(data.get('run') or ''))


class Claim:
    """A held claim; refresh it with ``heartbeat()`` and ``release()`` it when done."""

    def __init__(self, path: Path, info: ClaimInfo) -> None:
        self.path = path
        self.info = info
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def key(self) -> str:
        return self.info.key

    def still_mine(self) -> bool:
        try:
            return ClaimInfo.from_json(self.path.read_text()).token == self.info.token
        except (OSError, ValueError, KeyError):
            return False

    def heartbeat(self) -> None:
        try:
            os.utime(self.path)
        except OSError:
            pass

    def start_heartbeat(self, interval_s: float = DEFAULT_HEARTBEAT_S) -> 'Claim':
        """Refresh the mtime every ``interval_s`` in a daemon thread until release."""
        def beat() -> None:
            while not self._stop.wait(interval_s):
                self.heartbeat()
        self._beat = threading.Thread(target=beat, name=f'claim-{self.key}', daemon=True)
        self._beat.start()
        return self

    def release(self) -> None:
        """Remove the claim file if it is still ours (never someone else's)."""
        self._stop.set()
        if self.still_mine():
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> 'Claim':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


class ClaimBook:
    """Claims of one study directory."""

    def __init__(self, claims_dir: str | os.PathLike,
                 stale_after_s: float = DEFAULT_STALE_AFTER_S) -> None:
        self.dir = Path(claims_dir)
        self.stale_after_s = float(stale_after_s)

    def path(self, key: str) -> Path:
        return self.dir / f'{key}.claim'

    def read(self, key: str) -> ClaimInfo | None:
        """The current claim on ``key``; None if unclaimed (or unreadable, see is_stale)."""
        try:
            return ClaimInfo.from_json(self.path(key).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_stale(self, key: str) -> bool:
        """True if ``key`` has a claim file whose owner is gone (see module docstring)."""
        path = self.path(key)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return False
        info = self.read(key)
        if info is None:
            # unreadable: a claimer killed between O_EXCL create and its write. Give a
            # live writer a moment (it writes right after creating) before judging.
            return time.time() - mtime > 5.0
        if info.host == socket.gethostname():
            if not pid_alive(info.pid):
                return True
            start = process_start_time(info.pid)
            return (info.pid_start is not None and start is not None
                    and start != info.pid_start)
        return time.time() - mtime > self.stale_after_s

    def try_claim(self, key: str) -> Claim | None:
        """Claim ``key`` if nobody holds it (breaking a stale claim); else None."""
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        for _ in range(3):
            info = ClaimInfo.mine(key)
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if self.is_stale(key) and self._break(key):
                    continue
                return None
            with os.fdopen(fd, 'w') as f:
                f.write(info.to_json())
                f.flush()
                os.fsync(f.fileno())
            return Claim(path, info)
        return None

    def _break(self, key: str) -> bool:
        """Remove a stale claim safely (see module docstring). True if removed."""
        path = self.path(key)
        judged = self.read(key)
        aside = path.with_name(f'{path.name}.breaking-{secrets.token_hex(6)}')
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return True            # someone else removed it: try claiming again
        try:
            moved = ClaimInfo.from_json(aside.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            moved = None
        if judged is not None and moved is not None and moved.token != judged.token:
            # we moved a fresh claim made after our judgement: restore it
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def sweep_stale(self) -> list[str]:
        """Remove every stale claim (e.g. of a model finished just before its worker
        was killed, which nobody will claim again). Returns the swept keys."""
        swept = []
        for key in list(self.holders()):
            if self.is_stale(key) and self._break(key):
                swept.append(key)
        return swept

    def holders(self) -> dict[str, ClaimInfo | None]:
        """Every current claim (key -> info, None when unreadable)."""
        if not self.dir.exists():
            return {}
        return {p.name[:-len('.claim')]: self.read(p.name[:-len('.claim')])
                for p in self.dir.glob('*.claim')}


def _clock(t: float) -> str:
    return time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(t))


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f'{seconds:.0f} s ago'
    if seconds < 7200:
        return f'{seconds / 60:.0f} min ago'
    return f'{seconds / 3600:.1f} h ago'


def describe_wait(book: ClaimBook, keys: Sequence[str], limit: int = 5) -> str | None:
    """What a worker waiting for the claims on ``keys`` waits for, and how to end the
    wait; None if none of them is claimed any more, or only by sibling workers of
    the same run (``RUN_ENV``)."""
    now = time.time()
    here = socket.gethostname()
    run = os.environ.get(RUN_ENV, '')
    lines, same_host, other_host = [], False, False
    held = 0
    for key in keys:
        path = book.path(key)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            continue
        info = book.read(key)
        if info is not None and run and info.run == run:
            continue               # a sibling worker of this run: the usual end of a run
        held += 1
        if held > limit:
            continue
        if info is None:
            lines.append(f'  {key}: claim file {path} is unreadable (a claimer killed while '
                         f'writing it?); taken over 5 s after its last change')
        elif info.host == here:
            same_host = True
            lines.append(f'  {key}: pid {info.pid} on this host ({here}), claimed '
                         f'{_clock(info.time)} ({_ago(now - info.time)}); taken over as soon '
                         f'as that process ends')
        else:
            other_host = True
            left = book.stale_after_s - (now - mtime)
            lines.append(f'  {key}: pid {info.pid} on host {info.host}, claimed '
                         f'{_clock(info.time)}, last heartbeat {_ago(now - mtime)}; taken '
                         f'over when its heartbeat is {book.stale_after_s:g} s old '
                         f'(in {max(0.0, left):.0f} s)')
    if not held:
        return None
    if held > limit:
        lines.append(f'  ... and {held - limit} more')
    if same_host:
        lines.append('  to end the wait: the process on this host is alive and training; wait '
                     'for it, or stop it (kill PID) and its models are trained here')
    if other_host:
        lines.append('  to end the wait: if the worker on that host is gone, rerun with '
                     '`train --stale-after 0` (takes over claims from other hosts at once) '
                     'or delete its claim file; never while it still trains')
    return (f'waiting for {held} model(s) claimed by other workers (claim files in '
            f'{book.dir}):\n' + '\n'.join(lines))


class WaitNotice:
    """Says what a waiting worker waits for: at the first wait, then every ``every_s``
    while the wait lasts (stderr, and a ``waiting`` event through ``log_event``)."""

    def __init__(self, book: ClaimBook, every_s: float = WAIT_NOTICE_EVERY_S,
                 log_event: Callable[..., None] | None = None,
                 write: Callable[[str], None] | None = None) -> None:
        self.book = book
        self.every_s = float(every_s)
        self.log_event = log_event
        self.write = write or (lambda text: print(text, file=sys.stderr, flush=True))
        self._last: float | None = None

    def waiting(self, keys: Sequence[str]) -> str | None:
        """Call at each poll while waiting; returns the message when one is given."""
        now = time.time()
        if self._last is not None and now - self._last < self.every_s:
            return None
        message = describe_wait(self.book, keys)
        if message is None:
            return None
        self._last = now
        self.write(message)
        if self.log_event is not None:
            self.log_event('waiting', None, message=message, keys=list(keys)[:100])
        return message

    def resume(self) -> None:
        """Work resumed: the next wait is announced at once."""
        self._last = None
