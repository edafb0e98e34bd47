"""Shared fixtures: a copy of the small valid tree, the repository's real database, and a
database of dated events (tests/fixtures/dates and tests/fixtures/timeline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factdb import validate
from factdb.building import build_database

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/tree: one source, three entities, two claims."""
    target = tmp_path / "tree"
    shutil.copytree(FIXTURES / "tree", target, ignore=shutil.ignore_patterns(".cache"))
    return target


@pytest.fixture
def dates_tree(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/dates: two articles, one printing its day, whose claims
    date the council's vote "on Wednesday" and "yesterday"."""
    root = tmp_path / "dates"
    shutil.copytree(FIXTURES / "dates", root, ignore=shutil.ignore_patterns(".cache"))
    return root


@pytest.fixture(scope="session")
def repo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """facts.db built from the repository's own facts, once per test session."""
    result = validate(REPO, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    return build_database(result, tmp_path_factory.mktemp("db") / "facts.db")


@pytest.fixture(scope="session")
def timeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """facts.db of tests/fixtures/dates with tests/fixtures/timeline laid over it: four events
    (a day, a week, one open at its start, one in 2023) and a quantity that changes over time."""
    root = tmp_path_factory.mktemp("timeline") / "tree"
    shutil.copytree(FIXTURES / "dates", root, ignore=shutil.ignore_patterns(".cache"))
    shutil.copytree(FIXTURES / "timeline", root, dirs_exist_ok=True)
    result = validate(root, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    return build_database(result, root.parent / "facts.db")
