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
import time
from pathlib import Path

import httpx
import pytest

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
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/-/versions.json")
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "datasette did not start"
            time.sleep(0.2)
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
def page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        browser.close()


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
