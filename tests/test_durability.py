"""Nothing lost: a killed build leaves the previous database as it was; builds are repeatable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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
