"""Security headers on every response, and spreadsheet formulas in CSV made inert
(factdb.site.headers): the CSV rewriter on its own (chunk boundaries, hypothesis), every kind of
response through Datasette's in-process client, a streamed CSV download from a real server, and
the pages that draw charts and maps in a real headless Chromium under the policy.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import shutil
import socket
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from datasette.app import Datasette
from hypothesis import given, settings
from hypothesis import strategies as st
from test_browser import CHROMIUM, CHROMIUM_FLAGS, MISSING  # the browser and its skip rule

from factdb import validate
from factdb.building import build_database
from factdb.loadtest import wait_until_answering
from factdb.publishing import SETTINGS, read_metadata, serve_arguments
from factdb.site.headers import (
    CsvNeutraliser,
    neutralise_cell,
    neutralise_csv,
    policy,
    secure,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = REPO / "test-artifacts" / "browser"

POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; script-src-attr 'none'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: https://*.tile.openstreetmap.org; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
DASHBOARD_POLICY = POLICY.replace(
    "script-src 'self' 'unsafe-inline';", "script-src 'self' 'unsafe-inline' 'unsafe-eval';"
)
HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
FORMULA = "=cmd|' /C calc'!A0"


# --- The CSV rewriter


def test_the_policy_is_exactly_this():
    assert policy() == POLICY
    assert policy(eval_allowed=True) == DASHBOARD_POLICY


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        (FORMULA, "'" + FORMULA),
        ("=1+1", "'=1+1"),
        ("+5 soldiers", "'+5 soldiers"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-3,000", "'-3,000"),  # not a plain number: a thousands separator
        ("-inf", "'-inf"),
        ("-3000", "-3000"),  # plain numbers stay numbers
        ("+5", "+5"),
        ("-0.5", "-0.5"),
        ("-.5", "-.5"),
        ("+1e-3", "+1e-3"),
        ("-2E10", "-2E10"),
        ("3000", "3000"),
        ("a=1", "a=1"),  # only the first character counts
        (" =1", " =1"),
        ("", ""),
        ("'=1", "'=1"),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote_and_a_number_does_not(cell, safe):
    assert neutralise_cell(cell) == safe


TEXT = (
    "id,statement,value\r\n"
    'a,"=HYPERLINK(""http://x"",""y"")",3000\r\n'
    'b,"quoted, with a\r\nline break\nand =1+1 inside",-3000\r\n'
    'c,"-2+3\nsecond line",+5\r\n'
    "d,@SUM(A1),\r\n"
    'e,"\t=1",-0.5\r\n'
    "f,plain,1e5"
)
SAFE = (
    "id,statement,value\r\n"
    'a,"\'=HYPERLINK(""http://x"",""y"")",3000\r\n'
    'b,"quoted, with a\r\nline break\nand =1+1 inside",-3000\r\n'
    'c,"\'-2+3\nsecond line",+5\r\n'
    "d,'@SUM(A1),\r\n"
    "e,'\t=1,-0.5\r\n"
    "f,plain,1e5"
)


def test_a_csv_text_has_its_formula_cells_neutralised_and_the_rest_unchanged():
    assert neutralise_csv(TEXT.encode()) == SAFE.encode()
    assert neutralise_csv(b"x,y\r\n1,2\r\n") == b"x,y\r\n1,2\r\n"
    assert neutralise_csv(b"") == b""


def test_every_cut_of_the_text_into_two_or_three_chunks_gives_the_same_output():
    data = TEXT.encode()
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1, 7):
            neutraliser = CsvNeutraliser()
            out = b"".join(neutraliser.feed(part) for part in (data[:i], data[i:j], data[j:]))
            assert out + neutraliser.close() == SAFE.encode(), (i, j)


def test_a_record_is_given_out_as_soon_as_it_is_complete_and_a_partial_one_is_kept():
    neutraliser = CsvNeutraliser()
    assert neutraliser.feed(b'id,s\r\n1,"=a\r\n') == b"id,s\r\n"  # the newline is quoted
    assert neutraliser.feed(b'b"\r') == b""
    assert neutraliser.feed(b"\n2,") == b'1,"\'=a\r\nb"\r\n'
    assert neutraliser.feed(b"=x") == b""
    assert neutraliser.close() == b"2,'=x"


def test_a_character_split_between_chunks_and_bytes_that_are_not_utf8_survive():
    data = "n,s\r\n1,=é€\r\n".encode() + b"2,=\xff\r\n"
    cut = data.index("€".encode()) + 1
    neutraliser = CsvNeutraliser()
    out = neutraliser.feed(data[:cut]) + neutraliser.feed(data[cut:]) + neutraliser.close()
    assert out == "n,s\r\n1,'=é€\r\n".encode() + b"2,'=\xff\r\n"


def test_an_unclosed_quote_at_the_end_is_read_as_csv_reads_it():
    assert neutralise_csv(b'a,b\r\n1,"=x') == b"a,b\r\n1,'=x"


CELL = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n\",; .e0123456789aZé€'")), max_size=12)
ROWS = st.lists(st.lists(CELL, min_size=1, max_size=5), min_size=1, max_size=8)


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


@settings(max_examples=300, deadline=None)
@given(rows=ROWS, cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_any_chunking_of_any_csv_gives_the_same_output_as_the_whole(rows, cuts):
    data = _csv(rows)
    whole = neutralise_csv(data)
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    neutraliser = CsvNeutraliser()
    out = b"".join(neutraliser.feed(data[a:b]) for a, b in zip(points, points[1:], strict=False))
    assert out + neutraliser.close() == whole
    assert _rows(whole) == [[neutralise_cell(cell) for cell in row] for row in rows]


NUMBER = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"+{n}"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(NUMBER, min_size=1, max_size=5), min_size=1, max_size=8))
def test_plain_numbers_pass_byte_for_byte(rows):
    data = _csv(rows)
    assert neutralise_csv(data) == data


async def test_the_wrapper_streams_each_record_as_it_arrives_and_drops_content_length():
    """An application that sends a CSV in three chunks and waits between them: each complete
    record goes out before the application sends the next chunk, never the whole at the end."""
    forwarded: list[dict[str, Any]] = []
    went_out = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"40")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for chunk in (b'id,s\r\n1,"=a\r\n', b'b"\r\n2,', b"@x\r\n"):
            went_out.clear()
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.wait_for(went_out.wait(), 1)  # each chunk completes a record
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def send(message: dict[str, Any]) -> None:
        forwarded.append(message)
        went_out.set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    scope = {"type": "http", "path": "/facts/claims.csv", "query_string": b"_stream=on"}
    await secure(app)(scope, receive, send)
    start, *bodies = forwarded
    headers = dict(start["headers"])
    assert b"content-length" not in headers
    assert headers[b"content-security-policy"] == POLICY.encode()
    assert [(m["body"], m["more_body"]) for m in bodies] == [
        (b"id,s\r\n", True),
        (b'1,"\'=a\r\nb"\r\n', True),
        (b"2,'@x\r\n", True),
        (b"", False),
    ]


async def test_other_bodies_and_lifespan_messages_pass_untouched():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await send({"type": "lifespan.startup.complete"})
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"10")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'["=1+1"]\n ', "more_body": False})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {}

    await secure(app)({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "lifespan.startup.complete"}]
    sent.clear()
    await secure(app)({"type": "http", "path": "/facts.json"}, receive, send)
    assert dict(sent[0]["headers"])[b"content-length"] == b"10"
    assert sent[1]["body"] == b'["=1+1"]\n '


# --- Every kind of response, through Datasette's in-process client


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette([str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)


def _claim(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("select id from claims order by id limit 1").fetchone()[0])


def assert_secured(response: httpx.Response, csp: str = POLICY) -> None:
    assert response.headers.get_list("content-security-policy") == [csp]
    for name, value in HEADERS.items():
        assert response.headers.get_list(name) == [value], name  # Datasette's no-referrer gone


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/", 200, "text/html; charset=utf-8"),
        ("/facts", 200, "text/html; charset=utf-8"),
        ("/facts/claims", 200, "text/html; charset=utf-8"),
        ("/facts/claims/{claim}", 200, "text/html; charset=utf-8"),
        ("/facts/claims.json", 200, "application/json; charset=utf-8"),
        ("/facts/claims/{claim}.json", 200, "application/json; charset=utf-8"),
        ("/facts.json?sql=select+1", 200, "application/json; charset=utf-8"),
        ("/facts/claims.csv", 200, "text/plain; charset=utf-8"),
        ("/facts/claims.csv?_stream=on&_dl=1", 200, "text/csv; charset=utf-8"),
        ("/-/static/app.css", 200, "text/css"),
        ("/-/static-plugins/datasette_dashboards/vega.min.js", 200, "text/javascript"),
        ("/-/versions.json", 200, "application/json; charset=utf-8"),
        ("/-/search?q=Kursk", 200, "text/html; charset=utf-8"),
        ("/-/search?q=%22", 400, "text/html; charset=utf-8"),
        ("/facts/claims?_facet_ids=%7Bbad", 400, "text/html; charset=utf-8"),
        ("/nosuch", 404, "text/html; charset=utf-8"),
        ("/facts/claims/nosuch", 404, "text/html; charset=utf-8"),
        ("/facts/claims?_sort=nosuch", 400, "text/html; charset=utf-8"),  # Datasette: 500
        ("/facts.db", 403, "text/html; charset=utf-8"),  # served only when immutable
    ],
)
async def test_every_kind_of_response_has_the_headers(ds, repo_db, path, status, content_type):
    response = await ds.client.get(path.format(claim=_claim(repo_db)))
    assert (response.status_code, response.headers["content-type"]) == (status, content_type)
    assert_secured(response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/-/dashboards", 200),
        ("/-/dashboards/quantities", 302),
        ("/-/dashboards/quantities?topic=nk-troops-in-russia", 200),
        ("/-/dashboards/timeline", 200),
        ("/-/dashboards/nosuch", 404),
    ],
)
async def test_the_dashboards_and_only_they_may_evaluate_strings(ds, path, status):
    response = await ds.client.get(path)
    assert response.status_code == status
    assert_secured(response, DASHBOARD_POLICY)
    assert_secured(await ds.client.get("/-/dashboardsx"))


async def test_a_static_file_keeps_its_length_and_bytes(ds):
    response = await ds.client.get("/-/static/app.css")
    assert int(response.headers["content-length"]) == len(response.content) > 1000


@pytest.fixture(scope="module")
def formula_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fixtures/tree with 300 claims whose statements a spreadsheet would run (a fifth
    each: a DDE formula, -3000, '+5 soldiers', @SUM(A1), a quoted line break)."""
    root = tmp_path_factory.mktemp("formula") / "tree"
    shutil.copytree(FIXTURES / "tree", root, ignore=shutil.ignore_patterns(".cache"))
    claims = [
        {
            "id": f"claim-{i:03d}",
            "source": "sample",
            "statement": STATEMENTS[i % len(STATEMENTS)],
            "quote": "about 3,000 soldiers had arrived",
            "date": "2024-10-22",
            "date_basis": "on Tuesday, before publication",
            "claimant": None,
            "about": ["capital"],
            "topic": "soldiers-arrived",
            "value": 3000,
            "unit": "soldiers",
            "assertion": "reported",
        }
        for i in range(CLAIMS)
    ]
    text = json.dumps({"claims": claims}, ensure_ascii=False)  # JSON is YAML
    (root / "facts" / "claims" / "sample.yaml").write_text(text, encoding="utf-8")
    result = validate(root, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    return build_database(result, root.parent / "facts.db")


CLAIMS = 300
STATEMENTS = [FORMULA, "-3000", "+5 soldiers", "@SUM(A1)", 'Officials said, "about"\n3,000.']
SAFE_STATEMENTS = ["'" + FORMULA, "-3000", "'+5 soldiers", "'@SUM(A1)", STATEMENTS[4]]


async def test_csv_from_the_table_and_from_sql_is_neutralised_and_json_is_not(formula_db):
    ds = Datasette([str(formula_db)], metadata=read_metadata(REPO), settings=SETTINGS)
    response = await ds.client.get("/facts/claims.csv?_col=statement&_col=value&_sort=id&_size=5")
    assert response.text == (
        "id,statement,value\r\n"
        "claim-000,'=cmd|' /C calc'!A0,3000.0\r\n"
        "claim-001,-3000,3000.0\r\n"
        "claim-002,'+5 soldiers,3000.0\r\n"
        "claim-003,'@SUM(A1),3000.0\r\n"
        'claim-004,"Officials said, ""about""\n3,000.",3000.0\r\n'
    )
    sql = "select statement, -3000 as n, '+5' as p, '=1+1' as f from claims order by id limit 2"
    response = await ds.client.get("/facts.csv", params={"sql": sql, "_dl": "1"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="facts.csv"'
    assert response.text == (
        "statement,n,p,f\r\n'=cmd|' /C calc'!A0,-3000,+5,'=1+1\r\n-3000,-3000,+5,'=1+1\r\n"
    )
    response = await ds.client.get("/facts/claims/claim-000.json?_shape=objects")
    assert response.json()["rows"][0]["statement"] == FORMULA


# --- A real server: a streamed CSV download


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(database: Path, tmp_path: Path) -> Iterator[str]:
    """The real datasette server on a loopback port, as `facts serve` starts it."""
    served = tmp_path / "facts.db"
    shutil.copyfile(database, served)
    port = _free_port()
    process = subprocess.Popen(
        serve_arguments(served, REPO, port=port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(url, process, timeout=30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def formula_server(formula_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(formula_db, tmp_path_factory.mktemp("formula-server"))


def test_a_streamed_csv_download_is_neutralised_and_has_every_row_once(formula_server):
    url = formula_server + "/facts/claims.csv?_stream=on&_dl=1&_size=7&_sort=id"
    with httpx.stream("GET", url) as response:
        chunks = list(response.iter_raw())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "content-length" not in response.headers
    assert response.headers["transfer-encoding"] == "chunked"
    assert_secured(response)
    rows = _rows(b"".join(chunks))
    header, body = rows[0], rows[1:]
    ids = [row[header.index("id")] for row in body]
    assert sorted(ids) == [f"claim-{i:03d}" for i in range(CLAIMS)]  # each once: 43 pages
    statements = Counter(row[header.index("statement")] for row in body)
    assert statements == {s: CLAIMS // len(SAFE_STATEMENTS) for s in SAFE_STATEMENTS}
    assert {row[header.index("value")] for row in body} == {"3000.0"}


def test_a_server_answers_404_and_static_files_with_the_headers(formula_server):
    for path, status in (("/nosuch", 404), ("/-/static/app.css", 200), ("/", 200)):
        response = httpx.get(formula_server + path)
        assert response.status_code == status
        assert_secured(response)


# --- A real headless Chromium: charts and maps draw, and nothing breaks the policy

needs_browser = pytest.mark.skipif(CHROMIUM is None, reason=MISSING)

# A 1x1 transparent PNG standing in for OpenStreetMap's tiles: the machine may be offline
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# Every violation the page reports, from its first script on
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
  `${e.effectiveDirective} ${e.blockedURI} ${e.sample}`));
"""


@pytest.fixture(scope="module")
def site(repo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _serve(repo_db, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Visit:
    """One page in a fresh tab: its console, its errors, its CSP violations, its tiles."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.console: list[str] = []
        self.tiles: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.add_init_script(RECORD_VIOLATIONS)
        self.page.route("https://*.tile.openstreetmap.org/**", self._tile)
        self.response = self.page.goto(url)

    def _tile(self, route: Any) -> None:
        self.tiles.append(route.request.url)
        route.fulfill(body=TILE, content_type="image/png")

    def check(self, csp: str = POLICY) -> None:
        """The page came with the policy and nothing broke it or failed."""
        assert self.response is not None and self.response.status == 200
        assert self.response.headers["content-security-policy"] == csp
        assert self.page.evaluate("window.__violations") == []
        policy_messages = [m for m in self.console if "Content Security Policy" in m]
        assert policy_messages == []
        errors = [m for m in self.console if m.startswith(("error", "pageerror"))]
        assert errors == []
        self.page.close()


def _scalar(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


@needs_browser
def test_the_home_and_a_claim_page_run_under_the_policy(site, browser, repo_db):
    visit = Visit(browser, site + "/")
    assert visit.page.locator("#contested").is_visible()
    visit.check()
    visit = Visit(browser, site + f"/facts/claims/{_claim(repo_db)}")
    assert visit.page.locator("mark#quote").is_visible()
    visit.check()


@needs_browser
def test_a_vega_chart_draws_every_point_under_the_dashboards_policy(site, browser, repo_db):
    topic = "nk-troops-in-russia"
    visit = Visit(browser, site + f"/-/dashboards/quantities?topic={topic}")
    points = visit.page.locator("#chart-values-by-date svg .role-mark.layer_1_marks path")
    points.first.wait_for(timeout=20_000)
    expected = _scalar(
        repo_db,
        "select count(*) from claims where topic = 'nk-troops-in-russia' and value is not null "
        "and coalesce(date_end, date_start) is not null",
    )
    assert points.count() == expected > 0
    visit.page.screenshot(path=ARTIFACTS / "headers-vega-chart.png", full_page=True)
    visit.check(DASHBOARD_POLICY)


@needs_browser
def test_the_cluster_map_draws_every_place_and_its_tiles_under_the_policy(site, browser, repo_db):
    visit = Visit(browser, site + "/facts/places")
    markers = visit.page.locator(".leaflet-container .leaflet-marker-icon")
    markers.first.wait_for(timeout=20_000)
    visit.page.wait_for_load_state("networkidle")
    counts = visit.page.evaluate(
        "() => [...document.querySelectorAll('.leaflet-marker-icon')].map("
        "m => m.classList.contains('marker-cluster') ? Number(m.innerText) : 1)"
    )
    assert sum(counts) == _scalar(repo_db, "select count(*) from places") > 0
    assert len(visit.tiles) > 0  # the tiles were asked for: img-src let them through
    assert visit.page.locator(".leaflet-tile-loaded").count() == len(set(visit.tiles))
    visit.page.screenshot(path=ARTIFACTS / "headers-cluster-map.png", full_page=True)
    visit.check()
