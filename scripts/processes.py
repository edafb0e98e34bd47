"""Worker processes: how many this machine gives, and a pool of them forked from this one.

Forked workers inherit this process's memory (the registries, the seeds), so nothing large is
sent to them; where fork is not available everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a pool is made: a run that checks one file needs none
    from concurrent.futures import ProcessPoolExecutor

MAX_WORKERS = 8  # a build attaches one database per worker to merge them: SQLite allows 10
MIN_PARALLEL_FILES = 64  # fewer claim files are checked in one process: forking costs more


def worker_count() -> int:
    """The cores this process may use, up to MAX_WORKERS; 1 where fork is not available; or
    what the environment variable FACTS_WORKERS says (1: everything in this process)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if os.environ.get("FACTS_WORKERS", "").isdigit():
        return max(1, min(int(os.environ["FACTS_WORKERS"]), MAX_WORKERS))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def forked_pool(
    workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from this one, each running `initializer` first
    (with fork, its arguments are inherited, not pickled)."""
    from concurrent.futures import ProcessPoolExecutor

    fork = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(workers, mp_context=fork, initializer=initializer, initargs=initargs)
