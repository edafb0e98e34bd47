"""The project's pages, through Datasette's in-process client on the real database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from datasette.app import Datasette

from factdb.publishing import SETTINGS, read_metadata
from factdb.site.pages import display_answer, marked_paragraphs, passage_segments

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def ds(repo_db: Path) -> Datasette:
    return Datasette(
        [str(repo_db)],
        metadata=read_metadata(REPO),
        settings=SETTINGS,
    )


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_passage_segments_keep_sentences_around_the_quote():
    text = "Zero. One. Two. Three has the quote. Four. Five. Six."
    sentences = [{"start": m.start(), "end": m.end()} for m in re.finditer(r"\w[^.]*\.", text)]
    start = text.index("the quote")
    segments = passage_segments(text, sentences, start, start + len("the quote"))
    assert [s["text"] for s in segments] == ["One. Two. Three has ", "the quote", ". Four. Five."]
    assert [s["quote"] for s in segments] == [False, True, False]


def test_marked_paragraphs_split_overlapping_quotes():
    text = "Alpha beta gamma.\nDelta."
    paragraphs = marked_paragraphs(text, [(0, 10, "a"), (6, 16, "b"), (18, 23, "c")])
    assert paragraphs == [
        [
            {"text": "Alpha ", "claims": ["a"]},
            {"text": "beta", "claims": ["a", "b"]},
            {"text": " gamma", "claims": ["b"]},
            {"text": ".", "claims": []},
        ],
        [{"text": "Delta", "claims": ["c"]}, {"text": ".", "claims": []}],
    ]


def test_answers_read_as_people_write_them():
    assert [display_answer(a) for a in ("10000", "2000..", "200..999", "yes", None)] == [
        "10,000",
        "at least 2,000",
        "200 to 999",
        "yes",
        None,
    ]


async def test_claim_page(ds):
    response = await ds.client.get("/facts/claims/s003-blinken-8000-in-kursk")
    assert response.status_code == 200
    html = response.text
    assert "<title>Antony Blinken said 8,000" in html
    assert '<mark id="quote">with 8,000 of them stationed in the Kursk region</mark>' in html
    # the passage around it, and names rather than ids for every reference
    assert "US Secretary of State Antony Blinken recently commented" in html
    assert '<a href="/facts/entities/antony-blinken">Antony Blinken</a>' in html
    assert '<a href="/facts/topics/nk-troops-in-kursk">' in html
    assert '<a href="/facts/entities/kursk-region">Kursk region</a>' in html
    assert (
        'href="/facts/sources/s003-putin-signs-treaty-law#claim-s003-blinken-8000-in-kursk"' in html
    )
    assert "Part of Blinken" in html  # the date basis
    # every answer to the same question, with how it relates to this one
    page = text_of(html)
    # Kursk's figures change over time and their dates are too vague to order: no conflict
    assert "11,000 soldiers 1 Volodymyr Zelenskyy 1 1 unclear time" in page
    assert "10,000 soldiers 1 Matthew Miller 1 1 unclear time" in page
    assert "8,000 soldiers 1 Antony Blinken 1 1 same answer" in page
    assert '<span class="facts-badge contested">' not in html
    assert 'href="/-/dashboards/quantities?topic=nk-troops-in-kursk"' in html


async def test_claim_page_marks_agreement(ds):
    page = text_of((await ds.client.get("/facts/claims/s004-nis-3000-soldiers")).text)
    assert re.search(r"3,000 soldiers 4 [^|]*United States[^|]* 3 4 same answer corroborated", page)
    assert (
        "10,000 soldiers 2 Antony Blinken, South Korean Ministry of Defense 1 1 unclear time"
        in page
    )
    assert re.search(r"at least 2,000 soldiers 3 .* compatible corroborated", page)


async def test_source_page(ds):
    html = (await ds.client.get("/facts/sources/s004-russia-seals-partnership")).text
    assert (
        "<h1" in html
        and "Russia seals partnership with North Korea amid troop dispatch</h1>" in html
    )
    assert "34 sentences: 30 covered, 4 skipped, 0 uncovered" in html
    assert '<mark id="claim-s004-nis-3000-soldiers"' in html
    assert 'href="/facts/claims/s004-nis-3000-soldiers"' in html
    assert "Page trailer (a site section), not part of the article." in html
    assert "(not named in the text)" in html
    assert '<a href="/facts/entities/yonhap">Yonhap</a>' in html


async def test_entity_page(ds):
    html = (await ds.client.get("/facts/entities/antony-blinken")).text
    page = text_of(html)
    assert "Claims Antony Blinken makes (2)" in page
    assert re.search(r"Claims about Antony Blinken \(\d+\)", page)
    kim = text_of((await ds.client.get("/facts/entities/kim-jong-un")).text)
    assert "Kim Jong Un party to the conflict" in kim
    yonhap = text_of((await ds.client.get("/facts/entities/yonhap")).text)
    assert "Claims reported through Yonhap" in yonhap


async def test_topic_page(ds):
    html = (await ds.client.get("/facts/topics/nk-troops-in-russia")).text
    page = text_of(html)
    assert "How many North Korean troops are in Russia?" in page
    assert "9 claims give 3 different answers" in page
    assert "3,000 soldiers United States" in page and "10,000 soldiers Antony Blinken" in page
    assert "corroborated: 3 articles, 4 origins" in page  # s001 relays two origins
    # the figures change over time: not contested, but listed with why they may not conflict
    assert '<span class="facts-badge contested">' not in html
    assert "Answers that differ without conflicting" in page
    assert "too vague to order them" in page
    assert 'href="/-/dashboards/quantities?topic=nk-troops-in-russia"' in html


async def test_the_home_page_names_every_source_by_its_display_name(ds, repo_db):
    import sqlite3

    html = (await ds.client.get("/")).text
    listed = re.search(r'<ul id="sources">(.*?)</ul>', html, re.S)
    assert listed is not None
    links = dict(re.findall(r'<a href="/facts/sources/([^"]+)">([^<]+)</a>', listed.group(1)))
    with sqlite3.connect(repo_db) as db:
        names = dict(db.execute("select id, label from sources"))
    assert {k: v.replace("&#39;", "'") for k, v in links.items()} == names
    assert all(label != source_id for source_id, label in names.items())  # no slug
    assert names["s001-bta-duma-ratifies-pact"] == (
        "Untitled article: Russian MPs ratify the pact with North Korea (AFP and AP, quoted by BTA)"
    )
    page = (await ds.client.get("/facts/sources/s001-bta-duma-ratifies-pact")).text
    assert "<h1" in page and "Russian MPs ratify the pact with North Korea" in page.split("<h1")[1]


async def test_the_home_page_says_how_many_agreements_it_shows_and_links_to_all(ds, repo_db):
    import sqlite3

    html = (await ds.client.get("/")).text
    shown = re.search(r'<ul id="agreed">(.*?)</ul>', html, re.S)
    assert shown is not None
    count = len(re.findall(r"<li>", shown.group(1)))
    with sqlite3.connect(repo_db) as db:
        [(total,)] = db.execute("select count(*) from corroborations")
    assert (count, total) == (8, 16)
    said = text_of(re.search(r'<p id="agreed-count">(.*?)</p>', html, re.S).group(1))
    said = said.replace(" .", ".")  # text_of puts a space where the link ended
    assert said == (
        "The 8 answers the most independent origins give, of 16 that more than one article "
        "gives: all 16."
    )
    assert '<a href="/facts/corroborated">all 16</a>' in html
    every = (await ds.client.get("/facts/corroborated.json?_shape=array")).json()
    assert len(every) == 16


@pytest.mark.parametrize(
    "path",
    [
        "/facts/claims/s004-nis-3000-soldiers",
        "/facts/sources/s004-russia-seals-partnership",
        "/facts/entities/russia",
        "/facts/claim_entities/s004-nis-3000-soldiers,russia",
    ],
)
async def test_a_row_page_served_first_shows_the_licence(ds, path):
    """On a fresh server, before any table page (which Datasette 0.65 needed first)."""
    html = (await ds.client.get(path)).text
    footer = html[html.index("<footer") :]
    assert "Data license:" in footer
    assert '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0' in footer


async def test_home_page_leads_to_the_disagreement(ds):
    html = (await ds.client.get("/")).text
    assert 'action="/-/search"' in html
    contested = html.split('<ul id="contested">')[1].split("</ul>")[0]
    topic = "Was the State Duma&#39;s vote the final stage of ratification?"
    assert f'<a href="/facts/topics/duma-vote-final-stage">{topic}</a>' in contested
    assert '<span class="facts-reason">&#34;no&#34; (' in contested  # each conflict says why
    assert "nk-troops-in-russia" not in contested  # figures at different or vague times


async def test_one_search_box_finds_claims_sources_and_entities(ds):
    html = (await ds.client.get("/-/search?q=Kursk")).text
    page = text_of(html)
    assert re.search(r"\b8 claims\b", page) and "3 sources" in page and "1 entity" in page
    assert '<a href="/facts/claims/s003-blinken-8000-in-kursk">' in html
    assert '<a href="/facts/sources/s004-russia-seals-partnership">' not in html  # no Kursk there
    assert '<a href="/facts/entities/kursk-region">Kursk region</a>' in html
    assert "<mark>Kursk</mark>" in html


@pytest.mark.parametrize("path", ["/-/search", "/-/search?q=Kursk", "/-/search.json?q=Kursk"])
async def test_the_search_of_a_database_not_named_facts_is_not_found(
    repo_db: Path, tmp_path: Path, path: str
):
    """The search covers the database `facts serve` names facts; served under another name,
    its page answers 404 saying so (it was a 500 with a traceback on the server)."""
    other = tmp_path / "other.db"
    other.write_bytes(repo_db.read_bytes())
    response = await Datasette([str(other)], settings=SETTINGS).client.get(path)
    assert response.status_code == 404
    assert "The search covers the database named facts; none is served here." in response.text


async def test_the_search_answers_in_json_as_the_page_lists_it(ds):
    html = (await ds.client.get("/-/search?q=Kursk")).text
    assert '<a href="/-/search.json?q=Kursk">JSON</a>' in html
    response = await ds.client.get("/-/search.json?q=Kursk")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert (data["ok"], data["q"], data["limit"]) == (True, "Kursk", 20)
    counts = {kind: found["count"] for kind, found in data["results"].items()}
    assert counts == {"claims": 8, "sources": 3, "entities": 1}  # as the page says
    titles = re.findall(r'<li><a href="/facts/claims/[^"]+">([^<]+)</a>', html)
    assert [row["title"] for row in data["results"]["claims"]["rows"]] == [
        t.replace("&#39;", "'") for t in titles
    ]
    for found in data["results"].values():
        assert found["truncated"] is False
        for row in found["rows"]:
            assert row["url"] == f"http://localhost/facts/{row['kind']}/{row['id']}"
            assert row["snippet"] == "".join(segment["text"] for segment in row["segments"])
            hits = {s["text"].lower() for s in row["segments"] if s["hit"]}
            assert hits <= {"kursk"}  # a hit is the word searched (a snippet may have none)
    flat = (await ds.client.get("/-/search.json?q=Kursk&_shape=array")).json()
    assert len(flat) == 12 and [r["kind"] for r in flat[:8]] == ["claims"] * 8
    same = (await ds.client.get("/-/search?q=Kursk&_format=json")).json()
    assert same == data


async def test_a_search_matching_more_than_it_ranks_lists_its_first_matches_and_says_so(
    ds, repo_db: Path, monkeypatch
):
    """Ranking scores every match (1.2 s for a word a million claims hold): a kind with more
    than RANK_LIMIT matches lists its first ones in the order of the fact files, as the
    database holds them, and says so; the others are ranked as before."""
    import sqlite3

    from factdb.site import searching

    ranked = (await ds.client.get("/-/search.json?q=Kursk")).json()["results"]
    assert {kind: found["ranked"] for kind, found in ranked.items()} == {
        "claims": True,
        "sources": True,
        "entities": True,
    }
    monkeypatch.setattr(searching, "RANK_LIMIT", 2)  # 8 claims and 3 sources match; 1 entity
    data = (await ds.client.get("/-/search.json?q=Kursk")).json()["results"]
    assert {kind: found["ranked"] for kind, found in data.items()} == {
        "claims": False,
        "sources": False,
        "entities": True,
    }
    assert data["claims"]["count"] == 8 and data["claims"]["truncated"] is False
    db = sqlite3.connect(repo_db)
    in_files = [
        claim
        for (claim,) in db.execute(
            "select c.id from claims_fts join claims c on c.rowid = claims_fts.rowid "
            "where claims_fts match '\"kursk\"' order by c.rowid"
        )
    ]
    db.close()
    listed = [row["id"] for row in data["claims"]["rows"]]
    assert listed == in_files and sorted(listed) == sorted(
        row["id"] for row in ranked["claims"]["rows"]
    )
    assert listed != [row["id"] for row in ranked["claims"]["rows"]]  # the rank orders others
    html = (await ds.client.get("/-/search?q=Kursk")).text
    note = "Too many to rank by relevance: the first 8 in the order of the fact files."
    assert html.count(note) == 1 and html.count('class="facts-unranked"') == 2  # and 3 sources


async def test_a_search_of_one_broad_word_is_counted_from_the_vocabularies(
    repo_db: Path, monkeypatch
):
    """Over an immutable database (as `facts serve` publishes it), once the indexes'
    vocabularies are read, a search of one word that an index lists for BROAD_TERM rows or
    more is counted from its vocabulary: the same counts, without that index's count query."""
    from factdb.site import table_search

    monkeypatch.setattr(table_search, "BROAD_TERM", 3)  # 'Kursk': 8 claims, 3 sources, 1 entity
    ds = Datasette(immutables=[str(repo_db)], metadata=read_metadata(REPO), settings=SETTINGS)
    await ds.invoke_startup()
    counted = (await ds.client.get("/-/search.json?q=Kursk")).json()["results"]  # starts reading
    searches = ds.get_database("facts").execute
    for fts in ("claims_fts", "sources_fts", "entities_fts"):
        assert searches.terms[fts].result(timeout=30) is not None
    ran: list[str] = []
    run = searches.run

    async def noted(sql: str, *args, **kwargs):
        ran.append(sql)
        return await run(sql, *args, **kwargs)

    monkeypatch.setattr(searches, "run", noted)
    again = (await ds.client.get("/-/search.json?q=kursk")).json()["results"]
    assert (
        {kind: found["count"] for kind, found in again.items()}
        == {kind: found["count"] for kind, found in counted.items()}
        == {"claims": 8, "sources": 3, "entities": 1}
    )
    assert [sql.split(" where ")[0] for sql in ran if sql.startswith("select count(*)")] == [
        "select count(*) as n from entities_fts"  # 1 entity: not a broad word, counted
    ]
    assert again["claims"]["rows"] == counted["claims"]["rows"]


