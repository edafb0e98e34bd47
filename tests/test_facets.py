"""The ids facet gives Datasette's array facet's counts and filters, without its DISTINCT."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from datasette.app import Datasette

from factdb.publishing import SETTINGS, read_metadata

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)


async def facets(ds: Datasette, query: str) -> dict:
    response = await ds.client.get(f"/facts/claims.json?{query}")
    assert response.status_code == 200, response.text
    return response.json()["facet_results"]


def counts(facet: dict) -> list[tuple[str, int, bool]]:
    return [(r["value"], r["count"], r["selected"]) for r in facet["results"]]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "topic=nk-troops-in-kursk",
        "_search=Kursk",
        "about__arraycontains=north-korea",
        "_facet_size=3",
    ],
)
async def test_the_same_counts_as_the_array_facet(ds: Datasette, query: str):
    results = await facets(ds, f"{query}&_facet_array=about")  # Datasette's own, beside ours
    by_type = {facet["type"]: facet for facet in results.values() if facet["name"] == "about"}
    ids, array = by_type["ids"], by_type["array"]
    assert counts(ids) and counts(ids) == counts(array)
    assert ids["truncated"] == array["truncated"]


async def test_its_links_filter_by_the_value(ds: Datasette):
    [first, *_] = (await facets(ds, ""))["about"]["results"]
    assert "about__arraycontains=" in first["toggle_url"]
    link = urlsplit(first["toggle_url"])
    response = await ds.client.get(f"{link.path}?{link.query}&_size=max&_shape=objects")
    assert response.status_code == 200, (link, response.text)
    rows = response.json()["rows"]
    assert len(rows) == first["count"]
    assert all(first["value"] in json.loads(row["about"]) for row in rows)


async def test_the_claims_page_shows_it(ds: Datasette):
    response = await ds.client.get("/facts/claims")
    assert response.status_code == 200
    assert "about__arraycontains=north-korea" in response.text


async def test_unfiltered_counts_come_from_the_link_table(repo_db: Path):
    settings = {**SETTINGS, "trace_debug": True}
    ds = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=settings)

    async def facet_sql(query: str) -> list[str]:
        data = (await ds.client.get(f"/facts/claims.json?_trace=1&{query}")).json()
        return [t["sql"] for t in data["_trace"]["traces"] if "count(*) as count" in t["sql"]]

    assert any("from claim_entities" in sql for sql in await facet_sql(""))
    for query in ("topic=nk-troops-in-kursk", "_search=Kursk", "_where=value>1000"):
        sqls = await facet_sql(query)
        assert sqls and not any("claim_entities" in sql for sql in sqls), query


# Kept counts: over an immutable database a facet's query runs once.


@pytest.fixture
def immutable(repo_db: Path) -> Datasette:
    settings = {**SETTINGS, "trace_debug": True}
    return Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=settings)


async def traced(ds: Datasette, query: str) -> tuple[dict, list[str]]:
    """The facet results of a claims.json request, and the facet queries it ran."""
    data = (await ds.client.get(f"/facts/claims.json?_trace=1&{query}")).json()
    sqls = [t["sql"] for t in data["_trace"]["traces"] if "count(*) as count" in t["sql"]]
    return data["facet_results"], sqls


async def test_facet_counts_over_an_immutable_database_are_kept(immutable: Datasette):
    first, ran = await traced(immutable, "_facet=unit")
    assert len(ran) == 7  # topic, source, claimant, assertion, date_precision, about, unit
    again, ran_again = await traced(immutable, "_facet=unit")
    assert again == first and ran_again == []
    _, filtered = await traced(immutable, "_facet=unit&assertion=stated")
    assert len(filtered) == 7  # other rows, other queries


async def test_kept_counts_are_those_of_the_query(immutable: Datasette, repo_db: Path):
    import sqlite3

    for _ in range(2):  # run, then kept
        results, _ = await traced(immutable, "_facet=unit")
        db = sqlite3.connect(repo_db)
        for column in ("topic", "claimant", "assertion", "unit"):
            expected = db.execute(
                f"select {column}, count(*) as n from claims where {column} is not null "
                f"group by {column} order by n desc, {column} limit 30"
            ).fetchall()
            got = [(r["value"], r["count"]) for r in results[column]["results"]]
            assert got == expected, column
        db.close()


async def test_over_a_mutable_database_every_request_counts_again(repo_db: Path):
    settings = {**SETTINGS, "trace_debug": True}
    ds = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    for _ in range(2):
        _, ran = await traced(ds, "")
        assert len(ran) == 6


async def test_each_facet_once_datasette_own_classes_blocked(immutable: Datasette):
    """Were Datasette's own column facet still registered, every column facet would be twice."""
    results, _ = await traced(immutable, "_facet=unit&_facet_array=about")
    names = sorted((facet["name"], facet["type"]) for facet in results.values())
    assert names == sorted(
        [
            ("topic", "column"),
            ("source", "column"),
            ("claimant", "column"),
            ("assertion", "column"),
            ("date_precision", "column"),
            ("about", "ids"),
            ("unit", "column"),
            ("about", "array"),
        ]
    )


