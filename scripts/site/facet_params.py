"""A table page's facet parameters, read and checked before any facet counts.

Datasette reads every query parameter that starts with `_facet` as a facet type, and its value as
JSON where it starts with `{` (`load_facet_configs`): `_facet_ids={bad` raised a JSONDecodeError,
`_facet_ids={}` a KeyError, `_facet_ids={"column":5}` a TypeError (500s with tracebacks), and an
ids facet's `table` could name any table (sqlite_master's SQL was listed). Every facet class the
site registers reads its configurations here instead (`KeptCounts.get_configs`), and the first
one made refuses a bad parameter with a 400 and a one-line message, before anything is counted:

- `_facet`, `_facet_date`, `_facet_array`, `_facet_ids`: a column's name, or a JSON object
  `{"column": name}`; the column must be one of the table's (where its columns are known: over
  an immutable database, read once at startup by `remember_columns`);
- an ids facet's `{"column", "table", "value"}` only as metadata.yml configures it for that
  column: a request can name no other table;
- `_facet_size`: a number or `max`; `_facet_count` (ours: count a search's facets however many
  rows it matches): `1`;
- any other `_facet...` parameter: refused (Datasette would read it as a facet type).
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

FACET_TYPES = ("column", "date", "array", "ids")  # the types the site's facet classes register
SIZE = "_facet_size"  # Datasette's: how many values a facet shows
COUNT_ALL = "_facet_count"  # ours: ?_facet_count=1 counts a search's facets, however many rows
KEYS = {"ids": {"column", "table", "value"}}  # a JSON config's keys, by type; others: column
SHOWN = 60  # characters of a bad value repeated in its message

Config = dict[str, Any]  # {"source": "metadata" or "request", "config": {...}}
Columns = dict[tuple[str, str], frozenset[str]]  # (database, table) -> its columns
_COLUMNS: weakref.WeakKeyDictionary[Datasette, Columns] = weakref.WeakKeyDictionary()


class FacetProblem(ValueError):
    """A facet parameter that cannot be counted: its message says which and why."""


@dataclass
class FacetRequest:
    """A request's facet configurations, by type, and the first problem found in them."""

    configs: dict[str, list[Config]] = field(default_factory=dict)
    problem: str | None = None


_READ: weakref.WeakKeyDictionary[Request, FacetRequest] = weakref.WeakKeyDictionary()


def _schema(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    tables = conn.execute("select name from sqlite_master where type in ('table', 'view')")
    return {
        table: frozenset(c for (c,) in conn.execute("select name from pragma_table_info(?)", [t]))
        for table, t in ((name, name) for (name,) in tables.fetchall())
    }


async def remember_columns(datasette: Datasette) -> None:
    """The columns of every table and view of the immutable databases (they cannot change),
    read outside the time limit, which is for readers' queries."""
    columns: Columns = {}
    for name, db in datasette.databases.items():
        if db.is_mutable or db.is_memory:
            continue
        schema = await db.execute_fn(_schema)
        columns.update({(name, table): names for table, names in schema.items()})
    _COLUMNS[datasette] = columns


def known_columns(datasette: Any, database: str, table: str | None) -> frozenset[str] | None:
    """A table's columns where they were read at startup; None where they were not."""
    if table is None:
        return None
    return _COLUMNS.get(getattr(datasette, "datasette", datasette), {}).get((database, table))


def metadata_configs(metadata: dict[str, Any] | None) -> dict[str, list[Config]]:
    """The facets metadata.yml gives a table, as Datasette reads them (trusted as written)."""
    configs: dict[str, list[Config]] = {}
    for entry in (metadata or {}).get("facets", []):
        kind, config = ("column", entry) if isinstance(entry, str) else next(iter(entry.items()))
        config = {"simple": config} if isinstance(config, str) else config
        configs.setdefault(kind, []).append({"source": "metadata", "config": config})
    return configs


def read_request(
    request: Request | None, metadata: dict[str, Any] | None, columns: frozenset[str] | None
) -> FacetRequest:
    """The request's facet parameters, checked (once a request)."""
    if request is None:
        return FacetRequest()
    if request not in _READ:
        read = FacetRequest()
        try:
            read.configs = _configs(request.query_string, metadata, columns)
        except FacetProblem as problem:
            read.problem = str(problem)
        _READ[request] = read
    return _READ[request]


def _configs(
    query_string: str, metadata: dict[str, Any] | None, columns: frozenset[str] | None
) -> dict[str, list[Config]]:
    configs: dict[str, list[Config]] = {}
    pairs = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    for key, value in pairs:
        if not key.startswith("_facet"):
            continue
        if key in (SIZE, COUNT_ALL):
            _check_setting(key, value)
            continue
        kind = _facet_type(key)
        config = _config(key, kind, value)
        _check_column(key, config, columns)
        _check_link(key, config, metadata)
        configs.setdefault(kind, []).append({"source": "request", "config": config})
    return configs


def _shown(value: str) -> str:
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "...")


def _check_setting(key: str, value: str) -> None:
    if key == SIZE and value and value != "max" and not (value.isascii() and value.isdigit()):
        raise FacetProblem(f"{key} is a number of values or max, not {_shown(value)}")
    if key == COUNT_ALL and value not in ("", "1"):
        raise FacetProblem(f"{key}=1 counts a search's facets; {_shown(value)} is not 1")


def _facet_type(key: str) -> str:
    if key == "_facet":
        return "column"
    kind = key.removeprefix("_facet_") if key.startswith("_facet_") else None
    if kind is None or kind not in FACET_TYPES:
        names = ", ".join("_facet" if t == "column" else f"_facet_{t}" for t in FACET_TYPES)
        raise FacetProblem(f"{_shown(key)} is not a facet parameter: they are {names}")
    return kind


def _config(key: str, kind: str, value: str) -> dict[str, str]:
    """A request's configuration: a column's name, or a JSON object naming it."""
    if not value.startswith("{"):
        if not value:
            raise FacetProblem(f"{key} names a column; it is empty")
        return {"simple": value}
    try:
        config = json.loads(value)
    except (ValueError, RecursionError):
        message = f"{key} is not a column's name or a JSON object: {_shown(value)}"
        raise FacetProblem(message) from None
    allowed = KEYS.get(kind, {"column"})
    if not isinstance(config, dict) or not isinstance(config.get("column"), str):
        raise FacetProblem(f'{key} as JSON is an object {{"column": "name"}}: {_shown(value)}')
    if set(config) - allowed or not all(isinstance(v, str) and v for v in config.values()):
        keys = ", ".join(sorted(allowed))
        raise FacetProblem(f"{key} takes only the keys {keys}, each a name: {_shown(value)}")
    if kind != "ids" or set(config) == {"column"}:
        return {"simple": config["column"]}
    return config


def _check_column(key: str, config: dict[str, str], columns: frozenset[str] | None) -> None:
    column = config.get("column") or config["simple"]
    if columns is not None and column not in columns:
        raise FacetProblem(f"{key}: this table has no column {_shown(column)}")


def _check_link(key: str, config: dict[str, str], metadata: dict[str, Any] | None) -> None:
    """An ids facet names a link table only as metadata.yml does for the same column."""
    if "table" not in config and "value" not in config:
        return
    column = config["column"]
    links = [
        c["config"]
        for c in metadata_configs(metadata).get("ids", [])
        if c["config"].get("column") == column and "table" in c["config"]
    ]
    if config not in links:
        allowed = " or ".join(f"{c['table']} ({c['value']})" for c in links) or "none"
        raise FacetProblem(
            f"{key}: a request names no table of its own; the link table of {_shown(column)} "
            f"is {allowed}"
        )
