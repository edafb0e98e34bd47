"""The build writes a real SQLite file: tables, keys, FTS, views; atomically and repeatably."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from factdb import validate
from factdb.building import PAGE_SIZE, _close_shards, build_database, write_prepared
from factdb.publishing import read_metadata
from factdb.results import ShardPart
from factdb.tables import table_columns

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"


@pytest.fixture
def db(tree: Path, tmp_path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(build_database(validate(tree, cache=False), tmp_path / "facts.db"))


def test_tables_and_counts(db):
    counts = {t: db[t].count for t in ("sources", "entities", "topics", "claims", "claim_entities")}
    assert counts == {"sources": 1, "entities": 3, "topics": 2, "claims": 2, "claim_entities": 2}
    assert set(db.view_names()) >= {
        "claims_view",
        "corroborations",
        "conflicts",
        "contested_topics",
    }


def test_columns_come_from_the_models(db):
    assert list(db["claims"].columns_dict) == list(table_columns("claims"))
    assert {"id", "source", "quote", "date", "date_start", "date_end"} <= set(
        db["claims"].columns_dict
    )


def test_foreign_keys_are_declared_indexed_and_hold(db):
    fks = {(fk.column, fk.other_table) for fk in db["claims"].foreign_keys}
    assert fks == {
        ("source", "sources"),
        ("claimant", "entities"),
        ("topic", "topics"),
        ("event", "events"),
    }
    for table in db.tables:  # every foreign key leads an index: its own, or a primary key's
        leading = {index.columns[0] for index in table.indexes}
        assert {fk.column for fk in table.foreign_keys} <= leading, table.name
    indexes = {tuple(index.columns) for index in db["claims"].indexes}
    assert {("source",), ("claimant",), ("topic", "answer_key")} <= indexes
    assert ("topic",) not in indexes  # (topic, answer_key) serves it
    assert db.execute("pragma foreign_key_check").fetchall() == []


def test_claim_row_has_bounds_span_and_location(db):
    row = db["claims"].get("soldiers-arrived")
    assert (row["date_start"], row["date_end"], row["date_precision"]) == (
        "2024-10-22",
        "2024-10-22",
        "day",
    )
    text = db["sources"].get("sample")["text"]
    assert text[row["quote_start"] : row["quote_end"]] == "about 3,000 soldiers had arrived"
    assert (row["file"], row["line"], row["origin"], row["answer_key"]) == (
        "facts/claims/sample.yaml",
        2,
        "agency",
        "3000",
    )
    assert row["approximate"] == 1


def test_full_text_search_finds_claims_sources_and_entities(db):
    assert [r["id"] for r in db["claims"].search("soldiers")] == ["soldiers-arrived"]
    assert [r["id"] for r in db["sources"].search("ships")] == ["sample"]
    assert [r["id"] for r in db["entities"].search("capital")] == ["capital"]


def test_build_is_deterministic(tree: Path, tmp_path: Path):
    def dump(path: Path) -> list[str]:
        return list(sqlite3.connect(path).iterdump())

    first = build_database(validate(tree, cache=False), tmp_path / "a.db")
    second = build_database(validate(tree, cache=False), tmp_path / "b.db")
    assert dump(first) == dump(second)


def test_the_database_is_written_in_pages_of_16_kib(db):
    """A build writes its database in PAGE_SIZE pages, not SQLite's default 4 KiB (fewer pages
    to write and to read for the same rows: see building.PAGE_SIZE)."""
    assert PAGE_SIZE == 16_384
    assert db.execute("pragma page_size").fetchone() == (PAGE_SIZE,)


def test_the_planners_statistics_are_gathered_for_the_claims_indexes(db):
    """`analyze` runs beside the foreign-key check (building._statistics) and its table is
    committed: a row of sqlite_stat1 for every full index of the claims table (SQLite writes
    none for an index of no rows, as a partial one can be)."""
    indexes = {row[1] for row in db.execute("pragma index_list(claims)") if not row[4]}
    counted = {idx for (idx,) in db.execute("select idx from sqlite_stat1 where tbl = 'claims'")}
    assert len(indexes) > 5 and indexes == counted


def test_a_foreign_key_check_that_fails_fails_the_build(tree, tmp_path, monkeypatch):
    """The check runs in a thread (building._statistics); whatever stops it there stops the
    build here, and the previous database stays."""
    import factdb.building as building

    path = build_database(validate(tree, cache=False), tmp_path / "facts.db")
    before = path.read_bytes()

    def unreadable(db):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(building, "_check_references", unreadable)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        build_database(validate(tree, cache=False), path)
    assert path.read_bytes() == before
    assert list(tmp_path.glob(".facts.db.*")) == []


def test_build_refuses_invalid_facts_and_keeps_the_old_database(tree: Path, tmp_path: Path):
    path = build_database(validate(tree, cache=False), tmp_path / "facts.db")
    before = path.read_bytes()
    shutil.copyfile(BROKEN / "quote-not-found.yaml", tree / "facts" / "claims" / "zz.yaml")
    with pytest.raises(ValueError):
        build_database(validate(tree, cache=False), path)
    assert path.read_bytes() == before
    assert list(tmp_path.glob(".facts.db.*")) == []


def test_a_failure_while_writing_keeps_the_old_database(tree, tmp_path, monkeypatch):
    import factdb.building as building

    path = build_database(validate(tree, cache=False), tmp_path / "facts.db")
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(building, "create_tables", explode)
    with pytest.raises(RuntimeError):
        build_database(validate(tree, cache=False), path)
    assert path.read_bytes() == before
    assert list(tmp_path.glob(".facts.db.*")) == []


def test_two_articles_relaying_one_agency_are_one_origin(tree: Path, tmp_path: Path):
    shutil.copyfile(tree / "seeds" / "sample.txt", tree / "seeds" / "relay.txt")
    registry = (tree / "facts" / "registry.yaml").read_text()
    source = registry.split("entities:")[0].split("sources:\n")[1]
    (tree / "facts" / "relay.yaml").write_text(
        "sources:\n"
        + source.replace("id: sample", "id: relay").replace("sample.txt", "relay.txt")
        + "claims:\n  - id: relayed\n    source: relay\n    statement: S.\n"
        "    quote: about 3,000 soldiers\n    date: 2024-10-22\n    date_basis: b\n"
        "    claimant: null\n    via: [agency]\n    topic: soldiers-arrived\n    value: 3000\n"
        "    unit: soldiers\n    assertion: reported\n"
    )
    db = sqlite_utils.Database(build_database(validate(tree, cache=False), tmp_path / "facts.db"))
    [row] = db.query("select * from corroborations")
    assert (row["topic"], row["answer"], row["articles"], row["independent_origins"]) == (
        "soldiers-arrived",
        "3000",
        2,
        1,
    )


def test_prepared_rows_are_parts_of_a_shard_with_their_keys(tmp_path: Path):
    """Each write of a worker's rows is a part of its shard: the rowids it took there, its
    first and last keys, and whether its rows were in the order of their keys."""
    claim = [None] * len(table_columns("claims"))
    first = write_prepared(tmp_path, {"claims": [("a", *claim[1:]), ("c", *claim[1:])]})
    links = {"claim_entities": [("d", "x"), ("d", "w")], "claim_via": []}
    second = write_prepared(tmp_path, {"claims": [("d", *claim[1:])], **links})
    _close_shards()
    shard = tmp_path / f"shard-{os.getpid()}.db"
    assert first == [ShardPart(shard, "claims", 1, 2, "a", "c", True)]
    assert second == [
        ShardPart(shard, "claims", 3, 3, "d", "d", True),
        ShardPart(shard, "claim_entities", 1, 2, ("d", "w"), ("d", "x"), False),
    ]
    db = sqlite3.connect(shard)
    assert db.execute("select rowid, id from claims").fetchall() == [(1, "a"), (2, "c"), (3, "d")]
    db.close()


def test_the_curator_checks_read_only_the_claims_to_review(repo_db: Path):
    """The curator checks page's query (metadata.yml) is answered from the partial index of
    the claims to review (tables.TO_REVIEW), with the rows a scan of every claim gives."""
    sql = read_metadata()["databases"]["facts"]["queries"]["curator_checks"]["sql"]
    db = sqlite3.connect(repo_db)
    plan = " ".join(row[3] for row in db.execute(f"explain query plan {sql}"))
    assert "USING INDEX idx_claims_to_review" in plan, plan
    scanned = db.execute(sql.replace("from claims c", "from claims c not indexed")).fetchall()
    assert db.execute(sql).fetchall() == scanned and len(scanned) > 10


def test_rows_are_inserted_naming_only_the_columns_they_fill(tmp_path: Path):
    """A column no row fills is left out of the insert, and is NULL all the same; one that some
    row fills is written as each row says."""
    from factdb.building import _columns, _insert_rows, new_database
    from factdb.tables import create_tables

    db = new_database(tmp_path / "rows.db")
    create_tables(db)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    assert _columns("sentences")[7:9] == ["reason", "claims"]
    rows = [
        ("s-1", 0, 0, 10, 1, "One here.", "quoted", None, '["c-1"]', 1.0),
        ("s-1", 1, 11, 20, 1, "Two here.", "uncovered", None, None, 0.0),
    ]
    _insert_rows(db, "sentences", rows)
    _insert_rows(db, "sentences", [])  # no rows: nothing written
    inserts = [sql.partition(" values ")[0] for sql in statements if sql.startswith("insert")]
    assert len(inserts) == len(rows) and len(set(inserts)) == 1  # traced once for each row
    assert "[reason]" not in inserts[0] and "[claims]" in inserts[0]
    assert db.execute("select * from sentences order by position").fetchall() == rows
