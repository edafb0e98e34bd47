"""Shared fixtures: a copy of the small valid tree, and the repository's real database."""

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


@pytest.fixture(scope="session")
def repo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """facts.db built from the repository's own facts, once per test session."""
    result = validate(REPO, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    return build_database(result, tmp_path_factory.mktemp("db") / "facts.db")
