"""Dates across articles on synthetic articles with known answers (tests/fixtures/dates): one
article prints its day and dates the council's vote "on Wednesday"; the other says "yesterday"."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb import build, validate
from factdb.cli import cli

DATES = Path(__file__).resolve().parent / "fixtures" / "dates"


@pytest.fixture
def tree(dates_tree: Path) -> Path:
    return dates_tree


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def found(root: Path) -> list[tuple[str, str, int, int, str | None, str]]:
    return [
        (p.rule, p.path, p.line, p.column, p.record_id, p.severity)
        for p in validate(root, cache=False).problems
    ]


def test_two_articles_prove_the_event_and_the_other_publication(tree: Path, tmp_path: Path):
    result = validate(tree, cache=False)
    assert result.problems == []
    event = result.dates["event:council-vote"]
    assert (event.start, event.end, event.edtf) == ("2024-10-23", "2024-10-23", "2024-10-23")
    published = result.dates["source:b"]
    assert published.edtf == "2024-10-24"
    assert set(published.proof) == {"a", "a-council-approved", "b-council-approved"}
    db = sqlite3.connect(build(result, tmp_path / "facts.db"))
    assert db.execute("select date, date_proof, claims from events").fetchall() == [
        ("2024-10-23", '["a", "a-council-approved"]', 2)
    ]
    assert db.execute("select proved, published_proof from sources where id = 'b'").fetchone()[
        0
    ] == ("2024-10-24")
    proved = dict(db.execute("select claim_id, proved from claim_dates").fetchall())
    assert proved == {"a-council-approved": "2024-10-23", "b-council-approved": "2024-10-23"}
    assert db.execute(
        "select event, [when] from claims where id = 'b-council-approved'"
    ).fetchone() == (
        "council-vote",
        '["yesterday"]',
    )


def test_a_written_date_looser_than_proved_is_a_warning_and_strict_fails(tree: Path):
    edit(tree / "facts" / "claims" / "b.yaml", "    date: '2024-10-23'", "    date: 2024-10")
    assert found(tree) == [
        ("date-looser-than-proved", "facts/claims/b.yaml", 6, 11, "b-council-approved", "warning")
    ]
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", "--root", str(tree), "--no-cache"]).exit_code == 0
    strict = runner.invoke(cli, ["validate", "--root", str(tree), "--no-cache", "--strict"])
    assert strict.exit_code == 1
    assert "date-looser-than-proved (warning): 2024-10 could be 2024-10-23" in strict.output


def test_a_publication_written_looser_than_proved(tree: Path):
    edit(
        tree / "facts" / "registry.yaml",
        "    published: 2024-10-24\n    published_basis: B",
        "    published: 2024-10\n    published_basis: B",
    )
    assert found(tree) == [
        ("date-looser-than-proved", "facts/registry.yaml", 21, 16, "b", "warning")
    ]


@pytest.mark.parametrize(
    ("written", "rule"),
    [("'2024-10-22'", "date-not-proved"), ("2024-10-23/2024-10-25", "date-looser-than-proved")],
)
def test_a_written_date_outside_or_around_the_proved_one(tree: Path, written: str, rule: str):
    edit(tree / "facts" / "claims" / "b.yaml", "    date: '2024-10-23'", f"    date: {written}")
    assert [problem[0] for problem in found(tree)] == [rule]


def test_contradictory_dates_name_every_claim_involved(tree: Path):
    """A third article printed on 2024-10-30 says the vote was today: no day fits the event."""
    (tree / "seeds" / "c.txt").write_text(
        "Published October 30, 2024\nThe council approved the plan today.\n"
    )
    digest = hashlib.sha256((tree / "seeds" / "c.txt").read_bytes()).hexdigest()
    (tree / "facts" / "c.yaml").write_text(
        "sources:\n  - id: c\n    seed: seeds/c.txt\n    sha256: " + digest + "\n"
        "    title: null\n    publisher: null\n    published: 2024-10-30\n"
        "    published_basis: Printed.\n    published_stated: true\n    language: en\n"
        "    skipped:\n      - text: Published October 30, 2024\n"
        "        reason: Publication line.\n"
        "claims:\n  - id: c-council-approved\n    source: c\n"
        "    statement: The council approved the plan on 30 October 2024.\n"
        "    quote: The council approved the plan today.\n    date: '2024-10-30'\n"
        "    date_basis: Today.\n    when: [today]\n    event: council-vote\n    claimant: null\n"
        "    assertion: stated\n"
    )
    problems = [p for p in validate(tree, cache=False).problems if p.rule == "date-contradiction"]
    involved = {p.record_id for p in problems}
    assert {"a-council-approved", "c-council-approved"} <= involved
    assert all("cannot all hold" in p.message for p in problems)
    assert {(p.path, p.line) for p in problems if p.record_id == "c-council-approved"} == {
        ("facts/c.yaml", 19)
    }


def test_an_expression_the_grammar_does_not_know(tree: Path):
    edit(tree / "facts" / "claims" / "b.yaml", "when: [yesterday]", "when: [a fortnight ago]")
    [problem] = [
        p for p in validate(tree, cache=False).problems if p.rule == "relative-date-unknown"
    ]
    assert (problem.path, problem.line, problem.record_id) == (
        "facts/claims/b.yaml",
        8,
        "b-council-approved",
    )


def test_an_event_no_claim_reports_and_a_when_naming_no_event(tree: Path):
    edit(
        tree / "facts" / "registry.yaml",
        "events:\n",
        "events:\n  - id: unreported\n    name: Nothing reports this\n    kind: other\n",
    )
    edit(
        tree / "facts" / "claims" / "b.yaml",
        "when: [yesterday]",
        "when: [yesterday, 2 days after no-such-event]",
    )
    rules = {(p.rule, p.record_id) for p in validate(tree, cache=False).problems}
    assert ("event-without-claims", "unreported") in rules
    assert ("unknown-reference", "b-council-approved") in rules


def test_facts_dates_writes_the_proved_dates_keeping_comments(tree: Path):
    claims = tree / "facts" / "claims" / "b.yaml"
    edit(claims, "    date: '2024-10-23'", "    date: 2024-10  # the curator's guess")
    runner = CliRunner()
    listed = runner.invoke(cli, ["dates", "--root", str(tree)])
    assert listed.exit_code == 0, listed.output
    assert "b-council-approved: date: 2024-10-23" in listed.output
    assert "date: 2024-10  #" in claims.read_text()  # nothing written without --write
    written = runner.invoke(cli, ["dates", "--root", str(tree), "--write"])
    assert written.exit_code == 0, written.output
    text = claims.read_text()
    assert "date: '2024-10-23' # the curator's guess" in text
    assert "proved with a, a-council-approved." in text
    assert validate(tree, cache=False).problems == []
    again = runner.invoke(cli, ["dates", "--root", str(tree)])
    assert "Every date is as the articles together prove it" in again.output


def test_facts_dates_writes_nothing_while_other_errors_stand(tree: Path):
    claims = tree / "facts" / "claims" / "b.yaml"
    edit(claims, "    date: '2024-10-23'", "    date: 2024-10")
    edit(claims, "quote: The council approved the plan yesterday.", "quote: The council never met.")
    before = claims.read_text()
    result = CliRunner().invoke(cli, ["dates", "--root", str(tree), "--write"])
    assert result.exit_code == 1 and "quote-not-found" in result.output
    assert claims.read_text() == before


def test_the_cache_gives_the_same_problems(tree: Path):
    edit(tree / "facts" / "claims" / "b.yaml", "    date: '2024-10-23'", "    date: 2024-10")
    assert validate(tree).problems == validate(tree, cache=False).problems
    assert validate(tree).problems == validate(tree, cache=False).problems  # a warm cache too


def test_a_clean_tree_reads_no_file_again_and_works_out_no_proof(tree: Path, monkeypatch):
    """Places and proofs are for problems (and builds): a run with none asks for neither (at
    100,000 claims, looking up every `when` read every file again: 190 s instead of 5)."""
    import factdb.proving as proving

    def refuse(*args, **kwargs):
        raise AssertionError("a position or a proof was worked out for no problem")

    monkeypatch.setattr(proving.Places, "of", refuse)
    monkeypatch.setattr(proving.Solution, "proof", refuse)
    monkeypatch.setattr(proving.Solution, "variable_proof", refuse)
    result = validate(tree, cache=False)
    assert result.problems == [] and len(result.dates) > 0
    monkeypatch.undo()
    assert result.dates["event:council-vote"].proof  # worked out when asked for


@pytest.mark.parametrize(
    "root", [DATES, Path(__file__).resolve().parents[1]], ids=["dates", "repo"]
)
def test_claim_date_rows_are_each_claims_proved_date(root: Path):
    """The build's rows (each variable worked out once) say what asking for each claim says."""
    from factdb.coverage import id_list
    from factdb.proving import claim_date_rows

    dates = validate(root, cache=False).dates
    rows = list(claim_date_rows(dates))
    assert len(rows) == sum(name.startswith("claim:") for name in dates) >= 2
    for claim, edtf, start, end, proof in rows:
        proved = dates[f"claim:{claim}"]
        assert (edtf, start, end, proof) == (
            proved.edtf,
            proved.start,
            proved.end,
            id_list(proved.proof),
        )
    assert any(proof.endswith(f'"{claim}"]') for claim, *_, proof in rows)  # an event's claim
    plain = {name: dates[name] for name in dates}  # any other mapping gives the same rows
    assert list(claim_date_rows(plain)) == rows


def test_each_file_keeps_its_own_bound_on_a_publication():
    """The cache keeps each file's inputs: a chunk of files must not keep only the tightest
    bound of them all, or a touched file that loosens its own would leave none from the rest."""
    from factdb.loading import Located
    from factdb.proving import claim_datings, file_inputs

    facts = validate(DATES, cache=False).facts
    claim = next(c.record for c in facts.claims if c.record.id == "b-vote-expected")
    claims = [
        Located(claim.model_copy(update={"date": day}), path, 3, 5)
        for path, day in (("x.yaml", "2024-10-20/.."), ("y.yaml", "2024-10-22/.."))
    ]
    _, bounds = claim_datings(claims, {"b": "2024-10-24"})
    assert sorted((b.path, b.day) for b in bounds) == [
        ("x.yaml", "2024-10-20"),
        ("y.yaml", "2024-10-22"),
    ]
    inputs = file_inputs(*claim_datings(claims, {"b": "2024-10-24"}))
    assert [len(inputs[path][1]) for path in ("x.yaml", "y.yaml")] == [1, 1]
