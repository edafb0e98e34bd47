"""Every rule has a fixture that breaks it; each must give its rule name at its exact line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from factdb import validate

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
EXPECT = re.compile(r"^# expect: (?P<rule>[a-z0-9-]+) (?P<line>\d+):(?P<column>\d+)$", re.M)


def _expectations(path: Path) -> set[tuple[str, int, int]]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return {(m["rule"], int(m["line"]), int(m["column"])) for m in EXPECT.finditer(text)}


def test_the_valid_tree_has_no_problems(tree):
    result = validate(tree, cache=False)
    assert result.problems == []
    assert len(result.facts.claims) == 2


@pytest.mark.parametrize("case", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_broken_fixture_gives_its_rule_at_its_line(tree, case):
    expected = _expectations(case)
    assert expected, f"{case.name} declares no '# expect: rule line:column'"
    target = tree / "facts" / "claims" / f"zz-{case.name}"
    shutil.copyfile(case, target)
    problems = validate(tree, cache=False).problems
    assert {p.path for p in problems} == {f"facts/claims/zz-{case.name}"}
    assert {(p.rule, p.line, p.column) for p in problems} == expected


def test_every_problem_of_every_file_in_one_run(tree):
    for name in ("quote-not-found.yaml", "unknown-reference.yaml", "yaml-syntax.yaml"):
        shutil.copyfile(BROKEN / name, tree / "facts" / "claims" / f"zz-{name}")
    rules = sorted(p.rule for p in validate(tree, cache=False).problems)
    assert rules == ["quote-not-found"] + ["unknown-reference"] * 3 + ["yaml-syntax"]


def test_problems_carry_the_record_id(tree):
    shutil.copyfile(BROKEN / "quote-not-found.yaml", tree / "facts" / "claims" / "zz.yaml")
    [problem] = validate(tree, cache=False).problems
    assert problem.record_id == "misquoted"
    assert problem.as_text().endswith("[misquoted]")


def test_quote_not_found_shows_the_closest_passage(tree):
    shutil.copyfile(BROKEN / "quote-not-found.yaml", tree / "facts" / "claims" / "zz.yaml")
    [problem] = validate(tree, cache=False).problems
    assert 'closest passage (97%): "about 3,000 soldiers had arrived"' in problem.message


def test_unknown_reference_suggests_the_closest_ids(tree):
    shutil.copyfile(BROKEN / "unknown-reference.yaml", tree / "facts" / "claims" / "zz.yaml")
    messages = [p.message for p in validate(tree, cache=False).problems]
    assert "source: no source 'sampel'; did you mean 'sample'?" in messages
    assert "claimant: no entity 'ministre'; did you mean 'minister'?" in messages


def test_seed_symlink_leaving_seeds_is_refused(tree, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (tree / "seeds" / "link.txt").symlink_to(outside)
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(registry.read_text().replace("seeds/sample.txt", "seeds/link.txt"))
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.line, p.column) for p in problems] == [("seed-path", 4, 11)]
    assert "leads outside seeds/" in problems[0].message


def test_changed_seed_is_refused_and_its_claims_not_checked_against_it(tree):
    seed = tree / "seeds" / "sample.txt"
    seed.write_text(seed.read_text().replace("3,000", "30,000"))
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.path, p.line) for p in problems] == [
        ("seed-sha256", "facts/registry.yaml", 5)
    ]


def test_duplicate_id_in_another_file_blames_the_later_file(tree):
    (tree / "facts" / "zz-more.yaml").write_text(
        "topics:\n  - id: signing-place\n    question: Again?\n    kind: text\n"
    )
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.path, p.line, p.column) for p in problems] == [
        ("unique-id", "facts/zz-more.yaml", 2, 9)
    ]
    assert "already used at facts/registry.yaml:33" in problems[0].message


@pytest.mark.parametrize("twin", ["Signing-Place", "signing\uff0dplace", "\uff53igning-place"])
def test_ids_differing_only_in_case_or_normalisation_are_refused(tree, twin):
    (tree / "facts" / "zz-more.yaml").write_text(
        f'topics:\n  - id: "{twin}"\n    question: Again?\n    kind: text\n'
    )
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.line, p.column) for p in problems] == [("bad-format", 2, 9)]


def test_scheduled_claims_may_be_dated_after_publication(tree):
    claims = tree / "facts" / "claims" / "sample.yaml"
    claims.write_text(
        claims.read_text()
        + "  - id: later\n    source: sample\n    statement: S.\n    quote: nine ships sailed\n"
        "    date: 2024-12-01\n    date_basis: b\n    claimant: null\n    value: 9\n"
        "    unit: ships\n    assertion: scheduled\n"
    )
    assert validate(tree, cache=False).problems == []


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tree):
    from factdb.loading import MAX_FILE_BYTES

    big = tree / "facts" / "claims" / "zz-big.yaml"
    big.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.path, p.line, p.column) for p in problems] == [
        ("file-too-large", "facts/claims/zz-big.yaml", 1, 1)
    ]


def _accented_source(tree: Path, quote: str) -> None:
    """A second source whose seed is in NFC (as nearly every text is), and a claim quoting it."""
    import hashlib
    import unicodedata

    seed = tree / "seeds" / "accents.txt"
    seed.write_text(unicodedata.normalize("NFC", "The caf\u00e9 in S\u00e3o Paulo reopened.\n"))
    digest = hashlib.sha256(seed.read_bytes()).hexdigest()
    (tree / "facts" / "accents.yaml").write_text(
        f"sources:\n  - id: accents\n    seed: seeds/accents.txt\n    sha256: '{digest}'\n"
        "    title: null\n    publisher: null\n    published: 2024-10-24\n"
        "    published_basis: b\n    published_stated: true\n    language: en\n"
        "claims:\n  - id: reopened\n    source: accents\n    statement: It reopened.\n"
        f'    quote: "{quote}"\n    date: 2024-10\n    date_basis: b\n    claimant: null\n'
        "    assertion: stated\n"
    )


def test_a_quote_differing_only_in_unicode_normalisation_says_so(tree):
    import unicodedata

    _accented_source(tree, unicodedata.normalize("NFD", "caf\u00e9 in S\u00e3o Paulo"))
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.path, p.line, p.column) for p in problems] == [
        ("quote-not-found", "facts/accents.yaml", 15, 12)
    ]
    assert problems[0].message == (
        "quote not found in source 'accents': it differs only in Unicode normalisation "
        "(the quote is NFD, the source NFC); use the source's form"
    )
    assert "closest passage" not in problems[0].message


def test_a_quote_in_the_source_form_is_found(tree):
    _accented_source(tree, "caf\u00e9 in S\u00e3o Paulo")
    assert validate(tree, cache=False).problems == []


def test_a_quote_wrong_beyond_normalisation_gets_the_closest_passage(tree):
    import unicodedata

    _accented_source(tree, unicodedata.normalize("NFD", "caf\u00e9 in S\u00e3o Paolo"))
    [problem] = validate(tree, cache=False).problems
    assert "closest passage" in problem.message and "normalisation" not in problem.message