async def test_a_refused_search_in_json_is_a_400_with_its_message(ds):
    empty = await ds.client.get("/-/search.json", params={"q": '"'})
    assert empty.status_code == 400
    assert empty.json() == {
        "ok": False,
        "error": "The search has no words to look for: type at least one.",
        "status": 400,
    }
    shape = await ds.client.get("/-/search.json?q=Kursk&_shape=arrays")
    assert shape.status_code == 400
    assert shape.json()["error"] == "_shape must be one of objects, array, not 'arrays'"


@pytest.mark.parametrize(
    "table, row, noun, csv",
    [
        ("claims", "s004-nis-3000-soldiers", "claim", True),
        ("sources", "s004-russia-seals-partnership", "source", False),
        ("entities", "russia", "entity", False),
        ("topics", "nk-troops-in-russia", "topic", False),
        ("events", "duma-ratifies-treaty", "event", False),
    ],
)
async def test_each_row_page_links_its_data(ds, table, row, noun, csv):
    html = (await ds.client.get(f"/facts/{table}/{row}")).text
    links = re.search(r'<p class="facts-data" id="data-links">This (\w+) as data: (.*?)</p>', html)
    assert links is not None and links.group(1) == noun
    hrefs = re.findall(r'href="([^"]+)"', links.group(2))
    expected = [f"/facts/{table}/{row}.json?_shape=objects"]
    assert hrefs == expected + ([f"/facts/{table}/{row}.csv"] if csv else [])
    for href in hrefs:
        response = await ds.client.get(href)
        assert response.status_code == 200, href
        if href.endswith("objects"):
            assert response.json()["rows"][0]["id"] == row
        else:
            assert response.text.splitlines()[1].startswith(row + ",")


