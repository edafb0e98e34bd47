"""Datasette's facets with their counts kept, a search's counted in one query, and a facet
for JSON arrays of ids.

**Kept counts.** A facet's counts are a query over the rows the page shows; over an immutable
database (as `facts serve` publishes it) the same query always gives the same rows. Our facet
classes take Datasette's column, date and array facets as they are and answer a query they
have run before from memory (the last `CACHE_SIZE` queries of each Datasette): at 100,000
claims the claims table's six facets cost 24 ms a page, the first time. Over a mutable database
nothing is kept. They replace Datasette's own facet classes under the same types, so `_facet=`
and metadata work unchanged: that replacement, the one part that depends on Datasette's
internals, is `factdb.site.facet_override` (see its docstring and docs/datasette-internals.md).

**Parameters.** A request's `_facet*` parameters are read and checked by
`factdb.site.facet_params` (`KeptCounts.get_configs`); the first facet made refuses a bad one
with a 400 and its message, before any counts.

This module keeps to Datasette's plugin interface: its facet classes are `Facet` subclasses
(the `register_facet_classes` hook), their queries go through `datasette.execute`, and the
answers it gives in their place are the `Results` that method returns (the contract test checks
that class's constructor too).

**A search's facets.** Where full-text search finds the rows (`_search=`, `_search_column=`),
no index of the table helps count them, and each facet's query would find them again: the
column and ids facets of a search page are counted in one query instead (`PagePass`), which
finds the rows once (at 100,000 claims, for a search that matches 8,360 of them: 11.5 ms,
against 20 ms for the six queries). Datasette still writes each column facet's query, and
builds its links and labels; the one query answers those queries (one it does not recognise
runs as Datasette wrote it; recognising them is `facet_override`'s part).

A search that matches more than `SEARCH_FACET_LIMIT` rows (5,000; metadata.yml may set
`plugins: {facts: {search_facet_limit: N}}` for a table) shows its rows without counting its
facets, and says so, with a link that counts them anyway (`_facet_count=1`). The JSON says it
too: each such facet has no results and a `not_counted` object with the rows, the limit and that
link. A search of the whole table, over an immutable database, whose facets are all
metadata.yml's is counted from those facets held in memory (`factdb.site.held`): at 100,000
claims, a search matching a third of them, 126-166 ms -> 10 ms.

**The ids facet**, five times faster than the array facet at scale.

Datasette's array facet removes repeated items with `select distinct j.value, inner.*`, a
DISTINCT over every column of every row: 220 ms on the 100,000-claim benchmark database. Our
arrays of ids cannot repeat an item (the models refuse it: `repeated-item`), so this facet
counts rows per item directly (45 ms there), with the same results and the same
`column__arraycontains=` filters. Configure it as `{ids: column}` in metadata.yml, or ask
for it with `_facet_ids=column`.

Where a link table holds the same pairs (claim_entities: claim_id, entity_id for claims.about),
name it and its column of items too, `{ids: {column: about, table: claim_entities, value:
entity_id}}`, and the unfiltered table's counts come from that table's index (3 ms).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from datasette.database import QueryInterrupted, Results
from datasette.facets import Facet
from datasette.tracer import trace
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args
from datasette.utils.asgi import BadRequest

from factdb.site.facet_params import COUNT_ALL, known_columns, metadata_configs, read_request

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

    from factdb.site.held import Counts  # held itself is imported where a search is counted

FACET_SQL = """
select j.value as value, count(*) as count
from ({sql}) as inner, json_each(inner.{column}) as j
group by j.value order by count desc, value limit {limit}
"""
LINK_SQL = """
select {value} as value, count(*) as count from {table}
group by {value} order by count desc, value limit {limit}
"""
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)
PASS_COLUMN = """select * from (
select {number} as facet, {column} as value, count(*) as count from {rows}
where {column} is not null group by {column}{top})"""
PASS_IDS = """select * from (
select {number} as facet, j.value as value, count(*) as count
from {rows}, json_each({rows}.{column}) as j group by j.value{top})"""
PASS_TOP = " order by count desc, value limit {limit}"  # each facet's most common values
# Datasette's clause for ?_search= or ?_search_column= (datasette/filters.py, search_filters)
SEARCH_CLAUSE = re.compile(
    r"(?P<pk>\S+) in (?P<matched>\(select rowid from \S+ where \S+ match "
    r"(?:escape_fts\(:search(?:_\d+)?\)|:search(?:_\d+)?)\))\s*",
)
SEARCH_FACET_LIMIT = 5_000  # rows a search may match and have its facets counted, unless
# metadata.yml says otherwise: plugins: {facts: {search_facet_limit: N}}, for a table or all
PLUGIN = "facts"
CACHE_SIZE = 256  # queries kept per Datasette; a facet's rows are at most facet size + 1

Params = dict[str, Any] | list[Any] | tuple[Any, ...] | None  # a query's parameters
QueryKey = tuple[str, str, tuple[Any, ...], bool, int | None]  # database, sql, params, ...
Answer = Callable[[str], Awaitable[Results | None]]  # a facet's own answer to a query
FacetResults = tuple[list[dict[str, Any]], list[str]]  # a facet class's facets, and timed out
_KEPT: weakref.WeakKeyDictionary[Datasette, OrderedDict[QueryKey, Results]] = (
    weakref.WeakKeyDictionary()
)


def _params_key(params: Params) -> tuple[Any, ...]:
    if isinstance(params, dict):
        return tuple(sorted(params.items()))
    return tuple(params or ())


def config_column(config: dict[str, Any]) -> str:
    """The column a facet's config names (`{column: ...}`, or the column's name alone)."""
    column: str = config.get("column") or config["simple"]
    return column


def searched(request: Request | None) -> bool:
    """Whether the page's rows are found by full-text search (`_search=`, `_search_column=`)."""
    args = request.args if request is not None else {}
    return any(args.get(key) for key in args if key == "_search" or key.startswith("_search_"))


