"""Every row once: each table and view of the real database, paged and streamed the ways readers
read and export it (issue #17), through Datasette's in-process client with the project's
metadata and settings, the database immutable as it is served. Each way must give exactly the
rows of a plain `select`, as a multiset of keys (the primary key, the rowid where there is
none, every column of a view): none lost, none repeated.

Datasette pages a table by keyset (`_next=<sort value>,<primary key>`) and a view by offset.
Its first page is ordered by the sort column alone and the next ones by the column and the
key, so only a sort column that never repeats and is never null pages every row once: each
sort metadata.yml gives is such a column (docs/pages.md, "Paging and exports").
"""

from __future__ import annotations

import csv
import html
import io
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from datasette.app import Datasette
from datasette.utils import urlsafe_components

from factdb.publishing import DATABASE_NAME, SETTINGS, read_metadata

REPO = Path(__file__).resolve().parent.parent
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a CSV export may put a quote before these
Key = tuple[Any, ...]
METADATA = read_metadata(REPO)


@dataclass(frozen=True)
class Relation:
    """A table or view, and the columns that tell its rows apart."""

    name: str
    key: tuple[str, ...]  # the primary key; ("rowid",) for a rowid table; a view's columns
    is_view: bool


def relations(database: Path) -> list[Relation]:
    """Every table and view of the database but SQLite's own (sqlite_stat1) and the shadow
    tables that store a full-text index (claims_fts_data, ...: the index, not rows; the
    full-text tables themselves are included)."""
    with closing(sqlite3.connect(database)) as conn:
        master = conn.execute("select name, type, sql from sqlite_master order by name").fetchall()
        virtual = [name for name, _, sql in master if sql and sql.startswith("CREATE VIRTUAL")]
        found = []
        for name, kind, _ in master:
            shadow = any(name.startswith(f"{v}_") for v in virtual)
            if kind not in ("table", "view") or name.startswith("sqlite_") or shadow:
                continue
            info = conn.execute(f"pragma table_info([{name}])").fetchall()
            pk = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])
            key = tuple(row[1] for row in info) if kind == "view" else pk or ("rowid",)
            found.append(Relation(name, key, kind == "view"))
    return found


def expected(database: Path, relation: Relation) -> Counter[Key]:
    """The relation's keys by a plain select: each row once."""
    columns = ", ".join(f"[{column}]" for column in relation.key)
    with closing(sqlite3.connect(database)) as conn:
        return Counter(conn.execute(f"select {columns} from [{relation.name}]"))


def as_text(value: Any) -> str:
    """A value as a CSV export or a row link writes it, without the quote an export may put
    before a would-be formula."""
    text = "" if value is None else str(value)
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def texts(keys: Counter[Key]) -> Counter[Key]:
    return Counter({tuple(as_text(value) for value in key): n for key, n in keys.items()})


def local(url: str) -> str:
    """A link of a page (absolute, perhaps HTML-escaped) as the path the client asks for."""
    parts = urlsplit(html.unescape(url))
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def first_page(relation: Relation, extension: str, params: dict[str, str]) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"/{DATABASE_NAME}/{relation.name}{extension}{query}"


async def get(ds: Datasette, url: str) -> Any:
    response = await ds.client.get(url)
    assert response.status_code == 200, (url, response.text[:500])
    return response


async def json_keys(ds: Datasette, relation: Relation, params: dict[str, str]) -> list[Key]:
    """The keys of every row, following next_url from the first page to the last (without
    counts and facets, which do not change the rows)."""
    keys: list[Key] = []
    quiet = {"_shape": "objects", "_nocount": "1", "_nofacet": "1"}
    url: str | None = first_page(relation, ".json", {**quiet, **params})
    while url:
        data = (await get(ds, url)).json()
        keys += [tuple(row[column] for column in relation.key) for row in data["rows"]]
        url = data["next_url"] and local(data["next_url"])
    return keys


NEXT_LINK = re.compile(r'<a href="([^"]+)">Next page</a>')
ROW_LINK = re.compile(r'<td class="col-[^"]* type-pk"><a href="[^"]*/([^"/]+)">')


async def html_keys(ds: Datasette, relation: Relation, params: dict[str, str]) -> list[Key]:
    """The keys of every row, clicking "Next page" from the first page to the last: a table's
    from its rows' links (as text), a view's from the JSON of the same page (the same query)."""
    keys: list[Key] = []
    url: str | None = first_page(relation, "", params)
    while url:
        page = (await get(ds, url)).text
        if relation.is_view:
            path, _, query = url.partition("?")
            rows = (await get(ds, f"{path}.json?{query}&_shape=objects")).json()["rows"]
            keys += [tuple(row[column] for column in relation.key) for row in rows]
        else:
            keys += [tuple(urlsafe_components(link)) for link in ROW_LINK.findall(page)]
        found = NEXT_LINK.search(page)
        url = found and local(found.group(1))
    return keys


async def csv_keys(ds: Datasette, relation: Relation, params: dict[str, str]) -> list[Key]:
    """The keys of every row of a streamed CSV export, as text."""
    response = await get(ds, first_page(relation, ".csv", {"_stream": "on", **params}))
    rows = csv.DictReader(io.StringIO(response.text))
    return [tuple(as_text(row[column]) for column in relation.key) for row in rows]


