"""Checking in shards, on several processes, finds what one process finds; builds the same rows."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

import factdb.processes as processes
import factdb.sharding as sharding
from factdb import validate
from factdb.benchmark import generate_corpus
from factdb.building import PAGE_SIZE, TEXT_FTS, _in_order, build_database
from factdb.sharding import check_tree, claims_only

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"


def sharded(root: Path, prepare: bool = False, workers: int = 2):
    """check_tree on real forked workers, however small the tree."""
    return check_tree(root, workers=workers, prepare=prepare).validation


def more_claim_files(tree: Path, count: int = 3) -> None:
    """Copies of the tree's claims under other ids: more files than one chunk, so that both
    workers get some."""
    sample = (tree / "facts" / "claims" / "sample.yaml").read_text()
    for number in range(count):
        copy = sample.replace("  - id: ", f"  - id: copy{number}-")
        (tree / "facts" / "claims" / f"copy-{number}.yaml").write_text(copy)


def _page_size(database: Path) -> int:
    db = sqlite3.connect(database)
    try:
        return db.execute("pragma page_size").fetchone()[0]
    finally:
        db.close()


def rows(database: Path) -> dict[str, list]:
    """Every row of every table, virtual ones included, in rowid order; and the schema."""
    db = sqlite3.connect(database)
    tables = [name for (name,) in db.execute("select name from sqlite_master where type='table'")]
    out = {}
    for name in tables:
        try:
            out[name] = db.execute(f"select * from [{name}] order by rowid").fetchall()
        except sqlite3.OperationalError:  # a table without rowid (FTS5 keeps some) is in key order
            out[name] = db.execute(f"select * from [{name}]").fetchall()
    out["schema"] = db.execute("select type, name, sql from sqlite_master order by name").fetchall()
    db.close()
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"claims:\n  - id: a\n", True),
        (b"\xef\xbb\xbfclaims:  # a comment\n- id: a\n-\n  id: b\n", True),
        (b"# a comment\n\nclaims:\r\n  - id: a\r\n", True),
        (b"claims:\n  - id: a\nsources:\n  - id: b\n", False),
        (b"sources: []\n", False),
        (b'"claims":\n  - id: a\n', False),
        (b"claims:\n  - id: a\n---\nsources: []\n", False),
        (b"{claims: []}\n", False),
        (b"", False),
        (b"# only a comment\n", False),
    ],
)
def test_claims_only_files(text: bytes, expected: bool):
    assert claims_only(text) is expected


@pytest.mark.parametrize("case", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_broken_fixture_gives_the_same_problems_in_shards(tree: Path, case: Path):
    shutil.copyfile(case, tree / "facts" / "claims" / f"zz-{case.name}")
    more_claim_files(tree)
    expected = validate(tree, cache=False).problems
    assert expected
    assert sharded(tree).problems == expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated tree of 1,000 claims in 20 files."""
    return generate_corpus(tmp_path_factory.mktemp("corpus") / "tree", 1000).root


def test_a_generated_tree_in_shards(corpus: Path, tmp_path: Path):
    serial = validate(corpus, cache=False)
    assert serial.complete and len(serial.facts.claims) == 1000  # checked in this process
    with sharded(corpus, prepare=True) as result:
        assert serial.problems == result.problems == []
        assert result.counts == {
            "sources": 20,
            "entities": 200,
            "topics": 72,
            "events": 703,
            "claims": 1000,
        }
        assert result.facts.claims == []  # they stayed in the workers, which prepared their rows
        assert result.prepared is not None
        # one shard per worker that wrote rows (the pool may give one worker every chunk), none
        # of this process, which read no claims itself
        names = [shard.name for shard in result.prepared.shards]
        assert 1 <= len(names) <= 2 and len(set(names)) == len(names)
        assert f"shard-{os.getpid()}.db" not in names
        # each file's ids are its own, after the last file's: the merge reads the parts in turn
        claims = [part for part in result.prepared.parts if part.table == "claims"]
        assert len(_in_order(result.prepared, "claims", ["id"])) == len(claims) > 1
        sharded_db = build_database(result, tmp_path / "sharded.db")
        assert rows(sharded_db) == rows(build_database(serial, tmp_path / "serial.db"))
        db = sqlite3.connect(sharded_db)  # its full-text indexes were made in another process
        for shard in result.prepared.shards:  # each shard in the database's pages, as it
            assert _page_size(shard) == PAGE_SIZE
        assert _page_size(sharded_db) == PAGE_SIZE
        for table in TEXT_FTS:  # raises where an index and its table differ
            db.execute(f"insert into {table}_fts({table}_fts) values ('integrity-check')")
        found = "select c.id from claims_fts join claims c on c.rowid = claims_fts.rowid"
        first = db.execute("select id, statement from claims order by rowid limit 1").fetchone()
        word = max(first[1].split(), key=len)
        assert first[0] in {i for (i,) in db.execute(found + " where claims_fts match ?", [word])}
        db.close()
        directory = result.prepared.directory
    assert not directory.exists()  # closed by the `with`


