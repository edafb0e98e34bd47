"""Validating a fact tree: the one entry point, which chooses how the work is done.

- With the cache (root/.cache/facts, see `caching`), a run after a small change parses and
  checks only the changed files' records, while the registries and seeds are unchanged.
- Otherwise every record is checked (`sharding`): in this process for a small tree, or with the
  claim files shared among worker processes for a large one; the cache, where used, then spares
  the parsing of unchanged files.

Every way gives the same problems (tests compare them).
"""

from __future__ import annotations

from pathlib import Path

from factdb.caching import Cache
from factdb.problems import collapse_cascade
from factdb.processes import MIN_PARALLEL_FILES, remove_orphans
from factdb.results import PreparedRows, Validation


def validate(
    root: Path | str,
    *,
    cache: bool = True,
    workers: int | None = None,
    for_build: bool = False,
) -> Validation:
    """Load every fact file under `root` and run every rule; never raises on bad input.

    cache: reuse what the last run found for unchanged files (kept in root/.cache/facts).
    workers: processes for the claim files (default: the machine's cores, for large trees).
    for_build: check every record, and keep what building needs of the claims (their rows,
    where workers checked them); close the result, or use it in a `with`, when done.
    """
    result = _validate(Path(root), cache, workers, for_build)
    result.problems = collapse_cascade(result.problems)  # as reported; the cache keeps them all
    return result


def _validate(root: Path, cache: bool, workers: int | None, for_build: bool) -> Validation:
    if for_build:
        _remove_orphan_rows()
    tree = Cache(root) if cache else None
    if tree is not None and not for_build and len(tree.changed) < MIN_PARALLEL_FILES:
        result = tree.check_changed()  # a cold cache goes to the workers instead
        if result is not None:
            return result
    from factdb.sharding import check_tree  # imported only where every record is checked

    if tree is None:
        return check_tree(root, workers=workers, prepare=for_build).validation
    checked = check_tree(
        root, loader=tree.loader(), workers=workers, prepare=for_build, digest=True
    )
    tree.save(checked.validation, checked.ids, checked.dating, checked.proving)
    return checked.validation


def _remove_orphan_rows() -> None:
    """Remove the prepared rows that builds killed before they ended left in the temporary
    folder (those of a process that is no longer alive)."""
    import tempfile

    remove_orphans(Path(tempfile.gettempdir()), PreparedRows.PREFIX)
