"""Cells as a reader reads them, on table, view and query pages (the `render_cell` hook).

- A column whose name says which table its ids are in links each id to that row's page: the
  database's foreign keys (`claimant`, `entity_id`...), a table's name in the singular (the
  canned queries' `claim`, `source`, `topic`...) and a view's own `id` (the table its select
  takes `id` from). Only a value that is the id of a row there is linked (a canned query's
  `claimant` is a name). A source is named by its label, an entity by its name.
- A column that metadata.yml documents as a JSON array shows as a list: each item that is the
  id of a row, as a link to it; any other item (a name, a relative date) as text.
- An answer that is a range of numbers reads as people write it: `2000..` as "at least 2,000".

Like the rest of the plugin, this reads the database (and its metadata) only: what each column
holds is worked out from the schema Datasette serves, once per database. Everything is escaped:
the markup is ours, every value in it is text (`markupsafe`).
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from datasette import hookimpl
from datasette.utils import tilde_encode
from markupsafe import Markup, escape

from factdb.site.pages import display_answer

DATABASE = "facts"
# The column names that hold an answer as claims compare it (a range is low..high).
ANSWER_NAMES = {"answer", "answer_key", "answer_a", "answer_b"}
RANGE = re.compile(r"(-?\d+(?:\.\d+)?)?\.\.(-?\d+(?:\.\d+)?)?")
# What a row of each table is called on a page, where not by its id.
LABELS = {"sources": "label", "entities": "name"}
# An origin is the first outlet a claim came through, else its source (factdb.rows).
ORIGIN_TABLES = ("entities", "sources")
MAX_ITEMS = 100  # longest JSON array a cell shows as a list; longer ones stay as they are


@dataclass(frozen=True)
class Schema:
    """What the columns of one database hold, as far as links go."""

    tables: tuple[str, ...]  # the tables whose rows have an `id`, each with a page
    ids: dict[str, str]  # column name -> the table whose ids it holds
    view_ids: dict[str, str]  # view -> the table its `id` column comes from
    arrays: frozenset[str]  # columns documented as JSON arrays


def singular(table: str) -> str:
    """entities -> entity, claims -> claim."""
    return table[:-3] + "y" if table.endswith("ies") else table.removesuffix("s")


def view_id_table(sql: str, tables: tuple[str, ...]) -> str | None:
    """The table a view's `id` column comes from (`select x.id ... from <table> x`)."""
    alias = re.search(r"\bselect\s+(\w+)\.id\b", sql, re.I)
    if alias is None:
        return None
    found = re.search(rf"\b(?:from|join)\s+(\w+)\s+{alias.group(1)}\b", sql, re.I)
    return found.group(1) if found and found.group(1) in tables else None


def documented_arrays(tables_metadata: dict) -> frozenset[str]:
    """The columns whose description in the metadata starts "JSON array"."""
    return frozenset(
        name
        for table in tables_metadata.values()
        for name, text in ((table or {}).get("columns") or {}).items()
        if isinstance(text, str) and text.startswith("JSON array")
    )


_SCHEMAS: weakref.WeakKeyDictionary[Any, Schema] = weakref.WeakKeyDictionary()


_LOOKUPS: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()
LOOKUPS_KEPT = 100_000  # past this many, an immutable database's lookups start afresh


def _kept(db: Any) -> dict[tuple, Any] | None:
    """The lookups already made in an immutable database, which cannot change (None for a
    mutable one). A page renders every cell on its own: the claims table's 50 rows asked for
    some 400 lookups a page, one query each (at 100,000 claims, seconds a page)."""
    if getattr(db, "is_mutable", True):
        return None
    kept = _LOOKUPS.get(db)
    if kept is None or len(kept) > LOOKUPS_KEPT:
        kept = _LOOKUPS[db] = {}
    return kept


async def read_schema(datasette: Any, database: str) -> Schema:
    """The Schema of a database, read once for each Database object Datasette holds."""
    db = datasette.get_database(database)
    if db in _SCHEMAS:
        return _SCHEMAS[db]
    hidden = set(await db.hidden_table_names())  # full-text search's own tables among them
    names = [t for t in await db.table_names() if t not in hidden]
    tables = tuple([t for t in names if await db.primary_keys(t) == ["id"]])
    ids = {singular(t): t for t in tables}
    for table in names:
        for key in await db.foreign_keys_for_table(table):
            if key["other_table"] in tables and key["other_column"] == "id":
                ids[key["column"]] = key["other_table"]
    views = await db.execute("select name, sql from sqlite_master where type = 'view'")
    view_ids = {
        row["name"]: found
        for row in views.rows
        if (found := view_id_table(row["sql"] or "", tables)) is not None
    }
    arrays = documented_arrays(datasette.metadata("tables", database=database) or {})
    _SCHEMAS[db] = Schema(tables, ids, view_ids, arrays)
    return _SCHEMAS[db]