class KeptQueries:
    """The Datasette a facet sees: a query it has run before over an immutable database is
    answered from memory, one the facet's `answer` knows is answered by it; everything else
    is Datasette's own."""

    def __init__(self, datasette: Datasette, answer: Answer | None = None) -> None:
        self.datasette = datasette
        self.answer = answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.datasette, name)

    async def execute(
        self,
        db_name: str,
        sql: str,
        params: Params = None,
        truncate: bool = False,
        custom_time_limit: int | None = None,
        page_size: int | None = None,
        log_sql_errors: bool = True,
    ) -> Results:
        """Datasette.execute, kept for immutable databases (a query stopped by its time limit
        raises, and nothing is kept)."""
        datasette = self.datasette

        async def run() -> Results:
            answered = await self.answer(sql) if self.answer else None
            if answered is not None:
                return answered
            return await datasette.execute(
                db_name,
                sql,
                params,
                truncate=truncate,
                custom_time_limit=custom_time_limit,
                page_size=page_size,
                log_sql_errors=False,  # a facet that fails answers 400 and says why
            )

        key: QueryKey = (db_name, sql, _params_key(params), truncate, page_size)
        try:
            hash(key)
        except TypeError:  # a parameter that is not a plain value: not kept
            return await run()
        if datasette.databases[db_name].is_mutable:
            return await run()
        return await _kept(_KEPT.setdefault(datasette, OrderedDict()), key, CACHE_SIZE, run)


async def _kept(
    kept: OrderedDict[Any, Results], key: Any, limit: int, run: Callable[[], Awaitable[Results]]
) -> Results:
    """`run()`'s results, kept in `kept` under `key`; past `limit` entries, the least recently
    used goes first."""
    if key in kept:
        kept.move_to_end(key)
        return kept[key]
    kept[key] = results = await run()
    if len(kept) > limit:
        kept.popitem(last=False)
    return results


