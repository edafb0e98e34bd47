"""Nothing lost: a killed build leaves the previous database as it was; builds are repeatable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from factdb.benchmark import generate_corpus

REPO = Path(__file__).resolve().parent.parent


def _build(root: Path, database: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "factdb.cli",
            "build",
            "--root",
            str(root),
            "-o",
            str(database),
            "--no-cache",
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_9_in_the_middle_of_a_build_leaves_the_previous_database(tmp_path: Path):
    corpus = generate_corpus(tmp_path / "corpus", 10_000)
    database = tmp_path / "out" / "facts.db"
    assert _build(corpus.root, database).wait(timeout=120) == 0
    before = database.read_bytes()

    # change the facts, so that the next build would write a different database
    first = sorted((corpus.root / "facts" / "claims").glob("*.yaml"))[0]
    first.write_text(first.read_text().replace("about ", "about ", 1) + "\n# changed\n")
    process = _build(corpus.root, database)
    deadline = time.monotonic() + 60
    while not list(database.parent.glob(".facts.db.*.tmp")):  # it is writing now
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    assert database.read_bytes() == before
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
    assert connection.execute("select count(*) from claims").fetchone() == (10_000,)


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux: read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """True if the process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _kill_when(process: subprocess.Popen, ready: Callable[[], bool]) -> set[int]:
    """kill -9 the build once `ready()` holds and it has workers; the workers it had."""
    deadline = time.monotonic() + 60
    while not (ready() and _children(process.pid)):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return workers


def _survivors(pids: set[int], seconds: float = 5) -> set[int]:
    """The processes still running after a few seconds (killed then, not to outlive the test)."""
    deadline = time.monotonic() + seconds
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = {pid for pid in pids if _running(pid)}
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc, prctl")
def test_workers_die_with_a_killed_build_and_the_next_build_cleans_up(tmp_path: Path, monkeypatch):
    """A build killed while its workers check the claims, then one killed while it writes the
    database: no worker survives either, and the next build removes the prepared rows and the
    temporary database they left."""
    corpus = generate_corpus(tmp_path / "corpus", 10_000)  # 200 claim files: the sharded path
    scratch = tmp_path / "tmp"  # the builds' temporary folder, where the prepared rows go
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    database = tmp_path / "out" / "facts.db"

    def rows_written() -> bool:
        return any(scratch.glob("factdb-rows-*/shard-*.db"))

    checking = _kill_when(_build(corpus.root, database), rows_written)
    assert _survivors(checking) == set(), "a checking worker outlived its killed build"
    beside = ".facts.db.*.tmp/side-*.db"  # what the processes forked to write beside it write
    writing = _kill_when(_build(corpus.root, database), lambda: any(database.parent.glob(beside)))
    assert _survivors(writing) == set(), "a process beside the build outlived it, killed"
    assert any(scratch.glob("factdb-rows-*"))  # left by the killed builds
    assert len(list(database.parent.glob(".facts.db.*.tmp"))) == 1

    assert _build(corpus.root, database).wait(timeout=120) == 0
    assert list(scratch.iterdir()) == []
    assert [p.name for p in database.parent.iterdir()] == ["facts.db"]
