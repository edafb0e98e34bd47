"""A table page's search over an immutable database gives Datasette's rows and count, through
the indexes (factdb.site.table_search)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from datasette.app import Datasette
from datasette.database import Database

from factdb.site import table_search
from factdb.site.table_search import broad_terms, check_table

ROWS = 3000
PAGE = 5  # a page of 5 rows (`_size=5`): the walk pays off on a table of 3,000
METADATA = {
    "databases": {"data": {"tables": {"things": {"sort": "sort_key", "fts_table": "things_fts"}}}}
}
WALK = "exists (select 1 from things_fts"  # the walk's query
DATASETTE_ROWS = "select id, text, sort_key, label from things where rowid in"  # Datasette's
DATASETTE_COUNT = "select count(*) from things where rowid in"  # and its count
COUNTED = "select count(*) from things"  # that, or the index's count (things_fts)


def words(n: int) -> str:
    """Row n's text: 'every' row, every other one 'half', the last half 'late', every 500th
    'rare'."""
    text = ["every"] + ["half"] * (n % 2 == 0) + ["late"] * (n >= ROWS // 2)
    return " ".join(text + ["rare"] * (n % 500 == 7))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """3,000 things whose sort keys run the other way from their rowids, searchable."""
    path = tmp_path / "data.db"
    db = sqlite_utils.Database(path)
    db["things"].insert_all(
        (
            {
                "id": f"t{n:04}",
                "text": words(n),
                "sort_key": f"k{n:04}",
                "label": f"l{n * 7 % ROWS:04}",
            }
            for n in reversed(range(ROWS))
        ),
        pk="id",
    )
    db["things"].create_index(["sort_key"])
    db["things"].enable_fts(["text"], fts_version="FTS5", create_triggers=False)
    db.close()
    return path


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every query a database runs, as Datasette wrote it or as the search put it instead."""
    queries: list[str] = []
    execute = Database.execute

    async def noted(self: Database, sql: str, *args: Any, **kwargs: Any) -> Any:
        queries.append(" ".join(sql.split()))
        return await execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", noted)
    return queries


async def page(path: Path, query: str, immutable: bool = True) -> dict[str, Any]:
    """The JSON of the things table page for this query, from a new Datasette."""
    files = {"immutables": [str(path)]} if immutable else {"files": [str(path)]}
    ds = Datasette(**files, metadata=METADATA)
    await ds.invoke_startup()
    response = await ds.client.get(f"/data/things.json?_shape=objects&_size={PAGE}&{query}")
    assert response.status_code == 200, response.text
    return response.json()


def expected(path: Path, word: str, order: str = "sort_key", after: str = "") -> tuple:
    """Datasette's own answer, in SQL: the page's ids (past the sort key `after`: below it in
    descending order), and how many rows match."""
    db = sqlite3.connect(path)
    matched = "rowid in (select rowid from things_fts where things_fts match ?)"
    past = "<" if order.endswith(" desc") else ">"
    where = f"{matched} and sort_key {past} ?" if after else matched
    ids = db.execute(
        f"select id from things where {where} order by {order} limit {PAGE}",
        [f'"{word}"', after] if after else [f'"{word}"'],
    ).fetchall()
    count = db.execute(f"select count(*) from things where {matched}", [f'"{word}"']).fetchone()
    return [row[0] for row in ids], count[0]


def got(page: dict[str, Any]) -> tuple:
    return [row["id"] for row in page["rows"]], page["filtered_table_rows_count"]


@pytest.mark.parametrize(
    "word, walked, datasette_s",
    [
        ("every", True, False),  # every row: the first page is the index's first rows
        ("half", True, False),
        ("late", True, True),  # the walk's rows hold none: Datasette's query after it
        ("rare", False, True),  # 6 rows: Datasette's query costs less than the walk
        ("nothing", False, True),
    ],
)
async def test_a_search_s_page_and_count_are_datasette_s(
    data: Path, ran: list[str], word: str, walked: bool, datasette_s: bool
):
    assert got(await page(data, f"_search={word}")) == expected(data, word)
    rows = [sql for sql in ran if "things_fts" in sql and "count(*)" not in sql]
    assert any(WALK in sql for sql in rows) is walked
    assert any(sql.startswith(DATASETTE_ROWS) for sql in rows) is datasette_s
    assert not any(sql.startswith(DATASETTE_COUNT) for sql in ran)  # counted in the index


async def test_the_walk_reads_a_bounded_part_of_the_sort_order(data: Path):
    """With the bound the walk finds the same rows: 'half' matches every other row, so its
    first page lies in the first 4 pages' worth of rows asked about, and no further."""
    assert got(await page(data, "_search=half"))[0] == [f"t{n:04}" for n in range(0, 10, 2)]


async def test_a_search_sorted_the_other_way(data: Path, ran: list[str]):
    result = await page(data, "_search=half&_sort_desc=sort_key")
    assert got(result) == expected(data, "half", order="sort_key desc")
    assert any(WALK in sql and "desc" in sql for sql in ran)


