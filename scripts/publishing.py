"""Publishing facts.db with Datasette: settings, metadata and the serve command line.

The settings live here, not in a developer's shell, so that `facts serve`, the tests and any
deployment use the same ones.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.database import sqlite_utils
from factdb.tables import (
    ANSWER_COLUMNS,
    CLAIM_DATE_COLUMNS,
    COMPARISON_COLUMNS,
    LINK_TABLES,
    MODELS,
    VIEWS,
    column_descriptions,
    create_tables,
    view_column_descriptions,
)

METADATA_FILE = "metadata.yml"
DATABASE_NAME = "facts"

SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 1000,  # any query, canned or typed, is stopped after a second
    "max_returned_rows": 1000,  # result sizes are capped
    # HTML pages cut a cell's text after 400 characters (JSON and CSV keep all of it): the
    # longest quote curated so far is 261; at 100,000 claims an answer's list of sources is
    # thousands of characters, and the conflicts page was 5 MB
    "truncate_cells_html": 400,
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
    "suggest_facets": False,  # at 100,000 claims, suggesting facets costs 2 s a table page
    "allow_download": True,
    "default_allow_sql": True,  # readers may write their own SELECT queries, within the limit
}


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def metadata_path(root: Path | None = None) -> Path:
    """root's metadata.yml; without a root (or where root has none), the copy the package ships
    (factdb/site/metadata.yml), so that an installed package serves the site from any folder."""
    if root is not None and (root / METADATA_FILE).is_file():
        return root / METADATA_FILE
    return Path(str(files("factdb.site").joinpath(METADATA_FILE)))


def read_metadata(root: Path | None = None) -> dict:
    """metadata.yml (`metadata_path`) as a plain dict, the form Datasette(metadata=...) takes."""
    return YAML(typ="safe").load(metadata_path(root).read_text(encoding="utf-8"))


def view_columns() -> dict[str, list[str]]:
    """The columns each view returns, read from an empty in-memory database of the schema."""
    db = sqlite_utils.Database(memory=True)
    create_tables(db)
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())
    return {view: [column.name for column in db[view].columns] for view in VIEWS}


def documented_metadata(root: Path) -> str:
    """metadata.yml with every table, view and column description regenerated from the schema."""
    yaml = _yaml()
    metadata = yaml.load((root / METADATA_FILE).read_text(encoding="utf-8"))
    tables = metadata["databases"][DATABASE_NAME]["tables"]
    for table in MODELS:
        tables[table]["columns"] = dict(sorted(column_descriptions(table).items()))
    for table, link in LINK_TABLES.items():
        entry = tables.setdefault(table, {})
        entry["description"] = link.description
        entry["columns"] = {name: text for name, (_, _, text) in link.columns.items()}
    tables.setdefault("answers", {})["columns"] = {
        name: text for name, (_, text) in ANSWER_COLUMNS.items()
    }
    tables.setdefault("comparisons", {})["columns"] = {
        name: text for name, (_, text) in COMPARISON_COLUMNS.items()
    }
    tables.setdefault("claim_dates", {})["columns"] = {
        name: text for name, (_, text) in CLAIM_DATE_COLUMNS.items()
    }
    tables.setdefault("sentences", {})["columns"] = {
        name: text for name, (_, text) in SENTENCE_COLUMNS.items()
    }
    for view, names in view_columns().items():
        columns = view_column_descriptions(view, names)
        tables.setdefault(view, {})["columns"] = columns
    out = StringIO()
    yaml.dump(metadata, out)
    # ruamel leaves a space where it wraps a flow scalar; it is not part of the value
    return "\n".join(line.rstrip() for line in out.getvalue().split("\n"))


def inspect_file(database: Path) -> Path:
    """Where write_inspect_file puts a database's counts: facts.db -> facts.inspect.json."""
    return database.with_suffix(".inspect.json")


def write_inspect_file(database: Path, target: Path | None = None) -> Path:
    """Run `datasette inspect`: every table's row count (and the file's hash), computed once
    for `serve --inspect-file` rather than at each start of the server; into `target` (by
    default `inspect_file(database)`). It runs in the database's folder, so the data names the
    file as Datasette's configuration-directory mode wants it: by name, then opened immutable."""
    target = (target or inspect_file(database)).resolve()
    command = [sys.executable, "-m", "datasette", "inspect", database.name, "--inspect-file"]
    subprocess.run([*command, str(target)], cwd=database.parent, check=True, capture_output=True)
    return target


def serve_arguments(
    database: Path, root: Path | None, host: str = "127.0.0.1", port: int = 8001
) -> list[str]:
    """The datasette command line that serves the database read-only and immutable, with our
    settings, and with its inspect file's counts where write_inspect_file wrote one."""
    arguments = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "--immutable",
        str(database),
        "--metadata",
        str(metadata_path(root)),
        "--host",
        host,
        "--port",
        str(port),
    ]
    if inspect_file(database).is_file():
        arguments += ["--inspect-file", str(inspect_file(database))]
    for name, value in SETTINGS.items():
        arguments += [
            "--setting",
            name,
            str(value).lower() if isinstance(value, bool) else str(value),
        ]
    return arguments
