"""Comparing answers: a conflict only where two answers cannot both be true at the same time.

Small topics and claims with known answers, one per relation and per boundary; then the build
(the comparisons table and the conflicts view) and the repository's own database.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sqlite_utils
from datasette.app import Datasette

from factdb import validate
from factdb.building import build_database
from factdb.comparing import RELATIONS, Answer, compare_answers, describe_days
from factdb.publishing import SETTINGS, read_metadata
from factdb.results import AnswerInput
from factdb.rows import answer_groups, comparison_rows
from factdb.schema.models import Topic
from factdb.tables import COMPARISON_COLUMNS

REPO = Path(__file__).resolve().parent.parent
DAY = "2024-10-24"
OPEN = float("inf")


def claim(
    ident: str,
    low: float | None = None,
    high: float | None = None,
    *,
    start: str | None = DAY,
    end: str | None = DAY,
    hedged: bool = False,
    key: str | None = None,
    unit: str | None = "soldiers",
) -> AnswerInput:
    """A claim that answers topic 't': a value (low, or low..high; OPEN for no bound), or a text
    answer (key)."""
    high = low if high is None and key is None else high
    high = None if high == OPEN else high
    if key is None:
        bounds = ["" if bound is None else f"{bound:g}" for bound in (low, high)]
        key = bounds[0] if low == high else "..".join(bounds)
    return AnswerInput(ident, "t", key, None, "s", "s", unit, low, high, hedged, start, end)


def answer(*claims: AnswerInput) -> Answer:
    return Answer(claims[0].answer_key, claims)


def quantity(**fields: object) -> Topic:
    return Topic.model_validate(
        {"id": "t", "question": "How many?", "kind": "quantity", "unit": "soldiers", **fields}
    )


def text(**fields: object) -> Topic:
    return Topic.model_validate({"id": "t", "question": "Did they?", "kind": "text", **fields})


def compare(topic: Topic, a: Answer, b: Answer) -> tuple[str, str]:
    relation, reason = compare_answers(topic, a, b)
    assert (relation, reason) == tuple(compare_answers(topic, b, a))  # symmetric
    return relation, reason


# Quantities on a topic that does not change over time.


def test_a_topic_that_does_not_change_conflicts_at_any_time():
    early = answer(claim("early", 3000, start="2024-10-23", end="2024-10-23"))
    late = answer(claim("late", 10000, start="2024-10-28", end="2024-10-28"))
    assert compare(quantity(), early, late) == (
        "conflict",
        "3,000 (2024-10-23) and 10,000 (2024-10-28) soldiers: cannot both be true at any time, "
        "as the topic does not change over time",
    )


def test_the_same_day_is_named():
    a = answer(claim("a", 397, unit="deputies"))
    b = answer(claim("b", 398, unit="deputies"))
    topic = quantity(unit="deputies")
    assert compare(topic, a, b) == (
        "conflict",
        "397 and 398 deputies on 2024-10-24: cannot both be true",
    )


def test_overlapping_ranges_are_compatible_touching_included():
    several = answer(claim("several", 200, 999))
    assert compare(quantity(), several, answer(claim("exact", 999))) == (
        "compatible",
        "200 to 999 and 999 soldiers overlap, so both can be true: compatible",
    )
    at_least = answer(claim("at-least", 2000, OPEN))
    relation, reason = compare(quantity(), at_least, answer(claim("b", 10000)))
    assert relation == "compatible" and reason.startswith("at least 2,000 and 10,000 soldiers")
    assert compare(quantity(), several, answer(claim("more", 1000)))[0] == "conflict"


# Hedged values and the topic's tolerance.


def test_hedged_values_within_the_tolerance_are_close():
    a = answer(claim("a", 7000, hedged=True))
    b = answer(claim("b", 7500, hedged=True))
    assert compare(quantity(tolerance=0.1), a, b) == (
        "close",
        "7,000 and 7,500 soldiers are both hedged and 6.67% apart, within the topic's tolerance "
        "of 10%: close, not contradicting",
    )


def test_one_hedged_value_is_enough_and_is_named():
    a = answer(claim("a", 7000, hedged=True))
    b = answer(claim("b", 7500))
    assert compare(quantity(tolerance=0.1), a, b)[1].startswith(
        "7,000 (hedged) and 7,500 soldiers are 6.67% apart"
    )


def test_the_tolerance_is_inclusive_at_its_limit():
    """9,000 and 10,000 are exactly 10% of the larger apart: close; 8,999 is beyond."""
    topic = quantity(tolerance=0.1)
    ten = answer(claim("ten", 10000, hedged=True))
    assert compare(topic, answer(claim("nine", 9000)), ten)[0] == "close"
    relation, reason = compare(topic, answer(claim("under", 8999)), ten)
    assert relation == "conflict"
    assert reason == (
        "8,999 and 10,000 soldiers on 2024-10-24: cannot both be true (10.01% apart, beyond the "
        "topic's tolerance of 10%)"
    )
    assert compare(quantity(tolerance=0.3), answer(claim("s", 7000, hedged=True)), ten)[0] == (
        "close"
    )


def test_without_a_hedge_or_a_tolerance_values_apart_conflict():
    a, b = answer(claim("a", 9500)), answer(claim("b", 10000))
    relation, reason = compare(quantity(tolerance=0.1), a, b)
    assert relation == "conflict" and "state their value without a hedge" in reason
    hedged = answer(claim("a", 9500, hedged=True)), answer(claim("b", 10000, hedged=True))
    assert compare(quantity(), *hedged)[0] == "conflict"  # no tolerance: nothing is close


def test_an_exact_claim_of_each_answer_on_one_day_conflicts_though_others_hedge():
    a = answer(claim("a-hedged", 9500, hedged=True), claim("a-exact", 9500))
    b = answer(claim("b", 10000))
    assert compare(quantity(tolerance=0.1, changes_over_time=True), a, b)[0] == "conflict"
    b_hedged = answer(claim("b", 10000, hedged=True))
    assert compare(quantity(tolerance=0.1, changes_over_time=True), a, b_hedged)[0] == "close"


# Quantities that change over time.


def test_answers_at_different_times_are_an_update():
    early = answer(claim("early", 3000, start="2024-10-23", end="2024-10-23"))
    late = answer(claim("late", 10000, start="2024-10-28", end="2024-10-28"))
    assert compare(quantity(changes_over_time=True), early, late) == (
        "update",
        "3,000 (2024-10-23) and 10,000 (2024-10-28) soldiers are at different times on a topic "
        "that changes over time: an update, not a conflict",
    )
    falling = answer(claim("late", 1000, start="2024-10-28", end="2024-10-28"))
    relation, reason = compare(quantity(changes_over_time=True), early, falling)
    assert relation == "update"
    assert reason.startswith("3,000 (2024-10-23) and 1,000 (2024-10-28)")  # earlier first


def test_answers_on_the_same_day_conflict_though_the_topic_changes():
    a, b = answer(claim("a", 3000)), answer(claim("b", 10000))
    assert compare(quantity(changes_over_time=True), a, b) == (
        "conflict",
        "3,000 and 10,000 soldiers on 2024-10-24: cannot both be true",
    )


def test_a_month_that_contains_the_other_day_is_unclear():
    month = answer(claim("month", 3000, start="2024-10-01", end="2024-10-31"))
    day = answer(claim("day", 10000))
    assert compare(quantity(changes_over_time=True), month, day) == (
        "unclear-time",
        "3,000 (2024-10) and 10,000 (2024-10-24) soldiers: the topic changes over time and the "
        "dates overlap (2024-10 includes 2024-10-24) but are too vague to order them: unclear "
        "whether one updates the other or they contradict",
    )


def test_touching_dates_overlap_and_the_next_day_does_not():
    topic = quantity(changes_over_time=True)
    first = answer(claim("first", 3000, start="2024-10-20", end="2024-10-23"))
    touching = answer(claim("touching", 10000, start="2024-10-23", end="2024-10-25"))
    after = answer(claim("after", 10000, start="2024-10-24", end="2024-10-25"))
    relation, reason = compare(topic, first, touching)
    assert relation == "unclear-time" and "2024-10-20 to 2024-10-23 and 2024-10-23 to" in reason
    assert compare(topic, first, after)[0] == "update"


def test_open_dates_reach_every_day_on_their_open_side():
    topic = quantity(changes_over_time=True)
    up_to = answer(claim("up-to", 3000, start=None, end="2024-11-30"))
    relation, reason = compare(topic, up_to, answer(claim("day", 10000)))
    assert relation == "unclear-time" and "(2024-11-30 or earlier includes 2024-10-24)" in reason
    from_on = answer(claim("from", 3000, start="2024-11-01", end=None))
    assert compare(topic, from_on, answer(claim("day", 10000)))[0] == "update"
    undated = answer(claim("undated", 3000, start=None, end=None))
    assert "(undated includes 2024-10-24)" in compare(topic, undated, answer(claim("d", 1)))[1]


def test_interleaved_claims_at_different_days_are_an_update():
    a = answer(
        claim("a1", 3000, start="2024-10-01", end="2024-10-01"),
        claim("a2", 3000, start="2024-10-10", end="2024-10-10"),
    )
    b = answer(claim("b", 10000, start="2024-10-05", end="2024-10-05"))
    relation, reason = compare(quantity(changes_over_time=True), a, b)
    assert relation == "update"
    assert "(no claim of one is dated on a day a claim of the other can be)" in reason


def test_the_relation_follows_the_claims_day_by_day():
    """Against a slow check of every pair of claims: conflict where a claim of each is dated
    to one same day, unclear-time where some pair's dates overlap, an update otherwise."""
    rng = random.Random(20241024)
    days = [f"2024-10-{d:02d}" for d in range(1, 11)]

    def dated(ident: str, value: float) -> AnswerInput:
        start = rng.choice([None, *days, *days])
        end = rng.choice([None, *days]) if rng.random() < 0.4 else start
        if start and end and end < start:
            start, end = end, start
        return claim(ident, value, start=start, end=end)

    def meets(x: AnswerInput, y: AnswerInput) -> bool:
        return (x.date_start is None or y.date_end is None or x.date_start <= y.date_end) and (
            y.date_start is None or x.date_end is None or y.date_start <= x.date_end
        )

    def one_day(x: AnswerInput, y: AnswerInput) -> bool:
        return x.date_start is not None and x.date_start == x.date_end == y.date_start == y.date_end

    topic = quantity(changes_over_time=True)
    seen = []
    for _ in range(500):
        a = [dated(f"a{i}", 3000) for i in range(rng.randint(1, 4))]
        b = [dated(f"b{i}", 10000) for i in range(rng.randint(1, 4))]
        pairs = [(x, y) for x in a for y in b]
        if any(one_day(x, y) for x, y in pairs):
            expected = "conflict"
        elif any(meets(x, y) for x, y in pairs):
            expected = "unclear-time"
        else:
            expected = "update"
        assert compare(topic, Answer("3000", a), Answer("10000", b))[0] == expected
        seen.append(expected)
    assert min(seen.count(relation) for relation in ("conflict", "unclear-time", "update")) > 50


