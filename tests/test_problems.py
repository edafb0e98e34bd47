"""Problems as the reader gets them: a file that cannot be read is one problem, not a cascade
(factdb.problems.collapse_cascade), and long lists are capped in text (format_problems)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from factdb import validate
from factdb.cli import cli
from factdb.problems import CASCADE_LIMIT, Problem, format_problems


def _claims(count: int) -> str:
    lines = ["claims:"]
    for number in range(count):
        lines += [
            f"  - id: claim-{number:03d}",
            "    source: sample",
            "    statement: Officials said about 3,000 soldiers had arrived.",
            "    quote: about 3,000 soldiers had arrived",
            "    date: 2024-10-22",
            "    date_basis: on Tuesday",
            "    claimant: null",
            "    assertion: reported",
        ]
    return "\n".join(lines) + "\n"


def _unreadable_registry(tree: Path, claims: int) -> list[Problem]:
    """The problems of the tree with `claims` more claims of its source and a registry that
    cannot be read."""
    (tree / "facts" / "claims" / "many.yaml").write_text(_claims(claims), encoding="utf-8")
    registry = tree / "facts" / "registry.yaml"
    registry.write_text("sources: [\n" + registry.read_text(encoding="utf-8"), encoding="utf-8")
    return validate(tree, cache=False).problems


def test_an_unreadable_registry_is_one_problem_not_one_per_claim(tree: Path):
    problems = _unreadable_registry(tree, 40)
    references = [p for p in problems if p.rule == "unknown-reference"]
    assert [(p.path, p.line, p.column) for p in references] == [("facts/registry.yaml", 1, 1)]
    [reference] = references
    assert reference.message.startswith(
        # 40 new claims name the source, the sample's two claims 8 ids of the registry
        "48 references name ids that no readable file defines (the first, "
        "facts/claims/many.yaml:3: source: no source 'sample'"
    )
    assert reference.message.endswith(
        "they may be defined in this file, which could not be read: fix it first"
    )
    assert any(p.rule == "yaml-syntax" and p.path == "facts/registry.yaml" for p in problems)


def test_a_few_unknown_references_are_still_reported_one_by_one(tree: Path):
    problems = _unreadable_registry(tree, 10)
    references = [p for p in problems if p.rule == "unknown-reference"]
    assert len(references) == 18 <= CASCADE_LIMIT  # 10 new claims, the sample's 8 ids
    assert all(p.path.startswith("facts/claims/") for p in references)


def test_with_every_file_readable_nothing_is_collapsed(tree: Path):
    text = _claims(30).replace("source: sample", "source: nowhere")
    (tree / "facts" / "claims" / "many.yaml").write_text(text, encoding="utf-8")
    problems = validate(tree, cache=False).problems
    assert sum(p.rule == "unknown-reference" for p in problems) == 30


def test_text_output_stops_after_the_limit_and_says_how_many_more():
    problems = [Problem("facts/a.yaml", n, 1, "blank-text", "empty") for n in range(1, 6)]
    text = format_problems(problems, limit=2).splitlines()
    assert text == [
        "facts/a.yaml:1:1: blank-text: empty",
        "facts/a.yaml:2:1: blank-text: empty",
        "... and 3 more problem(s): --format json lists every one",
    ]
    assert format_problems(problems, "json", limit=2).count('"rule"') == 5


def test_validate_caps_its_text_output(tree: Path, monkeypatch):
    import factdb.cli

    monkeypatch.setattr(factdb.cli, "PROBLEMS_SHOWN", 3)
    text = _claims(10).replace("source: sample", "source: nowhere")
    (tree / "facts" / "claims" / "many.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--root", str(tree), "--no-cache"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and lines[-1] == (
        "... and 7 more problem(s): --format json lists every one"
    )
