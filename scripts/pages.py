"""The Datasette plugin behind the project's pages: claim, source, entity, topic and home.

Each page's data is gathered here with parameterised SQL and handed to the templates in
templates/ as plain values. Stored text is never marked safe: highlighting is passed as a list
of (text, claim ids) segments that the template escapes like everything else.
"""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl
from datasette.utils import escape_fts, urlsafe_components
from datasette.utils.asgi import Response

DATABASE = "facts"
CONTEXT_SENTENCES = 2  # sentences shown before and after a quote

CLAIM_SQL = """
select c.*, coalesce(e.name, 'The article itself') as claimant_name,
  coalesce(e.party_to_conflict, 0) as claimant_is_party,
  s.label as source_label, s.publisher as source_publisher, s.published as source_published,
  s.text as source_text, t.question as topic_question, t.kind as topic_kind
from claims c
join sources s on s.id = c.source
left join entities e on e.id = c.claimant
left join topics t on t.id = c.topic
where c.id = :id
"""
CLAIM_LIST_SQL = """
select c.id, c.statement, c.date, c.date_start, c.answer_key, c.unit, c.assertion, c.source,
  s.label as source_label, c.claimant, coalesce(e.name, 'The article itself') as claimant_name,
  coalesce(e.party_to_conflict, 0) as claimant_is_party
from claims c
join sources s on s.id = c.source
left join entities e on e.id = c.claimant
"""


async def _rows(datasette: Any, sql: str, params: dict) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    rows = [dict(row) for row in result.rows]
    for row in rows:
        if "answer_key" in row:
            row["answer_display"] = display_answer(row["answer_key"])
    return rows


def display_answer(answer_key: str | None) -> str | None:
    """An answer as people read it: 10000 as 10,000, a range 2000.. as 'at least 2,000'."""
    if answer_key is None:
        return None
    low, dots, high = answer_key.partition("..")

    def number(text: str) -> str | None:
        try:
            return f"{float(text):,g}"
        except ValueError:
            return None

    if not dots:
        return number(answer_key) or answer_key
    if number(low) and number(high):
        return f"{number(low)} to {number(high)}"
    if number(low):
        return f"at least {number(low)}"
    if number(high):
        return f"at most {number(high)}"
    return answer_key


def _row_id(request: Any) -> str | None:
    pks = request.url_vars.get("pks") if request else None
    return urlsafe_components(pks)[0] if pks else None


def passage_segments(text: str, sentences: list[dict], start: int, end: int) -> list[dict]:
    """The quote in its passage: a few sentences before and after, the quote marked."""
    inside = [i for i, s in enumerate(sentences) if s["start"] < end and start < s["end"]]
    if not inside:
        return [{"text": text[start:end], "quote": True}]
    first = sentences[max(inside[0] - CONTEXT_SENTENCES, 0)]["start"]
    last = sentences[min(inside[-1] + CONTEXT_SENTENCES, len(sentences) - 1)]["end"]
    return [
        {"text": text[first:start], "quote": False},
        {"text": text[start:end], "quote": True},
        {"text": text[end:last], "quote": False},
    ]


def marked_paragraphs(text: str, spans: list[tuple[int, int, str]]) -> list[list[dict]]:
    """The full text as paragraphs of segments, each with the ids of the claims quoting it."""
    cuts = {0, len(text)}
    for start, end, _ in spans:
        cuts |= {start, end}
    cuts |= {i for i, ch in enumerate(text) if ch == "\n"} | {
        i + 1 for i, ch in enumerate(text) if ch == "\n"
    }
    points = sorted(c for c in cuts if 0 <= c <= len(text))
    paragraphs: list[list[dict]] = [[]]
    for a, b in zip(points, points[1:], strict=False):
        piece = text[a:b]
        if piece == "\n":
            paragraphs.append([])
            continue
        claims = sorted({cid for s, e, cid in spans if s <= a and b <= e})
        paragraphs[-1].append({"text": piece, "claims": claims})
    return [p for p in paragraphs if any(seg["text"].strip() for seg in p)]


