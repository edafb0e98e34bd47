"""Datasette's facets with their counts kept, and a facet for JSON arrays of ids.

**Kept counts.** A facet's counts are a query over the rows the page shows; over an immutable
database (as `facts serve` publishes it) the same query always gives the same rows. Our facet
classes take Datasette's column, date and array facets as they are and answer a query they
have run before from memory (the last `CACHE_SIZE` queries of each Datasette): at 100,000
claims the claims table's six facets cost 24 ms a page, the first time. Over a mutable database
nothing is kept. They replace Datasette's own facet classes (`scripts.pages` blocks the
`datasette.facets` plugin), under the same types, so `_facet=` and metadata work unchanged.

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

import re
import weakref
from collections import OrderedDict
from typing import Any

from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

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
CACHE_SIZE = 256  # queries kept per Datasette; a facet's rows are at most facet size + 1
_KEPT: weakref.WeakKeyDictionary[Any, OrderedDict] = weakref.WeakKeyDictionary()


def _params_key(params: Any) -> tuple:
    if isinstance(params, dict):
        return tuple(sorted(params.items()))
    return tuple(params or ())


class KeptQueries:
    """The Datasette a facet sees: a query it has run before over an immutable database is
    answered from memory; everything else is Datasette's own."""

    def __init__(self, datasette: Any) -> None:
        self._datasette = datasette

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datasette, name)

    async def execute(self, db_name: str, sql: str, params: Any = None, truncate: bool = False,
                      custom_time_limit: int | None = None, page_size: int | None = None,
                      log_sql_errors: bool = True) -> Any:  # fmt: skip
        """Datasette.execute, kept for immutable databases (a query stopped by its time limit
        raises, and nothing is kept)."""
        datasette = self._datasette

        def run() -> Any:
            return datasette.execute(
                db_name, sql, params, truncate=truncate, custom_time_limit=custom_time_limit,
                page_size=page_size, log_sql_errors=log_sql_errors,
            )  # fmt: skip

        key = (db_name, sql, _params_key(params), truncate, page_size)
        try:
            hash(key)
        except TypeError:  # a parameter that is not a plain value: not kept
            return await run()
        if datasette.databases[db_name].is_mutable:
            return await run()
        kept = _KEPT.setdefault(datasette, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
        kept[key] = results = await run()
        if len(kept) > CACHE_SIZE:
            kept.popitem(last=False)
        return results


class KeptCounts:
    """Mixed into a facet class: its queries go through KeptQueries."""

    def __init__(self, ds: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(KeptQueries(ds), *args, **kwargs)


class ColumnCounts(KeptCounts, ColumnFacet):
    """Datasette's column facet (`_facet=`), its counts kept."""


class DateCounts(KeptCounts, DateFacet):
    """Datasette's date facet (`_facet_date=`), its counts kept."""


class ArrayCounts(KeptCounts, ArrayFacet):
    """Datasette's array facet (`_facet_array=`), its counts kept."""


class IdsFacet(KeptCounts, ArrayFacet):
    """Counts of the rows whose JSON array (of distinct strings) holds each value."""

    type = "ids"

    async def suggest(self) -> list:
        return []  # configured where it applies; never suggested

    async def facet_results(self) -> tuple[list[dict], list[str]]:
        results, timed_out = [], []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            sql = self._sql(config, column, size + 1)
            try:
                rows = await self.ds.execute(
                    self.database, sql, self.params, truncate=False,
                    custom_time_limit=self.ds.setting("facet_time_limit_ms"),
                )  # fmt: skip
            except QueryInterrupted:
                timed_out.append(column)
                continue
            values = []
            for row in rows.rows[:size]:
                value = str(row["value"])
                arg = {f"{column}__arraycontains": value}
                selected = (f"{column}__arraycontains", value) in pairs
                toggle = (path_with_removed_args if selected else path_with_added_args)(
                    self.request, arg
                )
                values.append({
                    "value": value, "label": value, "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, toggle),
                    "selected": selected,
                })  # fmt: skip
            results.append({
                "name": column,
                "type": self.type,
                "results": values,
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {"_facet_ids": column})
                ),
                "truncated": len(rows) > size,
            })  # fmt: skip
        return results, timed_out

    def _sql(self, config: dict, column: str, limit: int) -> str:
        """The facet's query: from the link table where the rows are not filtered."""
        unfiltered = not self.params and not _WHERE.search(self.sql)
        if unfiltered and {"table", "value"} <= set(config):
            table, value = escape_sqlite(config["table"]), escape_sqlite(config["value"])
            return LINK_SQL.format(value=value, table=table, limit=limit)
        return FACET_SQL.format(sql=self.sql, column=escape_sqlite(column), limit=limit)


FACET_CLASSES = [ColumnCounts, DateCounts, ArrayCounts, IdsFacet]
