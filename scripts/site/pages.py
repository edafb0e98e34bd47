"""The Datasette plugin behind the project's pages: claim, source, entity, topic, event and home.

Each page's data is gathered here with parameterised SQL and handed to the templates in
templates/ as plain values. Stored text is never marked safe: highlighting is passed as a list
of (text, claim ids) segments that the template escapes like everything else.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from datasette import hookimpl
from datasette.utils import urlsafe_components
from datasette.utils.asgi import Response

from factdb.site.dated import claim_dating, event_page, source_dating, topic_over_time
from factdb.site.limits import bound_calls
from factdb.site.searching import open_fts_tables, search_view

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

DATABASE = "facts"
CONTEXT_SENTENCES = 2  # sentences shown before and after a quote
LIST_LIMIT = 100  # longest list of claims or answers a page shows; the rest are a link away

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
    answers = await topic_answers(datasette, claim["topic"], claim["answer_key"])
    return {
        "claim": claim,
        "passage": passage,
        "entities": entities,
        "via": via,
        "answers": answers,
        "dating": await claim_dating(datasette, claim),
    }


async def topic_answers(datasette: Any, topic: str | None, answer: str | None) -> list[dict]:
    """The distinct answers to a topic, and how each relates to one answer (if given)."""
    if not topic:
        return []
    rows = await _rows(
        datasette,
        "select a.*, a.answer as answer_key from answers a where a.topic = :topic "
        "order by a.claims desc, a.answer limit :limit",
        {"topic": topic, "limit": LIST_LIMIT},
    )
    relations: dict[str, str] = {}
    if answer is not None:
        relations = {
            r["other"]: r["relation"]
            for r in await _rows(
                datasette,
                "select case when answer_a = :answer then answer_b else answer_a end as other, "
                "relation from comparisons where topic = :topic "
                "and (answer_a = :answer or answer_b = :answer)",
                {"topic": topic, "answer": answer},
            )
        }
    contested = {
        r["answer"]
        for r in await _rows(
            datasette,
            "select answer_a as answer from conflicts where topic = :topic "
            "union select answer_b from conflicts where topic = :topic",
            {"topic": topic},
        )
    }
    for row in rows:
        row["claimant_names"] = json.loads(row["claimants"])
        row["contested"] = row["answer"] in contested
        if answer is not None:
            if row["answer"] == answer:
                row["relation"] = "same answer"
            else:
                row["relation"] = RELATION_WORDS[relations.get(row["answer"], "compatible")]
    return rows


# How an answer relates to another (comparisons.relation), as a claim's page says it.
RELATION_WORDS = {
    "conflict": "disagrees",
    "unclear-time": "unclear time",
    "update": "update",
    "close": "close",
    "compatible": "compatible",
}
COMPARISONS_SQL = """
select answer_a, answer_b, relation, reason from comparisons
where topic = :topic and relation != 'compatible'
order by case relation when 'conflict' then 0 when 'unclear-time' then 1 when 'update' then 2
  else 3 end, answer_a, answer_b
