"""A table page's search (`?_search=`) over an immutable database, answered through its indexes.

For `_search=` Datasette's table page runs two queries (`datasette/views/table.py`, around the
clause of `datasette/filters.py`):

    select <columns> from <table> where rowid in (<matched>) order by <column> limit <n>
    select count(*) from <table> where rowid in (<matched>)

where `<matched>` is `select rowid from <fts> where <fts> match escape_fts(:search)`. For a word
that every one of a million claims holds, the first looks up and sorts every match (331 ms) and
the second looks up every match in the table (219 ms): a search page 5x the plain table page.
Over an immutable database whose full-text index holds exactly the table's rows (`Searchable`):

- **the count** is the full-text index's own, `select count(*) from <fts> where <fts> match ...`
  (20 ms for that word); for a search of one plain word (ASCII letters and digits, as the page
  escapes it) that many rows hold, it is the number of rows the index lists for that word, read
  once for every such word from the index's vocabulary (`fts5vocab`) in a thread of its own
  when the table is first searched (0.24 s at 1M claims);
- **the rows** of a search that matches many rows are found by walking the sort column's index
  in order, asking the full-text index about each row (`<fts>.rowid = <table>.rowid and <fts>
  match ...`, one lookup), until the page is full: that word's first 51 matches in 0.8 ms. The
  walk stops at a bound, the `WINDOW_PAGES` pages' worth of rows in which that many pages of
  matches are expected; it is taken only where it costs less than Datasette's query would (a row
  asked about costs `PROBE_COST` rows matched and sorted). Where the walk finds less than a page
  (matches bunched late in the order), Datasette's query runs after it, so the worst case is
  about twice Datasette's.

The answers are Datasette's own: the same columns, rows and count. Rows that tie on the sort
column may come in another order, which Datasette's query does not define either. A later page
(`_next=`, in either order) walks on the same way from the last page's row (`SEARCH_NEXT`:
at 1M, 612-749 -> 8-9 ms a page for a word every claim holds). Any other query (a filter beside
the search), a mutable database, a table whose index
is not an external-content FTS5 index of it holding its rows, or a sort column without an index
or with nulls, runs as Datasette wrote it: slower, never wrong. Like `facet_override`, this
relies on Datasette's internals (the queries, run through `Database.execute`), each checked
by tests/test_datasette_contract.py; see docs/datasette-internals.md.
"""

from __future__ import annotations

import concurrent.futures
import math
import re
import sqlite3
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple

from datasette.database import Results
from datasette.utils import escape_sqlite

from factdb.site.background import read_in_background

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.database import Database

# the subquery of Datasette's search clause (datasette/filters.py, search_filters)
_MATCHED = (
    r"\(select rowid from (?P<fts>\S+) where (?P=fts) match "
    r"(?P<match>escape_fts\(:search\)|:search)\)"
)
SEARCH_ROWS = re.compile(
    rf"select (?P<columns>.+) from (?P<table>\S+) where rowid in {_MATCHED} "
    r"order by (?P<order>\S+)(?P<desc> desc)? limit (?P<limit>\d+)",
    re.DOTALL,
)
# a later page of the same (`_next=`: past the last row's value, or on it past its key); in
# descending order past means below, and Datasette adds the nulls, which come last
SEARCH_NEXT = re.compile(
    rf"select (?P<columns>.+) from (?P<table>\S+) where rowid in {_MATCHED} "
    r"and \((?P<order>\S+) (?P<past>[<>]) :(?P<value>p\d+)(?P<nulls> or (?P=order) is null)? "
    r"or \((?P=order) = :(?P=value) and \(\((?P<key>\S+) > :(?P<last>p\d+)\)\)\)\) "
    r"order by (?P=order)(?P<desc> desc)?, (?P=key) limit (?P<limit>\d+)",
    re.DOTALL,
)
SEARCH_COUNT = re.compile(rf"select count\(\*\) from (?P<table>\S+) where rowid in {_MATCHED}\s*")
WINDOW_PAGES = 4  # pages of matches expected in the rows the walk may ask about
# one row asked about the full-text index costs this many rows matched and sorted by Datasette's
# query (at 1M claims, 8.6 us against 0.33 us; at 100,000, 3.4 us against 0.31 us)
PROBE_COST = 26
COUNTS_KEPT = 64  # searches whose counts are kept, the page's count query asks again
# a word's rows are kept from the vocabulary where it is in at least this many (counting fewer
# in the index takes a few milliseconds: at 1M claims, 167k rows 3.7 ms, 1M rows 21 ms)
BROAD_TERM = 10_000
_TERM = re.compile(r"\s*([A-Za-z0-9]+)\s*")  # one token of FTS5's default tokenizer, unquoted
BOUND = "factdb_bound"  # the walk's parameter: no name Datasette's clauses use


class Searchable(NamedTuple):
    """What a table and its full-text index are, once checked: answerable or not."""

    rows: int  # the table's rows, every one of them in the full-text index, and no other
    ordered: frozenset[str]  # columns, escaped as Datasette writes them, the walk may sort by


