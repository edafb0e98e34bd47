"""Event pages, the proof of derived dates on claim, source and event pages, the events table and
its timeline, and a changing quantity over time, through Datasette's in-process client on the
database of tests/fixtures/dates with tests/fixtures/timeline laid over it (conftest.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from datasette.app import Datasette

from factdb import validate
from factdb.building import build_database
from factdb.publishing import SETTINGS, read_metadata
from factdb.site.dated import date_in_words, over_time_chart, topic_over_time, value_in_words

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture
def ds(timeline_db: Path) -> Datasette:
    return Datasette([str(timeline_db)], metadata=read_metadata(REPO), settings=SETTINGS)


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(html: str, start: str, end: str = "</section>") -> str:
    """The part of a page from a marker to the next end marker."""
    assert start in html, start
    return html.split(start, 1)[1].split(end, 1)[0]


def test_dates_in_words():
    assert [
        date_in_words(*args)
        for args in [
            ("2024-10-23", "2024-10-23", "2024-10-23"),
            ("2024-10-01", "2024-10-31", "2024-10"),
            ("2024-02-01", "2024-02-29", "2024-02"),
            ("2024-01-01", "2024-12-31", "2024"),
            ("2025-02-17", "2025-02-23", None),
            ("2024-10-28", "2024-11-03", None),
            ("2024-12-28", "2025-01-03", None),
            (None, "2025-02-24", "../2025-02-24"),
            ("2024-10-23", None, "2024-10-23/.."),
            ("2024-11-06", "2024-11-06", "2024-11-06?"),
            ("2024-10-01", "2024-10-31", "2024-10~"),
            (None, None, None),
        ]
    ] == [
        "23 October 2024",
        "October 2024",
        "February 2024",
        "2024",
        "between 17 and 23 February 2025",
        "between 28 October and 3 November 2024",
        "between 28 December 2024 and 3 January 2025",
        "on or before 24 February 2025",
        "on or after 23 October 2024",
        "perhaps 6 November 2024",
        "about October 2024",
        "no date",
    ]


def test_values_in_words():
    claim = {"value": 3000.0, "value_low": 3000.0, "value_high": 3000.0, "approximate": 1}
    assert value_in_words(claim) == "about 3,000"
    assert value_in_words({"value": None, "value_low": 200.0, "value_high": 999.0}) == "200 to 999"
    assert value_in_words({"value_low": 2000.0, "value_high": None}) == "at least 2,000"
    assert value_in_words({"value_low": None, "value_high": None, "answer": "yes"}) == "yes"


async def test_event_page_shows_the_date_its_proof_and_the_claims_by_article(ds):
    response = await ds.client.get("/facts/events/council-vote")
    assert response.status_code == 200
    html = response.text
    assert "<title>The council approves the plan</title>" in html
    assert "23 October 2024" in section(html, 'id="event-date">', "</td>")
    assert "2024-10-23" in section(html, 'id="event-date">', "</td>")
    assert "Reported by 2 claims in 2 articles" in text_of(html)
    # the proof: article A's printed publication date and its "on Wednesday"
    proof = section(html, 'id="event-proof">', "</div>")
    assert 'href="/facts/sources/a"' in proof
    assert "the publication date 2024-10-24 that a prints" in text_of(proof)
    assert '<a class="facts-quote" href="/facts/claims/a-council-approved">' in proof
    assert "‘wednesday’ in a — “The council approved the plan on Wednesday”" in text_of(proof)
    # every claim that reports it, under its article
    article_a = section(html, 'id="article-a">')
    article_b = section(html, 'id="article-b">')
    assert 'href="/facts/sources/a"' in article_a and 'href="/facts/sources/b"' in article_b
    assert 'href="/facts/claims/a-council-approved"' in article_a
    assert 'href="/facts/claims/b-council-approved"' in article_b
    assert "b-council-approved" not in article_a and "a-council-approved" not in article_b
    assert "b-vote-expected" not in html  # it reports no event
    assert "‘yesterday’" in text_of(article_b) and "The Mayor" in text_of(article_a)
    assert '<a href="/facts/entities/council">The Council</a>' in html


async def test_event_pages_of_a_week_and_of_an_open_date(ds):
    week = text_of((await ds.client.get("/facts/events/troops-cross")).text)
    assert "between 17 and 23 February 2025 2025-02-17/2025-02-23" in week
    assert "the publication date 2025-02-24 that Troops in the region prints" in week
    assert "‘last week’ in Troops in the region" in week
    open_start = text_of((await ds.client.get("/facts/events/plan-proposed")).text)
    assert "on or before 24 February 2025 ../2025-02-24" in open_start
    assert "dated ../2025-02-24 in Troops in the region" in open_start  # a claim with no `when`


async def test_event_page_json(ds):
    response = await ds.client.get("/facts/events/council-vote.json?_shape=objects")
    assert response.status_code == 200
    (row,) = response.json()["rows"]
    assert row["date"] == "2024-10-23" and row["date_start"] == row["date_end"] == "2024-10-23"
    assert row["date_proof"] == '["a", "a-council-approved"]'
    assert row["claims"] == 2 and row["name"] == "The council approves the plan"
    missing = await ds.client.get("/facts/events/no-such-event")
    assert missing.status_code == 404


async def test_claim_page_shows_its_words_its_event_and_the_proof_of_its_date(ds):
    html = (await ds.client.get("/facts/claims/b-council-approved")).text
    page = text_of(html)
    assert "As the quote dates it ‘yesterday’" in page
    assert '<a href="/facts/events/council-vote">The council approves the plan</a>' in html
    proof = section(html, 'id="date-proof">', "</td>")
    assert text_of(proof).startswith("Dated 23 October 2024 2024-10-23 from:")
    assert 'href="/facts/sources/a"' in proof  # A prints its day
    assert 'href="/facts/claims/a-council-approved"' in proof  # A's "on Wednesday"
    assert "‘yesterday’ in b — “The council approved the plan yesterday.” (this claim)" in (
        text_of(proof)
    )
    undated = text_of((await ds.client.get("/facts/claims/b-vote-expected")).text)
    assert "Proof" not in undated and "As the quote dates it" not in undated


async def test_source_page_shows_the_proved_publication_date_beside_the_written_one(ds):
    html = (await ds.client.get("/facts/sources/b")).text
    assert "Published 2024-10-24 — B says the vote" in text_of(html)
    proved = section(html, 'id="published-proof">', "</td>")
    assert text_of(proved).startswith("24 October 2024 2024-10-24 (as written), from:")
    for link in ("/facts/sources/a", "/facts/claims/a-council-approved"):
        assert f'href="{link}"' in proved
    assert "‘yesterday’ in b" in text_of(proved)
    printed = section((await ds.client.get("/facts/sources/a")).text, 'id="published-proof">')
    assert "the publication date 2024-10-24 that a prints" in text_of(printed)


async def test_a_changing_quantity_is_drawn_over_time_on_its_topic_page(ds):
    html = (await ds.client.get("/facts/topics/troops-in-region")).text
    over_time = section(html, 'id="over-time">')
    items = re.findall(r"<li>(.*?)</li>", over_time, re.S)
    assert [text_of(i).split(" — ")[0] for i in items] == [
        "October 2024 : about 3,000 soldiers",
        "23 February 2025 : 10,000 soldiers",
    ]
    assert over_time.count("<circle") == 2
    assert 'href="/facts/claims/c-3000-in-october"' in over_time
    assert "Oct 2024" in over_time and "Feb 2025" in over_time  # the years on the axis


async def test_no_over_time_section_where_the_answer_does_not_change():
    assert await topic_over_time(None, {"id": "t", "kind": "quantity"}) is None


def test_over_time_chart_stays_in_its_box():
    claims = [
        {
            "date_start": "2024-10-01",
            "date_end": "2024-10-31",
            "value_low": 3000.0,
            "value_high": 3000.0,
        },
        {
            "date_start": "2025-02-23",
            "date_end": "2025-02-23",
            "value_low": 8000.0,
            "value_high": 11000.0,
        },
        {"date_start": None, "date_end": None, "value_low": 5.0, "value_high": 5.0},  # undated
    ]
    chart = over_time_chart(claims)
    assert chart is not None and len(chart["marks"]) == 2
    left, right = chart["left"], chart["width"] - chart["right"]
    top, bottom = chart["top"], chart["height"] - chart["bottom"]
    for mark in chart["marks"]:
        assert left <= mark["x1"] <= mark["x2"] <= right
        assert top <= mark["y2"] <= mark["y1"] <= bottom
    assert chart["ticks_x"][0]["label"] == "Oct 2024" and chart["ticks_y"][-1]["label"] == "15,000"
    assert over_time_chart(claims[2:]) is None


async def test_events_table_pages_in_date_order_without_losing_the_open_event(ds):
    page = await ds.client.get("/facts/events")
    assert page.status_code == 200 and "sorted by sort_key" in page.text
    assert 'id="facet-kind" data-column="kind"' in page.text  # the facet metadata.yml asks for
    ids, url = [], "/facts/events.json?_size=1&_shape=objects"
    while url:
        data = (await ds.client.get(url)).json()
        ids += [row["id"] for row in data["rows"]]
        url = data["next_url"] and data["next_url"].replace("http://localhost", "")
    assert ids == ["plan-drafted", "council-vote", "troops-cross", "plan-proposed"]
    # the key is never null and never repeats (Datasette's first page is ordered by it alone);
    # an event open at its start stands at its last possible day
    rows = (await ds.client.get("/facts/events.json?_shape=objects")).json()["rows"]
    assert [row["sort_key"] for row in rows] == [
        "2023-10-23 plan-drafted",
        "2024-10-23 council-vote",
        "2025-02-17 troops-cross",
        "2025-02-24 plan-proposed",
    ]


async def chart_rows(ds: Datasette, chart: str, **params: str) -> list[dict]:
    """The rows a chart of the timeline dashboard fetches, as the browser asks for them."""
    charts = read_metadata(REPO)["plugins"]["datasette-dashboards"]["timeline"]["charts"]
    query = {"sql": charts[chart]["query"], "_shape": "objects", **params}
    response = await ds.client.get("/facts.json", params=query)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def test_the_timeline_of_events(ds):
    response = await ds.client.get("/-/dashboards/timeline")
    assert response.status_code == 200 and "Timeline of events" in response.text
    # the year up to the latest day an event can be (2025-02-24): not the 2023 draft
    rows = await chart_rows(ds, "events")
    assert [(r["event"], r["start"], r["end"], r["known"], r["position"]) for r in rows] == [
        ("council-vote", "2024-10-23", "2024-10-24", "day", 1),
        ("troops-cross", "2025-02-17", "2025-02-24", "span", 2),
        ("plan-proposed", "2025-02-24", "2025-02-25", "on or before", 3),
    ]
    assert rows[0]["url"] == "/facts/events/council-vote"
    since = await chart_rows(ds, "events", since="2023-01-01")
    assert [r["event"] for r in since] == [
        "plan-drafted",
        "council-vote",
        "troops-cross",
        "plan-proposed",
    ]
    since = await chart_rows(ds, "events", since="2025-01-01")
    assert [r["event"] for r in since] == ["troops-cross", "plan-proposed"]
    by_year = await chart_rows(ds, "by-year")
    assert [(r["year"], r["events"]) for r in by_year] == [("2023", 1), ("2024", 1), ("2025", 2)]
    home = (await ds.client.get("/")).text
    assert '<a href="/-/dashboards/timeline">Timeline of events</a>' in home


async def test_an_event_name_is_shown_as_text(tmp_path: Path):
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "dates", root)
    shutil.copytree(FIXTURES / "timeline", root, dirs_exist_ok=True)
    claims = root / "facts" / "claims" / "c.yaml"
    hostile = "<script>alert(1)</script> & <b>cross</b>"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text.replace("The troops cross the border", hostile), encoding="utf-8")
    result = validate(root, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    database = build_database(result, tmp_path / "facts.db")
    ds = Datasette([str(database)], metadata=read_metadata(REPO), settings=SETTINGS)
    for path in ("/facts/events/troops-cross", "/facts/claims/c-troops-crossed"):
        html = (await ds.client.get(path)).text
        assert "<script>alert" not in html and "<b>cross" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;cross&lt;/b&gt;" in html, path


def _kind_encodings(node):
    """Every encoding of the dashboards' charts that colours by the event's kind."""
    if isinstance(node, dict):
        if node.get("field") == "kind" and "scale" in node:
            yield node
        for value in node.values():
            yield from _kind_encodings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _kind_encodings(value)


def test_the_timeline_colours_every_event_kind_the_schema_allows():
    from typing import get_args

    from factdb.schema.models import EventKind

    metadata = read_metadata(Path(__file__).resolve().parent.parent)
    encodings = list(_kind_encodings(metadata["plugins"]["datasette-dashboards"]))
    assert len(encodings) == 2
    assert all(e["scale"]["domain"] == list(get_args(EventKind)) for e in encodings)
