"""What factdb.site.facet_override assumes of Datasette beyond its documented plugin interface.

Each test fails naming what changed in Datasette. Before changing the override to match, read
docs/datasette-internals.md: the override exists for the latency goal, and a Datasette whose
facets differ needs it measured again (`facts bench`), not only these tests passing.
"""

from __future__ import annotations

import inspect
import itertools
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from datasette import facets as datasette_facets
from datasette.app import Datasette
from datasette.database import Results
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet, Facet
from datasette.plugins import DEFAULT_PLUGINS, pm
from datasette.utils import escape_sqlite
from datasette.utils.asgi import Request
from packaging.requirements import Requirement

from factdb.site.facet_override import (
    BLOCKED_PLUGINS,
    COLUMN_FACET_SQL,
    DATASETTE_REQUIREMENT,
    FACET_CLASSES,
    ArrayCounts,
    ColumnCounts,
    DateCounts,
)
from factdb.site.facets import IdsFacet, KeptQueries, config_column

REPO = Path(__file__).resolve().parent.parent
REPLACED = {ColumnCounts: ColumnFacet, DateCounts: DateFacet, ArrayCounts: ArrayFacet}


def changed(what: str) -> str:
    return (
        f"Datasette {version('datasette')}: {what}. factdb.site.facet_override was written for "
        f"{DATASETTE_REQUIREMENT} and relies on it: see docs/datasette-internals.md"
    )


def test_datasette_is_the_version_the_override_was_written_for():
    requirement = Requirement(DATASETTE_REQUIREMENT)
    installed = version("datasette")
    assert requirement.specifier.contains(installed, prereleases=True), changed(
        f"this version is outside {requirement.specifier}, the range the override was checked on"
    )
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = [d for d in dependencies if Requirement(d).name == "datasette"]
    assert pinned == [DATASETTE_REQUIREMENT], (
        f"pyproject.toml asks for {pinned}, but factdb.site.facet_override was checked on "
        f"{DATASETTE_REQUIREMENT}: run this file on the new version, and measure again "
        "(facts bench), before changing DATASETTE_REQUIREMENT to match"
    )


def test_the_blocked_plugin_is_the_one_that_registers_the_classes_we_replace():
    for name in BLOCKED_PLUGINS:
        assert name in DEFAULT_PLUGINS, changed(f"{name!r} is no longer one of its default plugins")
    theirs = datasette_facets.register_facet_classes()
    assert theirs == [ColumnFacet, DateFacet, ArrayFacet], changed(
        f"the plugin datasette.facets registers {theirs}, not ColumnFacet, DateFacet, ArrayFacet"
    )
    for ours, replaced in REPLACED.items():
        assert issubclass(ours, replaced) and ours.type == replaced.type, changed(
            f"{replaced.__name__} is no longer the {ours.type!r} facet"
        )


async def test_once_started_each_facet_type_is_ours_alone():
    await Datasette(memory=True).invoke_startup()
    assert all(pm.is_blocked(name) for name in BLOCKED_PLUGINS)
    registered = list(itertools.chain.from_iterable(pm.hook.register_facet_classes()))
    types = [cls.type for cls in registered]
    assert len(types) == len(set(types)), changed(
        f"after blocking {BLOCKED_PLUGINS} a facet type is still registered twice: {registered}"
    )
    assert set(FACET_CLASSES) <= set(registered) and not set(REPLACED.values()) & set(registered)


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.default, p.kind) for p in inspect.signature(function).parameters.values()]


def test_facet_classes_take_and_have_what_the_override_uses():
    init = [name for name, _, _ in _parameters(Facet.__init__)]
    expected = [
        "self",
        "ds",
        "request",
        "database",
        "sql",
        "table",
        "params",
        "metadata",
        "row_count",
    ]
    assert init == expected, changed(f"Facet.__init__ takes {init}, not {expected}")
    for cls in (ColumnFacet, DateFacet, ArrayFacet):
        assert cls.__init__ is Facet.__init__, changed(f"{cls.__name__} has its own __init__")
        for name in ("facet_results", "suggest"):
            method = getattr(cls, name)
            assert inspect.iscoroutinefunction(method) and _parameters(method)[1:] == [], changed(
                f"{cls.__name__}.{name} is no longer a coroutine method taking no arguments"
            )
    for name in ("get_configs", "get_facet_size", "get_querystring_pairs"):
        assert _parameters(getattr(Facet, name))[1:] == [], changed(f"Facet.{name} changed")
    assert _parameters(KeptQueries.execute) == _parameters(Datasette.execute), changed(
        "Datasette.execute's parameters are not those KeptQueries.execute stands in for"
    )
    results = [name for name, _, _ in _parameters(Results.__init__)]
    assert results == ["self", "rows", "truncated", "description"], changed(
        f"Results takes {results}: the one pass builds Results(rows, truncated, description)"
    )


