"""Hostile requests to the served site (issue #16, cases 6 and 7): a bad search or facet
parameter gets a 400 with a message, never a 500 or a traceback in the server's log; a search's
cost and one SQL function call's cost are bounded."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from datasette.app import Datasette
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from factdb.loadtest import free_port
from factdb.publishing import SETTINGS, read_metadata, serve_arguments
from factdb.site.limits import MAX_LENGTH
from factdb.site.searching import MAX_QUERY_CHARS, MAX_WORDS, search_terms

REPO = Path(__file__).resolve().parent.parent
NOT_A_FACET = "is not a facet parameter: they are _facet, _facet_date, _facet_array, _facet_ids"
OBJECT = '{"column": "name"}'
NO_OTHER_TABLE = (
    "_facet_ids: a request names no table of its own; the link table of 'about' is "
    "claim_entities (entity_id)"
)
# Issue #16's case 6, and its kin: each parameter on the claims table, and its message
BAD_FACETS = {
    "_facet_ids={}": f"_facet_ids as JSON is an object {OBJECT}: '{{}}'",
    '_facet_ids={"column":5}': f"""_facet_ids as JSON is an object {OBJECT}: '{{"column":5}}'""",
    "_facet_ids={bad": "_facet_ids is not a column's name or a JSON object: '{bad'",
    "_facet_count={bad": "_facet_count=1 counts a search's facets; '{bad' is not 1",
    '_facet_ids={"column":"about","table":"sqlite_master","value":"sql"}': NO_OTHER_TABLE,
    '_facet_ids={"column":"about","table":"claim_via","value":"entity_id"}': NO_OTHER_TABLE,
    "_facet_ids=sqlite_master": "_facet_ids: this table has no column 'sqlite_master'",
    "_facet=sql": "_facet: this table has no column 'sql'",
    "_facet={bad": "_facet is not a column's name or a JSON object: '{bad'",
    "_facet_date={bad": "_facet_date is not a column's name or a JSON object: '{bad'",
    "_facet_array={bad": "_facet_array is not a column's name or a JSON object: '{bad'",
    '_facet={"column":"topic","table":"sqlite_master"}': (
        "_facet takes only the keys column, each a name: "
        """'{"column":"topic","table":"sqlite_master"}'"""
    ),
    "_facet=": "_facet names a column; it is empty",
    "_facet_size={bad": "_facet_size is a number of values or max, not '{bad'",
    "_facet_foo=x": f"'_facet_foo' {NOT_A_FACET}",
    "_facetx=1": f"'_facetx' {NOT_A_FACET}",
}
CLEAN_LOG = ("Traceback", "ERROR", "Warning", "WARNING", "Exception")


def served(database: Path, **overrides: object) -> Datasette:
    """The database as `facts serve` serves it: immutable, with the project's settings."""
    return Datasette(
        immutables=[str(database)],
        metadata=read_metadata(REPO),
        settings={**SETTINGS, **overrides},
    )


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return served(repo_db)


def assert_clean(log: str) -> None:
    assert not [word for word in CLEAN_LOG if word in log], log[-3000:]


SORTED_BY = "_sort and _sort_desc take a column the table is sorted by"
THROUGH = '_through must be a JSON object with "table", "column", "value", not '
MALFORMED = {  # table page, parameters: the message of its 400 (Datasette 0.65: a 500)
    ("claims", "_sort=nope"): f"Cannot sort table by nope: {SORTED_BY}",
    ("claims", "_sort_desc=nope"): f"Cannot sort table by nope: {SORTED_BY}",
    ("claims", "_sort=rowid"): f"Cannot sort table by rowid: {SORTED_BY}",
    ("sources", "_sort=nope"): f"Cannot sort table by nope: {SORTED_BY}",
    ("claims", "_timelimit=abc"): "_timelimit must be a whole number of milliseconds, not 'abc'",
    ("claims", "_timelimit=1.5"): "_timelimit must be a whole number of milliseconds, not '1.5'",
    ("claims", "_through=nope"): THROUGH + "'nope'",
    ("claims", "_through=[1]"): THROUGH + "'[1]'",
    ("claims", "_through={}"): THROUGH + "'{}'",
}