limit :limit
"""


async def topic_comparisons(datasette: Any, topic: str) -> dict[str, list[dict]]:
    """A topic's pairs of answers that conflict, and those that are updates, close or unclear
    in time, each with its reason (compatible pairs are left out)."""
    rows = await _rows(datasette, COMPARISONS_SQL, {"topic": topic, "limit": LIST_LIMIT})
    for row in rows:
        row["relation_words"] = RELATION_WORDS[row["relation"]]
    return {
        "conflicts": [row for row in rows if row["relation"] == "conflict"],
        "related": [row for row in rows if row["relation"] != "conflict"],
    }


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
        "dating": await source_dating(datasette, source),
    }


async def entity_page(datasette: Any, entity_id: str) -> dict | None:
    rows = await _rows(datasette, "select * from entities where id = :id", {"id": entity_id})
    if not rows:
        return None
    entity = rows[0]
    entity["aliases"] = json.loads(entity["aliases"] or "[]")
    order = " order by c.sort_key limit :limit"
    params = {"id": entity_id, "limit": LIST_LIMIT}
    asserts = await _rows(datasette, CLAIM_LIST_SQL + " where c.claimant = :id" + order, params)
    about = await _rows(
        datasette,
        CLAIM_LIST_SQL
        + " where c.id in (select claim_id from claim_entities where entity_id = :id)"
        + order,
        params,
    )
    relayed = await _rows(
        datasette,
        CLAIM_LIST_SQL
        + " where c.id in (select claim_id from claim_via where entity_id = :id)"
        + order,
        params,
    )
    counts = (
        await _rows(
            datasette,
            "select (select count(*) from claims where claimant = :id) as asserts, "
            "(select count(*) from claim_entities where entity_id = :id) as about, "
            "(select count(*) from claim_via where entity_id = :id) as relayed",
            {"id": entity_id},
        )
    )[0]
    return {
        "entity": entity,
        "asserts": asserts,
        "about": about,
        "relayed": relayed,
        "counts": counts,
        "limit": LIST_LIMIT,
    }


async def topic_page(datasette: Any, topic_id: str) -> dict | None:
    rows = await _rows(datasette, "select * from topics where id = :id", {"id": topic_id})
    if not rows:
        return None
    answers = await topic_answers(datasette, topic_id, None)
    claims = await _rows(
        datasette,
        CLAIM_LIST_SQL + " where c.topic = :id order by c.sort_key limit :limit",
        {"id": topic_id, "limit": LIST_LIMIT},
    )
    total = (
        await _rows(
            datasette, "select count(*) as n from claims where topic = :id", {"id": topic_id}
        )
    )[0]["n"]
    by_answer = {a["answer"]: a for a in answers}
    for claim in claims:
        claim["answer_row"] = by_answer.get(claim["answer_key"])
    return {
        "topic": rows[0],
        "answers": answers,
        "comparisons": await topic_comparisons(datasette, topic_id),
        "claims": claims,
        "total": total,
        "limit": LIST_LIMIT,
        "over_time": await topic_over_time(datasette, rows[0]),
    }


HOME_REASONS = 3  # conflicts the home page explains under each contested topic
HOME_REASONS_SQL = """
select topic, reason from (
  select topic, reason, row_number() over (partition by topic order by answer_a, answer_b) as n
  from conflicts where topic in (select value from json_each(:topics))
) where n <= :each
"""


async def home_page(datasette: Any) -> dict:
    contested = await _rows(
        datasette,
        "select topic as id, question, kind, claims, answers, conflicting_pairs "
        "from contested_topics order by kind = 'quantity' desc, claims desc, topic limit :limit",
        {"limit": 20},
    )
    topics = json.dumps([row["id"] for row in contested])
    reasons = await _rows(datasette, HOME_REASONS_SQL, {"topics": topics, "each": HOME_REASONS})
    for row in contested:
        row["reasons"] = [r["reason"] for r in reasons if r["topic"] == row["id"]]
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
            "(select count(*) from topics) as topics, "
            "(select count(*) from corroborations) as corroborations",
            {},
        )
    )[0]
    sources = await _rows(
        datasette,
        "select id, label, published from sources order by published, label limit :limit",
        {"limit": HOME_SOURCES},
    )
    return {"contested": contested, "agreed": agreed, "counts": counts, "sources": sources}


HOME_SOURCES = 50  # sources the home page names; the rest are in the sources table


MMAP_SIZE = 1 << 30  # bytes of an immutable database read through memory-mapped I/O


@hookimpl
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Datasette) -> None:
    """Every connection bounds what one SQL function call may cost (`factdb.site.limits`),
    and makes its full-text tables outside any time limit (`searching.open_fts_tables`).
    Immutable databases (as `facts serve` publishes them) are read through memory-mapped
    I/O, with no read() per page: at 100,000 claims a search's row lookups take half the
    time. A database that can change keeps SQLite's default (a file cut short under a map
    would stop the server)."""
    bound_calls(conn)
    open_fts_tables(conn)
    db = datasette.databases.get(database)
    if db is not None and not db.is_mutable and not db.is_memory:
        conn.execute(f"PRAGMA mmap_size={MMAP_SIZE}")


@hookimpl
def register_routes() -> list[tuple[str, Callable[[Datasette, Request], Awaitable[Response]]]]:
    return [(r"^/-/search(\.(?P<format>json))?$", search_view)]


PAGES = {
    "claims": claim_page,
    "sources": source_page,
    "entities": entity_page,
    "topics": topic_page,
    "events": event_page,
}


def hidden_columns(datasette: Datasette, table: str, request: Request) -> list[str]:
    """The columns a table page leaves out until the reader picks (`_col`, `_nocol`) or asks for
    every one (`_all_columns`): those not in the table's `shown_columns` (metadata.yml, plugins:
    facts). The page still holds them, and JSON and CSV are untouched."""
    config = datasette.plugin_config("facts", database=DATABASE, table=table) or {}
    shown = config.get("shown_columns")
    chosen = any(key in request.args for key in ("_col", "_nocol", "_all_columns"))
    if not shown or chosen:
        return []
    tables = (datasette.metadata("databases") or {}).get(DATABASE, {}).get("tables", {})
    described = tables.get(table, {}).get("columns", {})
    return [column for column in described if column not in shown]


INHERITED = ("license", "license_url", "source", "source_url")  # the footer's, from metadata.yml


def row_metadata(datasette: Datasette, database: str, table: str) -> dict[str, Any]:
    """A row page's metadata: its table's, with the licence and source its table inherits from
    the database or the instance (Datasette 0.65 gives a row page its table's own metadata only,
    so its footer had no licence line until the table's page had once been served)."""
    tables = (datasette.metadata("databases") or {}).get(database, {}).get("tables", {})
    own = dict(tables.get(table, {}))
    for key in INHERITED:
        value = datasette.metadata(key, database=database, table=table)
        if value and key not in own:
            own[key] = value
    return own


@hookimpl
def extra_template_vars(
    template: str,
    database: str | None,
    table: str | None,
    view_name: str,
    request: Request | None,
    datasette: Datasette,
) -> Callable[[], Awaitable[dict[str, Any]]] | dict[str, Any]:
    """Hand each of our pages its data: every row page its inherited licence, the row pages of
    the five tables their page, and the home page its lists."""

    page_for = PAGES.get(table) if table is not None else None

    async def row_vars() -> dict[str, Any]:
        row_id = _row_id(request)
        page = await page_for(datasette, row_id) if row_id and page_for else None
        return {"page": page, "metadata": row_metadata(datasette, DATABASE, table or "")}

    async def home_vars() -> dict[str, Any]:
        if DATABASE not in datasette.databases:
            return {}
        return {"home": await home_page(datasette)}

    if view_name == "row" and database == DATABASE:
        return row_vars
    if view_name == "table" and database == DATABASE and request is not None:
        return {"hidden_columns": hidden_columns(datasette, table or "", request)}
    if view_name == "index":
        return home_vars
    return {}