# The queries Datasette's own facet classes write for a known table, spaces collapsed: the one
# pass answers the column facet's (COLUMN_FACET_SQL); all three are kept by KeptQueries.
TABLE_SQL = "select * from [things]"
EXPECTED_SQL = {
    ColumnFacet: [
        "select kind as value, count(*) as count from ( select * from [things] ) "
        "where kind is not null group by kind order by count desc, value limit 31",
        "select [group] as value, count(*) as count from ( select * from [things] ) "
        "where [group] is not null group by [group] order by count desc, value limit 31",
    ],
    DateFacet: [
        "select date(day) as value, count(*) as count from ( select * from [things] ) "
        "where date(day) is not null group by date(day) order by count desc, value limit 31"
    ],
    ArrayFacet: [
        "with inner as (select * from [things]), deduped_array_items as ( select distinct "
        "j.value, inner.* from json_each([inner].tags) j join inner ) select value as value, "
        "count(*) as count from deduped_array_items group by value order by count(*) desc, "
        "value limit 31"
    ],
}


@pytest.fixture
def things(tmp_path: Path) -> Path:
    """A table with a column, a column named by a keyword, a date, and a JSON array."""
    path = tmp_path / "data.db"
    db = sqlite_utils.Database(path)
    db["things"].insert_all(
        [
            {"id": 1, "kind": "a", "group": "x", "day": "2024-10-24", "tags": '["p", "q"]'},
            {"id": 2, "kind": "a", "group": "y", "day": "2024-10-24", "tags": '["p"]'},
            {"id": 3, "kind": "b", "group": "x", "day": "2024-11-06", "tags": "[]"},
        ],
        pk="id",
    )
    db["things"].enable_fts(["kind"])
    db.close()
    return path


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Each query any Datasette database runs through its `execute`, with its parameters."""
    from datasette.database import Database

    ran: list[tuple[str, Any]] = []
    execute = Database.execute

    async def noted(self: Database, sql: str, params: Any = None, **kwargs: Any) -> Results:
        ran.append((sql, params))
        return await execute(self, sql, params, **kwargs)

    monkeypatch.setattr(Database, "execute", noted)
    return ran


class Recorder:
    """A Datasette that notes each query run through its `execute`."""

    def __init__(self, datasette: Datasette) -> None:
        self.datasette = datasette
        self.queries: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.datasette, name)

    async def execute(self, db_name: str, sql: str, params: Any = None, **kwargs: Any) -> Results:
        self.queries.append(sql)
        return await self.datasette.execute(db_name, sql, params, **kwargs)


async def test_datasette_s_facets_write_the_queries_the_override_expects(things: Path):
    ds = Datasette([str(things)])
    request = Request.fake(
        "/data/things?_facet=kind&_facet=group&_facet_date=day&_facet_array=tags"
    )
    for cls, expected in EXPECTED_SQL.items():
        recorder = Recorder(ds)
        facet = cls(
            recorder,
            request,
            "data",
            sql=TABLE_SQL,
            table="things",
            params={},
            metadata={},
            row_count=3,
        )
        results, timed_out = await facet.facet_results()
        assert results and not timed_out, changed(f"{cls.__name__} counted nothing")
        ran = [" ".join(sql.split()) for sql in recorder.queries]
        assert ran == expected, changed(
            f"{cls.__name__} no longer runs the query the override expects through the "
            f"Datasette it is given (`ds.execute`); it ran {ran}"
        )
    for sql, column in zip(EXPECTED_SQL[ColumnFacet], ("kind", "group"), strict=True):
        match = COLUMN_FACET_SQL.fullmatch(sql)
        assert match, changed("the column facet's query no longer matches COLUMN_FACET_SQL")
        assert (match["column"], match["sql"], match["limit"]) == (
            escape_sqlite(column),
            TABLE_SQL,
            "31",
        ), changed(f"COLUMN_FACET_SQL reads the column facet's query wrongly: {match.groupdict()}")


async def test_facet_configs_name_their_column_as_the_override_reads_them(things: Path):
    ds = Datasette([str(things)])
    metadata = {"facets": ["group", {"ids": {"column": "tags", "table": "x", "value": "y"}}]}
    request = Request.fake("/data/things?_facet=kind")
    column = ColumnFacet(ds, request, "data", table="things", metadata=metadata)
    ids = IdsFacet(ds, request, "data", table="things", metadata=metadata)
    got = {
        "column": [(c["source"], config_column(c["config"])) for c in column.get_configs()],
        "ids": [(c["source"], config_column(c["config"])) for c in ids.get_configs()],
    }
    assert got == {
        "column": [("metadata", "group"), ("request", "kind")],
        "ids": [("metadata", "tags")],
    }, changed(f"facet configs are no longer {{'simple': column}} or {{'column': ...}}: {got}")


async def test_a_table_page_makes_every_facet_before_it_counts_any(things: Path):
    """A search's facets are counted in one query only if Datasette makes them all first."""
    metadata = {
        "databases": {"data": {"tables": {"things": {"facets": ["kind", {"ids": "tags"}]}}}}
    }
    ds = Datasette([str(things)], metadata=metadata, settings={"trace_debug": True})
    response = await ds.client.get("/data/things.json?_search=a&_trace=1")
    assert response.status_code == 200, response.text
    data = response.json()
    ran = [t["sql"] for t in data["_trace"]["traces"]]
    passes = [sql for sql in ran if sql.startswith("with page as")]
    own = [sql for sql in ran if COLUMN_FACET_SQL.fullmatch(sql)]
    assert len(passes) == 1 and own == [], changed(
        "the table page no longer makes every facet before counting any, so a search's facets "
        f"are not counted in one query: it ran {ran}"
    )
    counts = {
        name: [(r["value"], r["count"]) for r in facet["results"]]
        for name, facet in data["facet_results"].items()
    }
    assert counts == {"kind": [("a", 2)], "tags": [("p", 2), ("q", 1)]}