@pytest.mark.parametrize("table, query", sorted(MALFORMED))
async def test_a_malformed_table_parameter_gets_400_naming_it(
    ds: Datasette, table: str, query: str, capfd
):
    message = MALFORMED[table, query]
    name, value = query.split("=", 1)
    data = await ds.client.get(f"/facts/{table}.json", params={name: value})
    assert (data.status_code, data.json()["error"]) == (400, message)
    page = await ds.client.get(f"/facts/{table}", params={name: value})
    assert page.status_code == 400 and str(escape(message)) in page.text
    out, err = capfd.readouterr()
    assert "Traceback" not in out and "Traceback" not in err  # Datasette's handler never ran
    assert (await ds.client.get(f"/facts/{table}?_timelimit=900&_sort=id")).status_code == 200


def test_an_unexpected_failure_is_left_to_datasette_a_500():
    """A fault of ours is not passed off as the reader's: only the failures malformed
    parameters cause are answered as 400s."""
    from datasette.utils.asgi import Request

    from factdb.site.errors import bad_parameter

    malformed = Request.fake("/facts/claims?_timelimit=abc&_through=nope")
    assert bad_parameter(malformed, RuntimeError("a bug")) is None  # not what int() raises
    through = '{"table": "a", "column": "b", "value": "c"}'
    well_formed = Request.fake(f"/facts/claims?_timelimit=900&_through={through}")
    assert bad_parameter(well_formed, ValueError("a bug")) is None
    assert bad_parameter(malformed, ValueError("invalid literal")) is not None


@pytest.mark.parametrize("query", sorted(BAD_FACETS))
async def test_a_bad_facet_parameter_gets_400_and_a_message(ds: Datasette, query: str, capfd):
    message = BAD_FACETS[query]
    data = await ds.client.get(f"/facts/claims.json?{query}")
    assert (data.status_code, data.json()["error"]) == (400, message)
    page = await ds.client.get(f"/facts/claims?{query}")
    assert page.status_code == 400 and str(escape(message)) in page.text
    for response in (data, page):
        assert "CREATE TABLE" not in response.text and "CREATE INDEX" not in response.text
    assert_clean(capfd.readouterr().err)


async def test_a_search_of_no_words_gets_400_and_a_message(ds: Datasette, capfd):
    for q in ('"', '""', ' " " ', '"\x00"'):
        response = await ds.client.get("/-/search", params={"q": q})
        assert response.status_code == 400, q
        assert "The search has no words to look for: type at least one." in response.text
    assert_clean(capfd.readouterr().err)


async def test_words_and_phrases_are_searched_as_typed(ds: Datasette):
    assert search_terms('the The THE "north  korea" the "unclosed') == [
        "the",
        "north korea",
        "unclosed",
    ]
    assert search_terms('a\x00b OR "x" AND NOT *') == ["a", "b", "OR", "x", "AND", "NOT", "*"]
    for q in ('"North Korean" OR troops', "NEAR(korea troops)", "korea*", "-troops ^korea"):
        assert (await ds.client.get("/-/search", params={"q": q})).status_code == 200, q


async def test_the_search_s_words_and_length_are_capped(ds: Datasette):
    words = "troops korea russia kursk ukraine army soldiers deployed".split()
    most = " ".join(words[i % len(words)] + str(i) for i in range(MAX_WORDS))
    assert (await ds.client.get("/-/search", params={"q": most})).status_code == 200
    over = most + " one"
    response = await ds.client.get("/-/search", params={"q": over})
    assert response.status_code == 400
    assert "The search has 65 words; at most 64 are searched: use fewer." in response.text
    long = "k" * (MAX_QUERY_CHARS + 1)
    response = await ds.client.get("/-/search", params={"q": long})
    assert response.status_code == 400
    assert "The search is 1,001 characters long; at most 1,000 are searched" in response.text
    started = time.perf_counter()
    response = await ds.client.get("/-/search", params={"q": " ".join(["the"] * 5000)})
    assert response.status_code == 400 and time.perf_counter() - started < 1.0