class PagePass:
    """All the counts of a search page's column and ids facets in one query: the page's rows
    are found once, not once a facet. Each facet adds its columns when it is made (Datasette
    makes them all before any counts); the first to count runs the query for all."""

    def __init__(self) -> None:
        self.facets: dict[tuple[str, str], None] = {}  # (type, column), in the order added
        self.limit: int | None = None
        self.task: asyncio.Future[dict[tuple[str, str], Results] | None] | None = None

    def add(self, kind: str, columns: list[str], limit: int) -> None:
        self.facets.update(dict.fromkeys((kind, column) for column in columns))
        self.limit = limit

    async def counts(self, facet: KeptCounts) -> dict[tuple[str, str], Results] | None:
        """Each facet's rows, as its own query would give them; None where the query failed
        for another reason than its time limit (each facet then runs its own)."""
        if self.task is None:
            assert self.limit is not None, "a facet is added before any counts"
            self.task = asyncio.ensure_future(self._run(facet, list(self.facets), self.limit))
        return await self.task

    @staticmethod
    async def _run(
        facet: KeptCounts, facets: list[tuple[str, str]], limit: int
    ) -> dict[tuple[str, str], Results] | None:
        try:
            rows = await _counted_held(facet, facets, limit)
            if rows is None:
                sql = _pass_sql(facets, f"({facet.sql})", limit)
                rows = _by_facet(await _execute(facet, sql, facet.params), len(facets))
        except QueryInterrupted:
            raise
        except Exception:  # e.g. a value json_each cannot read: each facet says so itself
            return None
        description = [("value",), ("count",)]
        return {key: Results(rows[n], False, description) for n, key in enumerate(facets)}


def _pass_sql(facets: list[tuple[str, str]], rows: str, limit: int) -> str:
    """One query counting every facet over `rows` (a query in parentheses) as the page's rows:
    each facet's `limit` most common values, in Datasette's order."""
    columns = ", ".join(dict.fromkeys(escape_sqlite(column) for _, column in facets))
    page = f"with page as (select {columns} from {rows})\n"
    top = PASS_TOP.format(limit=limit)
    return page + "\nunion all\n".join(
        (PASS_IDS if kind == "ids" else PASS_COLUMN).format(
            number=number, column=escape_sqlite(column), rows="page", top=top
        )
        for number, (kind, column) in enumerate(facets)
    )


async def _execute(facet: KeptCounts, sql: str, params: Params) -> Results:
    """A query of the page's pass, under the facets' time limit."""
    return await facet.ds.datasette.execute(
        facet.database,
        sql,
        params,
        truncate=False,
        custom_time_limit=facet.ds.setting("facet_time_limit_ms"),
        log_sql_errors=False,  # each facet's own query then runs, and says what failed
    )


def _by_facet(results: Results, facets: int) -> Counts:
    rows: Counts = {number: [] for number in range(facets)}
    for row in results.rows:
        rows[row["facet"]].append({"value": row["value"], "count": row["count"]})
    return rows


def search_of_table(facet: KeptCounts) -> str | None:
    """The query for the rowids the page's full-text search matches, where the page is that
    search over the whole table and nothing more; None otherwise."""
    marker = f" from {escape_sqlite(facet.table)} where "
    if facet.sql.count(marker) != 1:
        return None
    search = SEARCH_CLAUSE.fullmatch(facet.sql.partition(marker)[2])
    if search is None or search["pk"] != "rowid":
        return None
    return search["matched"][1:-1]


