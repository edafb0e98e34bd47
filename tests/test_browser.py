"""A reader's walk in a real headless Chromium against a real `datasette` server.

Uses Debian's chromium (installed by .ci/run); skips, saying so, only where it is missing.
Screenshots of each step are saved in test-artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from factdb.loadtest import wait_until_answering
from factdb.publishing import read_metadata, serve_arguments

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MISSING = "Debian's chromium is not installed (apt-get install -y chromium)"
if CHROMIUM is None and os.environ.get("FACTS_REQUIRE_BROWSER"):
    raise RuntimeError(f"FACTS_REQUIRE_BROWSER is set but {MISSING}")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(repo_db: Path, tmp_path: Path, root: Path = REPO):
    """The real datasette server on a loopback port, as `facts serve` starts it."""
    database = tmp_path / "facts.db"
    shutil.copyfile(repo_db, database)
    port = _free_port()
    process = subprocess.Popen(
        serve_arguments(database, root, port=port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(url, process, timeout=30)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def server(repo_db: Path, tmp_path: Path):
    yield from _serve(repo_db, tmp_path)


@pytest.fixture
def limited_server(repo_db: Path, tmp_path: Path):
    """The same, with its claims table's search facet limit at 3 rows."""
    metadata = read_metadata(REPO)
    metadata["databases"]["facts"]["tables"]["claims"]["plugins"] = {
        "facts": {"search_facet_limit": 3}
    }
    root = tmp_path / "root"
    root.mkdir()
    (root / "metadata.yml").write_text(json.dumps(metadata), encoding="utf-8")  # JSON is YAML
    yield from _serve(repo_db, tmp_path, root)


@pytest.fixture
def timeline_server(timeline_db: Path, tmp_path: Path):
    """The server on the database of dated events (conftest.py: timeline_db)."""
    yield from _serve(timeline_db, tmp_path)


def _chromium_page(**context: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, **context)
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        browser.close()


@pytest.fixture
def page():
    yield from _chromium_page()


@pytest.fixture
def west_page():
    """A page in Los Angeles' time zone: a day drawn in local time rather than UTC moves back."""
    yield from _chromium_page(timezone_id="America/Los_Angeles")


def test_a_reader_finds_a_claim_reads_it_in_its_source_and_sees_the_chart(server, page):
    page.goto(server + "/")
    assert page.locator("#contested").is_visible()
    page.screenshot(path=ARTIFACTS / "1-home.png", full_page=True)

    page.fill("#search-all-q", "Kursk")
    page.press("#search-all-q", "Enter")
    results = page.locator("#results-claims a[href^='/facts/claims/']")
    results.first.wait_for()
    for kind in ("sources", "entities"):  # one box finds all three
        assert page.locator(f"#results-{kind}").is_visible()
    assert page.locator("#results-claims mark").first.inner_text() == "Kursk"
    page.screenshot(path=ARTIFACTS / "2-search-kursk.png", full_page=True)

    results.first.click()
    page.wait_for_load_state()
    quote = page.locator("mark#quote")
    assert quote.is_visible()
    assert quote.inner_text() in page.locator(".facts-passage").inner_text()
    assert len(page.locator(".facts-passage").inner_text()) > len(quote.inner_text())
    page.screenshot(path=ARTIFACTS / "3-claim.png", full_page=True)

    page.goto(server + "/facts/topics/nk-troops-in-russia")
    page.click("text=see them on a chart")
    chart = page.locator(".vega-embed canvas, .vega-embed svg.marks").first
    chart.wait_for(timeout=20_000)
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    page.wait_for_timeout(500)
    page.screenshot(path=ARTIFACTS / "4-troop-estimates-chart.png", full_page=True)

    assert page.errors == []


def test_a_reader_whose_search_matches_too_many_claims_is_told_and_counts_them_anyway(
    limited_server, page
):
    page.goto(limited_server + "/facts/claims")
    assert page.locator(".facet-info").count() == 6  # not a search: counted
    page.fill("input[name=_search]", "Kursk")
    page.press("input[name=_search]", "Enter")
    page.wait_for_load_state()
    note = page.locator(".facets-not-counted")
    assert note.is_visible()
    assert "It matches 8 rows" in note.inner_text()
    assert page.locator(".facet-info").count() == 0
    assert page.locator(".rows-and-columns tbody tr").count() == 8  # the rows are all there
    page.screenshot(path=ARTIFACTS / "5-broad-search.png", full_page=True)

    page.click("text=count them anyway")
    page.wait_for_load_state()
    assert "_facet_count=1" in page.url and "_search=Kursk" in page.url
    assert page.locator(".facets-not-counted").count() == 0
    assert page.locator(".facet-info").count() == 6
    page.screenshot(path=ARTIFACTS / "6-broad-search-counted.png", full_page=True)
    assert page.errors == []


