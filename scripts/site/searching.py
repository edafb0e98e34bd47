"""The search page, /-/search?q=...: one box over claims, sources and entities, at a bounded cost.

A query is read as words and "quoted phrases" (`search_terms`); each is matched as an FTS5 phrase,
all of them required, and one repeated (in any case) is searched once. Nothing a reader types is
FTS5 syntax, so no query is malformed: an unbalanced quote closes at the end, and a query of
quotes and spaces alone has no words and is refused.

**Bounds.** The cost of ranking and of each snippet grows with the square of the phrases: 1,000
words took 0.9 s, 5,000 words 20 s, and one snippet() call, which Datasette's time limit cannot
stop (it is checked between SQLite's steps), took 9 s for 1,000 repeats of "the" in a 5 KB
article. A query is refused with a 400 and a message over `MAX_QUERY_CHARS` characters or
`MAX_WORDS` words; each of the page's six queries runs under Datasette's `sql_time_limit_ms`, and
one stopped by it answers 400 saying so (never a 500).

**Ranking.** Each kind's matches are ranked by relevance (FTS5's `rank`, bm25), which scores
every match: 1.2 s for a word that all of a million claims hold, past the time limit. A kind
with more than `RANK_LIMIT` matches (100,000: about 120 ms of ranking) lists its first matches in
the order of the fact files instead, and the page says so (`"ranked": false` in JSON). A search
of one plain word that many rows hold is counted from the index's vocabulary where the database
is immutable (`table_search.word_rows`): at 1M claims such a search 40-70 -> 25-49 ms.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from typing import Any

from datasette.database import QueryInterrupted
from datasette.utils import escape_sqlite
from datasette.utils.asgi import NotFound, Response

from factdb.site.table_search import word_rows

DATABASE = "facts"
MAX_QUERY_CHARS = 1_000  # characters of a query
MAX_WORDS = 64  # words of a query
SEARCH_LIMIT = 20  # results shown of each kind
RANK_LIMIT = 100_000  # matches of a kind ranked by relevance; beyond, listed in the files' order
SEARCHES = {
    # kind: (SQL over the FTS table and its table, a snippet of the best-matching column)
    "claims": (
        "select c.id, c.statement as title, snippet(claims_fts, 1, char(2), char(3), '…', 24) "
        "as snippet from claims_fts join claims c on c.rowid = claims_fts.rowid "
        "where claims_fts match :q order by {order} limit :limit"
    ),
    "sources": (
        "select s.id, s.label as title, snippet(sources_fts, -1, char(2), char(3), '…', 24) "
        "as snippet from sources_fts join sources s on s.rowid = sources_fts.rowid "
        "where sources_fts match :q order by {order} limit :limit"
    ),
    "entities": (
        "select e.id, e.name as title, snippet(entities_fts, 2, char(2), char(3), '…', 24) "
        "as snippet from entities_fts join entities e on e.rowid = entities_fts.rowid "
        "where entities_fts match :q order by {order} limit :limit"
    ),
}
_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')  # a "quoted phrase" (closed or not), or a word


def open_fts_tables(conn: sqlite3.Connection) -> None:
    """Make each virtual table (the full-text indexes) of a new connection, outside any time
    limit. A connection makes one when it first uses it, reading its configuration: under a
    query's time limit an interruption then fails as "vtable constructor failed", which
    Datasette does not see as a time limit (a 500 where concurrent searches were slow)."""
    tables = conn.execute(
        "select name from sqlite_master where type = 'table' and sql like 'create virtual table%'"
    ).fetchall()
    for (name,) in tables:
        try:
            conn.execute(f"select * from {escape_sqlite(name)} where 0").fetchall()
        except sqlite3.Error:  # e.g. a module this SQLite lacks: its queries will say so
            continue


class SearchRefused(Exception):
    """A search the page will not run: its message says why, and what to do."""


def _plain(q: str) -> str:
    """The query with control characters (NUL, line breaks) read as spaces."""
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in q)


def search_terms(q: str) -> list[str]:
    """The phrases of a query, each once (case aside): "quoted" ones, and single words."""
    phrases: dict[str, str] = {}
    for quoted, word in _TERM.findall(_plain(q)):
        phrase = " ".join((quoted or word).split())
        if phrase:
            phrases.setdefault(phrase.casefold(), phrase)
    return list(phrases.values())


def fts_query(phrases: list[str]) -> str:
    """An FTS5 query requiring every phrase (none holds a double quote)."""
    return " ".join(f'"{phrase}"' for phrase in phrases)


def checked_terms(q: str) -> list[str]:
    """The query's phrases, or why it is not searched."""
    if len(q) > MAX_QUERY_CHARS:
        raise SearchRefused(
            f"The search is {len(q):,} characters long; at most {MAX_QUERY_CHARS:,} are "
            "searched: shorten it."
        )
    words = len(_plain(q).replace('"', " ").split())
    if words > MAX_WORDS:
        raise SearchRefused(
            f"The search has {words:,} words; at most {MAX_WORDS} are searched: use fewer."
        )
    phrases = search_terms(q)
    if not phrases:
        raise SearchRefused("The search has no words to look for: type at least one.")
    return phrases