def test_the_table_page_shows_facets_through_the_template_we_extend():
    """templates/_facet_results.html adds its note and includes Datasette's own."""
    templates = Path(datasette_facets.__file__).parent / "templates"
    assert '{% include "_facet_results.html" %}' in (templates / "table.html").read_text(), changed(
        "table.html no longer includes _facet_results.html"
    )
    assert "sorted_facet_results" in (templates / "_facet_results.html").read_text(), changed(
        "_facet_results.html no longer lists sorted_facet_results"
    )


def test_facet_configurations_are_read_only_through_get_configs():
    """Our classes check a request's facet parameters in `get_configs` (factdb.site.
    facet_params); Datasette's must read their configurations through it, and nothing else of
    Datasette's may parse the `_facet*` parameters (`load_facet_configs`) on its own."""
    package = Path(datasette_facets.__file__).parent
    callers = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if "load_facet_configs(" in path.read_text()
    ]
    assert callers == ["facets.py"], changed(f"load_facet_configs is called in {callers}")
    source = inspect.getsource(datasette_facets)
    assert source.count("load_facet_configs(") == 2, changed(
        "load_facet_configs is called elsewhere than in Facet.get_configs"
    )
    assert "load_facet_configs(" in inspect.getsource(Facet.get_configs)
    for cls in (ColumnFacet, DateFacet, ArrayFacet):
        assert "self.get_configs()" in inspect.getsource(cls.facet_results), changed(
            f"{cls.__name__}.facet_results no longer reads its configs through get_configs"
        )


async def test_a_facet_that_refuses_its_parameters_answers_400_before_any_counts(things: Path):
    """The table page makes its facets (where ours refuse a bad parameter, raising BadRequest)
    before counting any, outside any handler of its own: the page answers 400 with the
    message."""
    ds = Datasette(immutables=[str(things)], settings={"trace_debug": True})
    response = await ds.client.get("/data/things.json?_facet=nosuch&_trace=1")
    assert response.status_code == 400, changed(f"a refused facet answered {response.status_code}")
    assert response.json()["error"] == "_facet: this table has no column 'nosuch'", changed(
        f"a refused facet's message is not the page's error: {response.json()}"
    )