async def test_search_with_fts_syntax_is_taken_literally(ds):
    for q in ('"unbalanced', "Kursk OR", "NEAR(", "*", "-"):
        response = await ds.client.get("/-/search", params={"q": q})
        assert response.status_code == 200, q


async def test_search_box_on_the_claims_table(ds):
    html = (await ds.client.get("/facts/claims?_search=Kursk")).text
    assert 'name="_search"' in html and "8 rows" in html


async def test_dashboards_render_their_chart_definitions(ds):
    response = await ds.client.get("/-/dashboards/quantities?topic=nk-troops-in-russia")
    assert response.status_code == 200
    assert "Numbers over time, by claimant" in response.text
    assert "vega-lite.min.js" in response.text
    timeline = await ds.client.get("/-/dashboards/timeline")
    assert timeline.status_code == 200 and "Timeline of events" in timeline.text


async def test_chart_query_returns_the_troop_estimates(ds):
    sql = read_metadata(REPO)["plugins"]["datasette-dashboards"]["quantities"]["charts"][
        "values-by-date"
    ]["query"]
    response = await ds.client.get(
        "/facts.json", params={"sql": sql, "topic": "nk-troops-in-russia", "_shape": "objects"}
    )
    assert response.status_code == 200
    values = {row["value"] for row in response.json()["rows"]}
    assert values == {3000, 10000}