def held_facets(metadata: dict[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """The column and ids facets metadata.yml gives a table: those that may be held."""
    configs = metadata_configs(metadata)
    return tuple(
        (kind, config_column(config["config"]))
        for kind in ("column", "ids")
        for config in configs.get(kind, [])
    )


async def hold_search_facets(datasette: Datasette) -> None:
    """Start reading, in the background, the facets held for the searches of each searchable
    table of the immutable databases (`factdb.site.held`), so that the first searches after the
    server starts need not wait: at a million claims the read takes 3-6 s, and until it is done
    a search's facets asked for are counted in SQL (about 600 ms, against 66-160 ms held)."""
    from factdb.site.held import start_reading  # numpy: where a table can be searched

    for name, db in datasette.databases.items():
        if db.is_mutable or db.is_memory:
            continue
        for table in await db.table_names():
            metadata = datasette.table_metadata(name, table)
            facets = held_facets(metadata)
            if facets and (metadata.get("fts_table") or await db.fts_table(table)):
                start_reading(datasette, name, table, facets)


async def _counted_held(
    facet: KeptCounts, facets: list[tuple[str, str]], limit: int
) -> Counts | None:
    """The counts of a search of the whole table, from its facets held in memory
    (`factdb.site.held`); None where they are not held (yet), or cannot be."""
    from factdb.site.held import held_table, matched_rowids  # numpy: where a search is counted

    search = search_of_table(facet)
    allowed = held_facets(facet.metadata)
    if search is None or not set(facets) <= set(allowed):
        return None
    datasette = facet.ds.datasette
    db = datasette.databases[facet.database]
    if db.is_mutable:
        return None
    held = held_table(datasette, facet.database, facet.table, allowed)
    if held is None:
        return None
    time_limit = facet.ds.setting("facet_time_limit_ms")
    with trace("sql", database=facet.database, sql=search, params=facet.params):
        rowids = await db.execute_fn(
            lambda conn: matched_rowids(conn, search, facet.params, time_limit)
        )
    return held.counts(rowids, facets, limit)


_PASSES: weakref.WeakKeyDictionary[Request, dict[str, PagePass]] = (
    weakref.WeakKeyDictionary()  # a request's passes, by the page's query
)


class KeptCounts(Facet):
    """A facet class whose queries go through KeptQueries, and whose facets of a search that
    matches more than SEARCH_FACET_LIMIT rows are not counted unless asked. A class that knows
    its queries (`answer`) counts a search's rows in the page's one pass. Our own facet classes
    derive from it, and so do the classes that replace Datasette's (`facet_override`)."""

    one_pass = False

    def __init__(self, ds: Datasette, *args: Any, **kwargs: Any) -> None:
        super().__init__(KeptQueries(ds, self.answer), *args, **kwargs)
        columns = known_columns(ds, self.database, self.table)
        self.facet_request = read_request(self.request, self.metadata, columns)
        if self.facet_request.problem:  # the first facet made says so, before any counts
            raise BadRequest(self.facet_request.problem)
        self.page_pass: PagePass | None = None
        if self.one_pass and searched(self.request):
            passes = _PASSES.setdefault(self.request, {})  # one query: the page's rows
            self.page_pass = passes.setdefault(self.sql, PagePass())
            self.page_pass.add(self.type, self.columns(), self.get_facet_size() + 1)

    def get_configs(self) -> list[dict[str, Any]]:
        """This type's facets: metadata.yml's, then the request's, checked (facet_params)."""
        return [
            *metadata_configs(self.metadata).get(self.type, []),
            *self.facet_request.configs.get(self.type, []),
        ]

    def columns(self) -> list[str]:
        return [config_column(c["config"]) for c in self.get_configs()]

    async def answer(self, sql: str) -> Results | None:
        """The results of `sql`, where this facet can give them without running it."""
        return None

    async def passed(self, column: str, limit: int) -> Results | None:
        """This facet's counts of `column` from the page's one pass, where there is one."""
        if self.page_pass is None or limit != self.page_pass.limit:
            return None
        counts = await self.page_pass.counts(self)
        return None if counts is None else counts.get((self.type, column))

    def search_facet_limit(self) -> int:
        config = self.ds.plugin_config(PLUGIN, database=self.database, table=self.table) or {}
        return int(config.get("search_facet_limit", SEARCH_FACET_LIMIT))

    def too_broad(self) -> bool:
        """Whether the rows are a search's, too many for their facets to be counted (and they
        were not asked for)."""
        return (
            searched(self.request)
            and self.row_count is not None
            and self.row_count > self.search_facet_limit()
            and not self.request.args.get(COUNT_ALL)
        )

    async def facet_results(self) -> FacetResults:
        if self.too_broad():
            return self.not_counted(), []
        try:
            return await self.counted()
        except sqlite3.DatabaseError as error:  # e.g. an array facet of a column of plain text
            names = ", ".join(self.columns())
            message = f"the {self.type} facet of {names} cannot be counted: {error}"
            raise BadRequest(message) from None

    async def counted(self) -> FacetResults:
        """The facet class's own results."""
        results: FacetResults = await super().facet_results()
        return results

    def not_counted(self) -> list[dict[str, Any]]:
        """Each facet, with no counts and what to do to have them."""
        arg = "_facet" if self.type == "column" else f"_facet_{self.type}"
        reason = {
            "rows": self.row_count,
            "limit": self.search_facet_limit(),
            "count_url": self.ds.urls.path(path_with_added_args(self.request, {COUNT_ALL: "1"})),
        }
        results: list[dict[str, Any]] = []
        for source_and_config in self.get_configs():
            column = config_column(source_and_config["config"])
            toggle = path_with_removed_args(self.request, {arg: column})
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "results": [],
                    "truncated": False,
                    "hideable": source_and_config["source"] != "metadata",
                    "toggle_url": self.ds.urls.path(toggle),
                    "not_counted": reason,
                }
            )
        return results