def install(datasette: Datasette) -> None:
    """Answer the table pages' searches of every immutable database through its indexes."""
    for db in datasette.databases.values():
        if not db.is_mutable and not db.is_memory and not isinstance(db.execute, TableSearch):
            db.execute = TableSearch(db, db.execute)


class TableSearch:
    """A database's `execute`, answering the search page's two queries through its indexes,
    and running every other query as asked."""

    def __init__(self, db: Database, execute: Any) -> None:
        self.db, self.run = db, execute
        self.tables: dict[tuple[str, str], Searchable | None] = {}
        self.counts: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self.terms: dict[str, concurrent.futures.Future[dict[str, int] | None]] = {}

    async def __call__(self, sql: str, params: Any = None, *args: Any, **kwargs: Any) -> Results:
        search = params.get("search") if isinstance(params, dict) else None
        if isinstance(search, str):
            if (match := SEARCH_COUNT.fullmatch(sql)) and len(params) == 1:
                if await self.searchable(match) is not None:
                    count = await self.count(match, search, kwargs)
                    return Results([(count,)], False, [("count(*)",)])
            elif match := _rows_query(sql, params):
                table = await self.searchable(match)
                if table is not None and match["order"] in table.ordered:
                    results = await self.walk(match, table, params, kwargs)
                    if results is not None:
                        return results
        return await self.run(sql, params, *args, **kwargs)

    async def searchable(self, match: re.Match[str]) -> Searchable | None:
        """The table and full-text index the query names, checked once (the database is
        immutable); None where the shortcut does not hold for them."""
        key = (match["table"], match["fts"])
        if key not in self.tables:
            table, fts = (_unescaped(name) for name in key)
            self.tables[key] = await self.db.execute_fn(lambda c: check_table(c, table, fts))
        return self.tables[key]

    async def count(self, match: re.Match[str], search: str, kwargs: dict[str, Any]) -> int:
        """The search's matches, counted in the full-text index alone."""
        key = (match["fts"], match["match"], search)
        if key not in self.counts:
            fts = match["fts"]
            held = self.term_rows(match, search)
            if held is None:
                sql = f"select count(*) from {fts} where {fts} match {match['match']}"
                results = await self.run(sql, {"search": search}, **_limits(kwargs))
                held = results.rows[0][0]
            self.counts[key] = held
            while len(self.counts) > COUNTS_KEPT:
                self.counts.popitem(last=False)
        self.counts.move_to_end(key)
        return self.counts[key]

    def term_rows(self, match: re.Match[str], search: str) -> int | None:
        """The rows a table page's search of one plain word matches, from the index's
        vocabulary (see `broad_rows`); None where the index is to count them."""
        word = _TERM.fullmatch(search)
        if match["match"] != "escape_fts(:search)" or word is None:
            return None  # a raw search may be an operator (OR, NOT): the index reads it
        return self.broad_rows(_unescaped(match["fts"]), word[1])

    def broad_rows(self, fts: str, word: str) -> int | None:
        """The rows of a full-text index that hold a word, where the word is a broad one and the
        index's vocabulary has been read (its reading is started by the first word asked
        about); None where the index is to count them."""
        future = self.terms.get(fts)
        if future is None:  # read once; where it fails (no fts5vocab?) the index counts
            read = read_in_background(self.db, lambda c: broad_terms(c, fts), f"words of {fts}")
            self.terms[fts] = read
            return None
        terms = future.result() if future.done() and future.exception() is None else None
        return None if terms is None else terms.get(word.lower())

    async def walk(
        self, match: re.Match[str], table: Searchable, params: dict[str, Any], kwargs: Any
    ) -> Results | None:
        """The page's rows, from the sort column's index in order (from the last page's row
        on, for a later page), each asked of the full-text index; None where that would cost
        more than Datasette's query, or found too few."""
        matched, limit = await self.count(match, params["search"], kwargs), int(match["limit"])
        if matched == 0:
            return None  # Datasette's query finds nothing at once
        window = math.ceil(WINDOW_PAGES * limit * table.rows / matched)
        if window * PROBE_COST > matched:
            return None
        name, order, fts, groups = match["table"], match["order"], match["fts"], match.groupdict()
        direction, compare, begin = (" desc", ">=", "<=") if groups["desc"] else ("", "<=", ">=")
        after, start, order_by, since = "", "", f"{order}{direction}", {}
        if "value" in groups:  # a later page: Datasette's own clause, past the last row
            value, key, last, past = groups["value"], groups["key"], groups["last"], groups["past"]
            # Datasette's clause (but for the nulls of a descending order: the column has none),
            # after where the index's range starts, for SQLite
            tie = f"({order} = :{value} and (({key} > :{last})))"
            after = f"{order} {begin} :{value} and ({order} {past} :{value} or {tie}) and "
            start, order_by = f"where {order} {begin} :{value} ", f"{order}{direction}, {key}"
            since = {value: params[value]}
        bound = await self.run(
            f"select {order} from {name} {start}order by {order}{direction} "
            f"limit 1 offset {window - 1}",
            since,
            **_limits(kwargs),
        )
        within = f"{order} {compare} :{BOUND} and " if bound.rows else ""
        sql = (
            f"select {match['columns']} from {name} where {after}{within}exists (select 1 "
            f"from {fts} where {fts}.rowid = {name}.rowid and {fts} match {match['match']}) "
            f"order by {order_by} limit {limit}"
        )
        extra = {BOUND: bound.rows[0][0]} if bound.rows else {}
        results = await self.run(sql, params | extra, **kwargs)
        return results if len(results.rows) == limit else None