@pytest.fixture(scope="module")
def crowded_db(repo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's database with each source copied 600 times (and indexed): a search
    for "the" then ranks thousands of articles, far longer than a millisecond."""
    target = tmp_path_factory.mktemp("crowded") / "facts.db"
    shutil.copyfile(repo_db, target)
    db = sqlite3.connect(target)
    columns = [name for (name,) in db.execute("select name from pragma_table_info('sources')")]
    values = ", ".join("id || '-' || n" if c == "id" else c for c in columns)
    db.execute(
        f"insert into sources ({', '.join(columns)}) select {values} from sources, "
        "(with recursive r(n) as (select 1 union all select n + 1 from r where n < 600) "
        "select n from r)"
    )
    db.execute("insert into sources_fts (sources_fts) values ('rebuild')")
    db.commit()
    db.close()
    return target


async def test_a_search_stopped_by_the_time_limit_gets_400_and_says_so(crowded_db: Path, capfd):
    ds = served(crowded_db, sql_time_limit_ms=1)
    for _ in range(5):
        response = await ds.client.get("/-/search", params={"q": "the"})
        assert response.status_code == 400
        assert "The search took longer than the time limit (1 ms) and was stopped" in response.text
    assert_clean(capfd.readouterr().err)


# --- Property tests: arbitrary search and facet parameters never give a 500

COLUMNS = ["about", "via", "topic", "claimant", "statement", "date", "sql", "rowid", "name"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
FACET_KEYS = ["_facet", "_facet_date", "_facet_array", "_facet_ids", "_facet_size"]
FACET_VALUE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(COLUMNS),
    st.sampled_from(["{}", "{bad", "max", "0", "1", "-1", "99999999999999999999"]),
    JSON.map(json.dumps),
    st.builds(lambda c: json.dumps({"column": c}), st.sampled_from(COLUMNS) | st.text()),
    st.builds(
        lambda c, t, v: json.dumps({"column": c, "table": t, "value": v}),
        st.sampled_from(COLUMNS),
        st.sampled_from(["claim_entities", "claim_via", "sqlite_master", "sources"]),
        st.sampled_from(["entity_id", "sql", "name", "claim_id"]),
    ),
)
FACET_KEY = st.one_of(
    st.sampled_from([*FACET_KEYS, "_facet_count", "_facet_column", "_facet_x", "_facetx"]),
    st.text(max_size=10).map(lambda suffix: "_facet" + suffix),
)
PAGES = st.sampled_from(["/facts/claims", "/facts/claims.json", "/facts/events.json"])
SEARCH = st.sampled_from(
    [[], [("_search", "troops")], [("_search", "korea"), ("_facet_count", "1")]]
)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def module_ds(repo_db: Path) -> Datasette:
    return served(repo_db)


# 100 examples: each asks a table page with facets (~0.6 s); 300 took 200 s of CI's time
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page=PAGES, pairs=st.lists(st.tuples(FACET_KEY, FACET_VALUE), max_size=3), search=SEARCH)
def test_no_facet_parameter_gives_a_500(module_ds, loop, capfd, page, pairs, search):
    response = loop.run_until_complete(module_ds.client.get(page, params=[*search, *pairs]))
    assert response.status_code in (200, 400), (page, pairs, response.text[-500:])
    if response.status_code == 400 and page.endswith(".json"):
        assert response.json()["error"] and "\n" not in response.json()["error"]
    assert "Traceback" not in capfd.readouterr().err


WORDS = st.sampled_from(["the", "The", "korea", "troops", '"', "*", "OR", "NEAR(", "-", "^", ":"])
QUERY = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(WORDS, st.text(max_size=6)), max_size=80).map(" ".join),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=QUERY)
def test_no_search_gives_a_500(module_ds, loop, capfd, q):
    response = loop.run_until_complete(module_ds.client.get("/-/search", params={"q": q}))
    assert response.status_code in (200, 400), (q, response.text[-500:])
    if response.status_code == 400:
        assert "The search" in response.text
    assert_clean(capfd.readouterr().err)


# --- One SQL function call, and the legitimate values under the length limit

PRINTF = "select printf('%.*c', 300000000, 'x') as x"


async def test_one_call_beyond_its_bound_is_refused_and_the_rest_still_work(ds: Datasette):
    refused = await ds.client.get("/facts.json", params={"sql": PRINTF})
    assert refused.status_code == 400 and refused.json()["error"] == "string or blob too big"
    sql = (
        "select printf('%.*c', 5, 'x') as p, format('%d-%s', 3, 'a') as f, "
        "instr('hello', 'll') as i, replace('aXbX', 'X', 'yy') as r, trim('xxhixx', 'x') as t"
    )
    response = await ds.client.get("/facts.json", params={"sql": sql, "_shape": "objects"})
    assert response.json()["rows"] == [{"p": "xxxxx", "f": "3-a", "i": 3, "r": "ayybyy", "t": "hi"}]
    pair = "select instr(printf('%.*c', 900000, 'a'), printf('%.*c', 450000, 'a') || 'b')"
    started = time.perf_counter()
    refused = await ds.client.get("/facts.json", params={"sql": pair})
    assert refused.status_code == 400 and time.perf_counter() - started < 1.0


async def test_the_longest_stored_values_are_far_under_the_limit_and_served(
    ds: Datasette, repo_db: Path
):
    db = sqlite3.connect(repo_db)
    source, text = db.execute(
        "select id, text from sources order by length(text) desc limit 1"
    ).fetchone()
    longest_json = db.execute("select max(length(claim_ids)) from answers").fetchone()[0]
    assert len(text.encode()) * 20 < MAX_LENGTH and longest_json * 20 < MAX_LENGTH
    row = await ds.client.get(f"/facts/sources/{source}.json", params={"_shape": "objects"})
    assert row.status_code == 200 and row.json()["rows"][0]["text"] == text
    page = await ds.client.get(f"/facts/sources/{source}")
    assert page.status_code == 200 and str(escape(text.splitlines()[-1])) in page.text
    claim, quote = db.execute(
        "select id, quote from claims where source = ? and quote_start is not null "
        "order by quote_start desc limit 1",
        [source],
    ).fetchone()
    page = await ds.client.get(f"/facts/claims/{claim}")
    assert page.status_code == 200 and f'<mark id="quote">{escape(quote)}' in page.text


# --- A real server: its log, concurrent searches, and one costly call's time and memory


@contextmanager
def real_server(database: Path, log: Path, **overrides: object) -> Iterator[tuple[str, int]]:
    """`facts serve`'s datasette command line (settings overridden), its log in `log`."""
    port = free_port()
    arguments = serve_arguments(database, REPO, port=port)
    for name, value in overrides.items():
        arguments[arguments.index(name) + 1] = str(value)
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(url + "/-/versions.json", timeout=5)
                    break
                except httpx.TransportError:
                    assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            yield url, process.pid
        finally:
            process.terminate()
            process.wait(timeout=10)


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture
def database(repo_db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "served" / "facts.db"
    target.parent.mkdir()
    shutil.copyfile(repo_db, target)
    return target


def test_a_real_server_answers_hostile_requests_with_400s_and_logs_no_traceback(
    database: Path, tmp_path: Path
):
    log = tmp_path / "server.log"
    with real_server(database, log) as (url, _):
        for query, message in BAD_FACETS.items():
            response = httpx.get(f"{url}/facts/claims.json?{query}")
            assert (response.status_code, response.json()["error"]) == (400, message)
        response = httpx.get(f"{url}/-/search", params={"q": '"'})
        assert response.status_code == 400
    assert_clean(log.read_text())


def test_concurrent_large_searches_on_a_real_server_never_give_a_500(
    database: Path, tmp_path: Path
):
    """Several large searches at once, on the project's settings and on a time limit so short
    that searches are stopped: each answers 200 or 400, never 500."""
    common = "the of and to in a said that on for with korean troops russia north was by".split()
    searches = [
        " ".join(common[i % len(common)] for i in range(MAX_WORDS)),
        " ".join(common * 4)[:MAX_QUERY_CHARS],
        " ".join(["the"] * 1500),
        " ".join(f"{common[i % len(common)]}{i}" for i in range(MAX_WORDS)),
    ] * 4
    for limit in (SETTINGS["sql_time_limit_ms"], 5):
        log = tmp_path / f"server-{limit}.log"
        with real_server(database, log, sql_time_limit_ms=limit) as (url, _):
            with ThreadPoolExecutor(len(searches)) as pool:
                answers = list(
                    pool.map(
                        lambda q: httpx.get(f"{url}/-/search", params={"q": q}, timeout=60),
                        searches,
                    )
                )
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {200, 400}, (limit, statuses)
        assert all("The search" in a.text for a in answers if a.status_code == 400)
        assert_clean(log.read_text())


def test_a_costly_sql_call_is_refused_quickly_and_in_little_memory(database: Path, tmp_path: Path):
    """printf('%.*c', 300000000, 'x') ran 3.8 s and took 1.6 GB; now it is refused at once."""
    log = tmp_path / "server.log"
    with real_server(database, log) as (url, pid):
        before = peak_rss_mb(pid)
        started = time.perf_counter()
        response = httpx.get(f"{url}/facts.json", params={"sql": PRINTF}, timeout=60)
        elapsed = time.perf_counter() - started
        peak = peak_rss_mb(pid)
    assert response.status_code == 400 and response.json()["error"] == "string or blob too big"
    assert elapsed < 1.0, elapsed
    assert peak < before + 100, (before, peak)  # MB: the value was 300 MB, and 1.6 GB at peak