async def claim_page(datasette: Any, claim_id: str) -> dict | None:
    rows = await _rows(datasette, CLAIM_SQL, {"id": claim_id})
    if not rows:
        return None
    claim = rows[0]
    text = claim.pop("source_text") or ""
    sentences = await _rows(
        datasette,
        "select start, end from sentences where source_id = :s order by position",
        {"s": claim["source"]},
    )
    passage = []
    if claim["quote_start"] is not None:
        passage = passage_segments(text, sentences, claim["quote_start"], claim["quote_end"])
    entities = await _rows(
        datasette,
        "select e.id, e.name, e.kind from claim_entities ce join entities e on e.id = ce.entity_id "
        "where ce.claim_id = :id order by e.name",
        {"id": claim_id},
    )
    via = await _rows(
        datasette,
        "select e.id, e.name from claim_via v join entities e on e.id = v.entity_id "
        "where v.claim_id = :id order by v.position",
        {"id": claim_id},
    )
    related: list[dict] = []
    if claim["topic"]:
        conflicting = {
            r["other"]
            for r in await _rows(
                datasette,
                "select case when claim_a = :id then claim_b else claim_a end as other "
                "from conflicts where claim_a = :id or claim_b = :id",
                {"id": claim_id},
            )
        }
        related = await _rows(
            datasette,
            CLAIM_LIST_SQL + " where c.topic = :topic and c.id != :id order by c.date_start, c.id",
            {"topic": claim["topic"], "id": claim_id},
        )
        for other in related:
            if other["id"] in conflicting:
                other["relation"] = "disagrees"
            elif other["answer_key"] is not None and other["answer_key"] == claim["answer_key"]:
                other["relation"] = "agrees"
            else:
                other["relation"] = "compatible"
    return {"claim": claim, "passage": passage, "entities": entities, "via": via,
            "related": related}  # fmt: skip


async def source_page(datasette: Any, source_id: str) -> dict | None:
    rows = await _rows(datasette, "select * from sources where id = :id", {"id": source_id})
    if not rows:
        return None
    source = rows[0]
    claims = await _rows(
        datasette,
        "select id, statement, quote_start, quote_end from claims "
        "where source = :id and quote_start is not null order by quote_start, id",
        {"id": source_id},
    )
    spans = [(c["quote_start"], c["quote_end"], c["id"]) for c in claims]
    coverage = await _rows(
        datasette, "select * from coverage where source = :id", {"id": source_id}
    )
    skipped = await _rows(
        datasette,
        "select line, text, reason from sentences where source_id = :id and status = 'skipped' "
        "order by position",
        {"id": source_id},
    )
    uncovered = await _rows(
        datasette,
        "select line, text from sentences where source_id = :id and status = 'uncovered' "
        "order by position",
        {"id": source_id},
    )
    reports_from = await _rows(
        datasette,
        "select e.id, e.name from source_reports_from r join entities e on e.id = r.entity_id "
        "where r.source_id = :id order by e.name",
        {"id": source_id},
    )
    return {
        "source": source,
        "paragraphs": marked_paragraphs(source.pop("text") or "", spans),
        "claims": {c["id"]: c["statement"] for c in claims},
        "claim_numbers": {c["id"]: n for n, c in enumerate(claims, start=1)},
        "coverage": coverage[0] if coverage else None,
        "skipped": skipped,
        "uncovered": uncovered,
        "reports_from": reports_from,
    }


async def entity_page(datasette: Any, entity_id: str) -> dict | None:
    rows = await _rows(datasette, "select * from entities where id = :id", {"id": entity_id})
    if not rows:
        return None
    entity = rows[0]
    entity["aliases"] = json.loads(entity["aliases"] or "[]")
    order = " order by c.date_start is null, c.date_start, c.id"
    asserts = await _rows(datasette, CLAIM_LIST_SQL + " where c.claimant = :id" + order,
                          {"id": entity_id})  # fmt: skip
    about = await _rows(
        datasette,
        CLAIM_LIST_SQL
        + " where c.id in (select claim_id from claim_entities where entity_id = :id)"
        + order,
        {"id": entity_id},
    )
    relayed = await _rows(
        datasette,
        CLAIM_LIST_SQL + " where c.id in (select claim_id from claim_via where entity_id = :id)"
        + order,
        {"id": entity_id},
    )  # fmt: skip
    return {"entity": entity, "asserts": asserts, "about": about, "relayed": relayed}


async def topic_page(datasette: Any, topic_id: str) -> dict | None:
    rows = await _rows(datasette, "select * from topics where id = :id", {"id": topic_id})
    if not rows:
        return None
    answers = await _rows(
        datasette,
        CLAIM_LIST_SQL + " where c.topic = :id order by c.date_start is null, c.date_start, c.id",
        {"id": topic_id},
    )
    corroborated = {
        r["answer"]: r
        for r in await _rows(
            datasette, "select * from corroborations where topic = :id", {"id": topic_id}
        )
    }
    contested = {
        r["claim"]
        for r in await _rows(
            datasette,
            "select claim_a as claim from conflicts where topic = :id "
            "union select claim_b from conflicts where topic = :id",
            {"id": topic_id},
        )
    }
    for answer in answers:
        agreement = corroborated.get(answer["answer_key"])
        answer["corroboration"] = agreement
        answer["contested"] = answer["id"] in contested
    distinct = sorted({a["answer_key"] for a in answers if a["answer_key"] is not None})
    return {"topic": rows[0], "answers": answers, "distinct_answers": distinct}


