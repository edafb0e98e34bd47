"""Comparing two answers to a topic: can they both be true at the same time?

Pure functions of the claims that give each answer (`AnswerInput`s, grouped by topic and answer
as the answers table groups them) and of their topic; `rows.comparison_rows` makes the rows of
the comparisons table from them. The rules, which docs/data-model.md sets out ("Comparing
answers"):

- two answers conflict only where they cannot both be true at the same time: their values
  exclude each other (quantity ranges that do not overlap and are not close; text answers that
  one of the topic's `exclusive` groups holds; dates that do not overlap), and either the topic
  does not change over time or a claim of each is dated to one same day;
- quantity ranges that do not overlap but lie within the topic's tolerance, where every claim of
  one answer hedges, are `close`;
- on a topic that changes over time, values that exclude each other at times that no claim of
  one shares with a claim of the other are an `update`; where their times overlap only because
  a date is wider than a day (a month, a range, an open end), the relation is `unclear-time`;
- anything else is `compatible`.

The relation of two answers is that of their least reconcilable pair of claims, in the order
of RELATIONS; the reason names the values and the dates it rests on.
"""

from __future__ import annotations

import math
from calendar import monthrange
from collections.abc import Sequence
from datetime import date
from operator import attrgetter
from typing import NamedTuple

from factdb.results import AnswerInput
from factdb.schema.models import Topic

# From the least to the most reconcilable.
RELATIONS = ("conflict", "unclear-time", "update", "close", "compatible")
ROUNDING = 1e-9  # a share of the tolerance: 9,000 and 10,000 are within 10% however 0.1 rounds


class Answer(NamedTuple):
    """One answer to a topic and the claims that give it (each with the same answer key)."""

    key: str
    claims: Sequence[AnswerInput]


class Comparison(NamedTuple):
    """How two answers relate (one of RELATIONS) and why, in plain English."""

    relation: str
    reason: str


class _Opposed(NamedTuple):
    """Two answers whose values exclude each other, and the claims of each that do."""

    a: Sequence[AnswerInput]  # the answer's own claims where all of them do
    b: Sequence[AnswerInput]
    detail: str  # ends the reason: why the values exclude each other, where not plain


# Dates: whole-day intervals [start, end] of ISO days, None where open.


def overlap(start_a: str | None, end_a: str | None, start_b: str | None, end_b: str | None) -> bool:
    """True where two day intervals share at least one day (an open end reaches every day)."""
    a_before_b = end_a is not None and start_b is not None and end_a < start_b
    b_before_a = end_b is not None and start_a is not None and end_b < start_a
    return not (a_before_b or b_before_a)


def describe_days(start: str | None, end: str | None) -> str:
    """A day interval as people read it: 2024-10-23, 2024-10, 2024, 2024-10-01 to 2024-10-20,
    2024-11-30 or earlier, 2024-10-24 or later, or undated."""
    if start is None and end is None:
        return "undated"
    if start is None:
        return f"{end} or earlier"
    if end is None:
        return f"{start} or later"
    if start == end:
        return start
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if first.day == 1 and (first.year, first.month) == (last.year, last.month):
        if last.day == monthrange(last.year, last.month)[1]:
            return start[:7]
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return start[:4]
    return f"{start} to {end}"


class Days:
    """What the comparisons ask of a list of claims' dates, worked out once per list: an
    answer's claims take part in a comparison with every other answer to its topic (at a
    million claims, once per pair cost 5 s). Kept by the list's identity, with the list."""

    def __init__(self) -> None:
        self.known: dict[int, tuple[Sequence[AnswerInput], tuple, frozenset[str]]] = {}

    def of(self, claims: Sequence[AnswerInput]) -> tuple[tuple[str | None, str | None], frozenset]:
        found = self.known.get(id(claims))
        if found is None:
            exact = frozenset(
                start for start, end in map(_DATES, claims) if start is not None and start == end
            )
            found = self.known[id(claims)] = (claims, _span(claims), exact)
        return found[1], found[2]