# Text answers.


def test_text_answers_conflict_only_within_an_exclusive_group():
    topic = text(exclusive=[["Yes", "No"], ["yes", "not  yet known"]])
    yes = answer(claim("y", key="yes", unit=None))
    no = answer(claim("n", key="no", unit=None))
    other = answer(claim("o", key="only in part", unit=None))
    assert compare(topic, no, yes) == (
        "conflict",
        '"no" and "yes" on 2024-10-24: cannot both be true (the topic lists them as exclusive '
        "answers)",
    )
    assert compare(topic, answer(claim("k", key="not yet known", unit=None)), yes)[0] == "conflict"
    assert compare(topic, no, other) == (
        "compatible",
        '"no" and "only in part" can both be true: no group of answers that the topic lists as '
        "exclusive holds both: compatible",
    )
    assert compare(text(), no, yes)[1] == (
        '"no" and "yes" can both be true: the topic lists no answers that exclude each other: '
        "compatible"
    )


def test_text_answers_that_change_over_time():
    topic = text(exclusive=[["not yet known", "yes"]], changes_over_time=True)
    unknown = answer(
        claim("k", key="not yet known", unit=None, start="2024-10-23", end="2024-10-23")
    )
    fought = answer(claim("y", key="yes", unit=None, start="2024-11-05", end="2024-11-05"))
    assert compare(topic, unknown, fought)[0] == "update"
    vague = answer(claim("v", key="yes", unit=None, start=None, end="2024-11-30"))
    assert compare(topic, unknown, vague)[0] == "unclear-time"
    assert compare(text(exclusive=[["not yet known", "yes"]]), unknown, fought)[0] == "conflict"


