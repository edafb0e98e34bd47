"""Publishing facts.db with Datasette: settings, metadata and the serve command line.

The settings live here, not in a developer's shell, so that `facts serve`, the tests and any
deployment use the same ones.
"""

from __future__ import annotations

import sys
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from scripts.building import LINK_TABLES, MODELS, column_descriptions

METADATA_FILE = "metadata.yml"
TEMPLATES_DIR = "templates"
DATABASE_NAME = "facts"

SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 1000,  # any query, canned or typed, is stopped after a second
    "max_returned_rows": 1000,  # result sizes are capped
    "default_page_size": 50,
    "facet_time_limit_ms": 500,
    "allow_download": True,
    "default_allow_sql": True,  # readers may write their own SELECT queries, within the limit
}


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def read_metadata(root: Path) -> dict:
    """metadata.yml as a plain dict, the form Datasette(metadata=...) takes."""
    return YAML(typ="safe").load((root / METADATA_FILE).read_text(encoding="utf-8"))


def documented_metadata(root: Path) -> str:
    """metadata.yml with every column description regenerated from the models."""
    yaml = _yaml()
    metadata = yaml.load((root / METADATA_FILE).read_text(encoding="utf-8"))
    tables = metadata["databases"][DATABASE_NAME]["tables"]
    for table in MODELS:
        tables[table]["columns"] = dict(sorted(column_descriptions(table).items()))
    for table, (*_, description) in LINK_TABLES.items():
        tables.setdefault(table, {})["description"] = description
    out = StringIO()
    yaml.dump(metadata, out)
    return out.getvalue()


def serve_arguments(
    database: Path, root: Path, host: str = "127.0.0.1", port: int = 8001
) -> list[str]:
    """The datasette command line that serves the database read-only with our settings."""
    arguments = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "--immutable",
        str(database),
        "--metadata",
        str(root / METADATA_FILE),
        "--host",
        host,
        "--port",
        str(port),
    ]
    if (root / TEMPLATES_DIR).is_dir():
        arguments += ["--template-dir", str(root / TEMPLATES_DIR)]
    for name, value in SETTINGS.items():
        arguments += [
            "--setting",
            name,
            str(value).lower() if isinstance(value, bool) else str(value),
        ]
    return arguments
