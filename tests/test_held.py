"""A table's facets held in memory count as SQLite counts (factdb.site.held)."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import numpy as np
import pytest
from datasette.database import QueryInterrupted
from hypothesis import given, settings
from hypothesis import strategies as st

from factdb.site.held import matched_rowids, read_table

FACETS = [("column", "v"), ("ids", "about")]
COLUMN_SQL = """select v as value, count(*) as count from t where rowid in ({rows})
and v is not null group by v order by count desc, value limit {limit}"""
IDS_SQL = """select j.value as value, count(*) as count from t, json_each(t.about) as j
where t.rowid in ({rows}) group by j.value order by count desc, value limit {limit}"""

scalars = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.sampled_from([1.5, 2.0, -0.5]),
    st.sampled_from(["a", "b", "B", "É", "a ", ""]),
    st.sampled_from([b"x", b"y"]),
)
items = st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["n", "m", "É"]))


def table(values: list, arrays: list, deleted: set[int]) -> sqlite3.Connection:
    """A table t of these values and JSON arrays, by rowid from 1, less the `deleted` rows."""
    db = sqlite3.connect(":memory:")
    db.execute("create table t (v, about text)")
    db.executemany(
        "insert into t (v, about) values (?, ?)",
        [(v, None if a is None else json.dumps(a)) for v, a in zip(values, arrays, strict=True)],
    )
    db.execute("create index t_v on t (v)")
    db.executemany("delete from t where rowid = ?", [(rowid,) for rowid in deleted])
    return db


def sql_counts(db: sqlite3.Connection, rowids: list[int], limit: int) -> dict[int, list[dict]]:
    rows = ", ".join(map(str, rowids)) or "null"
    return {
        n: [{"value": v, "count": c} for v, c in db.execute(sql.format(rows=rows, limit=limit))]
        for n, sql in enumerate([COLUMN_SQL, IDS_SQL])
    }


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(scalars, st.none() | st.lists(items, max_size=3)), max_size=25),
    picked=st.lists(st.integers(-2, 30), max_size=30),
    deleted=st.sets(st.integers(1, 25), max_size=5),
    limit=st.integers(1, 6),
)
def test_held_counts_are_sqlite_s_counts_in_sqlite_s_order(rows, picked, deleted, limit):
    """Values of every type, nulls, ties, repeated and deleted rowids and rowids past the end:
    the counts of any rows are those SQLite's group by gives, in its order (count, then null,
    numbers, text by bytes, blobs)."""
    db = table([v for v, _ in rows], [a for _, a in rows], deleted)
    held = read_table(db, "t", FACETS)
    assert held is not None
    matched = sorted(set(picked))  # a search's rowids never repeat
    got = held.counts(np.array(matched, dtype=np.int64), FACETS, limit)
    assert got == sql_counts(db, matched, limit)


def test_every_count_is_a_python_int_for_json():
    db = table(["a", "a", "b"], [["x"], ["x", "y"], None], set())
    held = read_table(db, "t", FACETS)
    assert held is not None
    counts = held.counts(np.array([1, 2, 3]), FACETS, 10)
    assert counts == {
        0: [{"value": "a", "count": 2}, {"value": "b", "count": 1}],
        1: [{"value": "x", "count": 2}, {"value": "y", "count": 1}],
    }
    assert json.dumps(counts)  # numpy's integers are not JSON


def test_a_table_too_large_or_with_rowids_far_apart_is_not_held(monkeypatch):
    import factdb.site.held as held_module

    db = table(["a"] * 10, [None] * 10, set())
    assert read_table(db, "t", FACETS) is not None
    monkeypatch.setattr(held_module, "HELD_ROWS", 9)
    assert read_table(db, "t", FACETS) is None
    monkeypatch.undo()
    db.execute("insert into t (rowid, v) values (5000, 'far')")  # 11 rows, up to rowid 5000
    assert read_table(db, "t", FACETS) is None
    db.execute("update t set rowid = -1 where rowid = 5000")  # the arrays are by rowid
    assert read_table(db, "t", FACETS) is None
    db.execute("update t set rowid = 11 where rowid = -1")
    assert read_table(db, "t", FACETS) is not None
    assert read_table(table([], [], set()), "t", FACETS) is not None  # empty: nothing to count


def test_a_column_that_is_not_json_cannot_be_held_as_ids():
    db = table(["a"], [None], set())
    db.execute("update t set about = 'not json'")
    with pytest.raises(sqlite3.OperationalError, match="malformed JSON"):
        read_table(db, "t", FACETS)


def test_matched_rowids_keep_the_facets_time_limit():
    db = table(list(range(50)), [None] * 50, set())
    many = "select a.rowid from t as a, t as b, t as c, t as d"  # 6 million rows
    with pytest.raises(QueryInterrupted):
        matched_rowids(db, many, {}, 1)
    found = matched_rowids(db, "select rowid from t where v < :n", {"n": 3, "other": 1}, 1000)
    assert found.tolist() == [1, 2, 3]


async def test_a_failed_read_holds_nothing_and_is_not_raised_again(tmp_path):
    """A read that fails leaves the facets to SQL, each time, without reading again."""
    from datasette.app import Datasette

    from factdb.site.held import held_table

    path = tmp_path / "t.db"
    db = table(["a"], [None], set())
    db.execute("update t set about = 'not json'")
    db.commit()
    db.execute("vacuum into ?", (str(path),))
    ds = Datasette(immutables=[str(path)])
    facets = tuple(FACETS)
    assert held_table(ds, "t", "t", facets) is None  # the read starts
    from factdb.site.held import _HELD

    [future] = _HELD[ds].values()
    with pytest.raises(sqlite3.OperationalError):
        await future
    assert held_table(ds, "t", "t", facets) is None
    assert list(_HELD[ds].values()) == [future]  # not read again


def test_matched_rowids_past_the_length_allowed_readers_strings():
    """A million rowids are 6.9 MB of text, past the 1 MB the plugin allows a reader's string
    (factdb.site.limits): matched_rowids reads them all, then the limit is the reader's again."""
    from factdb.site.limits import MAX_LENGTH, bound_calls

    db = sqlite3.connect(":memory:")
    bound_calls(db)
    db.execute("create table t (v)")
    db.executemany("insert into t (rowid, v) values (?, 1)", ((n,) for n in range(1, 200_001)))
    found = matched_rowids(db, "select rowid from t", {}, 5000)
    assert len(found) == 200_000 and found[0] == 1 and found[-1] == 200_000
    assert db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == MAX_LENGTH
    with pytest.raises(sqlite3.DataError):
        db.execute("select group_concat(rowid) from t").fetchone()