def inside(box: dict, frame: dict, slack: float = 0.5) -> bool:
    return (
        box["x"] >= frame["x"] - slack
        and box["y"] >= frame["y"] - slack
        and box["x"] + box["width"] <= frame["x"] + frame["width"] + slack
        and box["y"] + box["height"] <= frame["y"] + frame["height"] + slack
    )


EVENTS_IN_DATE_ORDER = [  # tests/fixtures/timeline in the year up to its latest event: a day,
    "The council approves the plan",  # a week, and one open at its start (2023's is outside)
    "The troops cross the border",
    "The plan is first proposed",
]


def test_a_reader_reads_an_event_and_its_proof_and_finds_every_event_on_the_timeline(
    timeline_server, west_page
):
    page = west_page
    page.goto(timeline_server + "/facts/events/council-vote")
    assert page.locator("#event-date").inner_text().startswith("23 October 2024")
    proof = page.locator("#event-proof li")
    assert proof.count() == 2
    assert "2024-10-24 that a prints" in proof.nth(0).inner_text()
    assert "‘wednesday’ in a" in proof.nth(1).inner_text()
    assert page.locator("#article-a li").count() == page.locator("#article-b li").count() == 1
    page.screenshot(path=ARTIFACTS / "7-event.png", full_page=True)

    page.locator("#event-proof a.facts-quote").click()  # the claim that dates it
    page.wait_for_load_state()
    assert page.url.endswith("/facts/claims/a-council-approved")
    assert page.locator("#date-proof").inner_text().startswith("Dated 23 October 2024")
    page.goto(timeline_server + "/facts/claims/b-council-approved")
    assert "(this claim)" in page.locator("#date-proof").inner_text()
    page.screenshot(path=ARTIFACTS / "8-claim-date-proof.png", full_page=True)
    page.goto(timeline_server + "/facts/sources/b")
    assert page.locator("#published-proof").inner_text().startswith("24 October 2024")
    page.screenshot(path=ARTIFACTS / "9-source-proved-date.png", full_page=True)

    page.goto(timeline_server + "/-/dashboards/timeline")
    for chart in ("#chart-by-year", "#chart-events"):
        page.locator(f"{chart} svg .role-mark path").first.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    for chart in ("#chart-by-year", "#chart-events"):  # every mark inside its plot area
        plot = page.locator(f"{chart} svg .role-frame.root > g > path.background").bounding_box()
        marks = page.locator(f"{chart} svg .role-mark path")
        for i in range(marks.count()):
            box = marks.nth(i).bounding_box()
            assert plot and box and inside(box, plot), (chart, i, box, plot)
    assert page.locator("#chart-by-year svg .role-mark path").count() == 3  # 2023, 2024, 2025
    plot = page.locator("#chart-events svg .role-frame.root > g > path.background").bounding_box()
    assert plot and plot["height"] >= 30 * len(EVENTS_IN_DATE_ORDER)  # a readable row each
    marks = page.locator("#chart-events svg .role-mark path")
    assert marks.count() == len(EVENTS_IN_DATE_ORDER)  # one mark per event
    labels = [marks.nth(i).get_attribute("aria-label") or "" for i in range(marks.count())]
    assert sorted(n for n in EVENTS_IN_DATE_ORDER for label in labels if n in label) == sorted(
        EVENTS_IN_DATE_ORDER
    )
    vote = next(label for label in labels if "council" in label)
    assert "Oct 23, 2024" in vote  # drawn in UTC, not moved a day back in Los Angeles
    axis = page.locator("#chart-events svg .role-axis-label text").all_text_contents()
    assert [t for t in axis if t in EVENTS_IN_DATE_ORDER] == EVENTS_IN_DATE_ORDER
    assert any("2024" in t for t in axis) and any("2025" in t for t in axis)  # years shown
    page.screenshot(path=ARTIFACTS / "10-events-timeline.png", full_page=True)

    page.locator("#chart-events svg .role-mark.layer_0_marks path").first.click()  # the week
    page.wait_for_url("**/facts/events/troops-cross")
    assert page.locator("#event-date").inner_text().startswith("between 17 and 23 February 2025")

    page.goto(timeline_server + "/facts/topics/troops-in-region")
    assert page.locator("#over-time circle").count() == 2
    page.screenshot(path=ARTIFACTS / "11-topic-over-time.png", full_page=True)
    assert page.errors == []