def word_rows(db: Database, fts: str, phrases: list[str]) -> int | None:
    """The rows of a full-text index matching a search of one plain word (`phrases`, as the
    search page reads them), where the database's searches are answered here and the word is a
    broad one the index's vocabulary holds; None where the index is to count them."""
    if not isinstance(db.execute, TableSearch) or len(phrases) != 1:
        return None
    word = _TERM.fullmatch(phrases[0])
    return None if word is None else db.execute.broad_rows(fts, word[1])


def _rows_query(sql: str, params: dict[str, Any]) -> re.Match[str] | None:
    """Datasette's query for a search page's rows, read: the first page's, or a later one's
    (whose parameters are the search and the last row's value and key)."""
    if len(params) == 1:
        return SEARCH_ROWS.fullmatch(sql)
    match = SEARCH_NEXT.fullmatch(sql)
    if match is None or set(params) != {"search", match["value"], match["last"]}:
        return None
    descending = match["past"] == "<"  # below the last value: then nulls, in descending order
    return match if descending == bool(match["nulls"]) == bool(match["desc"]) else None


def _limits(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The time limit the page's query runs under, for the queries run in its place."""
    return {k: v for k, v in kwargs.items() if k == "custom_time_limit"}


def _unescaped(name: str) -> str:
    """A table's or column's name as `escape_sqlite` wrote it, unescaped."""
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def check_table(conn: sqlite3.Connection, table: str, fts: str) -> Searchable | None:
    """The table and its full-text index, if `fts` is an FTS5 index with `table` as its
    content and holds exactly the table's rows (by rowid); else None."""
    content = rf"""content\s*=\s*(["'\[]?){re.escape(table)}["'\]]?\s*[,)]"""
    sql = _fts5_statement(conn, fts)
    if sql is None or not re.search(content, sql, re.I):
        return None
    if re.search(r"content_rowid", sql, re.I):
        return None  # the index's rowids are another column's, not the table's rowids
    t, docs = escape_sqlite(table), escape_sqlite(f"{fts}_docsize")
    try:  # an index made with columnsize=0 has no docsize table: its rows are not known
        rows = conn.execute(f"select count(*) from {t}").fetchone()[0]
        indexed = conn.execute(f"select count(*) from {docs}").fetchone()[0]
        joined = conn.execute(f"select count(*) from {docs} as d join {t} on {t}.rowid = d.id")
        if not rows == indexed == joined.fetchone()[0]:
            return None
    except sqlite3.DatabaseError:
        return None
    return Searchable(rows, frozenset(_ordered_columns(conn, table)))


def broad_terms(conn: sqlite3.Connection, fts: str) -> dict[str, int] | None:
    """The words at least BROAD_TERM rows of an FTS5 index hold, with how many rows hold each
    (its vocabulary's `doc`); None where the index tokenizes otherwise than by default (its
    words would not be the lowered words of a search) or keeps no per-row positions."""
    sql = _fts5_statement(conn, fts)
    if sql is None or re.search(r"\b(tokenize|detail)\s*=", sql, re.I):
        return None
    vocabulary = escape_sqlite(f"factdb_terms_{fts}")
    conn.execute(
        f"create virtual table temp.{vocabulary} using fts5vocab(main, {escape_sqlite(fts)}, 'row')"
    )
    try:
        rows = conn.execute(f"select term, doc from temp.{vocabulary} where doc >= ?", [BROAD_TERM])
        return dict(rows.fetchall())
    finally:
        conn.execute(f"drop table temp.{vocabulary}")


def _fts5_statement(conn: sqlite3.Connection, fts: str) -> str | None:
    """The statement that made the table `fts`, where it is an FTS5 index; else None."""
    found = conn.execute(
        "select sql from sqlite_master where type = 'table' and name = ?", [fts]
    ).fetchone()
    sql = found[0] if found and found[0] else ""
    return sql if re.search(r"using\s+fts5", sql, re.I) else None


def _ordered_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns, escaped, that lead an index of the table and hold no null."""
    t, leading = escape_sqlite(table), set()
    for index in conn.execute(f"pragma index_list({t})").fetchall():
        first = conn.execute(f"pragma index_info({escape_sqlite(index[1])})").fetchone()
        if first is not None and first[2] is not None:
            leading.add(escape_sqlite(first[2]))
    nulls = "select 1 from {} where {} is null limit 1"
    return [c for c in sorted(leading) if conn.execute(nulls.format(t, c)).fetchone() is None]
