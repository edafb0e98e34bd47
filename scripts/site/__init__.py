"""The Datasette plugin: the project's pages, facets and templates, reading the database only.

Registered through the `datasette` entry point in pyproject.toml. Datasette finds the templates
in `templates/` beside this file (a plugin package's own templates), so an installed package
serves the full site with plain `datasette facts.db -m metadata.yml`.

`pages` (the pages, search and memory-mapped reads) and `facets` (kept counts, a search's facets,
the ids facet) use Datasette's plugin hooks and its `Facet` base class; `facet_override`, which
replaces Datasette's own facet classes with ours, is the one module that depends on its
internals (docs/datasette-internals.md). `headers` wraps the application (`asgi_wrapper`): security
headers on every response, and CSV cells a spreadsheet would run as formulas made inert.
`errors` answers malformed table-page parameters (`_sort=`, `_timelimit=`, `_through=`) with a
400 naming the parameter, where Datasette 0.65 fails with a 500 (`handle_exception`).
"""

from factdb.site.cells import render_cell
from factdb.site.charts import extra_body_script
from factdb.site.errors import handle_exception
from factdb.site.facet_override import register_facet_classes, startup
from factdb.site.headers import asgi_wrapper
from factdb.site.pages import extra_template_vars, prepare_connection, register_routes

__all__ = [
    "asgi_wrapper",
    "extra_body_script",
    "extra_template_vars",
    "handle_exception",
    "prepare_connection",
    "register_facet_classes",
    "register_routes",
    "render_cell",
    "startup",
]
