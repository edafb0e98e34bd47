"""The cache changes how much work validation does, never what it finds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import scripts.caching as caching
from scripts.checks import validate

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
MORE_CLAIMS = """\
claims:
  - id: nine-ships
    source: sample
    statement: Nine ships sailed.
    quote: nine ships sailed
    date: '2024-10-24'
    date_basis: b
    claimant: null
    value: 9
    unit: ships
    assertion: stated
"""


def same_as_uncached(root: Path) -> list:
    cached = validate(root, cache=True).problems
    assert cached == validate(root).problems
    return cached


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files the cache parses (rather than reads from the record cache)."""
    calls: list[str] = []
    original = caching._Records.parse

    def spy(self, path, relative, digest):
        calls.append(relative)
        return original(self, path, relative, digest)

    monkeypatch.setattr(caching._Records, "parse", spy)
    return calls


def test_first_and_second_runs(tree: Path, parsed: list[str]):
    assert same_as_uncached(tree) == []
    assert sorted(parsed) == ["facts/claims/sample.yaml", "facts/registry.yaml"]
    parsed.clear()
    assert same_as_uncached(tree) == []
    assert parsed == []


def test_a_changed_claims_file_is_the_only_one_parsed(tree: Path, parsed: list[str]):
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    same_as_uncached(tree)
    parsed.clear()
    path = tree / "facts" / "claims" / "more.yaml"
    path.write_text(path.read_text().replace("Nine ships sailed.", "Nine ships left."))
    assert same_as_uncached(tree) == []
    assert parsed == ["facts/claims/more.yaml"]


def test_new_problems_in_a_changed_file(tree: Path):
    same_as_uncached(tree)
    for case in ("quote-not-found", "unknown-reference", "yaml-syntax", "value-not-in-quote"):
        shutil.copyfile(BROKEN / f"{case}.yaml", tree / "facts" / "claims" / f"zz-{case}.yaml")
        assert {p.rule for p in same_as_uncached(tree)} >= {case}
    for path in (tree / "facts" / "claims").glob("zz-*.yaml"):
        path.unlink()
    assert same_as_uncached(tree) == []


def test_duplicate_ids_across_unchanged_and_changed_files(tree: Path):
    same_as_uncached(tree)
    duplicate = MORE_CLAIMS.replace("id: nine-ships", "id: soldiers-arrived")
    (tree / "facts" / "claims" / "aa-first.yaml").write_text(duplicate)  # sorts before sample
    problems = same_as_uncached(tree)
    assert [(p.rule, p.path) for p in problems] == [("unique-id", "facts/claims/sample.yaml")]
    (tree / "facts" / "claims" / "aa-first.yaml").unlink()
    assert same_as_uncached(tree) == []


def test_registry_and_seed_changes(tree: Path):
    same_as_uncached(tree)
    registry = tree / "facts" / "registry.yaml"
    text = registry.read_text()
    registry.write_text(text.replace("  - id: minister", "  - id: ministre"))
    assert {p.rule for p in same_as_uncached(tree)} == {"unknown-reference"}
    registry.write_text(text)
    assert same_as_uncached(tree) == []
    seed = tree / "seeds" / "sample.txt"
    seed.write_text(seed.read_text().replace("nine", "ten"))
    assert {p.rule for p in same_as_uncached(tree)} == {"seed-sha256"}


def test_a_claim_quoting_a_skipped_sentence(tree: Path):
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(registry.read_text().replace(
        "    reports_from: [agency]\n",
        "    reports_from: [agency]\n    skipped:\n"
        "      - text: A second paragraph says nine ships sailed.\n        reason: Test.\n",
    ))  # fmt: skip
    assert same_as_uncached(tree) == []
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    assert [p.rule for p in same_as_uncached(tree)] == ["skipped-but-quoted"]


def test_a_damaged_cache_is_rebuilt(tree: Path):
    same_as_uncached(tree)
    for path in (tree / ".cache" / "facts").rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")
    assert same_as_uncached(tree) == []


def test_counts_in_an_incremental_run(tree: Path):
    from click.testing import CliRunner

    from scripts.cli import cli

    runner = CliRunner()
    first = runner.invoke(cli, ["validate", "--root", str(tree)])
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    second = runner.invoke(cli, ["validate", "--root", str(tree)])
    assert first.output == "OK: 2 claims, 1 sources, 3 entities, 2 topics in 2 files\n"
    assert second.output == "OK: 3 claims, 1 sources, 3 entities, 2 topics in 3 files\n"
