"""Datasette's own column, date and array facet classes, replaced by ours: the one part of the
plugin that depends on Datasette's internals rather than its documented plugin interface.

**Why.** The latency goal is every page's p99 at most 2x Datasette's plain claims table page
(`facts bench`). Two things in `factdb.site.facets` meet it for the claims table, and both need
Datasette's own facet classes to give way to ours under the same types (`column`, `date`,
`array`, so `_facet=` and metadata.yml work unchanged):

- kept counts: at 100,000 claims the table's six facets cost 24 ms a page the first time and
  nothing after, over an immutable database;
- a search's facets: with each of its six facets counting its own matches the table's search
  was 4.7x; counted in one query (11.5 ms against 20 ms for a search matching 8,360 claims),
  not counted for a search matching more than 5,000 rows, and read through mmap
  (`pages.prepare_connection`), it is 1.37x.

No documented hook removes a facet class (each facet type must be unique across classes), and
no hook sees the queries Datasette's facet classes run. Hence what this module relies on, each
checked by tests/test_datasette_contract.py, which fails naming what changed:

1. Datasette's default plugin `datasette.facets` registers its facet classes; `startup` blocks
   it (pluggy's `set_blocked`), once every plugin is loaded and before the first request.
2. `ColumnFacet`, `DateFacet` and `ArrayFacet` take Datasette's facet constructor arguments and
   run each query through `execute` of the Datasette they are given (`KeptQueries` keeps them).
3. `ColumnFacet` writes a column's counts as `COLUMN_FACET_SQL` expects, so the page's one pass
   answers it; a query it does not recognise runs as Datasette wrote it (slower, not wrong).
4. The table page makes every facet before it counts any (`PagePass` gathers them).
5. Datasette is `DATASETTE_REQUIREMENT`, the range pyproject.toml pins.
6. Datasette's facet classes read their configurations only through `Facet.get_configs`, which
   ours replace with the checked reading of `facet_params` (Datasette's own parsing failed with
   500s on malformed `_facet*` parameters), and the table page makes its facets outside any
   handler of its own, so a facet that refuses its parameters (BadRequest) answers 400.

See docs/datasette-internals.md.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from datasette import hookimpl
from datasette.database import Results
from datasette.facets import ArrayFacet, ColumnFacet, DateFacet
from datasette.utils import escape_sqlite

from factdb.site.facet_params import remember_columns
from factdb.site.facets import IdsFacet, KeptCounts, hold_search_facets
from factdb.site.table_search import install as answer_table_searches

if TYPE_CHECKING:
    from datasette.app import Datasette

DATASETTE_REQUIREMENT = "datasette>=0.65.5,<0.66"  # the versions this module was checked on
BLOCKED_PLUGINS = ("datasette.facets",)  # Datasette's plugins whose facet classes ours replace

# Datasette's column facet query (datasette/facets.py, ColumnFacet.facet_results) around the
# page's query; a query that does not match it runs as Datasette wrote it
COLUMN_FACET_SQL = re.compile(
    r"\s*select (?P<column>.+?) as value, count\(\*\) as count from \(\s*(?P<sql>.+?)\s*\)"
    r"\s*where (?P=column) is not null\s*group by (?P=column) order by count desc, value"
    r" limit (?P<limit>\d+)\s*",
    re.DOTALL,
)


class ColumnCounts(KeptCounts, ColumnFacet):
    """Datasette's column facet (`_facet=`), its counts kept, a search's in one pass."""

    one_pass = True

    async def answer(self, sql: str) -> Results | None:
        """Datasette's query for one column's counts, from the page's one pass."""
        match = COLUMN_FACET_SQL.fullmatch(sql)
        if not (match and match["sql"] == self.sql.strip()):
            return None
        by_name = {escape_sqlite(column): column for column in self.columns()}
        if match["column"] not in by_name:
            return None
        return await self.passed(by_name[match["column"]], int(match["limit"]))


class DateCounts(KeptCounts, DateFacet):
    """Datasette's date facet (`_facet_date=`), its counts kept."""


class ArrayCounts(KeptCounts, ArrayFacet):
    """Datasette's array facet (`_facet_array=`), its counts kept."""


FACET_CLASSES: list[type[KeptCounts]] = [ColumnCounts, DateCounts, ArrayCounts, IdsFacet]


@hookimpl
def startup(datasette: Datasette) -> Callable[[], Awaitable[None]]:
    """Datasette's own facet classes give way to ours: the same, their counts kept. Blocked
    once every plugin is loaded, before the first request. Then the immutable databases'
    columns are read, against which a request's facet parameters are checked (facet_params),
    their table pages' searches are answered through their indexes (table_search), and the
    facets of those searches start being read into memory (facets.hold_search_facets)."""
    from datasette.plugins import pm

    for name in BLOCKED_PLUGINS:
        pm.set_blocked(name)

    async def started() -> None:
        await remember_columns(datasette)
        answer_table_searches(datasette)
        await hold_search_facets(datasette)

    return started


@hookimpl
def register_facet_classes() -> list[type[KeptCounts]]:
    return FACET_CLASSES