async def test_the_least_recent_query_goes_first(immutable: Datasette, monkeypatch):
    import factdb.site.facets as facets_module

    monkeypatch.setattr(facets_module, "CACHE_SIZE", 6)  # one page's facets
    _, ran = await traced(immutable, "assertion=stated")
    assert len(ran) == 6
    _, ran = await traced(immutable, "assertion=reported")  # pushes the first page's out
    assert len(ran) == 6
    _, ran = await traced(immutable, "assertion=stated")
    assert len(ran) == 6


async def test_a_query_stopped_by_its_time_limit_is_not_kept():
    from datasette.database import QueryInterrupted

    from factdb.site.facets import KeptQueries

    class Database:
        is_mutable = False

    class Stub:  # a Datasette whose first query runs out of time
        databases = {"facts": Database()}
        calls = 0

        async def execute(self, *args, **kwargs):
            self.calls += 1
            if self.calls == 1:
                raise QueryInterrupted(None, "select 1", {})
            return ["row"]

    stub = Stub()
    kept = KeptQueries(stub)
    with pytest.raises(QueryInterrupted):
        await kept.execute("facts", "select 1")
    assert await kept.execute("facts", "select 1") == ["row"]
    assert await kept.execute("facts", "select 1") == ["row"]
    assert stub.calls == 2


async def test_a_query_with_parameters_that_are_not_plain_values_is_run_each_time():
    from factdb.site.facets import KeptQueries

    class Database:
        is_mutable = False

    class Stub:
        databases = {"facts": Database()}
        calls = 0

        async def execute(self, *args, **kwargs):
            self.calls += 1
            return ["row"]

    stub = Stub()
    kept = KeptQueries(stub)
    for _ in range(2):
        assert await kept.execute("facts", "select :x", {"x": ["a", "list"]}) == ["row"]
    assert stub.calls == 2
    for _ in range(2):
        assert await kept.execute("facts", "select :x", {"x": "text"}) == ["row"]
    assert stub.calls == 3


# A search's facets: counted in one query, the same as the facets' own; too broad, not counted.

SEARCHES = [
    "_search=Kursk",
    "_search=troops&assertion=reported",
    "_search=Kursk&_facet=unit",
    "_search=Kursk&_facet_size=2",
    "_search_quote=soldiers",
    "_search=Kursk&_facet_array=about&_facet_date=date_start",
]


def _pass_and_column_queries(ran: list[str]) -> tuple[list[str], list[str]]:
    """The one query of a search's facets, and the column facets' own queries."""
    from factdb.site.facet_override import COLUMN_FACET_SQL

    columns = [
        sql
        for sql in ran
        if (match := COLUMN_FACET_SQL.fullmatch(sql)) and "(" not in match["column"]
    ]  # not the date facet's date(column)
    return [sql for sql in ran if sql.startswith("with page as")], columns


