"""Datasette on the real built database, through its in-process client."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasette.app import Datasette

from factdb.publishing import SETTINGS, documented_metadata, read_metadata, serve_arguments

REPO = Path(__file__).resolve().parent.parent
CANNED = [
    "timeline",
    "conflicts_side_by_side",
    "corroborated",
    "who_said_what",
    "claims_about_entity",
    "curator_checks",
]


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette(
        [str(repo_db)],
        immutables=[],
        metadata=read_metadata(REPO),
        settings=SETTINGS,
    )


def test_metadata_column_docs_are_current():
    assert (REPO / "metadata.yml").read_text(encoding="utf-8") == documented_metadata(REPO)


def test_metadata_documents_every_column(repo_db: Path):
    import sqlite_utils

    tables = read_metadata(REPO)["databases"]["facts"]["tables"]
    db = sqlite_utils.Database(repo_db)
    names = [t for t in db.table_names() if "_fts" not in t and t != "sqlite_stat1"]
    assert sorted(names) == sorted(
        [
            "sources",
            "entities",
            "topics",
            "claims",
            "aliases",
            "claim_entities",
            "claim_via",
            "source_reports_from",
            "sentences",
            "answers",
            "comparisons",
            "events",
            "claim_dates",
        ]
    )
    for name in names + db.view_names():
        assert tables[name]["description"], name
        columns = tables[name]["columns"]
        assert set(columns) == set(db[name].columns_dict), name
        assert all(columns.values()), name


async def test_home_lists_title_and_tables(ds):
    response = await ds.client.get("/")
    assert response.status_code == 200
    assert "Russia, North Korea and the treaty" in response.text
    response = await ds.client.get("/facts")
    for table in ("claims", "sources", "entities", "topics", "conflicts", "corroborations"):
        assert f'href="/facts/{table}"' in response.text


async def test_claims_table_shows_labels_facets_and_search_box(ds):
    response = await ds.client.get("/facts/claims")
    assert response.status_code == 200
    html = response.text
    assert 'name="_search"' in html
    data = (await ds.client.get("/facts/claims.json?_labels=on&_size=max")).json()
    facets = data["facet_results"]
    assert {"topic", "claimant", "source", "date_precision", "about"} <= set(facets)
    blinken = [
        r for r in data["rows"] if r["claimant"] and r["claimant"].get("value") == "antony-blinken"
    ]
    assert blinken and blinken[0]["claimant"]["label"] == "Antony Blinken"


async def test_search_finds_kursk(ds):
    data = (await ds.client.get("/facts/claims.json?_search=Kursk&_shape=objects")).json()
    ids = {row["id"] for row in data["rows"]}
    assert "s003-blinken-8000-in-kursk" in ids
    assert all("kursk" in (r["quote"] + r["statement"]).lower() for r in data["rows"])


async def test_claim_row_page(ds):
    response = await ds.client.get("/facts/claims/s003-zelenskyy-11000-in-kursk")
    assert response.status_code == 200
    assert "around 11,000 North Korean soldiers are stationed in the Kursk region" in response.text


async def test_array_facet_filters_by_entity(ds):
    data = (
        await ds.client.get("/facts/claims.json?about__arraycontains=kursk-region&_shape=objects")
    ).json()
    assert data["rows"] and all("kursk-region" in r["about"] for r in data["rows"])


@pytest.mark.parametrize("name", CANNED)
async def test_canned_query_runs_with_title(ds, name):
    params = {
        "who_said_what": "topic=nk-troops-in-russia",
        "claims_about_entity": "entity=antony-blinken",
    }
    query = params.get(name, "")
    response = await ds.client.get(f"/facts/{name}.json?_shape=objects&{query}")
    assert response.status_code == 200, response.text
    assert response.json()["rows"], name
    html = (await ds.client.get(f"/facts/{name}?{query}")).text
    assert read_metadata(REPO)["databases"]["facts"]["queries"][name]["title"] in html


async def test_who_said_what_shows_the_disagreement(ds):
    rows = (
        await ds.client.get("/facts/who_said_what.json?topic=nk-troops-in-russia&_shape=objects")
    ).json()["rows"]
    answers = {r["answer"] for r in rows}
    assert {"3000", "10000"} <= answers
    assert "Antony Blinken" in {r["claimant"] for r in rows}


async def test_csv_export(ds):
    response = await ds.client.get("/facts/conflicts_side_by_side.csv")
    assert response.status_code == 200
    lines = response.text.splitlines()
    assert lines[0].startswith("question,answer_a,unit_a,claims_a")
    assert lines[0].endswith(",reason,topic")
    assert any(
        ",no," in line and ",yes," in line and "cannot both be true" in line for line in lines
    )


async def test_writes_are_refused(ds):
    response = await ds.client.get("/facts.json?sql=delete+from+claims")
    assert response.status_code == 400
    assert "Statement must be a SELECT" in response.text


def test_serve_arguments_use_the_project_settings(repo_db: Path):
    arguments = serve_arguments(repo_db, REPO, port=9999)
    assert arguments[1:4] == ["-m", "datasette", "serve"]
    assert ["--immutable", str(repo_db)] == arguments[4:6]
    assert "--metadata" in arguments and "9999" in arguments
    pairs = {
        arguments[i + 1]: arguments[i + 2] for i, a in enumerate(arguments) if a == "--setting"
    }
    assert pairs["sql_time_limit_ms"] == "1000"
    assert pairs["default_allow_sql"] == "true"
