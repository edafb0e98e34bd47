"""Cells as a reader reads them (factdb.site.cells, the render_cell hook), the canned queries
opened without parameters, and lists by date, through Datasette's in-process client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from datasette.app import Datasette

from factdb.publishing import SETTINGS, read_metadata
from factdb.site.cells import range_words, read_schema, render

REPO = Path(__file__).resolve().parent.parent
QUERIES = list(read_metadata(REPO)["databases"]["facts"]["queries"])
ROW_LINK = re.compile(r'href="(/facts/(?:claims|sources|entities|topics|events)/[^"#?]+)"')


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)


def cells(html: str) -> list[list[str]]:
    """The results table's rows, each a list of its cells' inner HTML."""
    table = html[html.index('<table class="rows-and-columns">') :]
    table = table[: table.index("</table>")]
    body = table[table.index("<tbody>") :]
    return [
        [cell.strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


async def test_which_columns_hold_ids_comes_from_the_schema(ds):
    schema = await read_schema(ds, "facts")
    assert sorted(schema.tables) == ["claims", "entities", "events", "sources", "topics"]
    assert schema.ids == {
        "claim": "claims",
        "entity": "entities",
        "event": "events",
        "source": "sources",
        "topic": "topics",
        "claimant": "entities",
        "claim_id": "claims",
        "entity_id": "entities",
        "source_id": "sources",
    }
    assert schema.view_ids == {
        "claims_view": "claims",
        "places": "entities",
        "contested_topics": "topics",
    }
    assert sorted(schema.arrays) == [
        "about",
        "aliases",
        "claim_ids",
        "claimants",
        "claimants_a",
        "claimants_b",
        "claims",  # the sentences table's; elsewhere a count, which is no array
        "date_proof",
        "origins",
        "proof",
        "published_proof",
        "sources",
        "sources_a",
        "sources_b",
        "via",
        "when",
    ]
    assert await read_schema(ds, "facts") is schema  # read once


def test_ranges_read_as_people_write_them():
    assert [range_words("answer", v) for v in ("2000..", "200..999", "..50", "3000")] == [
        "at least 2,000",
        "200 to 999",
        "at most 50",
        None,
    ]
    assert range_words("answer", "../2024-10-23") is None  # an open date, not a range
    assert range_words("statement", "2000..") is None  # only answers


async def test_cells_escape_what_they_show(ds):
    await ds.invoke_startup()
    hostile = '["<script>alert(1)</script>", "russia"]'
    html = await render(hostile, "claimants", None, "facts", ds)
    assert str(html) == (
        '<ul class="facts-cell-list"><li>&lt;script&gt;alert(1)&lt;/script&gt;</li>'
        '<li><a href="/facts/entities/russia">Russia</a></li></ul>'
    )
    assert await render("<b>x</b>", "claim", None, "facts", ds) is None  # no such claim
    assert await render("not json [", "about", None, "facts", ds) is None
    assert (
        await render({"value": "russia", "label": "Russia"}, "claimant", "claims", "facts", ds)
        is None
    )


@pytest.mark.parametrize("name", QUERIES)
async def test_every_canned_query_opens_with_rows_and_links_that_work(ds, name):
    response = await ds.client.get(f"/facts/{name}")
    assert response.status_code == 200
    assert "0 results" not in response.text
    rows = cells(response.text)
    assert rows, name
    links = sorted(
        set(ROW_LINK.findall(response.text.split('<table class="rows-and-columns">')[1]))
    )
    assert links, name
    for link in links:
        assert (await ds.client.get(link)).status_code == 200, link


async def test_who_said_what_opens_on_the_topic_with_most_claims_by_date(ds):
    data = (await ds.client.get("/facts/who_said_what.json?_shape=array")).json()
    assert [(r["claim"], r["date"], r["answer"]) for r in data] == [
        ("s003-sk-mod-10000-deployed", "2022-02/..", "10000"),
        ("s000-us-3000-nk-troops-sent", "2024-10-23", "3000"),
        ("s001-us-confirmed-3000-nk-soldiers", "2024-10-23", "3000"),
        ("s001-us-says-3000-nk-soldiers", "2024-10-23", "3000"),
        ("s003-blinken-10000-in-russia", "2024-10-23/..", "10000"),
        ("s004-nis-3000-soldiers", "2024-10-23", "3000"),
        # open at its start: at its last day, not before every dated claim
        ("s000-nk-sends-thousands-to-fight-ukraine", "2024-10-24/..", "2000.."),
        ("s004-south-korea-reports-thousands", "../2024-10-24", "2000.."),
        ("s004-ukraine-reports-thousands", "../2024-10-24", "2000.."),
    ]
    assert {r["topic"] for r in data} == {"nk-troops-in-russia"}
    named = (await ds.client.get("/facts/who_said_what.json?_shape=array&topic=kim-troops")).json()
    assert all(r["topic"] == "kim-troops" for r in named)


async def test_who_said_what_cells_link_and_read_as_words(ds):
    rows = cells((await ds.client.get("/facts/who_said_what")).text)
    assert rows[-1] == [
        '<a href="/facts/topics/nk-troops-in-russia">nk-troops-in-russia</a>',
        "at least 2,000",  # stored as 2000..
        "soldiers",
        "Ukraine",  # the claimant's name, as text: a name is not an id
        "1",
        "stated",
        "../2024-10-24",
        '<a href="/facts/sources/s004-russia-seals-partnership">'
        "Russia seals partnership with North Korea amid troop dispatch</a>",
        "reports from South Korea and Ukraine that thousands of North Korean soldiers were being "
        "sent to Russia ahead of deployment to Ukraine",
        '<a href="/facts/claims/s004-ukraine-reports-thousands">s004-ukraine-reports-thousands</a>',
    ]
    assert rows[1][1] == "3000"  # a single number is left as it is stored


async def test_claims_about_entity_opens_on_the_entity_with_most_claims(ds):
    data = (await ds.client.get("/facts/claims_about_entity.json?_shape=array")).json()
    assert len(data) == 100 and {r["entity"] for r in data} == {"russia"}
    borrell = (
        await ds.client.get("/facts/claims_about_entity.json?_shape=array&entity=josep-borrell")
    ).json()
    assert [(r["claim"], r["role"]) for r in borrell] == [
        ("s004-borrell-deeply-alarmed", "asserts"),
        ("s004-borrell-no-interest-in-peace", "asserts"),
        ("s004-borrell-russia-escalating", "asserts"),
        ("s004-borrell-russia-spreading-instability", "asserts"),
        ("s004-borrell-unilateral-hostile-act", "asserts"),
    ]


async def test_json_arrays_show_as_lists_of_links_and_names(ds):
    rows = cells((await ds.client.get("/facts/corroborated")).text)
    first = rows[0]  # the answer with the most independent origins: 5 articles, 6 origins
    assert first[:5] == [
        "Does the treaty oblige Russia and North Korea to assist each other militarily if "
        "attacked?",
        "yes",
        "&nbsp;",
        "5",
        "6",
    ]
    assert first[6].startswith('<ul class="facts-cell-list"><li><a href="/facts/sources/')
    assert first[6].count("<li>") == 5
    origins = re.findall(r'<li><a href="([^"]+)">', first[7])
    assert origins == [
        "/facts/sources/s000-duma-ratifies-treaty",
        "/facts/entities/bta",
        "/facts/sources/s002-icaro-federation-council-approves",
        "/facts/entities/russian-state-media",
        "/facts/sources/s003-putin-signs-treaty-law",
        "/facts/sources/s004-russia-seals-partnership",
    ]
    claims = cells(
        (await ds.client.get("/facts/claims_view?id=s000-analysts-nk-more-aggressive")).text
    )
    assert claims[0][0] == (
        '<a href="/facts/claims/s000-analysts-nk-more-aggressive">'
        "s000-analysts-nk-more-aggressive</a>"
    )
    about = [c for c in claims[0] if c.startswith('<ul class="facts-cell-list">')]
    assert [re.findall(r'href="([^"]+)"', c) for c in about] == [
        ["/facts/entities/new-york-times"],  # via
        ["/facts/entities/north-korea", "/facts/entities/south-korea", "/facts/entities/japan"],
    ]


async def test_lists_by_date_put_open_starts_at_their_last_day(ds):
    page = (await ds.client.get("/facts/topics/nk-troops-in-russia")).text
    order = [m for m in re.findall(r"/facts/claims/([a-z0-9-]+)", page) if m.startswith("s0")]
    seen = list(dict.fromkeys(order))
    assert seen.index("s004-ukraine-reports-thousands") > seen.index("s004-nis-3000-soldiers")
    assert seen.index("s004-south-korea-reports-thousands") > seen.index(
        "s000-nk-sends-thousands-to-fight-ukraine"
    )


async def test_the_home_page_says_how_origins_can_outnumber_articles(ds):
    html = (await ds.client.get("/")).text
    note = re.search(r'<p class="facts-note" id="origins-note">(.*?)</p>', html, re.S)
    assert note is not None
    assert note.group(1) == (
        "An answer's independent origins are where its claims first came from: for each "
        "claim, the first outlet it was reported through, or the article itself when it says so "
        "in its own voice. Articles relaying the same agency report count as one origin; an "
        "article that relays two outlets, or relays one and says the same itself, counts as two, "
        "so origins can outnumber articles."
    )
    assert "5 articles, 6 independent origins" in html


@pytest.mark.parametrize("entity", ["", "russia"])
def test_claims_about_an_entity_looks_its_claims_up_by_index(repo_db: Path, entity: str):
    """A join on "claimant = x or id in (select ...)" ran that select again for every claim it
    looked at (a correlated subquery): 30 s at 100,000 claims, past Datasette's time limit,
    against 16 ms now. The claims are found through the claimant and claim_entities indexes,
    each once."""
    import sqlite3

    sql = read_metadata(REPO)["databases"]["facts"]["queries"]["claims_about_entity"]["sql"]
    db = sqlite3.connect(repo_db)
    plan = [row[3] for row in db.execute(f"explain query plan {sql}", {"entity": entity})]
    assert any("idx_claims_claimant (claimant=?)" in step for step in plan), plan
    assert any("idx_claim_entities_entity_id (entity_id=?)" in step for step in plan), plan
    assert not any("CORRELATED" in step for step in plan), plan
    assert len(db.execute(sql, {"entity": entity}).fetchall()) > 0


@pytest.mark.parametrize("immutable", [True, False])
async def test_an_immutable_databases_lookups_are_made_once(repo_db: Path, immutable: bool):
    """Every cell is rendered on its own; an immutable database's answers cannot change, so each
    id (or list of ids) is looked up once; a mutable database's rows may change: every time."""
    files = {"immutables": [str(repo_db)]} if immutable else {"files": [str(repo_db)]}
    ds = Datasette(**files, metadata=read_metadata(REPO), settings=SETTINGS)
    db = ds.get_database("facts")
    asked = []
    execute = db.execute

    async def counted(sql, *args, **kwargs):
        asked.append(sql)
        return await execute(sql, *args, **kwargs)

    db.execute = counted
    await read_schema(ds, "facts")
    asked.clear()
    cells = [("russia", "claimant", "claims"), ('["russia", "north-korea"]', "about", "claims")]
    first = [await render(v, column, table, "facts", ds) for v, column, table in cells]
    again = [await render(v, column, table, "facts", ds) for v, column, table in cells]
    assert first == again and all('href="/facts/entities/russia"' in str(cell) for cell in first)
    assert len(asked) == (2 if immutable else 4)