def test_the_claims_tables_column_descriptions_wait_behind_a_disclosure(server, page):
    page.goto(server + "/facts/claims")
    details = page.locator("details#column-descriptions")
    assert details.is_visible() and details.get_attribute("open") is None
    assert "What each of the" in details.locator("summary").inner_text()
    default_list = page.locator("section.content > dl.column-descriptions")
    assert default_list.count() == 1 and not default_list.is_visible()  # Datasette's, hidden
    search = page.locator("form.filters").bounding_box()  # what follows the descriptions
    assert search is not None and search["y"] < 500  # it was ~1,500 px further down
    page.screenshot(path=ARTIFACTS / "claims-table.png")
    details.locator("summary").click()
    assert details.locator("dt", has_text="sort_key").is_visible()
    table = page.locator("table.rows-and-columns")
    headers = table.locator("thead th").evaluate_all(
        "th => th.filter(x => x.offsetWidth > 0).map(x => x.className)"
    )
    assert sorted(h.split()[0] for h in headers) == sorted(
        [
            "col-id",
            "col-statement",
            "col-date",
            "col-claimant",
            "col-source",
            "col-topic",
            "col-value",
            "col-unit",
            "col-answer",
            "col-assertion",
        ]
    )
    narrow = table.bounding_box()
    assert narrow is not None and narrow["width"] < 1300  # it was ~3,300 px
    page.locator("#shown-columns a").click()
    page.wait_for_load_state()
    every = page.locator("table.rows-and-columns thead th").evaluate_all(
        "th => th.filter(x => x.offsetWidth > 0).length"
    )
    assert every >= 31 and page.locator("#shown-columns").count() == 0
    assert page.errors == []


def _tables_and_views(database: Path) -> dict[str, tuple[str, int]]:
    """Each table and view a reader browses (not SQLite's own, not the full-text indexes):
    its kind and its number of rows."""
    import sqlite3

    with sqlite3.connect(database) as db:
        names = db.execute(
            "select name, type from sqlite_master where type in ('table', 'view') "
            "and name not like 'sqlite_%' and name not like '%_fts%' order by name"
        ).fetchall()
        return {n: (t, db.execute(f'select count(*) from "{n}"').fetchone()[0]) for n, t in names}


def test_a_reader_pages_through_every_table_and_meets_each_row_once(server, page, repo_db):
    """Clicking "Next page" at 25 rows a page, as a reader would (#17: 226 rows for 195)."""
    for name, (kind, count) in _tables_and_views(repo_db).items():
        page.goto(f"{server}/facts/{name}?_size=25")
        seen: list[str] = []
        while True:
            rows = page.locator("table.rows-and-columns tbody tr")
            if kind == "table":  # each row links its own page
                seen += rows.locator("td.type-pk a").evaluate_all("a => a.map(x => x.href)")
            else:
                seen += rows.evaluate_all("r => r.map(x => x.innerText)")
            following = page.locator("a", has_text="Next page")
            if following.count() == 0:
                break
            following.first.click()
            page.wait_for_load_state()
        assert len(seen) == count, name
        if kind == "table":
            assert len(set(seen)) == count, name
    page.screenshot(path=ARTIFACTS / "paging-last-table.png")


def test_a_reader_reads_the_search_as_json_and_opens_every_canned_query(server, page, repo_db):
    import sqlite3

    page.goto(server + "/")
    with sqlite3.connect(repo_db) as db:
        names = [label for (label,) in db.execute("select label from sources order by label")]
    shown = page.locator("#sources a").all_inner_texts()
    assert sorted(shown) == names  # every source by its display name
    page.goto(server + "/-/search?q=Kursk")
    page.locator("#data-links a", has_text="JSON").click()
    page.wait_for_load_state()
    data = json.loads(page.locator("body").inner_text())
    assert data["ok"] is True and data["results"]["claims"]["count"] == 8
    page.goto(server + "/facts")
    queries = page.locator("ul.bullets a[href*='/facts/']").evaluate_all(
        "a => a.map(x => x.getAttribute('href'))"
    )
    canned = [q for q in queries if "?" not in q and q.count("/") == 2]
    assert len(canned) >= 6, queries
    for href in canned:
        page.goto(server + href)
        rows = page.locator("table.rows-and-columns tbody tr")
        assert rows.count() > 0, href
        assert rows.locator("a").count() > 0, href  # ids are links
        page.screenshot(path=ARTIFACTS / f"query-{href.rsplit('/', 1)[-1]}.png")
