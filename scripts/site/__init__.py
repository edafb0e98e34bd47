"""The Datasette plugin: the project's pages, facets and templates, reading the database only.

Registered through the `datasette` entry point in pyproject.toml. Datasette finds the templates
in `templates/` beside this file (a plugin package's own templates), so an installed package
serves the full site with plain `datasette facts.db -m metadata.yml`.
"""

from factdb.site.pages import (
    extra_template_vars,
    prepare_connection,
    register_facet_classes,
    register_routes,
    startup,
)

__all__ = [
    "extra_template_vars",
    "prepare_connection",
    "register_facet_classes",
    "register_routes",
    "startup",
]