@pytest.mark.parametrize("immutable", [True, False])
async def test_a_searchable_table_s_facets_are_read_when_the_server_starts(tmp_path, immutable):
    """Over an immutable database, the startup hook starts reading the facets metadata.yml gives
    a table with a full-text index (`hold_search_facets`); not those of a table without one,
    nor a mutable database's."""
    import sqlite_utils
    from datasette.app import Datasette

    from factdb.site.held import _HELD, HeldTable

    path = tmp_path / "t.db"
    db = sqlite_utils.Database(path)
    for name in ("t", "plain"):
        db[name].insert_all([{"v": "a", "about": '["n"]'}, {"v": "b", "about": "[]"}])
    db["t"].enable_fts(["v"])
    db.close()
    facets = ["v", {"ids": {"column": "about", "table": "x", "value": "y"}}]
    tables = {name: {"facets": facets} for name in ("t", "plain")}
    metadata = {"databases": {"t": {"tables": tables}}}
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    ds = Datasette(**files, metadata=metadata)
    await ds.invoke_startup()
    reads = _HELD.get(ds, {})
    if not immutable:
        assert reads == {}
        return
    assert list(reads) == [("t", "t", (("column", "v"), ("ids", "about")))]
    held = await asyncio.wrap_future(next(iter(reads.values())))  # read in a thread
    assert isinstance(held, HeldTable) and held.facets[("column", "v")].values == ["a", "b"]


def test_facets_read_as_the_server_starts_are_held_once_it_serves(tmp_path):
    """`datasette serve` runs the startup hook in an event loop of its own, then serves in
    another: the read started at startup ends, and is held, in the loop that serves."""
    import sqlite_utils
    from datasette.app import Datasette
    from datasette.cli import run_sync

    from factdb.site.held import held_table

    path = tmp_path / "t.db"
    db = sqlite_utils.Database(path)
    db["t"].insert_all([{"v": "a", "about": "[]"}])
    db["t"].enable_fts(["v"])
    db.close()
    metadata = {"databases": {"t": {"tables": {"t": {"facets": ["v"]}}}}}
    ds = Datasette(immutables=[str(path)], metadata=metadata)
    run_sync(ds.invoke_startup)  # as `datasette serve` does, before it serves

    async def serving() -> bool:
        for _ in range(200):
            if held_table(ds, "t", "t", (("column", "v"),)) is not None:
                return True
            await asyncio.sleep(0.02)
        return False

    assert asyncio.run(serving())
