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