# Dates: the answer is the date.


def test_date_answers_conflict_where_they_do_not_overlap():
    topic = Topic(id="t", question="When?", kind="date")
    june = answer(claim("m", key="2024-06", unit=None, start="2024-06-01", end="2024-06-30"))
    day = answer(claim("d", key="2024-06-19", unit=None, start="2024-06-19", end="2024-06-19"))
    july = answer(claim("j", key="2024-07-01", unit=None, start="2024-07-01", end="2024-07-01"))
    assert compare(topic, june, day)[0] == "compatible"
    assert compare(topic, june, july) == (
        "conflict",
        "2024-06 and 2024-07-01 do not overlap: cannot both be true",
    )


def test_days_read_as_people_write_them():
    assert [
        describe_days(*days)
        for days in [
            ("2024-10-24", "2024-10-24"),
            ("2024-02-01", "2024-02-29"),
            ("2024-01-01", "2024-12-31"),
            ("2024-10-01", "2024-10-30"),
            (None, "2024-11-30"),
            ("2024-10-24", None),
            (None, None),
        ]
    ] == [
        "2024-10-24",
        "2024-02",
        "2024",
        "2024-10-01 to 2024-10-30",
        "2024-11-30 or earlier",
        "2024-10-24 or later",
        "undated",
    ]