@pytest.mark.parametrize("sort", ["", "&_sort_desc=sort_key"])
@pytest.mark.parametrize("word", ["every", "half", "late"])
async def test_later_pages_are_datasette_s(data: Path, ran: list[str], word: str, sort: str):
    """Page after page (`_next=`), in either order, the rows Datasette's own query gives; a
    later page of a broad search walks on from the last row ('late', in ascending order: its
    first page is Datasette's query)."""
    order = "sort_key desc" if sort else "sort_key"
    query, last = f"_search={word}{sort}", ""
    for _ in range(4):
        result = await page(data, query)
        assert got(result) == (expected(data, word, order, last)[0], expected(data, word)[1])
        last = result["rows"][-1]["sort_key"]
        query = f"_search={word}{sort}&_next={result['next']}"
    walked_on = [sql for sql in ran if WALK in sql and ":p" in sql]
    assert walked_on or (word == "late" and not sort)
    assert all(("desc" in sql) == bool(sort) for sql in walked_on)


async def test_a_sort_column_without_an_index(data: Path, ran: list[str]):
    ids, count = got(await page(data, "_search=every&_sort=label"))
    assert (ids, count) == expected(data, "every", order="label")
    assert not any(WALK in sql for sql in ran)


async def test_a_mutable_database_runs_datasette_s_queries(data: Path, ran: list[str]):
    assert got(await page(data, "_search=every", immutable=False)) == expected(data, "every")
    assert not any(WALK in sql for sql in ran)
    assert any(sql.startswith(DATASETTE_COUNT) for sql in ran)


async def test_an_index_that_does_not_hold_the_table_s_rows_is_not_counted_from(
    data: Path, ran: list[str]
):
    """A row deleted from the table, not from its full-text index (no triggers): the index
    would count it; the table's count is Datasette's."""
    with sqlite3.connect(data) as db:
        db.execute("delete from things where id = 't0002'")
    ids, count = got(await page(data, "_search=every"))
    assert (ids, count) == expected(data, "every") and count == ROWS - 1
    assert not any(WALK in sql for sql in ran)


def test_the_check_of_a_table_and_its_index(data: Path):
    db = sqlite3.connect(data)
    searchable = check_table(db, "things", "things_fts")
    assert searchable is not None
    assert searchable.rows == ROWS and "sort_key" in searchable.ordered
    assert "label" not in searchable.ordered  # no index leads with it
    assert check_table(db, "things", "no_such_fts") is None
    assert check_table(db, "other", "things_fts") is None  # not the index's content
    db.execute("create virtual table rowids_fts using fts5(text, content=things, content_rowid=n)")
    assert check_table(db, "things", "rowids_fts") is None
    db.execute("create virtual table sizeless_fts using fts5(text, content=things, columnsize=0)")
    assert check_table(db, "things", "sizeless_fts") is None  # no docsize table to count
    db.execute("update things set sort_key = null where id = 't0001'")
    assert "sort_key" not in check_table(db, "things", "things_fts").ordered


@pytest.mark.parametrize("search", ['"unbalanced', "NEAR("])
async def test_a_malformed_raw_search_answers_as_datasette_does(data: Path, search: str):
    """Where the index's own count runs first, FTS5's error is the one Datasette gives: 400."""
    answers = []
    for files in ({"immutables": [str(data)]}, {"files": [str(data)]}):
        ds = Datasette(**files, metadata=METADATA)
        response = await ds.client.get(
            "/data/things.json", params={"_search": search, "_searchmode": "raw"}
        )
        answers.append((response.status_code, response.json()["error"]))
    assert answers[0] == answers[1] and answers[0][0] == 400


async def test_a_broad_word_is_counted_from_the_vocabulary(
    data: Path, ran: list[str], monkeypatch: pytest.MonkeyPatch
):
    """The first search starts reading the index's broad words; then a search of one of them,
    in any case, is counted from what was read (no count query), as Datasette counts it; a
    word that is not broad, a phrase of two, and a raw search are counted by the index."""
    monkeypatch.setattr(table_search, "BROAD_TERM", 1000)  # 'every' 3,000 rows, 'half' 1,500
    ds = Datasette(immutables=[str(data)], metadata=METADATA)
    await ds.invoke_startup()

    async def count(query: str) -> int:
        ran.clear()
        response = await ds.client.get(f"/data/things.json?_size={PAGE}&{query}")
        assert response.status_code == 200, response.text
        return response.json()["filtered_table_rows_count"]

    assert await count("_search=late") == expected(data, "late")[1]  # starts the reading
    searching = ds.databases["data"].execute
    broad = {"every": 3000, "half": 1500, "late": 1500}
    assert searching.terms["things_fts"].result(timeout=30) == broad
    for word in ["every", " HALF "]:
        assert await count(f"_search={word}") == expected(data, word.strip().lower())[1]
        assert not any(sql.startswith(COUNTED) for sql in ran)  # neither the index nor the table
    for query in ["_search=rare", "_search=every half", "_search=half&_searchmode=raw"]:
        assert await count(query) == expected(data, query.split("=")[1].split("&")[0])[1]
        assert any(sql.startswith("select count(*) from things_fts") for sql in ran)


def test_the_broad_words_of_an_index(data: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(table_search, "BROAD_TERM", 1500)
    db = sqlite3.connect(data)
    assert broad_terms(db, "things_fts") == {"every": 3000, "half": 1500, "late": 1500}
    assert db.execute("select name from temp.sqlite_master").fetchall() == []  # dropped after
    db.execute("create virtual table stems_fts using fts5(text, tokenize=porter)")
    db.execute("create virtual table sparse_fts using fts5(text, detail=none)")
    assert broad_terms(db, "stems_fts") is None  # its words are stems, not a search's words
    assert broad_terms(db, "sparse_fts") is None