def test_claim_files_whose_ids_interleave_build_the_same_rows(corpus: Path, tmp_path: Path):
    """Where the ids of the files' claims interleave, the merge sorts the shards' rows together:
    the database is the one a single process builds."""
    root = tmp_path / "tree"
    shutil.copytree(corpus, root)
    for path in (root / "facts").rglob("*.yaml"):  # c00003-017 -> c017-00003
        path.write_text(re.sub(r"\bc(\d{5})-(\d{3})\b", r"c\2-\1", path.read_text()))
    serial = validate(root, cache=False)
    assert serial.problems == [] and serial.facts.claims[1].record.id == "c001-00000"
    with sharded(root, prepare=True) as result:
        assert result.problems == [] and result.prepared is not None
        assert len(_in_order(result.prepared, "claims", ["id"])) == 1  # every part overlaps
        sharded_db = build_database(result, tmp_path / "sharded.db")
        assert rows(sharded_db) == rows(build_database(serial, tmp_path / "serial.db"))


def test_duplicate_ids_across_shards_are_found_at_their_line(corpus: Path, tmp_path: Path):
    root = tmp_path / "tree"
    shutil.copytree(corpus, root)
    last = sorted((root / "facts" / "claims").glob("*.yaml"))[-1]
    last.write_text(last.read_text().replace("- id: c00019-001\n", "- id: c00000-001\n"))
    expected = validate(root, cache=False).problems
    assert [(p.rule, p.path, p.line, p.column) for p in expected] == [
        ("unique-id", "facts/claims/00019.yaml", 18, 9)
    ]
    assert sharded(root).problems == expected


def test_a_claims_file_that_defines_registries_after_all(tree: Path, tmp_path, monkeypatch):
    """The split is a guess from the text; a worker that meets a source says so, and the tree
    is checked again in one process."""
    more_claim_files(tree)
    shutil.copyfile(BROKEN / "unknown-reference.yaml", tree / "facts" / "claims" / "zz.yaml")
    monkeypatch.setattr(sharding, "claims_only", lambda data: True)  # even facts/registry.yaml
    calls = []
    original = sharding._check
    monkeypatch.setattr(sharding, "_check", lambda *a, **k: calls.append(k) or original(*a, **k))
    result = sharding.check_tree(tree, workers=2, prepare=True).validation
    assert [call["split"] for call in calls] == [True, False]
    assert result.problems == validate(tree, cache=False).problems
    assert result.complete and len(result.facts.claims) == 9  # read in this process


def test_a_registry_past_the_start_of_a_claims_file_is_met_by_its_worker(tree: Path, monkeypatch):
    """Only the start of each file is read to guess (HEAD_BYTES): a source defined further on
    is found by the worker that loads the file, and the tree is checked again in one process,
    with the problems one process finds."""
    more_claim_files(tree)
    sample = (tree / "facts" / "claims" / "sample.yaml").read_text()
    registry = (tree / "facts" / "registry.yaml").read_text()
    source = registry[registry.index("sources:") : registry.index("entities:")]
    padding = "# " + "x" * 70 + "\n"
    late = sample.replace("  - id: ", "  - id: late-") + padding * 60
    late += source.replace("  - id: sample\n", "  - id: late-source\n")
    assert late.index("sources:") > sharding.HEAD_BYTES and "late-source" in late
    (tree / "facts" / "claims" / "late.yaml").write_text(late)
    assert sharding.claims_only(late.encode()[: sharding.HEAD_BYTES])
    calls = []
    original = sharding._check
    monkeypatch.setattr(sharding, "_check", lambda *a, **k: calls.append(k) or original(*a, **k))
    result = sharding.check_tree(tree, workers=2, prepare=True).validation
    assert [call["split"] for call in calls] == [True, False]
    assert result.problems == validate(tree, cache=False, workers=1).problems
    assert "late-source" in result.facts.ids("sources")


def test_the_start_of_a_file_is_read_only_from_a_regular_file_within_the_limit(
    tmp_path: Path, monkeypatch
):
    import os

    from factdb import loading

    path = tmp_path / "claims.yaml"
    path.write_bytes(b"claims:\n" + b"# padding\n" * 1000)
    assert sharding._read_head(path) == path.read_bytes()[: sharding.HEAD_BYTES]
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 100)
    assert sharding._read_head(path) == b""  # too large: read (and refused) in this process
    os.mkfifo(tmp_path / "pipe.yaml")
    assert sharding._read_head(tmp_path / "pipe.yaml") == b""  # never opened, never waited on
    assert sharding._read_head(tmp_path / "missing.yaml") == b""


def test_the_number_of_workers_can_be_set(monkeypatch):
    monkeypatch.setenv("FACTS_WORKERS", "1")
    assert processes.worker_count() == 1
    monkeypatch.setenv("FACTS_WORKERS", "99")
    assert processes.worker_count() == processes.MAX_WORKERS


