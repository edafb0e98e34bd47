"""A table's facet columns held in memory, to count a search's facets without SQLite.

Counting a search's facets in SQL looks up every matched row in the table, then sorts each
facet's values: at 100,000 claims, a search matching a third of them took 126-166 ms to count.
Over an immutable database (as `facts serve` publishes it) the facets that metadata.yml gives a
table never change, so each is read once into arrays (numpy): the table's rowids in the order
of their values, and those values, in SQLite's order. A search's facets are then its matched
rowids (read from the full-text index alone) gathered and counted in those arrays: 33,601
matches, 8 ms for the rowids and 2 ms for the counts of six facets.

The arrays are read in the background, when the server starts (`facets.hold_search_facets`)
or else by the first search that would use them (at 100,000 claims 0.5 s; at a million 3-6 s,
and 32 MB); until they are held, and wherever they cannot be
(a mutable database, a facet metadata.yml does not give, a table of more than `HELD_ROWS`
rows or with rowids far apart, a page that is more than a search of the whole table), the
facets are counted in SQL as before. The counts are the same either way: each value's order
and equality are SQLite's (its `group by` and `order by`, read once), never Python's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import weakref
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from datasette.database import QueryInterrupted
from datasette.utils import escape_sqlite, sqlite_timelimit

from factdb.site.background import read_in_background

if TYPE_CHECKING:
    from datasette.app import Datasette

HELD_ROWS = 5_000_000  # a table with more rows is not held (about 50 bytes a row and facet)
SPARSE = 2  # nor one whose largest rowid is more than twice its rows (arrays by rowid)
BROAD = 2  # a search matching more than 1/BROAD of the rows counts an ids facet by marks

Array = Any  # numpy arrays (numpy's own typing of them adds nothing here)
FacetKey = tuple[str, str]  # (type, column): "column" or "ids", and the column's name
Counts = dict[int, list[dict[str, Any]]]  # each facet's rows ({value, count}), by its number


class Held(NamedTuple):
    """One facet's values, in SQLite's order, and where they are: for a column facet, each
    rowid's value (its number in `values`; `len(values)` where null); for an ids facet, the
    items of each row, `codes[starts[rowid]:starts[rowid + 1]]`, and each item's rowid."""

    values: list[Any]
    codes: Array
    starts: Array | None
    owners: Array | None = None


class HeldTable(NamedTuple):
    """The facets of one table, as of the immutable database they were read from."""

    size: int  # the largest rowid + 1: the arrays by rowid have a place for each
    facets: dict[FacetKey, Held]

    def counts(self, matched: Array, facets: list[FacetKey], limit: int) -> Counts:
        """Each facet's `limit` commonest values over the `matched` rowids (distinct; any
        rowids: a row the table does not have holds no value), as Datasette's facet query
        orders them: by count, then by value."""
        inside = matched[(matched >= 0) & (matched < self.size)]
        marked = None
        if BROAD * len(inside) > self.size:  # most rows: each item's row is looked up, marked
            marked = np.zeros(self.size, dtype=bool)  # or not (at 1M, 4 ms against 17 ms)
            marked[inside] = True
        return {
            n: self._top(self.facets[key], inside, marked, limit) for n, key in enumerate(facets)
        }

    @staticmethod
    def _top(held: Held, rows: Array, marked: Array | None, limit: int) -> list[dict[str, Any]]:
        if held.starts is None:
            codes = held.codes[rows]
        elif marked is not None and held.owners is not None:
            codes = held.codes[marked[held.owners]]
        else:
            codes = _items(held, rows)
        counts = np.bincount(codes, minlength=len(held.values) + 1)[: len(held.values)]
        order = np.argsort(-counts, kind="stable")[:limit]  # ties: in the values' order
        return [
            {"value": held.values[code], "count": int(counts[code])}
            for code in order.tolist()
            if counts[code]
        ]


def _items(held: Held, rows: Array) -> Array:
    """The codes of the items of these rows, one after another."""
    assert held.starts is not None
    starts, ends = held.starts[rows], held.starts[rows + 1]
    lengths = ends - starts
    firsts = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return held.codes[firsts + np.arange(len(firsts))]


def read_table(
    conn: sqlite3.Connection, table: str, facets: Iterable[FacetKey]
) -> HeldTable | None:
    """Read these facets of `table`; None where it is too large, or its rowids too far apart
    or below 0 (the arrays are by rowid)."""
    name = escape_sqlite(table)
    sql = f"select count(*), coalesce(min(rowid), 0), coalesce(max(rowid), 0) from {name}"
    rows, bottom, top = conn.execute(sql).fetchone()
    if rows > HELD_ROWS or bottom < 0 or top > SPARSE * rows + 1024:
        return None
    size = top + 1
    return HeldTable(size, {key: _read_facet(conn, name, key, size) for key in facets})