# Rows, the build, and the repository's own database.


def test_one_row_per_pair_of_different_answers():
    topic = quantity(changes_over_time=True)
    claims = [
        claim("c1", 3000, start="2024-10-23", end="2024-10-23"),
        claim("c2", 10000, start="2024-10-28", end="2024-10-28"),
        claim("c3", 3000, start="2024-10-20", end="2024-10-23"),
        claim("c4", 8000, start="2024-10-30", end="2024-10-30"),
    ]
    rows = comparison_rows({"t": topic}, answer_groups(claims))
    assert [(r["answer_a"], r["answer_b"], r["relation"]) for r in rows] == [
        ("10000", "3000", "update"),
        ("10000", "8000", "update"),
        ("3000", "8000", "update"),
    ]
    assert list(rows[0]) == list(COMPARISON_COLUMNS)
    assert (rows[0]["first_date_b"], rows[0]["last_date_b"]) == ("2024-10-20", "2024-10-23")
    assert {r["relation"] for r in rows} <= set(RELATIONS)


QUOTES = {9: "nine ships sailed", 3000: "about 3,000 soldiers had arrived"}


def _add_claim(
    tree: Path, ident: str, value: int, date: str, topic: str = "soldiers-arrived"
) -> None:
    """Add a claim on a topic of the fixture tree, quoting its seed where it gives the value."""
    claims = tree / "facts" / "claims" / "sample.yaml"
    unit = "soldiers" if topic == "soldiers-arrived" else "ships"
    claims.write_text(
        claims.read_text() + f"  - id: {ident}\n    source: sample\n    statement: Ships.\n"
        f"    quote: {QUOTES[value]}\n    date: {date}\n    date_basis: b\n"
        f"    claimant: null\n    topic: {topic}\n    value: {value}\n"
        f"    unit: {unit}\n    assertion: stated\n"
    )


def _built(tree: Path, tmp_path: Path) -> sqlite_utils.Database:
    result = validate(tree, cache=False)
    assert result.ok, [p.as_text() for p in result.problems]
    return sqlite_utils.Database(build_database(result, tmp_path / "facts.db"))


def test_the_build_writes_comparisons_and_the_conflicts_view_reads_them(tree, tmp_path):
    _add_claim(tree, "nine-on-the-day", 9, "2024-10-22")
    db = _built(tree, tmp_path)
    [row] = db.query("select * from comparisons")
    assert (row["answer_a"], row["answer_b"], row["relation"]) == ("3000", "9", "conflict")
    [conflict] = db.query("select * from conflicts")
    assert conflict["reason"] == "9 and 3,000 soldiers on 2024-10-22: cannot both be true"
    assert conflict["claims_a"] == 1 and conflict["first_date_b"] == "2024-10-22"
    assert [r["topic"] for r in db.query("select * from contested_topics")] == ["soldiers-arrived"]


def test_a_topic_that_changes_has_updates_not_conflicts(tree, tmp_path):
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(
        registry.read_text().replace(
            "    unit: soldiers\n", "    unit: soldiers\n    changes_over_time: true\n", 1
        )
    )
    _add_claim(tree, "nine-later", 9, "2024-10-23")
    db = _built(tree, tmp_path)
    [row] = db.query("select relation, reason from comparisons")
    assert row["relation"] == "update"
    assert row["reason"].startswith("3,000 (2024-10-22) and 9 (2024-10-23) soldiers")
    assert list(db.query("select * from conflicts")) == []
    assert list(db.query("select * from contested_topics")) == []