@pytest.mark.parametrize(
    "query, matched",
    [
        ("_search=a", "escape_fts(:search)"),
        ("_search=a&_searchmode=raw", ":search"),
        ("_search_kind=a", "escape_fts(:search_0)"),
    ],
)
async def test_a_search_s_clause_is_written_as_the_facets_read_it(
    things: Path, query: str, matched: str
):
    """factdb.site.facets counts a search's facets from the facets held in memory where the
    page's only clause is Datasette's search clause, read by SEARCH_CLAUSE; a clause it does
    not read is counted in SQL (slower, never wrong)."""
    from datasette.filters import search_filters

    from factdb.site.facets import SEARCH_CLAUSE

    ds = Datasette([str(things)])
    request = Request.fake(f"/data/things?{query}")
    arguments = await search_filters(request, "data", "things", ds)()
    [clause] = arguments.where_clauses
    match = SEARCH_CLAUSE.fullmatch(clause)
    assert match, changed(f"a search's clause is no longer read by SEARCH_CLAUSE: {clause}")
    assert match["pk"] == "rowid" and match["matched"].endswith(f"match {matched})"), changed(
        f"SEARCH_CLAUSE reads a search's clause wrongly: {match.groupdict()}"
    )


@pytest.mark.parametrize(
    "query, matched", [("", "escape_fts(:search)"), ("&_searchmode=raw", ":search")]
)
async def test_a_table_page_s_search_runs_the_queries_table_search_reads(
    things: Path, queries: list[tuple[str, Any]], query: str, matched: str
):
    """factdb.site.table_search answers a table page's search through the indexes where it
    reads Datasette's two queries (the rows, the count), run through `Database.execute`;
    any other query runs as Datasette wrote it (slower, never wrong)."""
    from factdb.site.table_search import SEARCH_COUNT, SEARCH_ROWS

    ds = Datasette([str(things)])  # mutable: the queries reach SQLite as Datasette wrote them
    response = await ds.client.get(f"/data/things?_search=a&_sort_desc=kind&_size=7{query}")
    assert response.status_code == 200
    rows = [(SEARCH_ROWS.fullmatch(sql), p) for sql, p in queries if SEARCH_ROWS.fullmatch(sql)]
    counts = [(SEARCH_COUNT.fullmatch(s), p) for s, p in queries if SEARCH_COUNT.fullmatch(s)]
    assert len(rows) == 1 and len(counts) == 1, changed(
        f"a table page's search no longer runs the queries table_search reads: {queries}"
    )
    (row, row_params), (count, count_params) = rows[0], counts[0]
    read = (row["table"], row["fts"], row["match"], row["order"], row["desc"], row["limit"])
    assert read == ("things", "things_fts", matched, "kind", " desc", "8"), changed(
        f"SEARCH_ROWS reads the search's rows query wrongly: {row.groupdict()}"
    )
    assert (count["table"], count["fts"], count["match"]) == read[:3], changed(
        f"SEARCH_COUNT reads the search's count query wrongly: {count.groupdict()}"
    )
    assert row_params == count_params == {"search": "a"}, changed(
        f"a search's queries take other parameters: {row_params}, {count_params}"
    )


@pytest.mark.parametrize("sort, past", [("_sort", ">"), ("_sort_desc", "<")])
async def test_a_later_page_of_a_search_runs_the_query_table_search_reads(
    things: Path, queries: list[tuple[str, Any]], sort: str, past: str
):
    """A later page (`_next=`) of a search sorted by a column adds Datasette's clause past the
    last row's value and key (below it in descending order, with the nulls): `SEARCH_NEXT`
    reads it, with its parameters."""
    from factdb.site.table_search import SEARCH_NEXT

    ds = Datasette([str(things)])
    first = await ds.client.get(f"/data/things.json?_search=a&{sort}=kind&_size=1")
    await ds.client.get(
        f"/data/things.json?_search=a&{sort}=kind&_size=1&_next={first.json()['next']}"
    )
    read = [(SEARCH_NEXT.fullmatch(sql), p) for sql, p in queries if SEARCH_NEXT.fullmatch(sql)]
    assert len(read) == 1, changed(f"a later page's query is not read by SEARCH_NEXT: {queries}")
    match, params = read[0]
    descending = past == "<"
    assert (match["table"], match["order"], match["key"], match["limit"], match["past"]) == (
        "things",
        "kind",
        "id",
        "2",
        past,
    ), changed(f"SEARCH_NEXT reads a later page's query wrongly: {match.groupdict()}")
    assert bool(match["desc"]) == bool(match["nulls"]) == descending, changed(
        f"a later page's order or nulls are not where SEARCH_NEXT reads them: {match.groupdict()}"
    )
    assert set(params) == {"search", match["value"], match["last"]}, changed(
        f"a later page's query takes other parameters: {params}"
    )
