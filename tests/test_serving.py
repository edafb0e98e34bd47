"""The served database is read-only, immutable and bounded, by the project's own settings."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from datasette.app import Datasette

from factdb.loadtest import Server, require_loopback
from factdb.publishing import SETTINGS, read_metadata, serve_arguments, write_inspect_file

REPO = Path(__file__).resolve().parent.parent
ENDLESS = "with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r"
MANY = (
    "with recursive r(i) as (select 1 union all select i + 1 from r where i < 5000) select i from r"
)


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)


@pytest.mark.parametrize(
    "sql",
    [
        "delete from claims",
        "update claims set quote = 'x'",
        "insert into claims (id) values ('x')",
        "drop table claims",
        "select 1; delete from claims",
        "pragma writable_schema = on",
        "attach database '/tmp/x.db' as x",
    ],
)
async def test_queries_that_write_are_refused(ds, sql):
    response = await ds.client.get("/facts.json", params={"sql": sql})
    assert response.status_code == 400
    count = await ds.client.get("/facts.json", params={"sql": "select count(*) as n from claims"})
    assert count.json()["rows"][0][0] > 100


async def test_a_query_that_runs_too_long_is_stopped(ds):
    response = await ds.client.get("/facts.json", params={"sql": ENDLESS})
    assert response.status_code == 400
    assert "took too long" in response.text or "interrupted" in response.text


async def test_results_are_capped(ds):
    data = (await ds.client.get("/facts.json", params={"sql": MANY, "_shape": "objects"})).json()
    assert len(data["rows"]) == SETTINGS["max_returned_rows"] == 1000
    assert data["truncated"] is True


def test_the_real_server_is_immutable_and_uses_the_project_settings(repo_db: Path, tmp_path):
    database = tmp_path / "facts.db"
    shutil.copyfile(repo_db, database)
    before = database.read_bytes()
    with Server(database, REPO) as server:
        settings = httpx.get(server.url + "/-/settings.json").json()
        for name, value in SETTINGS.items():
            assert settings[name] == value, name
        [info] = httpx.get(server.url + "/-/databases.json").json()
        assert info["is_mutable"] is False
        response = httpx.get(server.url + "/facts.json", params={"sql": "delete from claims"})
        assert response.status_code == 400
        download = httpx.get(server.url + "/facts.db")
        assert download.status_code == 200 and download.content == before
    assert database.read_bytes() == before


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1:8001", "http://example.org", "http://192.168.1.5"]
)
def test_the_load_generator_only_targets_this_machine(url):
    with pytest.raises(ValueError):
        require_loopback(url)
    require_loopback("http://127.0.0.1:8001")
    require_loopback("http://localhost:8001")


def test_the_real_server_counts_rows_from_the_inspect_file(repo_db: Path, tmp_path):
    """`datasette inspect` counts, written once, are what the served pages report."""
    database = tmp_path / "facts.db"
    shutil.copyfile(repo_db, database)
    counts = write_inspect_file(database)
    data = json.loads(counts.read_text())
    claims = sqlite3.connect(database).execute("select count(*) from claims").fetchone()[0]
    assert data["facts"]["tables"]["claims"]["count"] == claims
    data["facts"]["tables"]["claims"]["count"] = 123456  # to see that the server reads it
    counts.write_text(json.dumps(data))
    assert "--inspect-file" in serve_arguments(database, REPO)
    with Server(database, REPO, inspect=False) as server:
        page = httpx.get(server.url + "/facts/claims.json").json()
        assert page["filtered_table_rows_count"] == 123456


def test_every_measured_page_answers_and_the_report_compares_them(repo_db: Path, tmp_path):
    """The bench's pages, over a real server: none fails, each has its first request timed,
    and our slowest page is named against Datasette's plain claims table page."""
    import asyncio

    from factdb.loadtest import ASKED, BASELINE, OUTSIDE_GOAL, measure, pages_for, report, slowest

    database = tmp_path / "facts.db"
    shutil.copyfile(repo_db, database)
    pages = pages_for(database)
    assert pages[BASELINE] == "/facts/claims?_nofacet=1"
    with Server(database, REPO) as server:
        stats, elapsed = asyncio.run(measure(server.url, pages, clients=2, requests_per_page=3))
    assert {name: s.errors for name, s in stats.items()} == dict.fromkeys(pages, 0)
    assert all(s.first is not None and len(s.latencies) == 3 for s in stats.values())
    text = report(stats, elapsed, BASELINE)
    assert "p99/baseline  p99/narrowest" in text.splitlines()[0]
    name, ratio = slowest(stats)
    assert (
        ASKED in stats
        and name not in OUTSIDE_GOAL
        and ratio
        == max(s.p99 / stats[BASELINE].p99 for n, s in stats.items() if n not in OUTSIDE_GOAL)
    )


def test_search_terms_are_all_different_commonest_words_first_then_pairs():
    from factdb.loadtest import search_terms

    statements = ["Troops arrived in Kursk.", "Troops left Kursk.", "Troops were seen; 3,000."]
    assert search_terms(statements, 4) == ["troops", "kursk", "arrived", "left"]
    terms = search_terms(statements, 100)
    assert len(terms) == len(set(terms)) == 6 + 15  # six words of four letters or more, 15 pairs
    assert terms[6] == "troops kursk"


async def test_immutable_databases_are_read_through_a_memory_map(repo_db: Path):
    from factdb.site.pages import MMAP_SIZE

    async def mmap_size(ds: Datasette) -> int:
        return (await ds.get_database("facts").execute("pragma mmap_size")).single_value()

    immutable = Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO))
    assert await mmap_size(immutable) == MMAP_SIZE
    mutable = Datasette([str(repo_db)], metadata=read_metadata(REPO))
    assert await mmap_size(mutable) == 0
