"""factdb: a source-verified fact database, as a library with a thin command line on top.

    >>> import factdb
    >>> validation = factdb.validate("path/to/repository")   # facts/ and seeds/ under it
    >>> [problem.as_text() for problem in validation.problems]
    []
    >>> with factdb.validate("path/to/repository", for_build=True) as validation:
    ...     factdb.build(validation, "facts.db")

`validate(root, *, cache=True, workers=None, for_build=False) -> Validation` loads every fact
file and runs every rule, and never raises on bad input: what is wrong is in
`Validation.problems`, each a `Problem` with its file, line, column, rule and record id.
`build(validation, path) -> Path` writes the SQLite database atomically; it raises `BuildError`
for a validation with problems.

The modules, from the top down: `cli` (the `facts` command), `validating` (the one entry to
validation; `caching`, `sharding` and `checks` below it; `proving` for the dates across
articles, solved by `dating`, over arrays at scale by `sweeping`), `building` (the only writer
of the database; `tables` for its shape, `rows` for its rows), `publishing` and the plugin in
`site` (Datasette), `exporting` (open formats: Web Annotations, a Data Package, Datasette
Lite), `authoring`, `editing`, `reviewing` (contributor commands), `benchmark` and `loadtest`
(measurement; `profiling` times the steps of a run); `loading`, `locating`, `text`,
`problems`, `results`, `progress` at the ground floor; `factdb.schema` holds the pydantic
models, defined once.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from factdb.building import BuildError
    from factdb.problems import Problem
    from factdb.results import Validation
    from factdb.validating import validate

# Imported when first used: `import factdb` (which every `facts` command does) stays cheap.
_LAZY = {
    "BuildError": "factdb.building",
    "Problem": "factdb.problems",
    "Validation": "factdb.results",
    "validate": "factdb.validating",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'factdb' has no attribute {name!r}")


def build(validation: Validation, path: Path | str) -> Path:
    """Write the database of a valid tree to `path`, replacing any earlier one only when done."""
    from factdb.building import build_database

    return build_database(validation, Path(path))


__all__ = ["BuildError", "Problem", "Validation", "build", "validate"]
