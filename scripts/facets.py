"""A Datasette facet for JSON arrays of ids, five times faster than the array facet at scale.

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

from datasette.database import QueryInterrupted
from datasette.facets import ArrayFacet
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


class IdsFacet(ArrayFacet):
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
