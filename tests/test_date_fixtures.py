"""Synthetic articles with known answers (tests/fixtures/dates/expressions and contradictions).

expressions/: one article per form of the relative-date grammar, each with the dates it must
prove written in it as "# expect: claim:<id> <EDTF>" (or event:<id>), worked out by hand from
the calendar. contradictions/: one case per kind of contradiction, each with the problems it
must give as "# expect: <rule> <line>:<column>" (as tests/fixtures/broken). Each article and
each case is validated on its own: its folder's shared registry, the file and the seeds.
"""

from __future__ import annotations

import calendar
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from factdb import validate
from factdb.dating import GRAMMAR
from factdb.results import Validation

DATES = Path(__file__).resolve().parent / "fixtures" / "dates"
EXPRESSIONS = DATES / "expressions"
CONTRADICTIONS = DATES / "contradictions"
ARTICLES = sorted((EXPRESSIONS / "facts" / "articles").glob("*.yaml"))
CASES = sorted((CONTRADICTIONS / "facts" / "cases").glob("*.yaml"))

KNOWN = re.compile(r"^# expect: (?P<name>(?:claim|event|source):[a-z0-9-]+) (?P<edtf>\S+)$", re.M)
PROBLEM = re.compile(r"^# expect: (?P<rule>[a-z0-9-]+) (?P<line>\d+):(?P<column>\d+)$", re.M)

WD = "(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
MO = "(" + "|".join(name.lower() for name in calendar.month_name[1:]) + ")"
EV = "[a-z0-9]+(-[a-z0-9]+)*"
# Each form of the grammar (dating.GRAMMAR), and what the articles must use of it: a `when`
# pattern, and for forms read differently before and after publication, the direction (past:
# a reported claim, future: a scheduled or expected one). None: either.
FORMS: dict[str, list[tuple[str, bool | None]]] = {
    "today": [("today", None)],
    "yesterday": [("yesterday", None)],
    "tomorrow": [("tomorrow", True)],
    "[on|last|next] <weekday>": [
        (f"(on )?{WD}", False),
        (f"(on )?{WD}", True),
        (f"last {WD}", None),
        (f"next {WD}", True),
    ],
    "last week": [("last week", None)],
    "this week": [("this week", False), ("this week", True)],
    "[in] <month>": [(f"(in )?{MO}", False), (f"(in )?{MO}", True)],
    "[on] <month> <day>": [(rf"(on )?{MO} \d{{1,2}}", False), (rf"(on )?{MO} \d{{1,2}}", True)],
    "[on] <day> <month>": [(rf"(on )?\d{{1,2}} {MO}", False), (rf"(on )?\d{{1,2}} {MO}", True)],
    "N days ago": [(r"\d+ days? ago", None)],
    "N weeks ago": [(r"\d+ weeks? ago", None)],
    "N months after <event>": [(rf"\d+ months? after {EV}", None)],
    "N days after <event>": [(rf"\d+ days? after {EV}", None)],
    "N days before <event>": [(rf"\d+ days? before {EV}", None)],
    "same day as <event>": [(f"same day as {EV}", None)],
}


def _tree(tmp_path: Path, fixture: Path, file: Path) -> Path:
    """A tree of the fixture's registry, one of its files and its seeds."""
    root = tmp_path / fixture.name
    (root / file.parent.relative_to(fixture)).mkdir(parents=True)
    shutil.copyfile(fixture / "facts" / "registry.yaml", root / "facts" / "registry.yaml")
    shutil.copyfile(file, root / file.relative_to(fixture))
    shutil.copytree(fixture / "seeds", root / "seeds")
    return root


def _interval(edtf: str) -> tuple[str, str]:
    """The first and last day of an EDTF day, month or interval of days, read by hand."""
    if "/" in edtf:
        start, end = edtf.split("/")
        return date.fromisoformat(start).isoformat(), date.fromisoformat(end).isoformat()
    if re.fullmatch(r"\d{4}-\d{2}", edtf):
        year, month = map(int, edtf.split("-"))
        return f"{edtf}-01", f"{edtf}-{calendar.monthrange(year, month)[1]:02d}"
    return date.fromisoformat(edtf).isoformat(), edtf


def _known(path: Path) -> dict[str, str]:
    return {m["name"]: m["edtf"] for m in KNOWN.finditer(path.read_text())}


def _assert_known_answers(result: Validation, known: dict[str, str]) -> None:
    got = {
        name: (result.dates[name].start, result.dates[name].end, result.dates[name].edtf)
        for name in known
        if name in result.dates
    }
    assert got == {name: (*_interval(edtf), edtf) for name, edtf in known.items()}


def test_interval_reads_days_months_and_intervals():
    assert _interval("2024-02-29") == ("2024-02-29", "2024-02-29")
    assert _interval("2024-02") == ("2024-02-01", "2024-02-29")
    assert _interval("2023-12-25/2023-12-31") == ("2023-12-25", "2023-12-31")


@pytest.mark.parametrize("article", ARTICLES, ids=lambda p: p.stem)
def test_an_article_proves_its_known_answer(tmp_path: Path, article: Path):
    known = _known(article)
    result = validate(_tree(tmp_path, EXPRESSIONS, article), cache=False)
    assert [p.as_text() for p in result.problems] == []
    dated = {f"claim:{c.record.id}" for c in result.facts.claims if c.record.when}
    assert dated and dated <= set(known), "every claim dated by `when` has a known answer"
    _assert_known_answers(result, known)


@pytest.fixture(scope="module")
def together() -> Validation:
    """Every article of expressions/ validated at once."""
    return validate(EXPRESSIONS, cache=False)


def test_the_articles_together_prove_the_same_answers(together: Validation):
    result = together
    assert [p.as_text() for p in result.problems] == []
    known = {name: edtf for article in ARTICLES for name, edtf in _known(article).items()}
    assert len(known) == 35
    _assert_known_answers(result, known)


def test_the_articles_use_every_form_of_the_grammar_both_ways_where_it_matters(
    together: Validation,
):
    assert set(FORMS) == set(GRAMMAR.split(", "))
    used = {
        (" ".join(text.lower().split()), c.record.assertion in {"scheduled", "expected"})
        for c in together.facts.claims
        for text in c.record.when
    }
    missing = [
        (form, pattern, future)
        for form, needs in FORMS.items()
        for pattern, future in needs
        if not any(
            re.fullmatch(pattern, text) and future in (None, is_future) for text, is_future in used
        )
    ]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_a_contradiction_gives_its_rules_at_their_places(tmp_path: Path, case: Path):
    text = case.read_text()
    expected = sorted((m["rule"], int(m["line"]), int(m["column"])) for m in PROBLEM.finditer(text))
    assert expected, f"{case.name} declares no '# expect: rule line:column'"
    problems = validate(_tree(tmp_path, CONTRADICTIONS, case), cache=False).problems
    assert {p.path for p in problems} == {case.relative_to(CONTRADICTIONS).as_posix()}
    assert sorted((p.rule, p.line, p.column) for p in problems) == expected
    assert {p.severity for p in problems} == {"error"}
    contradiction = [p for p in problems if p.rule == "date-contradiction"]
    assert all("cannot all hold" in p.message for p in contradiction)


def test_every_kind_of_contradiction_has_a_case():
    assert {path.stem for path in CASES} == {
        "after-publication",
        "cycle",
        "cycle-unprinted",
        "future-report-of-past-event",
        "impossible-weekday",
        "two-articles-one-event",
    }
