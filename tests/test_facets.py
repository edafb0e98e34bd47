"""The ids facet gives Datasette's array facet's counts and filters, without its DISTINCT."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from datasette.app import Datasette

from scripts.publishing import SETTINGS, read_metadata

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
    assert names == sorted([("topic", "column"), ("source", "column"), ("claimant", "column"),
                            ("assertion", "column"), ("date_precision", "column"),
                            ("about", "ids"), ("unit", "column"), ("about", "array")])  # fmt: skip


async def test_the_least_recent_query_goes_first(immutable: Datasette, monkeypatch):
    import scripts.facets as facets_module

    monkeypatch.setattr(facets_module, "CACHE_SIZE", 6)  # one page's facets
    _, ran = await traced(immutable, "assertion=stated")
    assert len(ran) == 6
    _, ran = await traced(immutable, "assertion=reported")  # pushes the first page's out
    assert len(ran) == 6
    _, ran = await traced(immutable, "assertion=stated")
    assert len(ran) == 6


async def test_a_query_stopped_by_its_time_limit_is_not_kept():
    from datasette.database import QueryInterrupted

    from scripts.facets import KeptQueries

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
    from scripts.facets import KeptQueries

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