def range_words(column: str, value: Any) -> str | None:
    """An answer that is a range of numbers, in words; None for any other value."""
    if column not in ANSWER_NAMES or not isinstance(value, str):
        return None
    match = RANGE.fullmatch(value)
    if match is None or not any(match.groups()):
        return None
    return display_answer(value)


def array_tables(column: str, schema: Schema) -> list[str]:
    """The tables an array column's name says its items are in (`sources_a`, `claim_ids`,
    `origins`); every table where the name does not say."""
    base = re.sub(r"_[ab]$", "", column)
    if base in schema.tables:
        return [base]
    if base.endswith("_ids") and base.removesuffix("_ids") in schema.ids:
        return [schema.ids[base.removesuffix("_ids")]]
    if base == "origins":
        return [t for t in ORIGIN_TABLES if t in schema.tables]
    return list(schema.tables)


def _lookup_sql(tables: list[str]) -> str:
    parts = [
        f"select '{table}' as tbl, id, {LABELS.get(table, 'id')} as label from [{table}] "
        "where id in (select value from json_each(:ids))"
        for table in tables
    ]
    return "\nunion all\n".join(parts)


async def _rows_of(
    datasette: Any, database: str, ids: list[str], tables: list[str]
) -> dict[str, tuple[str, str]]:
    """Each id that names a row of one of `tables`: id -> (table, how pages name it). An id
    that two of them hold is left out: which row it means is not known."""
    result = await datasette.get_database(database).execute(
        _lookup_sql(tables), {"ids": json.dumps(ids)}
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for row in result.rows:
        found.setdefault(row["id"], []).append((row["tbl"], row["label"] or row["id"]))
    return {key: places[0] for key, places in found.items() if len(places) == 1}


def _link(datasette: Any, database: str, table: str, row_id: str, label: str) -> Markup:
    href = datasette.urls.row(database, table, tilde_encode(row_id))
    return Markup('<a href="{}">{}</a>').format(href, label)


def _array(value: Any) -> list[str] | None:
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        return None
    if not all(isinstance(item, str | int | float) for item in items):
        return None
    return [str(item) for item in items]


async def render(
    value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    """The cell's HTML, or None to leave it to Datasette."""
    words = range_words(column, value)
    if words is not None:
        return Markup("{}").format(words)
    schema = await read_schema(datasette, database)
    items = _array(value) if column in schema.arrays else None
    kept = _kept(datasette.get_database(database))
    if items is not None:
        tables = array_tables(column, schema)
        listed: tuple = ("array", tuple(tables), tuple(items))
        rows = kept.get(listed) if kept is not None else None
        if rows is None:
            rows = await _rows_of(datasette, database, items, tables)
            if kept is not None:
                kept[listed] = rows
        shown = [
            _link(datasette, database, rows[item][0], item, rows[item][1])
            if item in rows
            else escape(item)
            for item in items
        ]
        lis = Markup("").join(Markup("<li>{}</li>").format(item) for item in shown)
        return Markup('<ul class="facts-cell-list">{}</ul>').format(lis)
    target = schema.view_ids.get(table or "") if column == "id" else schema.ids.get(column)
    if target is None or not isinstance(value, str) or not value:
        return None
    key = ("id", target, value)
    if kept is not None and key in kept:
        label = kept[key]
    else:
        found = await datasette.get_database(database).execute(
            f"select {LABELS.get(target, 'id')} from [{target}] where id = :id", {"id": value}
        )
        label = (found.rows[0][0] or value) if found.rows else None
        if kept is not None:
            kept[key] = label
    if label is None:  # not an id after all (a query's `claimant` is a name)
        return None
    return _link(datasette, database, target, value, label)


@hookimpl
def render_cell(
    value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Callable[[], Awaitable[Markup | None]] | None:
    """Links for ids, lists for JSON arrays, words for ranges (the module's docstring)."""
    if database != DATABASE:
        return None

    async def inner() -> Markup | None:
        return await render(value, column, table, database, datasette)

    return inner