def difference(got: list[Key], want: Counter[Key]) -> dict[str, int]:
    """How many rows there are, how many came, how many were lost and how many came twice (or
    from nowhere)."""
    counted = Counter(got)
    lost, extra = want - counted, counted - want
    return {"rows": want.total(), "got": len(got), "lost": lost.total(), "extra": extra.total()}


def orders(relation: Relation) -> Iterator[dict[str, str]]:
    """The orders to page a relation in: its default, and the other way round on the sort
    column metadata.yml gives it (a reader's click on the column's header)."""
    yield {}
    table = METADATA["databases"][DATABASE_NAME]["tables"].get(relation.name, {})
    if table.get("sort"):
        yield {"_sort_desc": table["sort"]}
    if table.get("sort_desc"):
        yield {"_sort": table["sort_desc"]}


@pytest.fixture(scope="module")
def ds(repo_db: Path) -> Datasette:
    return Datasette(immutables=[str(repo_db)], metadata=METADATA, settings=SETTINGS)


@pytest.fixture(scope="module")
def every(repo_db: Path) -> list[Relation]:
    found = relations(repo_db)
    names = {relation.name for relation in found}
    assert {"claims", "events", "entities", "answers", "sentences", "claims_view"} <= names
    assert {"claims_fts", "coverage", "claim_entities"} <= names
    return found


async def test_following_next_url_in_json_gives_every_row_once(ds, every, repo_db):
    wrong = {}
    for relation in every:
        want = expected(repo_db, relation)
        for size in ("7", "20"):
            for order in orders(relation):
                got = await json_keys(ds, relation, {"_size": size, **order})
                if Counter(got) != want:
                    wrong[relation.name, size, *order.items()] = difference(got, want)
    assert wrong == {}


async def test_clicking_next_page_gives_every_row_once(ds, every, repo_db):
    """At the page size readers get (50): JSON's next_url above is the same link at others."""
    wrong = {}
    for relation in every:
        want = expected(repo_db, relation)
        if not relation.is_view:
            want = texts(want)  # read from the rows' links
        for order in orders(relation):
            got = await html_keys(ds, relation, order)
            if Counter(got) != want:
                wrong[relation.name, *order.items()] = difference(got, want)
    assert wrong == {}


@pytest.mark.parametrize("size", [None, "7"])
async def test_a_streamed_csv_export_gives_every_row_once(ds, every, repo_db, size):
    wrong = {}
    for relation in every:
        want = texts(expected(repo_db, relation))
        for order in orders(relation):
            got = await csv_keys(ds, relation, {**order, **({"_size": size} if size else {})})
            if Counter(got) != want:
                wrong[relation.name, *order.items()] = difference(got, want)
    assert wrong == {}


def test_every_sort_in_metadata_is_on_a_column_never_null_and_never_repeated(repo_db):
    """The rule the paging tests rest on, checked on every table whose metadata.yml sorts it."""
    tables = METADATA["databases"][DATABASE_NAME]["tables"]
    sorts = {
        name: table.get("sort") or table.get("sort_desc")
        for name, table in tables.items()
        if table.get("sort") or table.get("sort_desc")
    }
    assert {"claims", "events", "entities"} <= set(sorts)
    with closing(sqlite3.connect(repo_db)) as conn:
        counts = {
            name: conn.execute(
                f"select count(*), count([{column}]), count(distinct [{column}]) from [{name}]"
            ).fetchone()
            for name, column in sorts.items()
        }
    assert {name: c for name, c in counts.items() if len(set(c)) > 1} == {}


async def test_the_claims_table_is_in_date_order_with_open_starts_at_their_last_day(ds, repo_db):
    with closing(sqlite3.connect(repo_db)) as conn:
        keys = dict(conn.execute("select id, sort_key from claims"))
        dates = dict(conn.execute("select id, date from claims"))
    # '../2024-10-23' (on or before 23 October) stands at 23 October, not before every date
    claim = "s004-nis-troops-sent-by-oct-23"
    assert (dates[claim], keys[claim]) == ("../2024-10-23", f"2024-10-23 {claim}")
    # '2024-10-24/..' (on or after 24 October) at 24 October
    opened = [key for key, date in dates.items() if date.startswith("2024-10-24/")]
    assert opened and all(keys[c] == f"2024-10-24 {c}" for c in opened)
    page = (await get(ds, "/facts/claims.json?_shape=objects&_col=sort_key")).json()
    in_date_order = sorted(keys, key=keys.__getitem__)
    assert [row["id"] for row in page["rows"]] == in_date_order[: len(page["rows"])]


async def test_datasette_orders_a_first_page_by_the_sort_column_alone(ds):
    """Why a sort a reader chooses on a column that repeats or is null (date_start, topic,
    assertion) can lose and repeat rows, as docs/pages.md says: Datasette orders the first page
    by the column alone and the next ones by the column and the key. If this fails, Datasette
    has changed: check such sorts with the tests above and update docs/pages.md."""
    first = (await get(ds, "/facts/claims.json?_sort=date_start&_size=7")).json()
    assert first["query"]["sql"].endswith(" order by date_start limit 8")
    second = (await get(ds, local(first["next_url"]))).json()
    assert second["query"]["sql"].endswith(" order by date_start, id limit 8")