async def test_map_of_places(ds):
    html = (await ds.client.get("/facts/places")).text
    assert "datasette-cluster-map" in html or "cluster-map" in html
    rows = (await ds.client.get("/facts/places.json?_shape=objects&_size=max")).json()["rows"]
    kursk = [r for r in rows if r["id"] == "kursk-region"]
    assert kursk and kursk[0]["claims"] > 0 and kursk[0]["latitude"]


@pytest.mark.parametrize(
    "path",
    [
        "/facts/claims/s003-blinken-8000-in-kursk",
        "/facts/sources/s004-russia-seals-partnership",
        "/facts/entities/antony-blinken",
        "/facts/topics/nk-troops-in-russia",
        "/facts/claims",
        "/facts/conflicts",
        "/facts/corroborations",
        "/facts/coverage",
        "/facts/places",
        "/facts/timeline",
        "/facts/conflicts_side_by_side",
        "/facts/corroborated",
        "/facts/who_said_what?topic=nk-troops-in-russia",
        "/facts/claims_about_entity?entity=antony-blinken",
        "/facts/curator_checks",
    ],
)
async def test_json_and_csv_exports(ds, path):
    base, _, query = path.partition("?")
    for ext in (".json", ".csv"):
        response = await ds.client.get(f"{base}{ext}" + (f"?{query}" if query else ""))
        assert response.status_code == 200, (path, ext)
        if ext == ".json":
            assert response.json()["rows"]
        else:
            assert len(response.text.splitlines()) >= 2