def _read_facet(conn: sqlite3.Connection, table: str, key: FacetKey, size: int) -> Held:
    """One facet: its values and their counts in SQLite's order, then the rowids holding each,
    in the same order (through the column's index, where it has one). A column facet leaves
    nulls out, an ids facet counts them (as their queries do, `facets.PASS_COLUMN`, `PASS_IDS`)."""
    kind, column = key
    if kind == "ids":
        items = f"json_each(t.{escape_sqlite(column)}) as j"
        source = f"(select t.rowid as rowid, j.value as value from {table} as t, {items})"
        value, where = "value", ""
    else:
        value = escape_sqlite(column)
        source, where = table, f" where {value} is not null"
    grouped = conn.execute(
        f"select {value}, count(*) from {source}{where} group by {value} order by {value}"
    ).fetchall()
    values = [row[0] for row in grouped]
    counts = np.array([row[1] for row in grouped], dtype=np.int64)
    owners = _integers(
        conn.execute(f"select rowid from {source}{where} order by {value}"), int(counts.sum())
    )
    codes = np.repeat(np.arange(len(values), dtype=np.int32), counts)
    if kind != "ids":
        by_rowid = np.full(size, len(values), dtype=np.int32)  # null: counted apart, dropped
        by_rowid[owners] = codes
        return Held(values, by_rowid, None)
    order = np.argsort(owners, kind="stable")
    starts = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=size), out=starts[1:])
    return Held(values, codes[order], starts, owners[order].astype(np.int32))


def _integers(cursor: Iterator[tuple[int]], count: int = -1) -> Array:
    """The integers of a query's one column (`count` of them, where known: -1 where not)."""
    return np.fromiter(chain.from_iterable(cursor), dtype=np.int64, count=count)


def matched_rowids(conn: sqlite3.Connection, sql: str, params: Any, time_limit_ms: int) -> Array:
    """The rowids a query gives (its one column), under a time limit, as Datasette runs it:
    joined into one text by SQLite and read by numpy (a million rowids in 53 ms, against 231 ms
    read a row at a time, each row a Python tuple). The text may pass the length the plugin
    allows readers' strings (`factdb.site.limits`): at most 21 bytes a row of a table held."""
    joined = f"with matched(value) as ({sql}) select group_concat(value) from matched"
    length = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(length, 21 * HELD_ROWS))
    with sqlite_timelimit(conn, time_limit_ms):
        try:
            [text] = conn.execute(joined, params if params is not None else {}).fetchone()
            return np.fromstring(text or "", dtype=np.int64, sep=",")
        except sqlite3.DatabaseError as error:
            if error.args == ("interrupted",):
                raise QueryInterrupted(error, sql, params) from None
            raise
        finally:
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, length)


Read = asyncio.Future[HeldTable | None] | concurrent.futures.Future[HeldTable | None]
_HELD: weakref.WeakKeyDictionary[Datasette, dict[tuple[str, str, tuple[FacetKey, ...]], Read]] = (
    weakref.WeakKeyDictionary()
)


def held_table(
    datasette: Datasette, database: str, table: str, facets: tuple[FacetKey, ...]
) -> HeldTable | None:
    """The table's facets, if they are held; the first ask starts reading them in the
    background (in one of Datasette's threads) and answers None, as do the asks until then."""
    tables = _HELD.setdefault(datasette, {})
    key = (database, table, facets)
    if key not in tables:
        db = datasette.databases[database]
        tables[key] = asyncio.ensure_future(db.execute_fn(lambda c: read_table(c, table, facets)))
        tables[key].add_done_callback(_forget_failure)
        return None
    future = tables[key]
    if not future.done() or future.cancelled() or future.exception() is not None:
        return None
    return future.result()


def start_reading(
    datasette: Datasette, database: str, table: str, facets: tuple[FacetKey, ...]
) -> None:
    """Start reading the table's facets, in a thread of its own on a connection of its own, as
    the server starts (`background.read_in_background`). A read that fails (e.g. an ids facet
    over a column that is not JSON) holds nothing (`_forget_failure`)."""
    tables = _HELD.setdefault(datasette, {})
    key = (database, table, facets)
    if key in tables:
        return
    db = datasette.databases[database]
    future = read_in_background(
        db, lambda conn: read_table(conn, table, facets), f"facts: holding {table}"
    )
    future.add_done_callback(_forget_failure)
    tables[key] = future


def _forget_failure(future: Read) -> None:
    """A read that failed (e.g. an ids facet over a column that is not JSON) holds nothing:
    its facets are counted in SQL, as they were; the failure is not raised again."""
    if not future.cancelled():
        future.exception()