def snippet_segments(snippet: str) -> list[dict]:
    """An FTS5 snippet, hits between \\x02 and \\x03, as segments the template escapes."""
    segments = []
    for index, piece in enumerate(snippet.replace("\x03", "\x02").split("\x02")):
        if piece:
            segments.append({"text": piece, "hit": index % 2 == 1})
    return segments


async def _rows(datasette: Any, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(row) for row in result.rows]


async def search(datasette: Any, phrases: list[str]) -> dict[str, dict]:
    """Claims, sources and entities matching every phrase, each with a highlighted snippet."""
    results: dict[str, dict] = {}
    query = fts_query(phrases)
    db = datasette.get_database(DATABASE)
    try:
        for kind, sql in SEARCHES.items():
            table = f"{kind}_fts"
            matched = word_rows(db, table, phrases)
            if matched is None:  # not a broad word the index's vocabulary holds: counted
                counted = f"select count(*) as n from {table} where {table} match :q"
                matched = (await _rows(datasette, counted, {"q": query}))[0]["n"]
            ranked = matched <= RANK_LIMIT
            order = "rank" if ranked else f"{table}.rowid"  # the first ones found: no sort
            rows = await _rows(
                datasette, sql.format(order=order), {"q": query, "limit": SEARCH_LIMIT}
            )
            for row in rows:
                row["segments"] = snippet_segments(row.pop("snippet") or "")
            results[kind] = {"count": matched, "rows": rows, "ranked": ranked}
    except QueryInterrupted:
        limit = datasette.setting("sql_time_limit_ms")
        raise SearchRefused(
            f"The search took longer than the time limit ({limit:,} ms) and was stopped: "
            "search for fewer or rarer words."
        ) from None
    return results


SHAPES = ("objects", "array")  # `_shape` of /-/search.json: results by kind, or one list


async def search_view(datasette: Any, request: Any) -> Response:
    """/-/search?q=...: one search box over claims, sources and entities; /-/search.json (or
    `_format=json`) answers the same as data."""
    if DATABASE not in datasette.databases:  # `facts serve` names it so; another name: no search
        raise NotFound(f"The search covers the database named {DATABASE}; none is served here.")
    q = (request.args.get("q") or "").strip()
    as_json = request.url_vars.get("format") == "json" or request.args.get("_format") == "json"
    context: dict[str, Any] = {"q": q[:MAX_QUERY_CHARS], "results": {}, "limit": SEARCH_LIMIT}
    status = 200
    shape = request.args.get("_shape") or "objects"
    if as_json and shape not in SHAPES:
        message = f"_shape must be one of {', '.join(SHAPES)}, not {shape!r}"
        return Response.json({"ok": False, "error": message, "status": 400}, status=400)
    if q:
        try:
            phrases = checked_terms(q)
            context["results"] = await search(datasette, phrases)
            context["search"] = fts_query(phrases)
        except SearchRefused as refused:
            context["error"], status = str(refused), 400
    if as_json:
        return Response.json(search_data(datasette, request, context, shape), status=status)
    html = await datasette.render_template("search.html", context, request=request)
    return Response.html(html, status=status)


def search_data(datasette: Any, request: Any, context: dict[str, Any], shape: str) -> Any:
    """The search as JSON: each result's kind, id, title, url, snippet (its text) and segments
    (the snippet's pieces, `hit` where a searched word matched); by kind with the count of all
    matches, whether more matched than the `limit` listed and whether they are ranked by
    relevance (see RANK_LIMIT), or (`_shape=array`) one list."""
    if "error" in context:
        return {"ok": False, "error": context["error"], "status": 400}
    results: dict[str, Any] = {}
    for kind, found in context["results"].items():
        rows = [
            {
                "kind": kind,
                "id": row["id"],
                "title": row["title"],
                "url": datasette.absolute_url(
                    request, datasette.urls.row(DATABASE, kind, row["id"])
                ),
                "snippet": "".join(segment["text"] for segment in row["segments"]),
                "segments": row["segments"],
            }
            for row in found["rows"]
        ]
        truncated = found["count"] > len(rows)
        results[kind] = {
            "count": found["count"],
            "truncated": truncated,
            "ranked": found["ranked"],
            "rows": rows,
        }
    if shape == "array":
        return [row for found in results.values() for row in found["rows"]]
    return {"ok": True, "q": context["q"], "limit": context["limit"], "results": results}