@pytest.mark.parametrize("query", SEARCHES)
async def test_a_search_s_facets_are_counted_in_one_query_as_their_own_would(
    repo_db: Path, query: str, monkeypatch
):
    from factdb.site.facet_override import ColumnCounts
    from factdb.site.facets import IdsFacet

    settings = {**SETTINGS, "trace_debug": True}
    ds = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    one, ran = await traced(ds, query)
    passes, columns = _pass_and_column_queries(ran)
    assert len(passes) == 1 and columns == []
    assert not any("json_each(inner.about)" in sql for sql in ran)  # the ids facet's own

    monkeypatch.setattr(ColumnCounts, "one_pass", False)
    monkeypatch.setattr(IdsFacet, "one_pass", False)
    own, ran_own = await traced(ds, query)
    passes, columns = _pass_and_column_queries(ran_own)
    assert passes == [] and len(columns) >= 5
    assert one == own
    assert one["source"]["results"]  # every claim has a source: something was counted


# 'the' matches 173 of the 195 claims, 'north' 126, 'russia' 100, the quotes' 'the' 113
BROAD = [
    "_search=the",
    "_search=north&_facet_size=2",
    "_search=russia&_searchmode=raw",
    "_search_quote=the",
    "_search=kursk",
    "_search=the&_facet_array=about&_facet_date=date_start",
]


async def held(ds: Datasette) -> None:
    """Serve a search once, so that the claims' facets are read into memory; wait until they
    are held."""
    from factdb.site.held import _HELD

    await ds.client.get("/facts/claims.json?_search=nosuchword")
    for future in _HELD[ds].values():
        await asyncio.wrap_future(future)  # started by the server's start, in a thread
    assert all(future.result() is not None for future in _HELD[ds].values())


async def queries(ds: Datasette, query: str) -> tuple[dict, list[str]]:
    """The facet results of a claims.json request, and every query it ran."""
    data = (await ds.client.get(f"/facts/claims.json?_trace=1&{query}")).json()
    return data["facet_results"], [t["sql"] for t in data["_trace"]["traces"]]


MATCHED = "select rowid from claims_fts where "  # the search, alone


@pytest.mark.parametrize("query", BROAD)
async def test_a_search_of_the_whole_table_is_counted_from_its_facets_held(
    repo_db: Path, query: str, monkeypatch
):
    from factdb.site.facet_override import ColumnCounts
    from factdb.site.facets import IdsFacet

    settings = {**SETTINGS, "trace_debug": True}
    served = Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    await held(served)
    one, ran = await queries(served, query)
    assert [sql for sql in ran if sql.startswith(MATCHED)], ran  # the matched rowids alone
    assert _pass_and_column_queries(ran) == ([], [])
    assert not any("json_each(inner.about)" in sql for sql in ran)  # the ids facet's own
    assert one["source"]["results"] and one["topic"]["results"] and one["about"]["results"]

    monkeypatch.setattr(ColumnCounts, "one_pass", False)
    monkeypatch.setattr(IdsFacet, "one_pass", False)
    own_served = Datasette(
        immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=settings
    )
    own, ran_own = await queries(own_served, query)
    assert not [sql for sql in ran_own if sql.startswith(MATCHED)]
    assert one == own


@pytest.mark.parametrize(
    "query",
    [
        "_search=the&assertion=reported",  # a filter beside the search
        "_search=the&_facet=unit",  # a facet metadata.yml does not give
        "_search=the&_facet_size=2&_where=1",  # more than the search
    ],
)
async def test_a_search_that_is_more_than_that_or_with_other_facets_counts_in_sql(
    immutable: Datasette, query: str
):
    await held(immutable)
    _, ran = await queries(immutable, query)
    assert [sql for sql in ran if sql.startswith("with page as")]
    assert not [sql for sql in ran if sql.startswith(MATCHED)]


async def test_until_they_are_held_and_over_a_mutable_database_facets_count_in_sql(
    repo_db: Path, monkeypatch: pytest.MonkeyPatch
):
    """Where the server's start did not start reading them (`hold_search_facets`, tested in
    test_held.py), the first search does; until they are held, facets count in SQL."""
    from factdb.site import facet_override
    from factdb.site.held import _HELD

    async def not_read(datasette: Datasette) -> None:
        pass

    monkeypatch.setattr(facet_override, "hold_search_facets", not_read)
    settings = {**SETTINGS, "trace_debug": True}
    served = Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    _, ran = await queries(served, "_search=the")  # the first search starts reading them
    assert [sql for sql in ran if sql.startswith("with page as")]
    assert len(_HELD[served]) == 1
    for future in _HELD[served].values():
        await future

    mutable = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    for _ in range(2):
        _, ran = await queries(mutable, "_search=the")
        assert [sql for sql in ran if sql.startswith("with page as")]
    assert mutable not in _HELD


