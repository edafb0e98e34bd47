"""Untrusted text stays text on every page, and the server stays read-only and bounded."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from datasette.app import Datasette

from factdb import validate
from factdb.building import build_database
from factdb.publishing import SETTINGS, read_metadata

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "<script>window.__xss = 1</script>"
IMAGE = '<img src=x onerror="window.__xss = 2">'
LINK = "javascript:window.__xss=3"
MARKDOWN = "[click me](javascript:window.__xss=4)"
PAYLOADS = [SCRIPT, IMAGE, LINK, MARKDOWN]
SEED = f"Officials said {SCRIPT} and {IMAGE} on Tuesday.\nA link: {MARKDOWN}\n"


def _hostile_tree(tree: Path) -> Path:
    """The fixture tree, with hostile text in every kind of field a page shows."""
    seed = tree / "seeds" / "hostile.txt"
    seed.write_text(SEED)
    digest = hashlib.sha256(seed.read_bytes()).hexdigest()

    def q(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    (tree / "facts" / "hostile.yaml").write_text(f"""\
sources:
  - id: hostile
    seed: seeds/hostile.txt
    sha256: {digest}
    title: {q(SCRIPT)}
    publisher: {q(IMAGE)}
    published: 2024-10-24
    published_basis: {q(LINK)}
    published_stated: true
    language: en
    notes: {q(MARKDOWN)}
entities:
  - id: hostile-entity
    name: {q(SCRIPT)}
    kind: place
    aliases: [{q(IMAGE)}]
    description: {q(MARKDOWN)}
    latitude: 1.0
    longitude: 2.0
topics:
  - id: hostile-topic
    question: {q(SCRIPT)}
    kind: text
claims:
  - id: hostile-claim
    source: hostile
    statement: {q(SCRIPT + " " + IMAGE)}
    quote: {q(SCRIPT)}
    date: 2024-10-22
    date_basis: {q(LINK)}
    claimant: hostile-entity
    about: [hostile-entity]
    topic: hostile-topic
    answer: {q(IMAGE)}
    assertion: stated
    notes: {q(MARKDOWN)}
  - id: hostile-claim-two
    source: hostile
    statement: Another answer.
    quote: {q(MARKDOWN)}
    date: 2024-10-22
    date_basis: b
    claimant: null
    topic: hostile-topic
    answer: {q(LINK)}
    assertion: stated
""")
    return tree


@pytest.fixture
def hostile_ds(tree: Path, tmp_path: Path) -> Datasette:
    result = validate(_hostile_tree(tree), cache=False)
    assert result.problems == []
    database = build_database(result, tmp_path / "facts.db")
    return Datasette(
        [str(database)],
        metadata=read_metadata(REPO),
        settings=SETTINGS,
    )


PAGES = [
    "/",
    "/facts",
    "/facts/claims",
    "/facts/claims?_search=window",
    "/facts/claims/hostile-claim",
    "/facts/claims/hostile-claim-two",
    "/facts/sources",
    "/facts/sources/hostile",
    "/facts/entities",
    "/facts/entities/hostile-entity",
    "/facts/topics",
    "/facts/topics/hostile-topic",
    "/facts/answers",
    "/facts/sentences",
    "/facts/places",
    "/facts/claims_view",
    "/facts/conflicts",
    "/facts/conflicts_side_by_side",
    "/facts/corroborated",
    "/facts/timeline",
    "/facts/who_said_what?topic=hostile-topic",
    "/facts/claims_about_entity?entity=hostile-entity",
    "/facts/curator_checks",
    "/-/search?q=window",
    "/-/dashboards/quantities?topic=soldiers-arrived",
    "/-/dashboards/timeline",
]


def _live(html: str) -> list[str]:
    """The payloads that appear as markup or as a link target, rather than as text."""
    found = []
    if "<script>window.__xss" in html:
        found.append("script element")
    if re.search(r"<img[^>]*onerror", html):
        found.append("img with onerror")
    if re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", html, re.I):
        found.append("javascript: link")
    return found


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_shows_hostile_text_as_text(hostile_ds, path):
    response = await hostile_ds.client.get(path)
    assert response.status_code == 200, path
    assert _live(response.text) == []


async def test_the_payloads_are_there_escaped(hostile_ds):
    html = (await hostile_ds.client.get("/facts/claims/hostile-claim")).text
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    source = (await hostile_ds.client.get("/facts/sources/hostile")).text
    assert "[click me](javascript:window.__xss=4)" in source


def test_dashboards_use_only_renderers_that_escape():
    """datasette-dashboards' table and metric charts insert values with innerHTML."""
    dashboards = read_metadata(REPO)["plugins"]["datasette-dashboards"]
    libraries = {c["library"] for d in dashboards.values() for c in d["charts"].values()}
    assert libraries <= {"vega-lite", "vega"}


def test_datasette_render_html_is_not_installed():
    import importlib.util

    assert importlib.util.find_spec("datasette_render_html") is None


async def test_no_facet_parameter_reads_a_table_that_is_not_the_page_s(repo_db: Path):
    """An ids facet's `table` named any table (sqlite_master's SQL was listed): on every table
    and view of the project, a facet that names sqlite_master, as a column or as its link
    table, answers 400 and shows no schema."""
    metadata = read_metadata(REPO)
    ds = Datasette(immutables=[str(repo_db)], metadata=metadata, settings=SETTINGS)
    tables = metadata["databases"]["facts"]["tables"]
    link = '{"column": "id", "table": "sqlite_master", "value": "sql"}'
    for table in tables:
        for query in (f"_facet_ids={link}", "_facet_ids=sqlite_master", "_facet=sql"):
            response = await ds.client.get(
                f"/facts/{table}.json", params=dict([query.split("=", 1)])
            )
            assert response.status_code == 400, (table, query, response.text[:300])
            assert "CREATE" not in response.text, (table, query)
