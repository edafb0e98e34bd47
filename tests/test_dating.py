"""factdb.dating: relative date expressions, and the solver's intervals checked by brute force."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factdb import dating, sweeping
from factdb.dating import (
    AddMonths,
    DayFunction,
    MonthEnd,
    MonthFrom,
    MonthUpTo,
    Nearest,
    Network,
    Relation,
    Shift,
    Solution,
    Weekday,
    YearlyDay,
    calendar_day_relation,
    describe,
    month_relation,
    months_after,
    offset,
    on_or_after,
    on_or_before,
    parse_when,
    same_day,
    to_edtf,
    week_before,
    week_of,
    weekday_relation,
)
from factdb.schema.dates import parse_edtf

D = date.fromisoformat

# (expression, publication or event date, future?, first day, last day)
KNOWN = [
    ("today", "2024-10-24", False, "2024-10-24", "2024-10-24"),
    ("yesterday", "2024-03-01", False, "2024-02-29", "2024-02-29"),  # leap year
    ("yesterday", "2023-03-01", False, "2023-02-28", "2023-02-28"),
    ("yesterday", "2025-01-01", False, "2024-12-31", "2024-12-31"),
    ("tomorrow", "2024-01-31", False, "2024-02-01", "2024-02-01"),  # across a month end
    ("tomorrow", "2024-02-28", True, "2024-02-29", "2024-02-29"),
    ("tomorrow", "2024-12-31", True, "2025-01-01", "2025-01-01"),
    ("on Wednesday", "2024-10-24", False, "2024-10-23", "2024-10-23"),  # a Thursday
    ("wednesday", "2024-10-23", False, "2024-10-23", "2024-10-23"),  # the day itself
    ("Wednesday", "2025-01-02", False, "2025-01-01", "2025-01-01"),  # across a year
    ("on Wednesday", "2024-10-24", True, "2024-10-30", "2024-10-30"),
    ("on wednesday", "2024-10-23", True, "2024-10-23", "2024-10-23"),
    ("last Wednesday", "2024-10-23", False, "2024-10-16", "2024-10-16"),  # strictly before
    ("last wednesday", "2024-10-24", True, "2024-10-23", "2024-10-23"),  # direction-free
    ("next Wednesday", "2024-10-23", False, "2024-10-30", "2024-10-30"),  # strictly after
    ("next wednesday", "2024-10-22", True, "2024-10-23", "2024-10-23"),
    ("last week", "2024-10-24", False, "2024-10-14", "2024-10-20"),
    ("last week", "2024-10-21", False, "2024-10-14", "2024-10-20"),  # a Monday
    ("last week", "2024-10-20", False, "2024-10-07", "2024-10-13"),  # a Sunday
    ("last week", "2025-01-01", False, "2024-12-23", "2024-12-29"),
    ("this week", "2024-10-24", False, "2024-10-21", "2024-10-24"),
    ("this week", "2024-10-24", True, "2024-10-24", "2024-10-27"),
    ("this week", "2024-10-27", False, "2024-10-21", "2024-10-27"),
    ("in June", "2024-06-15", False, "2024-06-01", "2024-06-15"),  # published in June
    ("in June", "2024-10-24", False, "2024-06-01", "2024-06-30"),  # published in October
    ("june", "2024-05-31", False, "2023-06-01", "2023-06-30"),
    ("in June", "2024-06-15", True, "2024-06-15", "2024-06-30"),
    ("in June", "2024-10-24", True, "2025-06-01", "2025-06-30"),
    ("in June", "2024-05-31", True, "2024-06-01", "2024-06-30"),
    ("in February", "2024-03-10", False, "2024-02-01", "2024-02-29"),  # leap year
    ("in February", "2023-03-10", False, "2023-02-01", "2023-02-28"),
    ("in February", "2023-03-10", True, "2024-02-01", "2024-02-29"),
    ("in December", "2025-01-10", False, "2024-12-01", "2024-12-31"),
    ("October 24", "2024-10-24", False, "2024-10-24", "2024-10-24"),
    ("october 24", "2024-10-23", False, "2023-10-24", "2023-10-24"),
    ("24 October", "2024-10-25", True, "2025-10-24", "2025-10-24"),
    ("on November 6", "2024-10-24", True, "2024-11-06", "2024-11-06"),  # scheduled
    ("February 29", "2025-06-01", False, "2024-02-29", "2024-02-29"),
    ("29 february", "2024-02-28", False, "2020-02-29", "2020-02-29"),
    ("February 29", "2024-03-01", True, "2028-02-29", "2028-02-29"),
    ("3 days ago", "2024-03-02", False, "2024-02-28", "2024-02-28"),
    ("1 day ago", "2024-03-01", False, "2024-02-29", "2024-02-29"),
    ("0 days ago", "2024-03-01", False, "2024-03-01", "2024-03-01"),
    ("2 weeks ago", "2024-01-10", False, "2023-12-27", "2023-12-27"),
    ("32 months after russian-invasion", "2022-02-24", False, "2024-10-24", "2024-11-23"),
    ("1 month after x", "2024-01-31", False, "2024-02-29", "2024-03-30"),  # clamped
    ("1 month after x", "2023-01-31", False, "2023-02-28", "2023-03-30"),
    ("0 months after x", "2024-12-15", True, "2024-12-15", "2025-01-14"),
    ("3 days after vote-1", "2024-02-27", False, "2024-03-01", "2024-03-01"),
    ("3 days before vote-1", "2024-03-01", False, "2024-02-27", "2024-02-27"),
    ("same day as the-signing", "2024-10-24", True, "2024-10-24", "2024-10-24"),
    ("  ON   wednesday ", "2024-10-24", False, "2024-10-23", "2024-10-23"),
]


@pytest.mark.parametrize("text, reference, future, first, last", KNOWN)
def test_expression_intervals(
    text: str, reference: str, future: bool, first: str, last: str
) -> None:
    relation = parse_when(text).relation(future)
    assert relation.interval(D(reference)) == (D(first), D(last))


def test_what_an_expression_is_relative_to() -> None:
    assert parse_when("yesterday").relative_to == "publication"
    assert parse_when("yesterday").event is None
    assert parse_when("32 months after russian-invasion").relative_to == "russian-invasion"
    assert parse_when("Same Day As vote-2024").event == "vote-2024"
    assert parse_when("  on   Wednesday ").text == "on Wednesday"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "an empty date expression"),
        ("last fortnight", "'last fortnight': 'fortnight' is not understood"),
        ("3 days after Foo_Bar", "'Foo_Bar' is not an event id"),
        ("same day as", "no event id after 'as'"),
        ("February 30", "February has no day 30"),
        ("31 april", "April has no day 31"),
        ("wednesday june", "'wednesday june' is not one of the forms understood"),
        ("5 months ago", "'5 months ago' is not one of the forms understood"),
        ("in 2024", "'in 2024' is not one of the forms understood"),
        ("999999 days ago", "beyond the 1800-2100 window"),
        ("9999 months after x", "outside 0 to the 1800-2100 window's length"),
    ],
)
def test_unknown_expressions_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_when(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_constructors_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="after the last"):
        offset(3, 1)
    with pytest.raises(ValueError, match="months"):
        months_after(-1)
    with pytest.raises(ValueError, match="no such calendar day"):
        YearlyDay(2, 30)


def test_descriptions() -> None:
    assert (
        describe(parse_when("on Wednesday"))
        == "'on Wednesday': the last Wednesday on or before the article's publication"
    )
    assert (
        describe(parse_when("on Wednesday"), future=True)
        == "'on Wednesday': the first Wednesday on or after the article's publication"
    )
    assert (
        describe(parse_when("32 months after russian-invasion"))
        == "'32 months after russian-invasion': at least 32 months and less than 33 months"
        " after the date of 'russian-invasion'"
    )
    assert describe(on_or_before(), reference="the publication") == "on or before the publication"
    assert describe(offset(-1, 2)) == "-1 to +2 days from y"
    assert (
        describe(parse_when("3 days ago"))
        == "'3 days ago': 3 days before the article's publication"
    )


@pytest.mark.parametrize(
    "start, end, text",
    [
        ("2024-10-24", "2024-10-24", "2024-10-24"),
        ("2024-10-01", "2024-10-31", "2024-10"),
        ("2024-02-01", "2024-02-29", "2024-02"),
        ("2024-01-01", "2024-12-31", "2024"),
        ("2024-10-01", "2024-11-05", "2024-10-01/2024-11-05"),
        ("2024-10-01", "2024-10-30", "2024-10-01/2024-10-30"),
        ("2023-01-01", "2024-12-31", "2023-01-01/2024-12-31"),
        (None, "2024-11-05", "../2024-11-05"),
        ("2024-11-05", None, "2024-11-05/.."),
    ],
)
def test_narrowest_edtf(start: str | None, end: str | None, text: str) -> None:
    first, last = (None if s is None else D(s) for s in (start, end))
    assert to_edtf(first, last) == text


def test_edtf_refuses_what_states_nothing() -> None:
    with pytest.raises(ValueError, match="open at both ends"):
        to_edtf(None, None)
    with pytest.raises(ValueError, match="ends before it starts"):
        to_edtf(D("2024-10-02"), D("2024-10-01"))


@given(st.dates(date(1800, 1, 1), date(2100, 12, 31)), st.integers(0, 800), st.booleans())
@settings(max_examples=150, deadline=None)
def test_edtf_states_exactly_the_interval(start: date, days: int, open_start: bool) -> None:
    end = min(start + timedelta(days=days), date(2100, 12, 31))
    parsed = parse_edtf(to_edtf(None if open_start else start, end))
    assert (parsed.start, parsed.end) == (None if open_start else start, end)


# --- the solver on the cases the integration has ---


def _publication_chain(a_says: str, b_says: str) -> Solution:
    """Article A of 2024-10-24 and article B (undated) each report event E."""
    network = Network()
    network.within("source:a", D("2024-10-24"), D("2024-10-24"), "a.yaml: date")
    for claim, source, says in (("claim:a1", "source:a", a_says), ("claim:b1", "source:b", b_says)):
        network.relate(claim, parse_when(says).relation(False), source, claim)
        network.relate(claim, on_or_before(), source, claim)
        network.relate("event:e", same_day(), claim, claim)
    network.within("claim:c1", D("2024-10-01"), D("2024-10-01"), "claim:c1")  # unrelated
    network.relate("event:f", same_day(), "claim:c1", "claim:c1")
    return network.solve()


def test_an_absolute_date_pins_another_article_through_a_shared_event() -> None:
    solution = _publication_chain("on Wednesday", "yesterday")
    assert solution.contradiction is None
    assert solution.interval("event:e") == (D("2024-10-23"), D("2024-10-23"))
    assert solution.interval("source:b") == (D("2024-10-24"), D("2024-10-24"))
    assert solution.edtf("source:b") == "2024-10-24"
    assert solution.proof("source:b") == ["a.yaml: date", "claim:a1", "claim:b1"]
    assert solution.proof_lower("source:b") == ["a.yaml: date", "claim:a1", "claim:b1"]
    assert solution.proof_upper("source:b") == ["a.yaml: date", "claim:a1", "claim:b1"]
    assert solution.proof("event:f") == ["claim:c1"]


def test_a_weekday_bounds_the_other_article_to_the_week_after() -> None:
    # "yesterday" in A (Thursday 24th) is Wednesday 23rd; "on Wednesday" in B then only says
    # that B appeared within the six days from that Wednesday.
    solution = _publication_chain("yesterday", "on Wednesday")
    assert solution.interval("claim:b1") == (D("2024-10-23"), D("2024-10-23"))
    assert solution.interval("source:b") == (D("2024-10-23"), D("2024-10-29"))
    assert solution.edtf("source:b") == "2024-10-23/2024-10-29"
    assert solution.proof("source:b") == ["a.yaml: date", "claim:a1", "claim:b1"]


def test_two_absolute_dates_for_one_event_are_a_contradiction_naming_both_claims() -> None:
    network = Network()
    for claim, day in (("claim:1", "2024-10-23"), ("claim:2", "2024-10-25")):
        network.within(claim, D(day), D(day), f"{claim} at a.yaml:7")
        network.relate("event:e", same_day(), claim, f"{claim} at a.yaml:7")
    network.within("claim:3", D("2024-10-01"), None, "claim:3")
    network.relate("event:g", same_day(), "claim:3", "claim:3")
    contradiction = network.solve().contradiction
    assert contradiction is not None
    assert set(contradiction.reasons) == {"claim:1 at a.yaml:7", "claim:2 at a.yaml:7"}
    assert str(contradiction) == (
        "'event:e' would have to be on or after 2024-10-25 and on or before 2024-10-23:"
        " claim:1 at a.yaml:7, claim:2 at a.yaml:7"
    )


def test_the_war_has_been_going_on_for_32_months() -> None:
    network = Network()
    network.within("event:invasion", D("2022-02-24"), D("2022-02-24"), "claim:invasion")
    network.relate("claim:war", parse_when("today").relation(False), "source:s", "claim:war")
    relation = parse_when("32 months after event-invasion").relation(False)
    network.relate("claim:war", relation, "event:invasion", "claim:war")
    solution = network.solve()
    assert solution.interval("source:s") == (D("2024-10-24"), D("2024-11-23"))
    assert solution.proof("source:s") == ["claim:invasion", "claim:war"]


def test_open_sides_stay_open_and_have_no_proof() -> None:
    network = Network()
    network.variable("x")
    network.within("y", D("2024-10-24"), None, "y-from")
    network.relate("z", on_or_before(), "y", "z-before-y")
    solution = network.solve()
    assert solution.interval("x") == (None, None)
    assert solution.edtf("x") is None
    assert solution.interval("z") == (None, None)
    assert solution.interval("y") == (D("2024-10-24"), None)
    assert solution.proof_upper("y") == []
    with pytest.raises(KeyError):
        solution.interval("unknown")
    network.variable("later")
    with pytest.raises(KeyError):
        solution.proof("later")


def test_bounds_beyond_the_window_are_a_contradiction() -> None:
    network = Network()
    network.within("x", D("2100-12-30"), None, "late")
    network.relate("y", offset(5, 5), "x", "five days later")
    contradiction = network.solve().contradiction
    assert contradiction is not None and contradiction.variable == "y"
    assert contradiction.reasons == ("late", "five days later")


# --- cycles of relations that no date reaches ---


def test_two_events_each_two_days_after_the_other_are_a_contradiction() -> None:
    network = Network()
    network.relate("event:a", offset(2, 2), "event:b", "r1 at a.yaml:3")
    network.relate("event:b", offset(2, 2), "event:a", "r2 at b.yaml:5")
    network.within("event:c", D("2024-10-24"), D("2024-10-24"), "unrelated")
    solution = network.solve()
    contradiction = solution.contradiction
    assert contradiction is not None
    assert contradiction.variable == "event:a"
    assert contradiction.reasons == ("r1 at a.yaml:3", "r2 at b.yaml:5")
    assert (contradiction.lower, contradiction.upper, contradiction.after_itself) == (None, None, 4)
    assert str(contradiction) == (
        "'event:a' would have to be at least 4 days after itself: r1 at a.yaml:3, r2 at b.yaml:5"
    )
    assert solution.interval("event:c") == (D("2024-10-24"), D("2024-10-24"))


def test_a_relation_of_a_variable_to_itself() -> None:
    network = Network()
    network.relate("a", same_day(), "a", "fine")
    network.relate("b", on_or_before(), "b", "also fine")
    assert network.solve().contradiction is None
    network.relate("a", parse_when("tomorrow").relation(False), "a", "a day after itself")
    contradiction = network.solve().contradiction
    assert contradiction is not None
    assert (contradiction.reasons, contradiction.after_itself) == (("a day after itself",), 1)


def test_a_cycle_of_three_mixed_relations_is_a_contradiction() -> None:
    # a at least a month after b; b two days before c; c the first Wednesday after a:
    # a >= c - 2 + 28 - 3 >= a + 1 + 23.
    network = Network()
    network.relate("a", months_after(1), "b", "r1")
    network.relate("b", parse_when("2 days ago").relation(False), "c", "r2")
    network.relate("c", weekday_relation(2, True, True), "a", "r3")
    contradiction = network.solve().contradiction
    assert contradiction is not None
    assert set(contradiction.reasons) == {"r1", "r2", "r3"}
    assert contradiction.after_itself > 0
    network = Network()  # c 26 to 30 days before a instead: consistent
    network.relate("a", months_after(1), "b", "r1")
    network.relate("b", parse_when("2 days ago").relation(False), "c", "r2")
    network.relate("c", offset(-30, -26), "a", "r3")
    assert network.solve().contradiction is None


@pytest.mark.parametrize(
    "first, second",
    [
        (offset(0, 2), offset(0, 2)),  # within two days of each other: the same day, say
        (offset(2, 2), offset(-2, -2)),  # two days after, and so two days before
        (on_or_after(), on_or_after()),  # the same day
        (months_after(0), on_or_before()),
        (week_of(True), week_of(False)),
    ],
)
def test_a_cycle_that_holds_on_some_days_is_no_contradiction(
    first: Relation, second: Relation
) -> None:
    network = Network()
    network.relate("a", first, "b", "r1")
    network.relate("b", second, "a", "r2")
    solution = network.solve()
    assert solution.contradiction is None
    assert solution.interval("a") == solution.interval("b") == (None, None)


def test_a_cycle_beside_dated_variables_that_do_not_reach_it() -> None:
    network = Network()
    network.within("d", D("2024-10-24"), None, "d from")  # later than a: bounds nothing in it
    network.relate("d", on_or_after(), "a", "r3")
    network.within("e", D("2024-10-01"), D("2024-10-01"), "e on")
    network.relate("f", parse_when("yesterday").relation(False), "e", "r4")
    network.relate("a", offset(1, 3), "b", "r1")  # a 1 to 3 days after b...
    network.relate("b", on_or_after(), "a", "r2")  # ...and b not before a
    solution = network.solve()
    assert solution.contradiction is not None
    assert solution.contradiction.reasons == ("r1", "r2")
    assert solution.interval("d") == (D("2024-10-24"), None)
    assert solution.interval("f") == (D("2024-09-30"), D("2024-09-30"))


def test_a_cycle_that_a_date_reaches_is_found_by_propagation() -> None:
    network = Network()
    network.within("d", D("2024-10-24"), D("2024-10-24"), "d on")
    network.relate("a", on_or_before(), "d", "r3")
    network.relate("a", offset(1, 3), "b", "r1")
    network.relate("b", on_or_after(), "a", "r2")
    contradiction = network.solve().contradiction
    assert contradiction is not None
    assert (contradiction.reasons, contradiction.after_itself) == (("r1", "r2"), 1)


@pytest.mark.parametrize("lower", [None, D("1990-01-01")])
def test_a_cycle_a_date_reaches_is_found_a_few_laps_in_and_cites_only_itself(
    lower: date | None,
) -> None:
    """100 variables on a ring, one a day after the next and the rest on the same day, the first
    printed (from below too, or not): the bounds move a day a lap, 100 relations each lap, and
    would take 40,000 laps to leave the window; the cycle is seen a few dozen laps in."""
    network = Network()
    for i in range(100):
        relation = offset(1, 1) if i == 0 else same_day()
        network.relate(f"v{i}", relation, f"v{(i + 1) % 100}", f"r{i}")
    network.within("v0", lower, D("2024-06-10"), "printed")
    contradiction = network.solve().contradiction
    assert contradiction is not None
    assert contradiction.reasons == tuple(f"r{i}" for i in range(100))
    assert (contradiction.variable, contradiction.after_itself) == ("v0", 1)
    assert contradiction.upper is not None and contradiction.upper > D("2024-03-01")


def test_a_variable_moved_many_times_without_a_cycle_keeps_its_exact_bounds() -> None:
    """z is on or after each of 100 dated days in turn (and w on z's day): z moves 100 times,
    more than enough for the propagation (counting moves from the start) to look for a cycle
    through it, twice, and it finds none."""
    network = Network()
    for i in range(100):
        network.within(f"x{i}", D("2024-01-01") + timedelta(days=i), None, f"f{i}")
        network.relate("z", on_or_after(), f"x{i}", f"r{i}")
    network.relate("w", same_day(), "z", "same")
    network.within("w", None, D("2024-12-31"), "w by")
    looks = []
    lapping = dating._Propagation.lapping

    def look(run: dating._Propagation, v: int, lower: bool) -> bool:
        looks.append(lapping(run, v, lower))
        return looks[-1]

    with patch.object(dating, "_PASSES", 0), patch.object(dating._Propagation, "lapping", look):
        solution = network.solve()
    assert looks == [False, False]
    assert solution.contradiction is None
    assert solution.interval("z") == (D("2024-04-09"), D("2024-12-31"))
    assert solution.proof_lower("w") == ["f99", "r99", "same"]


class _Unspread(DayFunction):
    """A day function that does not say how far it moves a day: no edge in the cycle search."""

    def __call__(self, day: int) -> int:
        return day + 1


def test_a_function_without_a_spread_is_left_out_of_the_search() -> None:
    network = Network()
    network.relate("a", Relation(_Unspread(), None), "b", "unspread")
    network.relate("b", same_day(), "a", "same")
    assert network.solve().contradiction is None  # a day after itself, but nothing says so
    network.relate("c", offset(1, 1), "d", "r1")
    network.relate("d", same_day(), "c", "r2")
    contradiction = network.solve().contradiction
    assert contradiction is not None and contradiction.reasons == ("r1", "r2")


# --- brute force: random small networks over a 40-day window ---

WINDOW = 40


def _relations(window: date) -> st.SearchStrategy[Relation]:
    near = st.integers(-40, WINDOW + 40).map(lambda n: window + timedelta(days=n))
    texts = st.sampled_from(["today", "yesterday", "tomorrow", "last week", "this week"])
    texts |= st.builds("{} days ago".format, st.integers(0, 9))
    futures = st.booleans()
    return st.one_of(
        st.tuples(st.integers(-9, 9), st.integers(0, 9)).map(lambda p: offset(p[0], p[0] + p[1])),
        st.sampled_from([same_day(), on_or_before(), on_or_after(), week_before()]),
        st.builds(weekday_relation, st.integers(0, 6), futures, futures),
        st.builds(week_of, futures),
        st.builds(lambda d, f: month_relation(d.month, f), near, futures),
        st.builds(lambda d, f: calendar_day_relation(d.month, d.day, f), near, futures),
        st.builds(months_after, st.integers(0, 1)),
        st.builds(lambda t, f: parse_when(t).relation(f), texts, futures),
    )


@st.composite
def _networks(draw: st.DrawFn) -> tuple[date, list, list]:
    """(window start, facts (name, first, last, reason), constraints (x, relation, y, reason)).

    Half the networks keep only what a hidden assignment satisfies, so that they have solutions.
    """
    window = draw(
        st.sampled_from([D("2024-02-10"), D("2023-02-10"), D("2023-12-10")])
        | st.dates(date(1999, 1, 1), date(2030, 12, 31))
    )
    names = [f"v{i}" for i in range(draw(st.integers(2, 4)))]
    day = st.integers(0, WINDOW - 1).map(lambda n: window + timedelta(days=n))
    hidden = None
    if draw(st.booleans()):  # close together, so that more relations hold between them
        centre = draw(st.integers(0, WINDOW - 13))
        hidden = {
            name: window + timedelta(days=centre + draw(st.integers(0, 12))) for name in names
        }
    facts: list[tuple[str, date | None, date | None, str]] = [
        (name, window, window + timedelta(days=WINDOW - 1), f"w:{name}") for name in names
    ]
    for number in range(draw(st.integers(0, 4))):
        name, first, width = draw(st.sampled_from(names)), draw(day), draw(st.integers(-2, WINDOW))
        if hidden is not None:  # an interval around the hidden day
            first = hidden[name] - timedelta(days=max(width, 0) // 2)
        last = first + timedelta(days=width if hidden is None else abs(width))
        start, end = draw(st.sampled_from([(first, last), (first, None), (None, last)]))
        facts.append((name, start, end, f"f{number}"))
    constraints = []
    pairs = [(x, y) for x in names for y in names]
    for number in range(draw(st.integers(0, 6))):
        relation = draw(_relations(window))
        if hidden is not None:
            pairs = [(x, y) for x in names for y in names if relation.holds(*_days(hidden, x, y))]
        if pairs:
            x, y = draw(st.sampled_from(pairs))
            constraints.append((x, relation, y, f"c{number}"))
    return window, facts, constraints


def _days(days: dict[str, date], x: str, y: str) -> tuple[int, int]:
    return days[x].toordinal(), days[y].toordinal()


def _solve(
    facts: list, constraints: list, names: list[str], keep: Callable, arrays: bool = False
) -> Solution:
    """Solve what `keep` keeps of a drawn network; `arrays`: sweep over arrays first."""
    network = Network()
    for name in names:
        network.variable(name)
    for name, first, last, reason in facts:
        if keep(reason):
            network.within(name, first, last, reason)
    for x, relation, y, reason in constraints:
        if keep(reason):
            network.relate(x, relation, y, reason)
    return network.solve(arrays)


def _brute_force(window: date, facts: list, constraints: list, names: list[str]) -> dict | None:
    """Every variable's first and last day over all consistent assignments (None: there are none).

    Exhaustive over the window, with each variable's days as a bit mask: the last variable's
    allowed days for an assignment of the others is an AND of masks.
    """
    base, days = window.toordinal(), range(WINDOW)
    unary = {name: (1 << WINDOW) - 1 for name in names}
    for name, first, last, _ in facts:
        for i in days:
            day = base + i
            if (first and day < first.toordinal()) or (last and day > last.toordinal()):
                unary[name] &= ~(1 << i)
    pairs = []  # (x, y, masks[j]: the x days allowed when y is day j)
    for x, relation, y, _ in constraints:
        if x == y:
            for i in days:
                if not relation.holds(base + i, base + i):
                    unary[x] &= ~(1 << i)
        else:
            masks = [sum(1 << i for i in days if relation.holds(base + i, base + j)) for j in days]
            pairs.append((x, y, masks))
    support = {name: 0 for name in names}

    def allowed(name: str, values: dict[str, int]) -> int:
        mask = unary[name]
        for x, y, masks in pairs:
            if x == name and y in values:
                mask &= masks[values[y]]
            elif y == name and x in values:
                mask &= sum(1 << j for j in days if masks[j] >> values[x] & 1)
        return mask

    def extend(values: dict[str, int]) -> None:
        name = names[len(values)]
        mask = allowed(name, values)
        if len(values) == len(names) - 1:
            if mask:
                support[name] |= mask
                for other, value in values.items():
                    support[other] |= 1 << value
            return
        for i in days:
            if mask >> i & 1:
                extend({**values, name: i})

    extend({})
    if not support[names[0]]:
        return None
    return {
        name: (
            window + timedelta(days=(mask & -mask).bit_length() - 1),
            window + timedelta(days=mask.bit_length() - 1),
        )
        for name, mask in support.items()
    }


@pytest.mark.parametrize("arrays", [False, True], ids=["worklist", "swept"])
@given(network=_networks())
@settings(max_examples=150, deadline=None)
def test_solver_intervals_equal_brute_force(network: tuple[date, list, list], arrays: bool) -> None:
    window, facts, constraints = network
    names = sorted({fact[0] for fact in facts})
    solution = _solve(facts, constraints, names, lambda reason: True, arrays)
    expected = _brute_force(window, facts, constraints, names)
    if expected is None:
        assert solution.contradiction is not None
    else:
        assert solution.contradiction is None
        assert {name: solution.interval(name) for name in names} == expected


@pytest.mark.parametrize("arrays", [False, True], ids=["worklist", "swept"])
@given(network=_networks())
@settings(max_examples=150, deadline=None)
def test_proofs_suffice(network: tuple[date, list, list], arrays: bool) -> None:
    """The facts and constraints a proof cites, alone, give the same bound (or contradiction)."""
    window, facts, constraints = network
    names = sorted({fact[0] for fact in facts})
    solution = _solve(facts, constraints, names, lambda reason: True, arrays)
    if solution.contradiction is not None:
        cited = set(solution.contradiction.reasons)
        alone = _solve(facts, constraints, names, cited.__contains__, arrays)
        assert alone.contradiction is not None
        return
    for name in names:
        for side, proof in ((0, solution.proof_lower), (1, solution.proof_upper)):
            cited = set(proof(name))
            alone = _solve(facts, constraints, names, cited.__contains__, arrays)
            assert alone.interval(name)[side] == solution.interval(name)[side]
        both = solution.proof(name)
        assert len(both) == len(set(both))
        assert set(both) == set(solution.proof_lower(name) + solution.proof_upper(name))


_FUNCTIONS: list[DayFunction] = [
    Shift(-3),
    Nearest(Weekday(0), False, -7),
    Nearest(Weekday(2), True, 6),
    Nearest(YearlyDay(2, 29), False),
    Nearest(YearlyDay(10, 24), True, -1),
    Nearest(YearlyDay(2, 29), True, 3),
    AddMonths(0),
    AddMonths(1),
    AddMonths(12),
    AddMonths(14, 2),
    AddMonths(33, -1),
    Nearest(MonthEnd(2), True, 1),
    MonthUpTo(2),
    MonthUpTo(6),
    MonthFrom(2),
    MonthFrom(12),
]


@given(st.sampled_from(_FUNCTIONS), st.dates(date(1850, 1, 1), date(2050, 12, 31)))
@settings(max_examples=150, deadline=None)
def test_day_functions_are_monotone_their_inverses_exact_their_spread_true(
    function: DayFunction, day: date
) -> None:
    value = day.toordinal()
    ys = range(value - 3000, value + 3000)  # every answer: February 29 can be 8 years away
    images = [function(y) for y in ys]
    assert images == sorted(images)
    reaching = [y for y, image in zip(ys, images, strict=True) if image >= value]
    within = [y for y, image in zip(ys, images, strict=True) if image <= value]
    assert function.least_at_least(value) == reaching[0]
    assert function.greatest_at_most(value) == within[-1]
    low, high = function.spread()
    shifts = [image - y for y, image in zip(ys, images, strict=True)]
    assert low <= min(shifts) and max(shifts) <= high


@given(st.integers(0, 3612), st.integers(-40, 40), st.dates(date(1800, 1, 1), date(2100, 12, 31)))
@settings(max_examples=300, deadline=None)
def test_the_spread_of_adding_months_is_true(months: int, days: int, day: date) -> None:
    function, start = AddMonths(months, days), day.toordinal()
    low, high = function.spread()
    # Every run of months from every month of the year, and the ends of months (clamped).
    for y in range(start, start + 400):
        assert low <= function(y) - y <= high


# --- brute force: cycles of shifts, some variables undated ---


def _shifts() -> st.SearchStrategy[Relation]:
    """Relations whose edges weigh at most 4 days: x - y in [a, a + b], or one side of that."""
    first = st.integers(-4, 4)
    return st.one_of(
        st.tuples(first, st.integers(0, 3)).map(lambda p: offset(p[0], p[0] + p[1])),
        first.map(lambda a: Relation(Shift(a), None, None, f"at least {a:+d} days from {{}}")),
        first.map(lambda a: Relation(None, Shift(a), None, f"at most {a:+d} days from {{}}")),
    )


@st.composite
def _cycles(draw: st.DrawFn) -> tuple[date, list, list]:
    """A ring of shifts through every variable and a few more, facts on some variables only.

    Dated variables lie in [window + 14, window + 25]; with n <= 4 variables and edges of at most
    4 days, a network with any solution has one with every variable within the window (a path
    adds at most 12 days), so brute force over the window says whether there is a solution. Half
    the networks keep only what a hidden assignment satisfies.
    """
    window = draw(st.dates(date(1999, 1, 1), date(2030, 12, 31)))
    names = [f"v{i}" for i in range(draw(st.integers(1, 4)))]
    middle = st.integers(14, 25).map(lambda n: window + timedelta(days=n))
    hidden = None
    if draw(st.booleans()):
        hidden = {name: window + timedelta(days=draw(st.integers(18, 21))) for name in names}
    facts = []
    for number, name in enumerate(draw(st.lists(st.sampled_from(names), max_size=3))):
        first, last = sorted((draw(middle), draw(middle)))
        if hidden is not None:
            first, last = min(first, hidden[name]), max(last, hidden[name])
        start, end = draw(st.sampled_from([(first, last), (first, None), (None, last)]))
        facts.append((name, start, end, f"f{number}"))
    ring = [(names[i], names[i - 1]) for i in range(len(names))]
    extra = st.tuples(st.sampled_from(names), st.sampled_from(names))
    constraints = []
    for number, (x, y) in enumerate(ring + draw(st.lists(extra, max_size=3))):
        relation = draw(_shifts())
        if hidden is not None and not relation.holds(*_days(hidden, x, y)):
            difference = (hidden[x] - hidden[y]).days
            relation = offset(difference, difference)
        constraints.append((x, relation, y, f"c{number}"))
    return window, facts, constraints


@pytest.mark.parametrize("arrays", [False, True], ids=["worklist", "swept"])
@given(network=_cycles())
@settings(max_examples=300, deadline=None)
def test_cycles_of_shifts_agree_with_brute_force(
    network: tuple[date, list, list], arrays: bool
) -> None:
    window, facts, constraints = network
    names = sorted({c[0] for c in constraints} | {c[2] for c in constraints})
    solution = _solve(facts, constraints, names, lambda reason: True, arrays)
    expected = _brute_force(window, facts, constraints, names)
    if expected is None:
        assert solution.contradiction is not None
        cited = set(solution.contradiction.reasons)
        alone = _solve(facts, constraints, names, cited.__contains__, arrays)
        assert alone.contradiction is not None
        return
    assert solution.contradiction is None
    for name in {fact[0] for fact in facts if fact[1] and fact[2]}:
        assert solution.interval(name) == expected[name]


@given(
    st.dates(date(1999, 1, 1), date(2030, 12, 31)),
    st.lists(st.integers(0, 800), min_size=1, max_size=6),
    st.data(),
)
@settings(max_examples=200, deadline=None)
def test_what_some_days_satisfy_is_no_contradiction(
    window: date, offsets: list[int], data: st.DataObject
) -> None:
    """Every kind of relation, few facts: the cycle search never cites a network with a solution."""
    hidden = {f"v{i}": window + timedelta(days=n) for i, n in enumerate(offsets)}
    names = sorted(hidden)
    network = Network()
    for number in range(data.draw(st.integers(0, 12))):
        relation = data.draw(_relations(window))
        pairs = [(x, y) for x in names for y in names if relation.holds(*_days(hidden, x, y))]
        if pairs:
            x, y = data.draw(st.sampled_from(pairs))
            network.relate(x, relation, y, f"c{number}")
    for name in data.draw(st.lists(st.sampled_from(names), max_size=2)):
        network.within(name, hidden[name], None, f"from {name}")
    assert network.solve().contradiction is None


@given(st.one_of(_networks(), _cycles()))
@settings(max_examples=300, deadline=None)
def test_looking_for_cycles_at_every_move_changes_no_answer(
    network: tuple[date, list, list],
) -> None:
    """With a look for a cycle at every move of a bound from the first pass on, a network with a
    solution gets the same intervals and proofs, and one without still none."""
    _, facts, constraints = network
    names = sorted(
        {c[0] for c in constraints} | {c[2] for c in constraints} | {f[0] for f in facts}
    )
    expected = _solve(facts, constraints, names, lambda reason: True)
    with patch.object(dating, "_LAPS", 0), patch.object(dating, "_PASSES", 0):
        solution = _solve(facts, constraints, names, lambda reason: True)
    if expected.contradiction is not None:
        assert solution.contradiction is not None
        return
    assert solution.contradiction is None
    for name in names:
        assert solution.interval(name) == expected.interval(name)
        assert solution.proof(name) == expected.proof(name)


# --- the sweep over arrays (factdb.sweeping) ---


def _articles(claims: int, seed: int) -> tuple[Network, list[str]]:
    """A network shaped as the bench's corpus, with a solution: articles (a seventh of them with
    a printed publication day) whose claims report events of the week before "on <weekday>",
    some "yesterday" or "in <month>"."""
    import random

    rng = random.Random(seed)
    network = Network()
    start = date(2022, 1, 1)
    published = {
        f"source:s{i}": start + timedelta(days=rng.randrange(90)) for i in range(claims // 20 + 1)
    }
    for number, (article, day) in enumerate(list(published.items())[::7]):
        network.within(article, day, day, f"printed {number}")
    events = set()
    for number in range(claims):
        article = rng.choice(list(published))
        back = rng.randrange(7)
        day = published[article] - timedelta(days=back)
        event = f"event:{day.isoformat()}-{rng.randrange(3)}"
        events.add(event)
        relation = rng.choice(
            [weekday_relation(day.weekday(), False, False)] * 8
            + [offset(-1, -1) if back == 1 else same_day() if back == 0 else on_or_before()]
            + [month_relation(day.month, False)]
        )
        network.relate(event, relation, article, f"c{number}")
    return network, list(published) + sorted(events)


def test_a_sweep_runs_and_reaches_the_worklists_intervals_on_a_large_network():
    network, names = _articles(30_000, 7)
    assert len(network._x) >= dating.SWEEP_FROM  # solve() sweeps by itself here
    returned, real = [], sweeping.sweep

    def sweep(*arguments: object) -> sweeping.Bounds | None:
        returned.append(real(*arguments))  # type: ignore[arg-type]
        return returned[-1]

    with patch.object(sweeping, "sweep", sweep):
        arrays = network.solve()
    assert len(returned) == 1 and returned[0] is not None
    worklist = network.solve(arrays=False)
    assert arrays.contradiction is None and worklist.contradiction is None
    assert [arrays.interval(n) for n in names] == [worklist.interval(n) for n in names]


def test_a_sweep_reaches_the_fixed_point_itself_and_leaves_the_rest_to_the_worklist():
    """Only months are left to the worklist; the swept bounds are those of the worklist alone."""
    network, names = _articles(2_000, 11)
    run = dating._Propagation(network)
    assert run.apply_facts()
    assert run.sweep() is True
    left = set(dating.sweep_left(network))
    assert left and all(network._kinds[network._kind[n]][1] is None for n in left)
    swept = network.solve(arrays=True)
    alone = network.solve(arrays=False)
    assert [swept.interval(n) for n in names] == [alone.interval(n) for n in names]
    assert sum(swept.interval(n) != (None, None) for n in names) > len(names) // 2


def test_a_sweep_gives_up_on_a_contradiction_and_the_worklist_names_it():
    network = Network()
    network.within("a", date(2024, 10, 24), date(2024, 10, 24), "printed")
    network.relate("b", weekday_relation(2, False, False), "a", "on Wednesday")
    network.relate("b", offset(0, 0), "a", "the same day")  # 2024-10-24 was a Thursday
    run = dating._Propagation(network)
    assert run.apply_facts()
    before = (run.lo[:], run.hi[:], len(run.deps))
    assert run.sweep() is False
    assert (run.lo, run.hi, len(run.deps)) == before
    assert network.solve(arrays=True).contradiction == network.solve(arrays=False).contradiction


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=200))
@settings(max_examples=100, deadline=None)
def test_linking_over_arrays_links_as_the_loop_does(pairs: list[tuple[int, int]]) -> None:
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    with patch.object(dating, "SWEEP_FROM", 10**9):
        expected = dating._link(xs, ys, 31)
    assert sweeping.link(xs, ys, 31) == expected


@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(-3, 12), st.integers(0, 9), st.integers(0, 99)),
        min_size=1,
        max_size=120,
    ),
    st.lists(st.integers(-2, 10), min_size=8, max_size=8),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_a_sweep_keeps_the_tightest_bound_per_variable_from_the_first_relation_among_equals(
    candidates: list[tuple[int, int, int, int]], current: list[int], lower: bool
) -> None:
    """Of candidate bounds (target, value, record, relation number), those tighter than the
    target's bound, clipped to the window: per target the tightest, from the lowest relation
    number among equals, the first given among those; targets in order."""
    import numpy as np

    low, high = 0, 8  # the window: values are clipped to [low - 1, high + 1]
    bounds = sweeping.Bounds(current, current, [0] * 8, [0] * 8, (low, high), 0, [], [])
    network = sweeping.Network([], [], [], [], [], [], [-1] * 8, [None] * 8)
    state = sweeping._State(bounds, network)
    arrays = tuple(np.array(column, dtype=np.int64) for column in zip(*candidates, strict=True))
    found = state.best(arrays, lower)  # type: ignore[arg-type]
    expected: dict[int, tuple[int, int, int]] = {}
    for target, value, record, number in candidates:
        value = min(value, high + 1) if lower else max(value, low - 1)
        if not (value > current[target] if lower else value < current[target]):
            continue
        key = (-value if lower else value, number)
        if target not in expected or key < expected[target][:2]:
            expected[target] = (*key, record)
    if not expected:
        assert found is None
        return
    assert found is not None
    targets, values, records, numbers = (array.tolist() for array in found)
    assert targets == sorted(expected)
    assert values == [-expected[t][0] if lower else expected[t][0] for t in targets]
    assert numbers == [expected[t][1] for t in targets]
    assert records == [expected[t][2] for t in targets]


def test_importing_the_sweep_starts_no_blas_threads():
    """numpy's OpenBLAS would start a spinning thread per other core (0.1 s of CPU each run)."""
    import os
    import subprocess
    import sys

    count = "import os, factdb.sweeping; print(len(os.listdir('/proc/self/task')))"
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    threads = subprocess.run(
        [sys.executable, "-c", count], env=environment, capture_output=True, text=True, check=True
    )
    assert threads.stdout.strip() == "1"