async def test_a_page_that_is_not_a_search_runs_each_facet_s_own_query(repo_db: Path):
    settings = {**SETTINGS, "trace_debug": True}
    ds = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    for query in ("", "assertion=reported"):
        _, ran = await traced(ds, query)
        passes, columns = _pass_and_column_queries(ran)
        assert passes == [] and len(columns) == 5, query


def limited(repo_db: Path, limit: int) -> Datasette:
    """The repository's database, served with a search facet limit of `limit` rows."""
    metadata = read_metadata(REPO)
    metadata["databases"]["facts"]["tables"]["claims"]["plugins"] = {
        "facts": {"search_facet_limit": limit}
    }
    settings = {**SETTINGS, "trace_debug": True}
    return Datasette([str(repo_db)], metadata=metadata, settings=settings)


async def test_a_search_that_matches_more_rows_than_the_limit_is_not_counted(repo_db: Path):
    ds = limited(repo_db, 3)
    data = (await ds.client.get("/facts/claims.json?_search=Kursk")).json()
    matched = data["filtered_table_rows_count"]
    assert matched > 3
    reason = {
        "rows": matched,
        "limit": 3,
        "count_url": "/facts/claims.json?_search=Kursk&_facet_count=1",
    }
    facets = data["facet_results"]
    assert sorted(facets) == ["about", "assertion", "claimant", "date_precision", "source", "topic"]
    for facet in facets.values():
        assert facet["results"] == [] and facet["not_counted"] == reason, facet
    _, ran = await traced(ds, "_search=Kursk")
    assert ran == []  # nothing counted

    html = (await ds.client.get("/facts/claims?_search=Kursk")).text
    note = " ".join(html[html.index('<p class="facets-not-counted">') :].split("</p>")[0].split())
    assert note == (
        '<p class="facets-not-counted">Not counted for this search: about, assertion, claimant, '
        f"date_precision, source, topic. It matches {matched:,} rows, and facets are counted for "
        "searches that match up to 3. Add a word or a filter to narrow it, or "
        '<a href="/facts/claims?_search=Kursk&amp;_facet_count=1">count them anyway</a> (slower).'
    )
    assert 'class="facet-info ' not in html


def counted(results: dict) -> dict[str, list[tuple]]:
    return {
        name: [(r["value"], r["count"]) for r in facet["results"]]
        for name, facet in results.items()
        if "not_counted" not in facet
    }


async def test_counted_anyway_when_asked_and_within_the_limit(repo_db: Path):
    unlimited = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)
    expected = counted(await facets(unlimited, "_search=Kursk"))
    assert len(expected) == 6
    assert counted(await facets(limited(repo_db, 3), "_search=Kursk&_facet_count=1")) == expected
    assert counted(await facets(limited(repo_db, 8), "_search=Kursk")) == expected  # 8 rows
    html = (await limited(repo_db, 8).client.get("/facts/claims?_search=Kursk")).text
    assert "facets-not-counted" not in html and html.count('class="facet-info ') == 6


async def test_the_limit_is_for_searches_only(repo_db: Path):
    results = await facets(limited(repo_db, 3), "assertion=reported")
    assert all(facet["results"] for facet in results.values())