def _span(claims: Sequence[AnswerInput]) -> tuple[str | None, str | None]:
    """The days from the first any of the claims can be to the last (None where one is open)."""
    starts = list(map(DATE_START, claims))
    ends = list(map(DATE_END, claims))
    first = None if None in starts else min(starts)
    last = None if None in ends else max(ends)
    return first, last


_DATES = attrgetter("date_start", "date_end")
DATE_START, DATE_END = attrgetter("date_start"), attrgetter("date_end")  # of an AnswerInput


def _same_day(days_a: frozenset[str], days_b: frozenset[str]) -> str | None:
    """The first day to which a claim of each is dated exactly (`Days.of`), if any."""
    shared = days_a & days_b
    return min(shared) if shared else None


def _overlapping_pair(
    a: Sequence[AnswerInput], b: Sequence[AnswerInput]
) -> tuple[AnswerInput, AnswerInput] | None:
    """A claim of each whose dates overlap, if any: claims in order of their first day, each
    set against the claim of the other answer seen so far that reaches furthest."""
    order = sorted(
        [(c.date_start or "", side, c.id, c) for side, claims in enumerate((a, b)) for c in claims]
    )
    furthest: list[AnswerInput | None] = [None, None]
    for start, side, _, claim in order:
        other = furthest[1 - side]
        if other is not None and (other.date_end is None or other.date_end >= start):
            return (other, claim) if side else (claim, other)
        mine = furthest[side]
        if mine is None or _reaches_later(claim, mine):
            furthest[side] = claim
    return None


def _reaches_later(claim: AnswerInput, than: AnswerInput) -> bool:
    """True where the claim's date can end after the other's (an open end is the latest)."""
    if than.date_end is None:
        return False
    return claim.date_end is None or claim.date_end > than.date_end


# Values.


