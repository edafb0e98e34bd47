"""Hostile input against build and serve (#16): every problem validate finds stops them the same
way, before anything is written; a killed build's leftovers go; serve checks its port first and
a build says when a server still serves the previous database."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

import factdb.validating as validating
from factdb.benchmark import generate_corpus
from factdb.cli import cli
from factdb.processes import (
    MIN_PARALLEL_FILES,
    mark_serving,
    remove_orphans,
    scratch_prefix,
    serving_ports,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))
CONTRADICTIONS = FIXTURES / "dates" / "contradictions"
CASES = sorted((CONTRADICTIONS / "facts" / "cases").glob("*.yaml"))
REPO = Path(__file__).resolve().parent.parent
PATHS = ["in-process", "sharded"]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A good database, the one a failed build must leave as it was."""
    folder = tmp_path_factory.mktemp("previous")
    output = folder / "facts.db"
    result = invoke("build", "--root", str(FIXTURES / "tree"), "-o", str(output), "--no-cache")
    assert result.exit_code == 0, result.output
    return output.read_bytes()


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, previous: bytes) -> Path:
    """An output folder holding the previous database; the temporary folder is the test's own
    (where prepared rows go), and serve cannot exec a server in the test process."""
    (tmp_path / "temporary").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temporary"))

    def no_exec(*args: object) -> None:
        raise AssertionError("serve got as far as starting a server")

    monkeypatch.setattr(os, "execv", no_exec)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "facts.db").write_bytes(previous)
    return tmp_path / "out" / "facts.db"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sharded(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every validation check its claim files on two forked workers, however few."""
    if path == "sharded":
        original = validating.validate
        monkeypatch.setattr(validating, "validate", functools.partial(original, workers=2))


def assert_stops_like_validate(root: Path, database: Path, previous: bytes, command: str) -> None:
    """`command` (build or serve) prints validate's problems, exits 1 without a traceback, and
    leaves the previous database, and nothing else, where it was."""
    expected = invoke("validate", "--root", str(root), "--no-cache")
    assert expected.exit_code == 1 and expected.stdout
    options = [["--no-cache"], []] if command == "build" else [["-p", str(free_port())]]
    for option in options:
        result = invoke(command, "--root", str(root), "-o", str(database), *option)
        assert (result.exit_code, type(result.exception)) == (1, SystemExit), result.output
        assert result.stdout == expected.stdout
        assert "Traceback" not in result.output
        assert database.read_bytes() == previous
        assert [p.name for p in database.parent.iterdir()] == ["facts.db"]
        assert list(Path(tempfile.gettempdir()).iterdir()) == []


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", BROKEN, ids=lambda p: p.stem)
def test_build_stops_on_every_broken_fixture_as_validate_does(
    tree: Path, guarded: Path, previous: bytes, monkeypatch, case: Path, path: str
):
    shutil.copyfile(case, tree / "facts" / "claims" / f"zz-{case.name}")
    _sharded(path, monkeypatch)
    assert_stops_like_validate(tree, guarded, previous, "build")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_build_stops_on_every_date_contradiction_as_validate_does(
    tmp_path: Path, guarded: Path, previous: bytes, monkeypatch, case: Path, path: str
):
    root = tmp_path / "tree"
    (root / "facts" / "cases").mkdir(parents=True)
    shutil.copyfile(CONTRADICTIONS / "facts" / "registry.yaml", root / "facts" / "registry.yaml")
    shutil.copyfile(case, root / "facts" / "cases" / case.name)
    shutil.copytree(CONTRADICTIONS / "seeds", root / "seeds")
    _sharded(path, monkeypatch)
    assert_stops_like_validate(root, guarded, previous, "build")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated tree with enough claim files to be checked on every core by default."""
    generated = generate_corpus(tmp_path_factory.mktemp("corpus") / "tree", 3_300)
    assert generated.files >= MIN_PARALLEL_FILES
    return generated.root


def _repeat(root: Path, where: str) -> None:
    """Give a claim of the last claim file the id of the first claim of the first file (two
    files), or of the first claim of its own file (one file); one unique-id problem."""
    files = sorted((root / "facts" / "claims").glob("*.yaml"))
    if len(files) == 1:  # the small tree: a second file, a copy with new ids
        copy = files[0].read_text().replace("  - id: ", "  - id: copy-")
        files.append(files[0].with_name("zz-copy.yaml"))
        files[-1].write_text(copy)
    first = _ids(files[0].read_text())[0]
    text = files[-1].read_text()
    ids = _ids(text)
    other = first if where == "two files" else ids[0]
    files[-1].write_text(text.replace(f"  - id: {ids[1]}\n", f"  - id: {other}\n"))


def _ids(text: str) -> list[str]:
    return [line.split("id: ")[1] for line in text.splitlines() if line.startswith("  - id: ")]


@pytest.mark.parametrize("command", ["build", "serve"])
@pytest.mark.parametrize("where", ["two files", "one file"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_a_repeated_claim_id_stops_build_and_serve(
    tree: Path, corpus: Path, guarded: Path, previous: bytes, size: str, where: str, command: str
):
    """The small tree is checked in this process, the large one (MIN_PARALLEL_FILES claim
    files and more) on worker processes, by default."""
    root = tree
    if size == "large":
        root = guarded.parent.parent / "large"
        shutil.copytree(corpus, root)
    _repeat(root, where)
    result = invoke("validate", "--root", str(root), "--no-cache")
    assert "unique-id" in [line.split(": ")[1] for line in result.stdout.splitlines()]
    assert_stops_like_validate(root, guarded, previous, command)


@pytest.mark.parametrize("path", PATHS)
def test_rows_the_database_refuses_are_a_one_line_error(
    tree: Path, guarded: Path, previous: bytes, monkeypatch, path: str
):
    """Were a check missing from validate, the database's keys would refuse the rows: the build
    says so in one line (no traceback), exits 1 and leaves the previous database."""
    original = validating.validate

    def every_claim_twice(root: Path, **options: object):
        result = original(root, **options, workers=2 if path == "sharded" else 1)
        if result.prepared is not None:  # a copy of a shard, with the parts of the first
            first = result.prepared.shards[0]
            twin = Path(shutil.copy(first, first.with_name("twin.db")))
            twins = [replace(p, shard=twin) for p in result.prepared.parts if p.shard == first]
            result.prepared.add(twins)
        else:
            result.facts.claims.append(result.facts.claims[0])
        return result

    monkeypatch.setattr(validating, "validate", every_claim_twice)
    result = invoke("build", "--root", str(tree), "-o", str(guarded))
    assert_refused(result, "UNIQUE constraint failed: claims.id", guarded, previous)


def assert_refused(result: Result, reason: str, guarded: Path, previous: bytes) -> None:
    """The build said in one line that the database refused its rows, and why; it exited 1
    and left the previous database as it was, and no scratch file."""
    assert (result.exit_code, type(result.exception)) == (1, SystemExit)
    assert result.output == (
        f"Error: the database refused the rows ({reason}), though the facts were validated: "
        "nothing was written; please report it\n"
    )
    assert guarded.read_bytes() == previous
    assert [p.name for p in guarded.parent.iterdir()] == ["facts.db"]
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


@pytest.mark.parametrize("path", PATHS)
def test_a_reference_the_database_finds_dangling_is_a_one_line_error(
    tree: Path, guarded: Path, previous: bytes, monkeypatch, path: str
):
    """The foreign keys are checked once every table is written, not row by row: were a rule
    missing from validate, a claim naming an entity the database lacks stops the build in one
    line, naming the table, column and row, and leaves the previous database."""
    original = validating.validate

    def without_claimants(root: Path, **options: object):
        result = original(root, **options, workers=2 if path == "sharded" else 1)
        assert result.ok and (result.prepared is not None) == (path == "sharded")
        result.facts.entities = [e for e in result.facts.entities if e.record.id != "minister"]
        return result

    monkeypatch.setattr(validating, "validate", without_claimants)
    result = invoke("build", "--root", str(tree), "-o", str(guarded))
    reason = "FOREIGN KEY constraint failed: claims.claimant of row 2 names no entities"
    assert_refused(result, reason, guarded, previous)


def _serve(root: Path, database: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "factdb.cli", "serve", "--root", str(root)]
    return subprocess.Popen(
        [*command, "-o", str(database), "-p", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_serve_checks_its_port_before_building(tree: Path, tmp_path: Path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        process = _serve(tree, tmp_path / "facts.db", port)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr.decode() == (
        f"Error: port {port} on 127.0.0.1 is in use: stop what holds it or use --port\n"
    )
    assert not (tmp_path / "facts.db").exists()  # nothing was built


def test_serve_refuses_an_address_it_cannot_listen_on(tree: Path, guarded: Path, previous: bytes):
    result = invoke("serve", "--root", str(tree), "-o", str(guarded), "-h", "-x")
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot listen on '-x': ")
    assert len(result.output.splitlines()) == 1
    assert guarded.read_bytes() == previous  # nothing was built


def _markers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob(".*.serving*"))


def test_build_says_a_server_serves_the_previous_database(tree: Path, tmp_path: Path):
    """`facts serve` marks the database it serves; a build of that database while it runs says
    to restart it; once the server is killed (-9: it cleans nothing), builds say nothing and
    remove its marker."""
    shutil.copyfile(REPO / "metadata.yml", tree / "metadata.yml")
    database, port = tmp_path / "facts.db", free_port()
    server = _serve(tree, database, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/facts/claims.json").status_code == 200
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert _markers(tmp_path) == [f".facts.db.{server.pid}-{port}.serving"]
        result = invoke("build", "--root", str(tree), "-o", str(database))
        assert result.exit_code == 0
        assert result.stderr == (
            f"Warning: a server on port {port} is serving the previous database: restart it\n"
        )
    finally:
        server.kill()
        server.communicate(timeout=10)
    result = invoke("build", "--root", str(tree), "-o", str(database))
    assert (result.exit_code, result.stderr) == (0, "")
    assert _markers(tmp_path) == []


def test_a_server_marker_holds_while_its_descriptor_is_open(tmp_path: Path):
    database = tmp_path / "facts.db"
    descriptor = mark_serving(database, 8123)
    assert os.get_inheritable(descriptor)  # kept open by exec: Datasette holds it
    assert serving_ports(database) == [8123]
    os.close(descriptor)
    assert serving_ports(database) == []
    assert _markers(tmp_path) == []


def test_a_marker_whose_process_id_was_taken_again_is_stale(tmp_path: Path):
    """A live process that holds no lock on the marker (a server ended, its id reused)."""
    marker = tmp_path / f".facts.db.{os.getpid()}-8001.serving"
    marker.write_text("")
    assert serving_ports(tmp_path / "facts.db") == []
    assert not marker.exists()


def test_orphans_are_the_scratch_of_processes_no_longer_alive(tmp_path: Path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    (tmp_path / f".facts.db.{ended.pid}-abc.tmp").mkdir()
    (tmp_path / f".facts.db.{ended.pid}-abc.tmp" / "facts.db").write_text("half written")
    (tmp_path / f"{scratch_prefix('.facts.db.')}def.tmp").mkdir()  # this process's: alive
    (tmp_path / ".facts.db.ghi.tmp").mkdir()  # named by no process: not ours to judge
    (tmp_path / f".other.db.{ended.pid}-abc.tmp").mkdir()  # another database's
    removed = remove_orphans(tmp_path, ".facts.db.", ".tmp")
    assert [path.name for path in removed] == [f".facts.db.{ended.pid}-abc.tmp"]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f".facts.db.{os.getpid()}-def.tmp", ".facts.db.ghi.tmp", f".other.db.{ended.pid}-abc.tmp"]
    )