async def test_pages_give_the_reasons(tree, tmp_path):
    """The home page explains each contested topic's conflicts; a topic's page lists its
    conflicts and its other comparisons with their reasons; a claim's page names the relation."""
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(
        registry.read_text()
        + "  - id: ships-sailed\n    question: How many ships sailed?\n    kind: quantity\n"
        "    unit: ships\n    changes_over_time: true\n"
    )
    _add_claim(tree, "nine-on-the-day", 9, "2024-10-22")
    _add_claim(tree, "ships-before", 3000, "2024-10-20", topic="ships-sailed")
    _add_claim(tree, "ships-after", 9, "2024-10-23", topic="ships-sailed")
    _built(tree, tmp_path).close()
    ds = Datasette([str(tmp_path / "facts.db")], metadata=read_metadata(REPO), settings=SETTINGS)
    conflict = "9 and 3,000 soldiers on 2024-10-22: cannot both be true"
    update = (
        "3,000 (2024-10-20) and 9 (2024-10-23) ships are at different times on a topic that "
        "changes over time: an update, not a conflict"
    )
    home = (await ds.client.get("/")).text
    contested = home.split('<ul id="contested">')[1].split("</ul>")[0]
    assert f'<span class="facts-reason">{conflict}</span>' in contested
    assert "ships-sailed" not in contested
    soldiers = (await ds.client.get("/facts/topics/soldiers-arrived")).text
    assert '<h2 id="conflicts">' in soldiers and conflict in soldiers
    ships = (await ds.client.get("/facts/topics/ships-sailed")).text
    assert '<h2 id="conflicts">' not in ships
    assert f'<span class="facts-badge update">update</span> {update}' in ships
    claim = (await ds.client.get("/facts/claims/ships-after")).text
    assert '<span class="facts-badge update">update</span>' in claim


def test_every_conflict_in_the_repository_says_why(repo_db: Path):
    db = sqlite_utils.Database(repo_db)
    conflicts = list(db.query("select * from conflicts"))
    assert conflicts and all(row["reason"] for row in conflicts)
    assert all(row["reason"] for row in db.query("select reason from comparisons"))
    counts = dict(db.execute("select relation, count(*) from comparisons group by relation"))
    assert set(counts) <= set(RELATIONS)
    assert counts["conflict"] == len(conflicts)


def test_no_conflict_in_the_repository_is_at_different_times_on_a_changing_topic(repo_db: Path):
    """A conflict on a topic that changes over time has a claim of each answer on one day."""
    db = sqlite_utils.Database(repo_db)
    changing = """
        select c.topic, c.answer_a, c.answer_b from conflicts c join topics t on t.id = c.topic
        where t.changes_over_time
    """
    for topic, a, b in db.execute(changing).fetchall():
        days = """
            select date_start from claims where topic = :topic and answer_key = :answer
            and date_start = date_end
        """
        days_a = {r[0] for r in db.execute(days, {"topic": topic, "answer": a})}
        days_b = {r[0] for r in db.execute(days, {"topic": topic, "answer": b})}
        assert days_a & days_b, (topic, a, b)


@pytest.mark.parametrize("relation", RELATIONS)
def test_every_relation_is_described_in_the_data_model(relation: str):
    docs = (REPO / "docs" / "data-model.md").read_text()
    assert f"`{relation}`" in docs


def test_dates_read_once_per_answer_give_what_reading_them_per_pair_gives():
    """comparison_rows shares one Days across every pair: the same relations and reasons."""
    from factdb.comparing import Days

    rng = random.Random(18)
    days = [f"2024-10-{day:02d}" for day in range(20, 31)]
    for changes in (True, False):
        topic = quantity(changes_over_time=changes, tolerance=0.05)
        answers = []
        for number, value in enumerate((3000, 3100, 10000, 11000, 12000)):
            picked = [sorted(rng.sample(days, 2)) for _ in range(rng.randrange(1, 5))]
            members = [
                claim(f"c{number}-{i}", value, start=s if i % 3 else e, end=e, hedged=i % 2 == 0)
                for i, (s, e) in enumerate(picked)
            ]
            answers.append(answer(*members))
        shared = Days()
        for a in answers:
            for b in answers:
                if a is not b:
                    assert compare_answers(topic, a, b, shared) == compare_answers(topic, a, b)
        assert len(shared.known) >= len(answers)