def number(value: float) -> str:
    """A value as people write it: 10000 as 10,000, 7.5 as 7.5."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def describe_value(low: float | None, high: float | None) -> str:
    """A quantity answer: 3,000, 200 to 999, at least 2,000, at most 500."""
    if low is not None and low == high:
        return number(low)
    if low is not None and high is not None:
        return f"{number(low)} to {number(high)}"
    if low is not None:
        return f"at least {number(low)}"
    return f"at most {number(high)}" if high is not None else "any value"


def _order(topic: Topic, answer: Answer) -> tuple[float, float, str]:
    """Where an answer stands among others: a quantity by its lowest value, then its highest;
    any answer then by its key."""
    if topic.kind != "quantity":
        return 0, 0, answer.key
    first = answer.claims[0]
    low = first.value_low if first.value_low is not None else -math.inf
    return low, first.value_high if first.value_high is not None else math.inf, answer.key


def _percent(share: float) -> str:
    """A share as a percentage: 0.1 as 10%, 1/15 as 6.67%, 1/398 as 0.25%."""
    percent = share * 100
    if percent < 1:
        return f"{percent:.2g}%"
    return f"{percent:.2f}".rstrip("0").rstrip(".") + "%"


def _label(topic: Topic, answer: Answer) -> str:
    if topic.kind == "quantity":
        first = answer.claims[0]
        return describe_value(first.value_low, first.value_high)
    return f'"{answer.key}"' if topic.kind == "text" else answer.key


def _unit(topic: Topic, a: Answer) -> str:
    unit = (topic.unit or a.claims[0].unit) if topic.kind == "quantity" else None
    return f" {unit}" if unit else ""


def _close(topic: Topic, a: Answer, b: Answer, share: float, tolerance: float) -> Comparison:
    """Two quantities within the tolerance, where every claim of one answer (or both) hedges."""
    label_a, label_b = _label(topic, a), _label(topic, b)
    hedged_a, hedged_b = (all(c.approximate for c in x.claims) for x in (a, b))
    if hedged_a and hedged_b:
        values = f"{label_a} and {label_b}{_unit(topic, a)} are both hedged and"
    else:
        label_a += " (hedged)" if hedged_a else ""
        label_b += " (hedged)" if hedged_b else ""
        values = f"{label_a} and {label_b}{_unit(topic, a)} are"
    reason = (
        f"{values} {_percent(share)} apart, within the topic's tolerance of "
        f"{_percent(tolerance)}: close, not contradicting"
    )
    return Comparison("close", reason)


def _compare_values(topic: Topic, a: Answer, b: Answer) -> Comparison | _Opposed:
    """Quantities: compatible where the ranges overlap, close within the tolerance where every
    claim of one answer hedges; otherwise the claims whose values exclude each other."""
    first_a, first_b = a.claims[0], b.claims[0]
    low_a, high_a, low_b, high_b = (
        first_a.value_low,
        first_a.value_high,
        first_b.value_low,
        first_b.value_high,
    )
    label_a, label_b, unit = _label(topic, a), _label(topic, b), _unit(topic, a)
    if high_a is not None and low_b is not None and high_a < low_b:
        near, far = high_a, low_b
    elif high_b is not None and low_a is not None and high_b < low_a:
        near, far = high_b, low_a
    else:
        reason = f"{label_a} and {label_b}{unit} overlap, so both can be true: compatible"
        return Comparison("compatible", reason)
    share = (far - near) / max(abs(near), abs(far))
    tolerance = topic.tolerance
    if tolerance is None:
        return _Opposed(a.claims, b.claims, "")
    if share > tolerance * (1 + ROUNDING):
        detail = (
            f" ({_percent(share)} apart, beyond the topic's tolerance of {_percent(tolerance)})"
        )
        return _Opposed(a.claims, b.claims, detail)
    exact_a = [c for c in a.claims if not c.approximate]
    exact_b = [c for c in b.claims if not c.approximate]
    if not exact_a or not exact_b:
        return _close(topic, a, b, share, tolerance)
    detail = (
        f" ({_percent(share)} apart, within the topic's tolerance of {_percent(tolerance)}, "
        "but claims of each state their value without a hedge)"
    )
    return _Opposed(exact_a, exact_b, detail)


def _normal(answer: str) -> str:
    """An answer as answer keys compare it: white space runs as one space, case folded."""
    return " ".join(answer.split()).casefold()


def _compare_texts(topic: Topic, a: Answer, b: Answer) -> Comparison | _Opposed:
    """Text answers exclude each other only where one of the topic's exclusive groups holds
    both; otherwise both can be true."""
    groups = [{_normal(answer) for answer in group} for group in topic.exclusive]
    if any(a.key in group and b.key in group for group in groups):
        return _Opposed(a.claims, b.claims, " (the topic lists them as exclusive answers)")
    if groups:
        why = "no group of answers that the topic lists as exclusive holds both"
    else:
        why = "the topic lists no answers that exclude each other"
    return Comparison("compatible", f'"{a.key}" and "{b.key}" can both be true: {why}: compatible')


def _contains(outer: AnswerInput, inner: AnswerInput) -> bool:
    """True where every day the inner claim's date allows, the outer's allows too."""
    starts = outer.date_start is None or (
        inner.date_start is not None and outer.date_start <= inner.date_start
    )
    ends = outer.date_end is None or (
        inner.date_end is not None and outer.date_end >= inner.date_end
    )
    return starts and ends


def _vague(a: AnswerInput, b: AnswerInput) -> str:
    """How the dates of two overlapping claims overlap: 2024-10 includes 2024-10-24."""
    when_a, when_b = (
        describe_days(a.date_start, a.date_end),
        describe_days(b.date_start, b.date_end),
    )
    if when_a == when_b:
        return f"both are {when_a}"
    if _contains(a, b):
        return f"{when_a} includes {when_b}"
    if _contains(b, a):
        return f"{when_b} includes {when_a}"
    return f"{when_a} and {when_b} overlap"


def _compare_times(topic: Topic, a: Answer, b: Answer, opposed: _Opposed, days: Days) -> Comparison:
    """Answers whose values exclude each other: a conflict at one time (any time, where the
    topic does not change over time); otherwise an update, or unclear where dates are vague."""
    label_a, label_b, unit = _label(topic, a), _label(topic, b), _unit(topic, a)
    (span_a, exact_a), (span_b, exact_b) = days.of(opposed.a), days.of(opposed.b)
    day = _same_day(exact_a, exact_b)
    if day is not None and (topic.changes_over_time or span_a == span_b == (day, day)):
        reason = f"{label_a} and {label_b}{unit} on {day}: cannot both be true{opposed.detail}"
        return Comparison("conflict", reason)
    if not topic.changes_over_time:
        reason = (
            f"{label_a} ({describe_days(*span_a)}) and {label_b} ({describe_days(*span_b)})"
            f"{unit}: cannot both be true at any time, as the topic does not change over time"
            f"{opposed.detail}"
        )
        return Comparison("conflict", reason)
    pair = _overlapping_pair(opposed.a, opposed.b)
    if pair is not None:
        reason = (
            f"{label_a} ({describe_days(pair[0].date_start, pair[0].date_end)}) and {label_b} "
            f"({describe_days(pair[1].date_start, pair[1].date_end)}){unit}: the topic changes "
            f"over time and the dates overlap ({_vague(*pair)}) but are too vague to order "
            f"them: unclear whether one updates the other or they contradict{opposed.detail}"
        )
        return Comparison("unclear-time", reason)
    return _update([(label_a, span_a), (label_b, span_b)], unit)


def _update(answers: list[tuple[str, tuple[str | None, str | None]]], unit: str) -> Comparison:
    """Two answers (label, span of days) where no claim of one shares a day with a claim of
    the other, on a topic that changes over time: the earlier is named first."""
    (_, (start_a, _)), (_, (_, end_b)) = answers
    if end_b is not None and start_a is not None and end_b < start_a:
        answers.reverse()
    (first, first_span), (second, second_span) = answers
    first_end, second_start = first_span[1], second_span[0]
    ordered = first_end is not None and second_start is not None and first_end < second_start
    apart = "" if ordered else " (no claim of one is dated on a day a claim of the other can be)"
    reason = (
        f"{first} ({describe_days(*first_span)}) and {second} ({describe_days(*second_span)})"
        f"{unit} are at different times{apart} on a topic that changes over time: an update, "
        "not a conflict"
    )
    return Comparison("update", reason)


def _compare_dates(a: Answer, b: Answer) -> Comparison:
    """Date answers: the answer is the date itself, so two conflict where they do not overlap."""
    first_a, first_b = a.claims[0], b.claims[0]
    when_a = describe_days(first_a.date_start, first_a.date_end)
    when_b = describe_days(first_b.date_start, first_b.date_end)
    if overlap(first_a.date_start, first_a.date_end, first_b.date_start, first_b.date_end):
        reason = f"{when_a} and {when_b} overlap, so both can be true: compatible"
        return Comparison("compatible", reason)
    return Comparison("conflict", f"{when_a} and {when_b} do not overlap: cannot both be true")


def compare_answers(topic: Topic, a: Answer, b: Answer, days: Days | None = None) -> Comparison:
    """How two different answers to a topic relate, and why (the rules are the module's).

    The same whichever is given first: the reason names the smaller quantity first, or else
    the answer first in text order (and the earlier first, for an update). `days`: shared by
    the comparisons of one set of answers, so each answer's dates are read once.
    """
    if _order(topic, b) < _order(topic, a):
        a, b = b, a
    if topic.kind == "date":
        return _compare_dates(a, b)
    found = (
        _compare_values(topic, a, b) if topic.kind == "quantity" else _compare_texts(topic, a, b)
    )
    if isinstance(found, Comparison):
        return found
    return _compare_times(topic, a, b, found, days if days is not None else Days())