async def home_page(datasette: Any) -> dict:
    contested = await _rows(
        datasette,
        "select t.id, t.question, t.kind, count(c.id) as claims, "
        "count(distinct c.answer_key) as answers from contested_topics ct "
        "join topics t on t.id = ct.topic join claims c on c.topic = t.id "
        "group by t.id order by t.kind = 'quantity' desc, claims desc, t.id",
        {},
    )
    agreed = await _rows(
        datasette,
        "select topic, question, answer, articles, independent_origins from corroborations "
        "order by independent_origins desc, articles desc, topic limit 8",
        {},
    )
    for row in agreed:
        row["answer_display"] = display_answer(row["answer"])
    counts = (
        await _rows(
            datasette,
            "select (select count(*) from claims) as claims, "
            "(select count(*) from sources) as sources, "
            "(select count(*) from entities) as entities, "
            "(select count(*) from topics) as topics",
            {},
        )
    )[0]
    return {"contested": contested, "agreed": agreed, "counts": counts}


SEARCHES = {
    # kind: (SQL over the FTS table and its table, a snippet of the best-matching column)
    "claims": (
        "select c.id, c.statement as title, snippet(claims_fts, 1, char(2), char(3), '…', 24) "
        "as snippet from claims_fts join claims c on c.rowid = claims_fts.rowid "
        "where claims_fts match :q order by rank limit :limit"
    ),
    "sources": (
        "select s.id, s.label as title, snippet(sources_fts, -1, char(2), char(3), '…', 24) "
        "as snippet from sources_fts join sources s on s.rowid = sources_fts.rowid "
        "where sources_fts match :q order by rank limit :limit"
    ),
    "entities": (
        "select e.id, e.name as title, snippet(entities_fts, 2, char(2), char(3), '…', 24) "
        "as snippet from entities_fts join entities e on e.rowid = entities_fts.rowid "
        "where entities_fts match :q order by rank limit :limit"
    ),
}
SEARCH_LIMIT = 20


def snippet_segments(snippet: str) -> list[dict]:
    """An FTS5 snippet, hits between \\x02 and \\x03, as segments the template escapes."""
    segments = []
    for index, piece in enumerate(snippet.replace("\x03", "\x02").split("\x02")):
        if piece:
            segments.append({"text": piece, "hit": index % 2 == 1})
    return segments


async def search(datasette: Any, q: str) -> dict[str, dict]:
    """Claims, sources and entities matching a query, each with a highlighted snippet."""
    results: dict[str, dict] = {}
    query = escape_fts(q)
    for kind, sql in SEARCHES.items():
        table = f"{kind}_fts"
        count = await _rows(
            datasette, f"select count(*) as n from {table} where {table} match :q", {"q": query}
        )
        rows = await _rows(datasette, sql, {"q": query, "limit": SEARCH_LIMIT})
        for row in rows:
            row["segments"] = snippet_segments(row.pop("snippet") or "")
        results[kind] = {"count": count[0]["n"], "rows": rows}
    return results


async def search_view(datasette: Any, request: Any) -> Response:
    """/-/search?q=...: one search box over claims, sources and entities."""
    q = (request.args.get("q") or "").strip()
    results = await search(datasette, q) if q else {}
    html = await datasette.render_template(
        "search.html", {"q": q, "results": results, "limit": SEARCH_LIMIT}, request=request
    )
    return Response.html(html)


@hookimpl
def register_routes():
    return [(r"^/-/search$", search_view)]


PAGES = {"claims": claim_page, "sources": source_page, "entities": entity_page,
         "topics": topic_page}  # fmt: skip


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    """Hand each of our pages its data: the row pages of the four tables, and the home page."""

    async def row_vars() -> dict:
        row_id = _row_id(request)
        page = await PAGES[table](datasette, row_id) if row_id else None
        return {"page": page}

    async def home_vars() -> dict:
        if DATABASE not in datasette.databases:
            return {}
        return {"home": await home_page(datasette)}

    if view_name == "row" and database == DATABASE and table in PAGES:
        return row_vars
    if view_name == "index":
        return home_vars
    return {}