def test_one_worker_more_than_the_cores(monkeypatch):
    monkeypatch.delenv("FACTS_WORKERS", raising=False)
    assert [processes.workers_for(cores) for cores in (1, 2, 4)] == [1, 3, 5]
    monkeypatch.setattr(processes, "available_cores", lambda: 2)
    assert processes.worker_count() == 3
    monkeypatch.setattr(processes, "available_cores", lambda: 1)
    assert processes.worker_count() == 1
    monkeypatch.setattr(processes, "available_cores", lambda: 64)
    assert processes.worker_count() == processes.MAX_WORKERS


def _frozen_in_worker() -> tuple[int, int]:
    import gc

    return gc.get_freeze_count(), len(gc.get_objects())


def test_workers_inherit_what_exists_frozen():
    """A forked pool's workers are forked with what exists frozen (their collector never scans
    the inherited objects, so never copies their pages); this process is unfrozen after."""
    import gc

    with processes.forked_pool(2) as pool:
        frozen, tracked = pool.submit(_frozen_in_worker).result()
        assert gc.get_freeze_count() == 0
    assert frozen > 10_000  # every object this test process held: pytest, the project, ...
    assert tracked < frozen  # the worker's collector tracks only what it made itself


def test_claim_files_without_claims_build_in_shards(tree: Path, tmp_path: Path):
    """Claim files that hold no claims give the shards no rows: the build has no claims, as
    one process builds it."""
    claims = tree / "facts" / "claims"
    for path in claims.glob("*.yaml"):
        path.unlink()
    for number in range(4):
        (claims / f"empty-{number}.yaml").write_text("claims: []\n")
    serial = validate(tree, cache=False)
    with sharded(tree, prepare=True) as result:
        assert result.problems == serial.problems
        assert result.ok and result.prepared is not None
        assert [part.table for part in result.prepared.parts] == ["sentences"]
        sharded_db = build_database(result, tmp_path / "sharded.db")
        assert rows(sharded_db) == rows(build_database(serial, tmp_path / "serial.db"))


def test_a_chunks_quote_spans_go_back_as_columns():
    """Pickled as columns, not one call to QuoteSpan per claim, and read back as QuoteSpans."""
    import pickle

    from factdb.results import QuoteSpan

    spans = {"c-1": QuoteSpan("s-1", 0, 12), "c-2": QuoteSpan("s-2", 40, 61)}
    outcome = sharding.ChunkOutcome(spans=spans, count=2)
    sent = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    assert b"QuoteSpan" not in sent
    received = pickle.loads(sent)
    assert received.spans == spans
    assert all(type(span) is QuoteSpan for span in received.spans.values())
    assert received.count == 2
    assert pickle.loads(pickle.dumps(sharding.ChunkOutcome())).spans == {}


def test_the_answers_read_from_the_shards_keep_each_repeated_value_once(corpus: Path):
    """The same claims as the serial check's, each repeated string one object (a million new
    strings were half a gigabyte of pages in the forked process that reads them)."""
    from factdb.building import _answer_inputs, _close_shards, _side_database
    from factdb.rows import answer_inputs, claim_rows

    serial = validate(corpus, cache=False)
    topics = serial.facts.by_id("topics")
    expected = answer_inputs(claim_rows(serial.facts.claims, topics, serial.spans))
    with sharded(corpus, prepare=True) as result:
        assert result.prepared is not None
        _close_shards()
        side = _side_database(result.prepared.directory / "side.db", result.prepared)
        read = _answer_inputs(side, result.prepared)
        side.close()
    assert read == expected and len(read) > 100
    assert all(type(answer.approximate) is bool for answer in read)
    for field in ("topic", "answer_key", "source", "date_start"):
        values = [getattr(answer, field) for answer in read if getattr(answer, field)]
        assert len({id(value) for value in values}) == len(set(values)) < len(values)


def test_the_date_sweep_is_imported_while_the_workers_check(corpus: Path, monkeypatch):
    """Once the claims the workers sent back that date themselves relatively are as many as the
    relations from which the dates step sweeps, a thread imports the sweep (numpy) meanwhile,
    once, and the check joins it before it ends."""
    imported: list[str] = []
    monkeypatch.setattr(sharding.importlib, "import_module", imported.append)
    serial = validate(corpus, cache=False)
    relative = sum(1 for located in serial.facts.claims if located.record.when)
    assert relative > 0  # claims that date themselves relatively

    monkeypatch.setattr(sharding, "SWEEP_FROM", relative + 1)  # more than there are: not yet
    with sharded(corpus) as result:
        assert result.ok
    assert imported == []
    monkeypatch.setattr(sharding, "SWEEP_FROM", relative)
    with sharded(corpus) as result:
        assert result.ok
    assert imported == ["factdb.sweeping"]


def test_the_date_sweep_import_waits_for_no_thread_below_its_threshold():
    from factdb.results import Datings

    sweep = sharding._SweepImport()
    sweep.count(Datings(when=[("today",), ()]))
    sweep.join()  # nothing started: returns at once
    assert sweep.thread is None and sweep.dated == 1
