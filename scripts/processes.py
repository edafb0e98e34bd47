"""Processes: how many workers this machine gives, a pool of them forked from this one, the
scratch folders a killed process leaves behind, and the marker of a running server.

Forked workers inherit this process's memory (the registries, the seeds), so nothing large is
sent to them; where fork is not available everything runs in this process. On Linux a worker
is killed with its parent (a `kill -9` of a build leaves no worker behind). A scratch folder
is named with the id of the process that made it (`prefix<pid>-<random><suffix>`), so a later
run can remove those of processes no longer alive (`remove_orphans`). A server marks the
database it serves for as long as it runs (`mark_serving`, `serving_ports`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a pool is made: a run that checks one file needs none
    from concurrent.futures import ProcessPoolExecutor

MAX_WORKERS = 8  # a build attaches one database per worker to merge them: SQLite allows 10
MIN_PARALLEL_FILES = 64  # fewer claim files are checked in one process: forking costs more


def worker_count() -> int:
    """One worker more than the cores this process may use (1 on one core), up to MAX_WORKERS;
    1 where fork is not available; or what the environment variable FACTS_WORKERS says (1:
    everything in this process).

    The one more, as ninja does: where another program keeps a core busy, the kernel shares
    the cores among the processes that want them, and a third worker on two cores has the
    check a larger share (a 100k build with one core busy: -8 %, 1M: -10 %); the idle cost,
    a process more to fork and switch between, was +1 % at 100k (10 interleaved rounds)."""
    import multiprocessing  # here: a run that checks one file needs no pool (3 ms to import)

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if os.environ.get("FACTS_WORKERS", "").isdigit():
        return max(1, min(int(os.environ["FACTS_WORKERS"]), MAX_WORKERS))
    return max(1, min(workers_for(available_cores()), MAX_WORKERS))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def workers_for(cores: int) -> int:
    """The workers for this many cores: one more than them, where there are two or more (on
    one, forking would only add the cost of sending the work across)."""
    return cores + 1 if cores > 1 else 1


def forked_pool(
    workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from this one, each running `initializer` first
    (with fork, its arguments are inherited, not pickled)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    fork = multiprocessing.get_context("fork")
    started = (os.getpid(), initializer, initargs)
    pool = ProcessPoolExecutor(workers, mp_context=fork, initializer=_start, initargs=started)
    # What the workers inherit is frozen as they are forked: their cyclic collector never scans
    # it, and so never writes to (copies) its pages (Python's advice for fork without exec; a
    # 1M build: user CPU 66.6 -> 63.1 s, wall -5 %, 3 interleaved rounds; at 100k -0.1 s of 7 s).
    # A fork pool forks every worker at its first task.
    gc.freeze()
    try:
        pool.submit(int)
    finally:
        gc.unfreeze()
    return pool


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies


def _start(parent: int, initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    """The first thing a worker does: die with its parent, then run the pool's initializer."""
    die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process (SIGKILL) when its parent ends, on Linux; and end now
    if the parent `parent` has already ended (the signal is not sent for a death before it was
    asked for). The signal follows the thread that forked this process: pools are made and
    first used on the main thread, which lives as long as they do."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def alive(pid: int) -> bool:
    """True if a process of this id exists (whoever owns it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    except OverflowError:  # not a process id at all
        return False
    return True


def scratch_prefix(prefix: str) -> str:
    """The start of a scratch folder's name that says which process made it (give it to
    `tempfile.mkdtemp` or `TemporaryDirectory`)."""
    return f"{prefix}{os.getpid()}-"


def remove_orphans(folder: Path, prefix: str, suffix: str = "") -> list[Path]:
    """Remove the scratch folders (or files) named `prefix<pid>-...suffix` in `folder` whose
    process is no longer alive: what a killed run left. Returns what was removed."""
    import shutil

    pattern = re.compile(re.escape(prefix) + r"(\d{1,10})-\w+" + re.escape(suffix), re.ASCII)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None or alive(int(found.group(1))):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
        removed.append(Path(entry.path))
    return removed


SERVING = ".serving"  # the end of a server's marker: .facts.db.<pid>-<port>.serving


def mark_serving(database: Path, port: int) -> int:
    """Say beside `database` that this process serves it on `port`, for as long as it lives:
    a marker `.<name>.<pid>-<port>.serving` locked through a descriptor that exec keeps open,
    so the lock holds while the server runs and the kernel releases it when the server ends,
    however it ends. Returns the descriptor (keep it open)."""
    marker = database.parent / f".{database.name}.{os.getpid()}-{port}{SERVING}"
    temporary = marker.with_name(marker.name + ".tmp")  # locked before it is seen
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    _lock(descriptor, exclusive=True)
    os.replace(temporary, marker)
    os.set_inheritable(descriptor, True)
    return descriptor


def serving_ports(database: Path) -> list[int]:
    """The ports on which servers (`mark_serving`) serve `database`; the markers of servers
    that have ended are removed."""
    pattern = re.compile(
        re.escape(f".{database.name}.") + r"(\d{1,10})-(\d{1,5})" + re.escape(SERVING)
    )
    ports = []
    try:
        entries = list(os.scandir(database.parent))
    except OSError:
        return []
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found is None:
            continue
        if _held(entry.path, int(found.group(1))):
            ports.append(int(found.group(2)))
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    return sorted(ports)


def _lock(descriptor: int, exclusive: bool) -> bool | None:
    """Lock a file without waiting (flock): True if locked, False if another process holds
    it, None where there is no flock (not on Unix)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Unix
        return None
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _held(marker: str, pid: int) -> bool:
    """True if a server's marker is held: its process is alive and (where there are locks)
    still holds the lock, which a process that took the id of an ended server does not."""
    if not alive(pid):
        return False
    try:
        descriptor = os.open(marker, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _lock(descriptor, exclusive=False) is not True
    finally:
        os.close(descriptor)
