"""The charts read at a glance (issue #17, part 3), measured in Chromium on the repository's
own database: every mark inside its plot, as many marks as the database has rows for them,
claims of one value and day side by side rather than on top of each other, a year in every
date label, and the questions (not topic ids) in the quantities chart's filter.

The same Chromium, server and skip rule as tests/test_browser.py (screenshots in
test-artifacts/browser/); the script that labels the filter is also checked in process.
"""

from __future__ import annotations

import re
import sqlite3
from itertools import combinations
from pathlib import Path

import pytest
from datasette.app import Datasette
from test_browser import ARTIFACTS, CHROMIUM, MISSING, REPO, _chromium_page, _serve, inside

from factdb.publishing import SETTINGS, read_metadata
from factdb.site.charts import relabel_script

needs_browser = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)

DEFAULT_QUESTION = "nk-troops-in-russia"  # metadata.yml: the quantities filter's default
ALIKE_QUESTION = "duma-votes-for-ratification"  # two claims: 397 deputies, the same day
PLOT = "svg .role-frame.root > g > path.background"
YEAR = re.compile(r"\b(19|20)\d\d\b")


@pytest.fixture
def server(repo_db: Path, tmp_path: Path):
    yield from _serve(repo_db, tmp_path)


@pytest.fixture
def page():
    yield from _chromium_page()


def _rows(database: Path, sql: str, *params: str) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql, params).fetchall()


def _charted(database: Path, topic: str) -> tuple[int, int]:
    """How many claims the quantities chart plots for a topic, and how many of them are spans."""
    [(points, spans)] = _rows(
        database,
        "select count(*), count(*) filter (where date_start < date_end) from claims where topic = ?"
        " and coalesce(date_end, date_start) is not null and value is not null",
        topic,
    )
    return points, spans


def _x_labels(page, chart: str) -> list[str]:
    return page.locator(
        f"{chart} svg g.role-axis[aria-label^='X-axis'] .role-axis-label text"
    ).all_text_contents()


def _marks_inside(page, chart: str, marks: str) -> list[dict]:
    plot = page.locator(f"{chart} {PLOT}").bounding_box()
    boxes = [m.bounding_box() for m in page.locator(f"{chart} svg {marks}").all()]
    for i, box in enumerate(boxes):
        assert plot and box and inside(box, plot), (chart, marks, i, box, plot)
    return boxes


def _quantities(page, url: str, topic: str, database: Path) -> list[dict]:
    """Open the chart of one question; check its marks against the database and the plot."""
    page.goto(url)
    chart = "#chart-values-by-date"
    page.locator(f"{chart} svg .mark-symbol.role-mark path").first.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    points, spans = _charted(database, topic)
    boxes = _marks_inside(page, chart, ".mark-symbol.role-mark path")
    assert len(boxes) == points  # one mark per claim with a value and a date
    assert len(_marks_inside(page, chart, ".mark-rule.role-mark line")) == spans
    for a, b in combinations(boxes, 2):  # no mark hides another: centres apart by a mark's width
        ax, ay = a["x"] + a["width"] / 2, a["y"] + a["height"] / 2
        bx, by = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
        assert max(abs(ax - bx), abs(ay - by)) >= 9, (a, b)
    labels = _x_labels(page, chart)
    assert labels and all(YEAR.search(label) for label in labels), labels
    assert len(set(labels)) == len(labels), labels
    plot = page.locator(f"{chart} {PLOT}").bounding_box()
    assert plot and plot["height"] >= 300 and plot["width"] >= 600
    return boxes


@needs_browser
def test_the_quantities_chart_draws_every_claim_inside_it_and_names_the_questions(
    server, page, repo_db
):
    _quantities(page, server + "/-/dashboards/quantities", DEFAULT_QUESTION, repo_db)
    assert _charted(repo_db, DEFAULT_QUESTION)[0] == 6  # four of them 3,000 on 23 October 2024
    questions = _rows(
        repo_db, "select id, question from topics where kind = 'quantity' order by question"
    )
    options = page.locator("select#topic option")
    assert [o.get_attribute("value") for o in options.all()] == [""] + [i for i, _ in questions]
    assert options.all_text_contents() == [""] + [q for _, q in questions]
    [(default,)] = _rows(repo_db, "select question from topics where id = ?", DEFAULT_QUESTION)
    assert page.locator("select#topic option:checked").inner_text() == default
    page.screenshot(path=ARTIFACTS / "12-quantities-default.png", full_page=True)

    boxes = _quantities(
        page, f"{server}/-/dashboards/quantities?topic={ALIKE_QUESTION}", ALIKE_QUESTION, repo_db
    )
    assert len(boxes) == 2 and boxes[0]["y"] == boxes[1]["y"]  # one value, side by side
    page.screenshot(path=ARTIFACTS / "13-quantities-alike.png", full_page=True)

    page.select_option("select#topic", "nk-troops-in-kursk")  # the filter works by its labels
    page.click("input[type=submit]")
    page.wait_for_url("**topic=nk-troops-in-kursk")
    _quantities(page, page.url, "nk-troops-in-kursk", repo_db)
    assert page.errors == []


@needs_browser
def test_the_timeline_of_every_event_has_a_year_on_each_label(server, page, repo_db):
    since = "1950-01-01"  # before the first event: every dated event
    page.goto(f"{server}/-/dashboards/timeline?since={since}")
    chart = "#chart-events"
    page.locator(f"{chart} svg .role-mark path").first.wait_for(timeout=20_000)
    page.wait_for_timeout(500)
    [(events,)] = _rows(
        repo_db,
        "select count(*) from events where coalesce(date_start, date_end) >= ?",
        since,
    )
    assert len(_marks_inside(page, chart, ".role-mark path")) == events
    labels = _x_labels(page, chart)
    assert labels and all(YEAR.search(label) for label in labels), labels
    assert len(set(labels)) == len(labels), labels  # no "2021, 2021, 2022"
    page.screenshot(path=ARTIFACTS / "14-timeline-every-event.png", full_page=True)
    assert page.errors == []


async def test_the_quantities_page_alone_carries_the_questions_for_its_filter(repo_db):
    ds = Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)
    questions = dict(_rows(repo_db, "select id, question from topics where kind = 'quantity'"))
    page = (await ds.client.get("/-/dashboards/quantities?topic=nk-troops-in-russia")).text
    assert relabel_script(questions) in page
    assert '<option value="nk-troops-in-russia" selected>' in page  # the value is still the id
    for path in ("/-/dashboards/timeline", "/", "/facts/topics/nk-troops-in-russia"):
        assert "select#topic" not in (await ds.client.get(path)).text, path


def test_no_question_can_close_the_script():
    script = relabel_script({"a": "</script><script>alert(1)</script>", "b": "Kursk's?"})
    assert "</" not in script and "<script" not in script
    assert '"Kursk\'s?"' in script