class IdsFacet(KeptCounts):
    """Counts of the rows whose JSON array (of distinct strings) holds each value."""

    type = "ids"
    one_pass = True

    async def suggest(self) -> list[dict[str, Any]]:
        return []  # configured where it applies; never suggested

    async def answer(self, sql: str) -> Results | None:
        """Our query for one column's counts, from the page's one pass."""
        limit = self.get_facet_size() + 1
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config_column(config)
            if sql == self._sql(config, column, limit):
                return await self.passed(column, limit)
        return None

    async def counted(self) -> FacetResults:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config_column(config)
            sql = self._sql(config, column, size + 1)
            try:
                rows = await self.ds.execute(
                    self.database,
                    sql,
                    self.params,
                    truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )
            except QueryInterrupted:
                timed_out.append(column)
                continue
            values: list[dict[str, Any]] = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                arg = {f"{column}__arraycontains": value}
                selected = (f"{column}__arraycontains", value) in pairs
                toggle = (path_with_removed_args if selected else path_with_added_args)(
                    self.request, arg
                )
                values.append(
                    {
                        "value": value,
                        "label": value,
                        "count": row["count"],
                        "toggle_url": self.ds.absolute_url(self.request, toggle),
                        "selected": selected,
                    }
                )
            results.append(
                {
                    "name": column,
                    "type": self.type,
                    "results": values,
                    "hideable": source_and_config["source"] != "metadata",
                    "toggle_url": self.ds.urls.path(
                        path_with_removed_args(self.request, {"_facet_ids": column})
                    ),
                    "truncated": len(rows) > size,
                }
            )
        return results, timed_out

    def _sql(self, config: dict[str, Any], column: str, limit: int) -> str:
        """The facet's query: from the link table where the rows are not filtered."""
        unfiltered = not self.params and not _WHERE.search(self.sql)
        if unfiltered and {"table", "value"} <= set(config):
            table, value = escape_sqlite(config["table"]), escape_sqlite(config["value"])
            return LINK_SQL.format(value=value, table=table, limit=limit)
        return FACET_SQL.format(sql=self.sql, column=escape_sqlite(column), limit=limit)