async def test_when_the_one_query_fails_each_facet_runs_its_own():
    import sqlite3

    from datasette.database import QueryInterrupted

    from factdb.site.facets import PagePass

    class Datasette_:
        def __init__(self, error: Exception) -> None:
            self.error = error

        async def execute(self, *args, **kwargs):
            raise self.error

    class Kept:
        def __init__(self, error: Exception) -> None:
            self.datasette = Datasette_(error)

        def setting(self, name: str) -> int:
            return 500

    class Facet:  # what PagePass reads of a facet
        database, table, sql, params = "facts", "claims", "select * from claims", {}
        metadata: dict = {}

        def __init__(self, error: Exception) -> None:
            self.ds = Kept(error)

    page_pass = PagePass()
    page_pass.add("column", ["topic"], 31)
    assert await page_pass.counts(Facet(sqlite3.OperationalError("malformed JSON"))) is None
    interrupted = PagePass()
    interrupted.add("column", ["topic"], 31)
    with pytest.raises(QueryInterrupted):
        await interrupted.counts(Facet(QueryInterrupted(None, "select 1", {})))


# --- Facet parameters, read and checked (factdb.site.facet_params): the forms that work


async def test_a_column_named_in_json_counts_as_one_named_alone(immutable: Datasette):
    alone = await facets(immutable, "_facet=unit")
    named = await facets(immutable, '_facet={"column": "unit"}')
    assert counts(named["unit"]) == counts(alone["unit"]) and named["unit"]["results"]


async def test_an_ids_facet_may_name_the_link_table_metadata_gives_its_column(
    immutable: Datasette,
):
    link = '_facet_ids={"column":"about","table":"claim_entities","value":"entity_id"}'
    results = await facets(immutable, link)
    assert counts(results["about_2"]) == counts(results["about"])  # metadata's, and the request's


async def test_facet_size_and_count_all_are_not_facet_types(immutable: Datasette):
    results = await facets(immutable, "_facet_size=max&_facet_count=1&_facet_size=")
    assert "size" not in results and "count" not in results and results["topic"]["results"]


async def test_a_suggestion_beside_a_facet_named_in_json_does_not_fail(repo_db: Path):
    """Datasette's suggestions read each facet's config as {'simple': column}: a request's JSON
    form (`{"column": ...}`) raised a KeyError there; the request's configs are given as
    {'simple': ...}."""
    settings = {**SETTINGS, "suggest_facets": True}
    ds = Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=settings)
    response = await ds.client.get('/facts/entities.json?_facet={"column": "kind"}')
    assert response.status_code == 200, response.text
    assert response.json()["facet_results"]["kind"]["results"]


async def test_over_a_mutable_database_an_unknown_column_still_answers_400(ds: Datasette):
    """Columns are known at startup for immutable databases only; over a mutable one, the
    facet's query fails and the facet says so (the log names no SQL error)."""
    response = await ds.client.get("/facts/claims.json?_facet=nosuch")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "the column facet of topic, claimant, source, date_precision, assertion, nosuch "
        "cannot be counted: no such column: nosuch"
    )


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("_facet_ids=about&_facet_ids=about", None),
        ('_facet_date={"column": "date"}', None),
        ("_facet_column=topic", None),
        ("_facet_ids=x", "_facet_ids: this table has no column 'x'"),
        ("_facet_size=-1", "_facet_size is a number of values or max, not '-1'"),
        ("_facet_count=yes", "_facet_count=1 counts a search's facets; 'yes' is not 1"),
        ("_facet=%7B%22column%22%3A%22" + "a" * 100, "_facet is not a column's name or a JSON"),
        ('_facet={"column":"x","column":"y"}', "_facet: this table has no column 'y'"),
        ('_facet_ids={"column":"about","value":"entity_id"}', "link"),
        ('_facet=["topic"]', "_facet: this table has no column '[\"topic\"]'"),
        ("_facet=" + "[" * 5000, "_facet: this table has no column"),
        ("_facet=" + "{" * 5000, "_facet is not a column's name or a JSON object"),
    ],
)
def test_facet_parameters_are_read_as_documented(query: str, problem: str | None):
    from datasette.utils.asgi import Request

    from factdb.site.facet_params import read_request

    metadata = read_metadata(REPO)["databases"]["facts"]["tables"]["claims"]
    columns = frozenset(["topic", "date", "about"])
    read = read_request(Request.fake(f"/facts/claims?{query}"), metadata, columns)
    if problem is None:
        assert read.problem is None, read.problem
    elif problem == "link":
        assert read.problem is not None and "the link table of 'about'" in read.problem
    else:
        assert read.problem is not None and read.problem.startswith(problem), read.problem
