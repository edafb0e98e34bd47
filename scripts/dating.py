"""Relative dates ("yesterday", "on Wednesday", "32 months after x"), and what a dataset implies.

Pure: no I/O, no YAML, no database. Days are `date.toordinal()` ints inside, dates at the edges.

Grammar of `parse_when`: case-insensitive, spaces do not matter, N is a whole number, <event> an
event id (lowercase letters and digits joined by hyphens). A claim looks back from its article
(past: reported) or ahead (future: scheduled); the direction only matters where it says so.

    today | yesterday | tomorrow             the publication day, the day before, the day after
    [on] <weekday>                           past: the last such day on or before publication;
                                             future: the first on or after it
    last <weekday> | next <weekday>          the last such day strictly before publication / the
                                             first strictly after it
    last week                                the Monday-to-Sunday week before publication's week
    this week                                past: its Monday to publication; future: publication
                                             to its Sunday
    [in] <month>                             past: the last such month that began on or before
                                             publication, up to publication; future: the first
                                             that ends on or after publication, from publication
    [on] <month> <day> | [on] <day> <month>  past: the last such day on or before publication;
                                             future: the first on or after it
    N days ago | N weeks ago                 exactly N (N*7) days before publication
    N months after <event>                   [E + N months, E + N+1 months - 1 day], the day
                                             clamped to the month (Jan 31 + 1 month = Feb 28/29)
    N days after <event> | N days before <event> | same day as <event>

Every relation reads: x lies in [g(y), h(y)], g and h monotone non-decreasing (`DayFunction`),
optionally on an allowed set of days (`DaySet`: a weekday). The solver (`Network`) propagates bounds
to a fixed point; since the solutions of such constraints are closed under componentwise min and
max, the fixed point is each variable's exact range over all solutions. Every bound keeps the reason
that set it and the bound it came from, so a proof is a walk back along that chain.

Dates live in 1800-01-01..2100-12-31. A side no fact bounds stays open (None) and is not propagated
(every function here maps an open end to an open end); a bound pushed beyond the window is a
contradiction. A cycle of relations that puts a day after itself is one too, whatever the dates,
and the contradiction names its relations only. Each relation also says x >= y + min(g(d) - d) and
y >= x - max(h(d) - d) (`spread()`, true for every day): edges of a graph in which a cycle whose
weights add up to more than 0 has no solution, found by a search for longest paths. Where a bound
reaches such a cycle, propagation moves that bound a lap at a time (to the window's edge: seconds
for a long cycle that moves it a day a lap); so after 64 passes through the queue (random networks
of 200,000 variables take under 50), each variable's moves are counted, and once one's bounds have
moved 32 more times, the search looks for a cycle through it among the variables that moved at
least a quarter as often; propagation stops where it finds one (where not, the next look waits
for twice as many moves). Counting only then keeps the propagation of other networks as fast.
Where no bound reaches the cycle ("a is 2 days after b", "b is 2 days after a", neither dated), the
search runs after the fixed point, from the variables left with an open lower bound, as the fixed
point already satisfies every edge out of the others: where facts date most variables it costs a
few percent of the propagation; where none do, it is a longest-path computation over the whole
network (seconds at 200,000 variables). It reads each function by its spread and leaves allowed
days out: an undated variable that two relations put on different weekdays goes unnoticed, and a
cycle only the calendar makes impossible is found only where a bound it moves leaves the window
or crosses the other.
"""

from __future__ import annotations

import calendar
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from itertools import repeat

LOWEST = date(1800, 1, 1)
HIGHEST = date(2100, 12, 31)
_LO = LOWEST.toordinal()
_HI = HIGHEST.toordinal()
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = tuple(name.lower() for name in calendar.month_name[1:])


_LENGTHS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_length(year: int, month: int) -> int:
    return 29 if month == 2 and calendar.isleap(year) else _LENGTHS[month - 1]


def _weekday(day: int) -> int:
    """0 for Monday: ordinal 1 (0001-01-01) was a Monday."""
    return (day - 1) % 7


class DaySet:
    """Allowed days, known by their nearest members: `up` (least >= day), `down` (greatest <=)."""

    def up(self, day: int) -> int:
        raise NotImplementedError

    def down(self, day: int) -> int:
        raise NotImplementedError

    def contains(self, day: int) -> bool:
        return self.up(day) == day

    def gap(self) -> int:
        """The most days from one allowed day to the next: up(y) - y and y - down(y) stay below."""
        raise NotImplementedError


@dataclass(frozen=True)
class Weekday(DaySet):
    """Every Monday (0), ..., every Sunday (6)."""

    weekday: int

    def up(self, day: int) -> int:
        return day + (self.weekday - _weekday(day)) % 7

    def down(self, day: int) -> int:
        return day - (_weekday(day) - self.weekday) % 7

    def gap(self) -> int:
        return 7


@lru_cache(maxsize=1 << 16)
def _nearest_yearly(month: int, day: int, ordinal: int, forward: bool) -> int:
    """The nearest `month`-`day` (day 0: the month's last) on or after / on or before ordinal."""
    year = date.fromordinal(ordinal).year
    while True:
        length = _month_length(year, month)
        if day <= length:
            found = date(year, month, day or length).toordinal()
            if found >= ordinal if forward else found <= ordinal:
                return found
        year += 1 if forward else -1


class _Yearly(DaySet):
    """At most one day a year: `month` and `day_in_month()` (0 for the month's last day)."""

    month: int

    def day_in_month(self) -> int:
        raise NotImplementedError

    def up(self, day: int) -> int:
        return _nearest_yearly(self.month, self.day_in_month(), day, True)

    def down(self, day: int) -> int:
        return _nearest_yearly(self.month, self.day_in_month(), day, False)

    def gap(self) -> int:
        # February 29 skips the years 1900 and 2100 (2096-02-29 to 2104-02-29: 2921 days).
        return 8 * 365 + 1 if (self.month, self.day_in_month()) == (2, 29) else 366


@dataclass(frozen=True)
class YearlyDay(_Yearly):
    """One calendar day every year, such as October 24 (February 29: leap years only)."""

    month: int
    day: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.day <= _month_length(2000, self.month):
            raise ValueError(f"no such calendar day: month {self.month}, day {self.day}")

    def day_in_month(self) -> int:
        return self.day


@dataclass(frozen=True)
class MonthEnd(_Yearly):
    """The last day of one month every year (February 28 or 29)."""

    month: int

    def day_in_month(self) -> int:
        return 0


class DayFunction:
    """A monotone non-decreasing map from day to day, with its two generalised inverses.

    `spread()`: (low, high) with low <= f(y) - y <= high for every y, the weights of the cycle
    search's edges (a function without one gives none) and the range the default inverses search
    by bisection.
    """

    def __call__(self, day: int) -> int:
        raise NotImplementedError

    def spread(self) -> tuple[int, int]:
        raise NotImplementedError

    def least_at_least(self, value: int) -> int:
        """The least y with f(y) >= value."""
        low, high = self.spread()
        below, good = value - high - 1, value - low
        while good - below > 1:
            middle = (below + good) // 2
            if self(middle) >= value:
                good = middle
            else:
                below = middle
        return good

    def greatest_at_most(self, value: int) -> int:
        """The greatest y with f(y) <= value."""
        low, high = self.spread()
        good, above = value - high, value - low + 1
        while above - good > 1:
            middle = (good + above) // 2
            if self(middle) <= value:
                good = middle
            else:
                above = middle
        return good


@dataclass(frozen=True)
class Shift(DayFunction):
    """y + days."""

    days: int

    def __call__(self, day: int) -> int:
        return day + self.days

    def spread(self) -> tuple[int, int]:
        return self.days, self.days

    def least_at_least(self, value: int) -> int:
        return value - self.days

    def greatest_at_most(self, value: int) -> int:
        return value - self.days


@dataclass(frozen=True)
class Nearest(DayFunction):
    """The nearest allowed day on or before y (on or after it if `forward`), plus `days`."""

    allowed: DaySet
    forward: bool
    days: int = 0

    def __call__(self, day: int) -> int:
        nearest = self.allowed.up(day) if self.forward else self.allowed.down(day)
        return nearest + self.days

    def spread(self) -> tuple[int, int]:
        reach = self.allowed.gap() - 1
        return (self.days, self.days + reach) if self.forward else (self.days - reach, self.days)

    def least_at_least(self, value: int) -> int:
        # down(y) >= v iff a member lies in [v, y]; up(y) >= v iff none lies in [y, v - 1].
        target = value - self.days
        return self.allowed.down(target - 1) + 1 if self.forward else self.allowed.up(target)

    def greatest_at_most(self, value: int) -> int:
        target = value - self.days
        return self.allowed.down(target) if self.forward else self.allowed.up(target + 1) - 1


# The fewest and the most days in a run of 0 to 11 consecutive months (a leap February in the most).
_FEWEST_DAYS = tuple(min(sum((_LENGTHS * 2)[m : m + run]) for m in range(12)) for run in range(12))
_MOST_DAYS = tuple(
    max(sum(((31, 29, *_LENGTHS[2:]) * 2)[m : m + run]) for m in range(12)) for run in range(12)
)


def _add_months(day: int, months: int) -> int:
    start = date.fromordinal(day)
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    return date(year, month + 1, min(start.day, _month_length(year, month + 1))).toordinal()


@dataclass(frozen=True)
class AddMonths(DayFunction):
    """The same day `months` later (clamped to the month's length), plus `days`."""

    months: int
    days: int = 0

    def __call__(self, day: int) -> int:
        return _add_months(day, self.months) + self.days

    def spread(self) -> tuple[int, int]:
        # Whole years are 365 or 366 days, the rest the shortest or longest run of that many
        # months; clamping the day to a shorter month takes off at most 3 (31 to 28).
        years, months = divmod(self.months, 12)
        low = 365 * years + _FEWEST_DAYS[months] - 3
        return low + self.days, 366 * years + _MOST_DAYS[months] + self.days


@dataclass(frozen=True)
class MonthUpTo(DayFunction):
    """min(y, the last day of the last `month` that began on or before y)."""

    month: int
    starts: YearlyDay = field(init=False, repr=False, compare=False)
    ends: MonthEnd = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", YearlyDay(self.month, 1))
        object.__setattr__(self, "ends", MonthEnd(self.month))

    def __call__(self, day: int) -> int:
        return min(day, self.ends.up(self.starts.down(day)))

    def spread(self) -> tuple[int, int]:
        return -366, 0

    def least_at_least(self, value: int) -> int:
        # Inside such a month, value itself; after its end, not before the next month begins.
        return value if value <= self.ends.up(self.starts.down(value)) else self.starts.up(value)

    def greatest_at_most(self, value: int) -> int:
        # Before such a month's last day, value itself; from it on, up to the next month's eve.
        if value < self.ends.up(self.starts.down(value)):
            return value
        return self.starts.up(value + 1) - 1


@dataclass(frozen=True)
class MonthFrom(DayFunction):
    """max(y, the first day of the first `month` that ends on or after y)."""

    month: int
    starts: YearlyDay = field(init=False, repr=False, compare=False)
    ends: MonthEnd = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "starts", YearlyDay(self.month, 1))
        object.__setattr__(self, "ends", MonthEnd(self.month))

    def __call__(self, day: int) -> int:
        return max(day, self.starts.down(self.ends.up(day)))

    def spread(self) -> tuple[int, int]:
        return 0, 366

    def least_at_least(self, value: int) -> int:
        # After such a month's first day (and in it), value itself; else just after the last one.
        start = self.starts.down(value)
        return value if start < value <= self.ends.up(start) else self.ends.down(value - 1) + 1

    def greatest_at_most(self, value: int) -> int:
        # In such a month, value itself; between two, the end of the last one.
        return value if value <= self.ends.up(self.starts.down(value)) else self.ends.down(value)


@dataclass(frozen=True)
class Relation:
    """x lies in [lower(y), upper(y)] (None: no bound on that side), on a day in `days` if given.

    `text` describes x in English, "{}" standing for y.
    """

    lower: DayFunction | None
    upper: DayFunction | None
    days: DaySet | None = None
    text: str = "related to {}"

    def holds(self, x: int, y: int) -> bool:
        """Whether days x and y (ordinals) satisfy the relation."""
        return (
            (self.lower is None or x >= self.lower(y))
            and (self.upper is None or x <= self.upper(y))
            and (self.days is None or self.days.contains(x))
        )

    def interval(self, y: date) -> tuple[date | None, date | None]:
        """The first and last allowed x for this y (None where unbounded)."""
        day = y.toordinal()
        start = None if self.lower is None else self.lower(day)
        end = None if self.upper is None else self.upper(day)
        if self.days is not None:
            start = None if start is None else self.days.up(start)
            end = None if end is None else self.days.down(end)
        return (
            None if start is None else date.fromordinal(start),
            None if end is None else date.fromordinal(end),
        )


@lru_cache(maxsize=1024)
def implies(relation: Relation, other: Relation) -> bool:
    """True if x in relation(y) always puts x in other(y), judged by the functions' spreads
    (`other`'s bounds must be shifts): "on Tuesday" (the last Tuesday on or before y) implies
    "on or before y"."""
    for mine, theirs, side in (
        (relation.lower, other.lower, 0),
        (relation.upper, other.upper, 1),
    ):
        if theirs is None:
            continue
        if mine is None or not isinstance(theirs, Shift):
            return False
        try:
            low, high = mine.spread()
        except NotImplementedError:
            return False
        if (low < theirs.days) if side == 0 else (high > theirs.days):
            return False
    return other.days is None or other.days == relation.days


def _days(n: int) -> str:
    return f"{n} day" if abs(n) == 1 else f"{n} days"


@lru_cache(maxsize=1024)
def offset(first: int, last: int, text: str | None = None) -> Relation:
    """x in [y + first, y + last]; `text` replaces the generated description."""
    if first > last:
        raise ValueError(f"offset({first}, {last}): the first day is after the last")
    if text is None and first == last == 0:
        text = "the same day as {}"
    elif text is None and first == last:
        text = f"{_days(abs(first))} {'after' if first > 0 else 'before'} {{}}"
    text = text or f"{first:+d} to {last:+d} days from {{}}"
    return Relation(Shift(first), Shift(last), None, text)


@lru_cache(maxsize=1)
def same_day() -> Relation:
    return offset(0, 0)


@lru_cache(maxsize=1)
def on_or_before() -> Relation:
    return Relation(None, Shift(0), None, "on or before {}")


@lru_cache(maxsize=1)
def on_or_after() -> Relation:
    return Relation(Shift(0), None, None, "on or after {}")


def weekday_relation(weekday: int, future: bool, strict: bool) -> Relation:
    """The last such weekday on or before y (strictly before if `strict`), or the first after."""
    name = WEEKDAYS[weekday].capitalize()
    side = (
        ("after" if strict else "on or after")
        if future
        else ("before" if strict else "on or before")
    )
    first, last = (1, 7) if strict else (0, 6)
    bounds = (first, last) if future else (-last, -first)
    text = f"the {'first' if future else 'last'} {name} {side} {{}}"
    return Relation(Shift(bounds[0]), Shift(bounds[1]), Weekday(weekday), text)


def week_before() -> Relation:
    monday = Weekday(0)
    text = "the Monday-to-Sunday week before the week of {}"
    return Relation(Nearest(monday, False, -7), Nearest(monday, False, -1), None, text)


def week_of(future: bool) -> Relation:
    if future:
        return Relation(
            Shift(0), Nearest(Weekday(0), False, 6), None, "{}, up to that week's Sunday"
        )
    return Relation(Nearest(Weekday(0), False), Shift(0), None, "that week's Monday up to {}")


def month_relation(month: int, future: bool) -> Relation:
    """The last such month begun on or before y, to y; or the first ending on or after y, from y."""
    name = MONTHS[month - 1].capitalize()
    if future:
        text = f"the days of the first {name} that ends on or after {{}}, from it"
        return Relation(MonthFrom(month), Nearest(MonthEnd(month), True), None, text)
    text = f"the days of the last {name} that began on or before {{}}, up to it"
    return Relation(Nearest(YearlyDay(month, 1), False), MonthUpTo(month), None, text)


def calendar_day_relation(month: int, day: int, future: bool) -> Relation:
    """The last such calendar day on or before y, or the first on or after it."""
    anchor = Nearest(YearlyDay(month, day), future)
    which = "first" if future else "last"
    side = "after" if future else "before"
    text = f"the {which} {MONTHS[month - 1].capitalize()} {day} on or {side} {{}}"
    return Relation(anchor, anchor, None, text)


def months_after(months: int) -> Relation:
    """[y + months, y + months + 1 - 1 day]: "the war has been going on for 32 months"."""
    if not 0 <= months <= 12 * (HIGHEST.year - LOWEST.year + 1):
        raise ValueError(f"{months} months: outside 0 to the 1800-2100 window's length")
    span = f"{months} month{'' if months == 1 else 's'}"
    text = f"at least {span} and less than {months + 1} months after {{}}"
    return Relation(AddMonths(months), AddMonths(months + 1, -1), None, text)


@dataclass(frozen=True)
class Expression:
    """A parsed date expression: relative to the publication (event None) or to an event's date."""

    text: str
    event: str | None
    in_past: Relation
    in_future: Relation

    @property
    def relative_to(self) -> str:
        return "publication" if self.event is None else self.event

    def relation(self, future: bool) -> Relation:
        """The relation of the claim's date to the reference, for a past or a future claim."""
        return self.in_future if future else self.in_past


Forms = tuple[Relation, Relation]  # (past, future)
_N = r"(?P<n>\d{1,6})"
_EVENT = r"(?P<event>(?-i:[a-z0-9]+(?:-[a-z0-9]+)*))"
_WD = "(?P<weekday>" + "|".join(WEEKDAYS) + ")"
_MO = "(?P<month>" + "|".join(MONTHS) + ")"


def _n_days(match: re.Match[str], per: int = 1) -> int:
    days = int(match["n"]) * per
    if days > _HI - _LO:
        raise ValueError(f"'{match.string}': {days} days reach beyond the 1800-2100 window")
    return days


def _same(relation: Relation) -> Forms:
    return relation, relation


def _weekday_of(match: re.Match[str]) -> int:
    return WEEKDAYS.index(match["weekday"].lower())


def _month_of(match: re.Match[str]) -> int:
    return MONTHS.index(match["month"].lower()) + 1


def _calendar_day(match: re.Match[str]) -> Forms:
    month, day = _month_of(match), int(match["day"])
    if not 1 <= day <= _month_length(2000, month):
        raise ValueError(f"'{match.string}': {MONTHS[month - 1].capitalize()} has no day {day}")
    return calendar_day_relation(month, day, False), calendar_day_relation(month, day, True)


_FORMS: list[tuple[str, Callable[[re.Match[str]], Forms]]] = [
    ("today", lambda m: _same(offset(0, 0, "the day of {}"))),
    ("yesterday", lambda m: _same(offset(-1, -1, "the day before {}"))),
    ("tomorrow", lambda m: _same(offset(1, 1, "the day after {}"))),
    (
        "(?:on )?" + _WD,
        lambda m: (
            weekday_relation(_weekday_of(m), False, False),
            weekday_relation(_weekday_of(m), True, False),
        ),
    ),
    ("last " + _WD, lambda m: _same(weekday_relation(_weekday_of(m), False, True))),
    ("next " + _WD, lambda m: _same(weekday_relation(_weekday_of(m), True, True))),
    ("last week", lambda m: _same(week_before())),
    ("this week", lambda m: (week_of(False), week_of(True))),
    (
        "(?:in )?" + _MO,
        lambda m: (month_relation(_month_of(m), False), month_relation(_month_of(m), True)),
    ),
    (r"(?:on )?" + _MO + r" (?P<day>\d{1,2})", _calendar_day),
    (r"(?:on )?(?P<day>\d{1,2}) " + _MO, _calendar_day),
    (_N + " days? ago", lambda m: _same(offset(-_n_days(m), -_n_days(m)))),
    (_N + " weeks? ago", lambda m: _same(offset(-_n_days(m, 7), -_n_days(m, 7)))),
    (_N + " months? after " + _EVENT, lambda m: _same(months_after(int(m["n"])))),
    (_N + " days? after " + _EVENT, lambda m: _same(offset(_n_days(m), _n_days(m)))),
    (_N + " days? before " + _EVENT, lambda m: _same(offset(-_n_days(m), -_n_days(m)))),
    ("same day as " + _EVENT, lambda m: _same(same_day())),
]
_COMPILED = [(re.compile(pattern, re.IGNORECASE), build) for pattern, build in _FORMS]
_KEYWORDS = {"on", "in", "last", "next", "this", "week", "weeks", "day", "days", "month"}
_KEYWORDS |= {"months", "ago", "after", "before", "same", "as", "today", "yesterday", "tomorrow"}
_KEYWORDS |= set(WEEKDAYS) | set(MONTHS)
GRAMMAR = (
    "today, yesterday, tomorrow, [on|last|next] <weekday>, last week, this week, [in] <month>, "
    "[on] <month> <day>, [on] <day> <month>, N days ago, N weeks ago, N months after <event>, "
    "N days after <event>, N days before <event>, same day as <event>"
)


@lru_cache(maxsize=4096)
def parse_when(text: str) -> Expression:
    """Parse a date expression of the grammar in this module's docstring; ValueError otherwise.

    Memoised: the same text gives the same (frozen) Expression.
    """
    written = " ".join(text.split())
    for pattern, build in _COMPILED:
        if match := pattern.fullmatch(written):
            past, future = build(match)
            return Expression(written, match.groupdict().get("event"), past, future)
    raise ValueError(_not_understood(written))


def _not_understood(written: str) -> str:
    expected = f"expected one of: {GRAMMAR}"
    if not written:
        return f"an empty date expression ({expected})"
    words = written.split(" ")
    if words[-1].lower() in {"after", "before", "as"}:
        return f"'{written}': no event id after '{words[-1]}'"
    if len(words) > 1 and words[-2].lower() in {"after", "before", "as"}:
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", words[-1]):
            return f"'{written}': '{words[-1]}' is not an event id (lowercase words joined by -)"
        words = words[:-1]
    unknown = [word for word in words if word.lower() not in _KEYWORDS and not word.isdigit()]
    if unknown:
        return f"'{written}': '{unknown[0]}' is not understood ({expected})"
    return f"'{written}' is not one of the forms understood ({expected})"


def describe(item: Relation | Expression, future: bool = False, reference: str = "y") -> str:
    """One line of English: "'on Wednesday': the last Wednesday on or before the article's ..."."""
    if isinstance(item, Relation):
        return item.text.format(reference)
    subject = "the article's publication" if item.event is None else f"the date of '{item.event}'"
    return f"'{item.text}': {item.relation(future).text.format(subject)}"


def to_edtf(start: date | None, end: date | None) -> str:
    """The narrowest EDTF that states [start, end]: a day, a month, a year or an interval."""
    if start is None and end is None:
        raise ValueError("an interval open at both ends states no date")
    if start is None or end is None:
        return f"{start or '..'}/{end or '..'}"
    if start > end:
        raise ValueError(f"{start}/{end}: the interval ends before it starts")
    if start == end:
        return start.isoformat()
    last = calendar.monthrange(start.year, start.month)[1]
    if start.day == 1 and end == start.replace(day=last):
        return f"{start.year:04d}-{start.month:02d}"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start.year:04d}"
    return f"{start.isoformat()}/{end.isoformat()}"


@dataclass(frozen=True)
class Contradiction:
    """No date satisfies every constraint on `variable`; `reasons` are all the labels involved.

    `after_itself`: 0 where the bounds met; for a cycle of relations, the days (at least) by which
    they put the variable after itself, `reasons` being every relation on the cycle.
    """

    variable: str
    lower: date | None
    upper: date | None
    reasons: tuple[str, ...]
    after_itself: int = 0

    def __str__(self) -> str:
        because = ", ".join(self.reasons) or "no cited reason"
        if self.after_itself:
            days = _days(self.after_itself)
            return f"'{self.variable}' would have to be at least {days} after itself: {because}"
        bounds = [f"on or after {self.lower}"] if self.lower else []
        bounds += [f"on or before {self.upper}"] if self.upper else []
        return f"'{self.variable}' would have to be {' and '.join(bounds)}: {because}"


# After _PASSES passes of propagation (random networks of 200,000 variables took 27 to 46), a
# variable whose bounds move more than _LAPS times more is looked at for a cycle (none moved more
# than 12 times in all on those); _UNREACHED: below every day the cycle search can reach.
_PASSES = 64
_LAPS = 32
_UNREACHED = -(1 << 62)


def _shift(function: DayFunction | None) -> int | None:
    return function.days if isinstance(function, Shift) else None


def _edge_weights(relation: Relation) -> tuple[int | None, int | None]:
    """x in [g(y), h(y)] as edges of the cycle search: y -> x weighing min(g(d) - d) (x is at least
    that after y), x -> y weighing -max(h(d) - d); None for an open side or an unknown spread."""
    weights: list[int | None] = []
    for function, side in ((relation.lower, 0), (relation.upper, 1)):
        try:
            spread = None if function is None else function.spread()
        except NotImplementedError:
            spread = None
        weights.append(None if spread is None else (spread[0], -spread[1])[side])
    return weights[0], weights[1]


Kind = tuple[DayFunction | None, int | None, DayFunction | None, int | None]  # g, its shift, h, its


class Network:
    """Day variables, unary facts and binary relations; `solve()` gives the tightest intervals.

    A name used in `within` or `relate` is declared on the way; `declare` gives a variable's
    number, which `within_variable` and `relate_many` (many relations at once) take.
    Constraints are kept in flat lists of ints: adding one allocates no object the garbage
    collector would have to walk. Each variable's constraints (`adjacency`) are linked when a
    solve first needs them.
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._size = 0  # variables declared
        self._facts: list[tuple[int, int | None, int | None, str | None]] = []
        self._x: list[int] = []
        self._y: list[int] = []
        self._reason: list[str | None] = []
        self._kind: list[int] = []  # an index into _kinds
        self._kinds: list[Kind] = []
        self._kind_of: dict[int, tuple[int, Relation]] = {}  # by id(relation)
        self._weights: list[tuple[int | None, int | None]] = []  # by kind: _edge_weights
        # each variable's allowed days: the first reason for each set (the same set again
        # changes nothing, so it is kept once)
        self._allowed: dict[int, dict[DaySet, str | None]] = {}
        self._aliases: dict[str, str | None] = {}  # a name declared by `same`: its reason
        self._linked: tuple[int, int, list[int], list[int]] | None = None  # see `adjacency`

    def variable(self, name: str, start: date | None = None, end: date | None = None) -> None:
        """Declare a variable, optionally narrowed to [start, end] (with no reason to cite)."""
        self.declare(name)
        if start is not None or end is not None:
            self.within(name, start, end, None)

    def same(self, name: str, other: str, reason: str | None) -> bool:
        """Declare `name` as another name of `other`'s day (x the same day as y, where x has no
        constraint yet): one variable instead of two and a relation. A proof of `name` ends with
        `reason`. False (nothing done) if `name` is already declared."""
        if name in self._index:
            return False
        self._index[name] = self.declare(other)
        self._aliases[name] = reason
        return True

    def declare(self, name: str) -> int:
        """The variable's number, declared now if new."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = self._size
            self._size += 1
        return index

    def within(self, name: str, start: date | None, end: date | None, reason: str | None) -> None:
        """Evidence: the variable lies in [start, end] (None: that side open)."""
        self.within_variable(self.declare(name), start, end, reason)

    def within_variable(
        self, variable: int, start: date | None, end: date | None, reason: str | None
    ) -> None:
        """`within`, for a variable by number."""
        first = None if start is None else start.toordinal()
        last = None if end is None else end.toordinal()
        self._facts.append((variable, first, last, reason))

    def relate(self, x: str, relation: Relation, y: str, reason: str | None) -> None:
        """x lies in relation(y)."""
        self.relate_many([self.declare(x)], relation, [self.declare(y)], [reason])

    def relate_many(
        self,
        xs: Sequence[int],
        relation: Relation,
        ys: Sequence[int],
        reasons: Sequence[str | None],
    ) -> None:
        """xs[i] lies in relation(ys[i]), because of reasons[i], for every i (by number)."""
        kind = self._kind_of.get(id(relation))
        if kind is None or kind[1] is not relation:
            lower, upper = relation.lower, relation.upper
            kind = len(self._kinds), relation
            self._kinds.append((lower, _shift(lower), upper, _shift(upper)))
            self._weights.append(_edge_weights(relation))
            self._kind_of[id(relation)] = kind
        if not len(xs) == len(ys) == len(reasons):
            raise ValueError("relate_many: xs, ys and reasons differ in length")
        self._x += xs
        self._y += ys
        self._reason += reasons
        self._kind += [kind[0]] * len(xs)
        if relation.days is not None:
            allowed, days = self._allowed, relation.days
            firsts = dict(zip(reversed(xs), reversed(reasons), strict=True))  # x: first reason
            for x, reason in firsts.items():
                sets = allowed.get(x)
                if sets is None:
                    allowed[x] = {days: reason}
                elif days not in sets:
                    sets[days] = reason

    def adjacency(self) -> tuple[list[int], list[int]]:
        """Each variable's constraints in the order added, as linked lists of slots (2 * the
        constraint's number, + 1 on y's side, x's only where y is x): the first slot of each
        variable (-1: none) and the next slot of each (-1: the last)."""
        linked = self._linked
        if linked is None or linked[:2] != (len(self._x), self._size):
            first, following = _link(self._x, self._y, self._size)
            linked = self._linked = (len(self._x), self._size, first, following)
        return linked[2], linked[3]

    def solve(self, arrays: bool | None = None) -> Solution:
        """Propagate to the fixed point, or stop at the first variable left with no day; then
        look for a cycle of relations that puts a day after itself. `arrays`: narrow first over
        arrays (`factdb.sweeping`); None: where there are at least SWEEP_FROM relations."""
        if arrays is None:
            arrays = len(self._x) >= SWEEP_FROM
        return _Propagation(self).run(arrays)


def only_shifts(kind: Kind) -> bool:
    """True if each bound of a kind of relation is a shift or open: what a sweep applies."""
    lower, lower_shift, upper, upper_shift = kind
    return (lower is None or lower_shift is not None) and (upper is None or upper_shift is not None)


def sweep_left(network: Network) -> list[int]:
    """The relations a sweep leaves to the worklist: those with a bound that is not a shift."""
    general = {number for number, kind in enumerate(network._kinds) if not only_shifts(kind)}
    if not general:
        return []
    return [number for number, kind in enumerate(network._kind) if kind in general]


SWEEP_FROM = 20_000  # relations: below, importing numpy costs more than sweeping saves


def _link(xs: list[int], ys: list[int], size: int) -> tuple[list[int], list[int]]:
    """`Network.adjacency` worked out: (first slot per variable, next slot per slot)."""
    if len(xs) >= SWEEP_FROM:
        from factdb.sweeping import link

        return link(xs, ys, size)
    first, last, following = [-1] * size, [-1] * size, [-1] * (2 * len(xs))
    for number, (x, y) in enumerate(zip(xs, ys, strict=True)):
        for variable, slot in ((x, 2 * number), (y, 2 * number + 1)):
            if slot & 1 and y == x:
                continue
            if last[variable] < 0:
                first[variable] = slot
            else:
                following[last[variable]] = slot
            last[variable] = slot
    return first, following


class _Propagation:
    """One run of the worklist: bounds only tighten; each keeps the record that set it.

    A record is (reason, the record of the bound it was computed from, or -1 for evidence).
    """

    def __init__(self, network: Network) -> None:
        count = network._size
        self.network, self.index, self.allowed = network, network._index, network._allowed
        self.lo, self.hi = [_LO] * count, [_HI] * count
        self.lo_rec, self.hi_rec = [-1] * count, [-1] * count
        self.reasons: list[str | None] = []
        self.deps: list[int] = []
        self.queue: deque[int] = deque()
        self.queued = bytearray(len(network._x))
        self.current = -1  # the constraint being run: it reruns itself, unqueued
        self.conflict = -1
        self.cycle: tuple[list[int], list[int], int] | None = None  # see _CycleSearch.find
        self.moves: list[int] = []  # how many times each variable's bounds moved: see `watch`
        self.laps = _LAPS  # more moves of one variable than this: look for a cycle through it
        self.deferred: list[int] | None = None  # see `run`: the variables changed meanwhile

    @cached_property
    def links(self) -> tuple[list[int], list[int]]:
        """The network's `adjacency`, linked when first needed (a sweep may not need it)."""
        return self.network.adjacency()

    def raise_lo(self, v: int, value: int, reason: str | None, dep: int) -> bool:
        """Set v's lower bound (snapped up to v's allowed days); False on a contradiction."""
        self.reasons.append(reason)
        self.deps.append(dep)
        self.lo[v] = value if value <= _HI else _HI + 1
        self.lo_rec[v] = len(self.deps) - 1
        if v in self.allowed:
            self.snap(v, self.lo, self.lo_rec, True)
        return self.changed(v)

    def lower_hi(self, v: int, value: int, reason: str | None, dep: int) -> bool:
        """Set v's upper bound (snapped down to v's allowed days); False on a contradiction."""
        self.reasons.append(reason)
        self.deps.append(dep)
        self.hi[v] = value if value >= _LO else _LO - 1
        self.hi_rec[v] = len(self.deps) - 1
        if v in self.allowed:
            self.snap(v, self.hi, self.hi_rec, False)
        return self.changed(v)

    def snap(self, v: int, bounds: list[int], records: list[int], up: bool) -> None:
        """Move a bound to a day every restriction on v allows (or out of the window)."""
        moved = True
        while moved and self.lo[v] <= self.hi[v]:
            moved = False
            for days, why in self.allowed[v].items():
                snapped = days.up(bounds[v]) if up else days.down(bounds[v])
                snapped = min(max(snapped, _LO - 1), _HI + 1)
                if snapped != bounds[v]:
                    self.reasons.append(why)
                    self.deps.append(records[v])
                    bounds[v], records[v] = snapped, len(self.deps) - 1
                    moved = True

    def watching(self) -> tuple[Callable[..., bool], Callable[..., bool]]:
        """`raise_lo` and `lower_hi` that count each variable's moves from now on (`watch`)."""
        self.moves = [0] * len(self.lo)

        def raise_lo(v: int, value: int, reason: str | None, dep: int) -> bool:
            return self.watch(v, True) and self.raise_lo(v, value, reason, dep)

        def lower_hi(v: int, value: int, reason: str | None, dep: int) -> bool:
            return self.watch(v, False) and self.lower_hi(v, value, reason, dep)

        return raise_lo, lower_hi

    def watch(self, v: int, lower: bool) -> bool:
        """Count a move of v's lower or upper bound; False where that finds a cycle (`lapping`)."""
        moves = self.moves
        moves[v] = count = moves[v] + 1
        return count <= self.laps or not self.lapping(v, lower)

    def lapping(self, v: int, lower: bool) -> bool:
        """v's bounds have moved more than `laps` times: look for a cycle weighing more than 0
        through v, among the variables that have moved a quarter as often (a cycle that moves a
        bound moves every bound on it once a lap). A lower bound comes along the cycle search's
        edges, an upper one against them: from v, the search follows them back or forth to reach
        the cycle. True (`cycle` set) if one is found; else v and the rest may move twice as often
        before the next look, so that looks cost little beside the propagation."""
        longest = [_UNREACHED] * len(self.lo)
        longest[v] = 0
        moved = self.moves, self.laps // 4
        self.cycle = _CycleSearch(self.network, longest, [v], lower, moved).find()
        self.laps *= 2
        return self.cycle is not None

    def changed(self, v: int) -> bool:
        """Queue the constraints on v (but the one running), or note that v has no day left."""
        if self.lo[v] > self.hi[v]:
            self.conflict = v
            return False
        if self.deferred is not None:
            self.deferred.append(v)
            return True
        queued, queue, current = self.queued, self.queue, self.current
        first, following = self.links
        slot = first[v]
        while slot >= 0:
            number = slot >> 1
            if not queued[number] and number != current:
                queued[number] = 1
                queue.append(number)
            slot = following[slot]
        return True

    def apply_facts(self) -> bool:
        for v, first, last, reason in self.network._facts:
            if first is not None and (self.lo_rec[v] < 0 or first > self.lo[v]):
                if not self.raise_lo(v, max(first, _LO), reason, -1):
                    return False
            if last is not None and (self.hi_rec[v] < 0 or last < self.hi[v]):
                if not self.lower_hi(v, min(last, _HI), reason, -1):
                    return False
        return True

    def run(self, arrays: bool = False) -> Solution:
        """Apply the facts and propagate. With `arrays`, the facts queue nothing at first: a
        sweep narrows by the shifts, and only the other relations are queued; if the sweep
        gives up, the relations on the variables the facts changed are queued as they would
        have been."""
        self.deferred = [] if arrays else None
        if self.apply_facts():
            if arrays:
                changed, self.deferred = self.deferred or [], None
                if self.sweep():  # the shifts are at their fixed point: the rest is left
                    for number in sweep_left(self.network):
                        self.queued[number] = 1
                        self.queue.append(number)
                else:
                    for v in changed:
                        self.changed(v)
            self.propagate()
        if self.conflict < 0 and self.cycle is None:
            self.cycle = _CycleSearch.at_fixed_point(self).find()
        return Solution(self)

    def sweep(self) -> bool:
        """Narrow by the relations that are shifts, over arrays (`factdb.sweeping`): True if
        they reached their fixed point (the run then holds the swept bounds and records); False
        if the sweep gave up, or cannot run (a variable with other allowed days than one
        weekday), and the run is as it was."""
        import factdb.sweeping as sweeping

        weekdays = self.weekdays()
        if weekdays is None:
            return False
        network = self.network
        shifts = [
            (None if g is None else g_shift, None if h is None else h_shift)
            for g, g_shift, h, h_shift in network._kinds
        ]
        swept = [only_shifts(kind) for kind in network._kinds]
        relations = sweeping.Network(
            network._x, network._y, network._kind, network._reason, shifts, swept, *weekdays
        )
        bounds = sweeping.Bounds(
            self.lo, self.hi, self.lo_rec, self.hi_rec, (_LO, _HI), len(self.deps), [], []
        )
        found = sweeping.sweep(relations, bounds)
        if found is None:
            return False
        self.lo, self.hi, self.lo_rec, self.hi_rec = found.lo, found.hi, found.lo_rec, found.hi_rec
        self.reasons += found.reasons
        self.deps += found.deps
        return True

    def weekdays(self) -> tuple[list[int], list[str | None]] | None:
        """Each variable's weekday (-1: any day) and the reason it has it; None where a variable
        has other allowed days (two weekdays, or a set that is not a weekday)."""
        weekdays = [-1] * len(self.lo)
        why: list[str | None] = [None] * len(self.lo)
        for variable, sets in self.allowed.items():
            if len(sets) != 1:
                return None
            ((days, reason),) = sets.items()
            if not isinstance(days, Weekday):
                return None
            weekdays[variable], why[variable] = days.weekday, reason
        return weekdays, why

    def propagate(self) -> None:
        """Run queued constraints x in [g(y), h(y)] until none changes anything or one empties.

        Each runs until it changes nothing: x.lo >= g(y.lo), x.hi <= h(y.hi), then back to y:
        y.hi <= max{y: g(y) <= x.hi}, y.lo >= min{y: h(y) >= x.lo}; a change to y (or to x, if
        x is y) runs it again. Open bounds are not propagated; shifts are inlined. In passes (the
        constraints queued at the start of one): after _PASSES, each variable's moves are counted.
        """
        lo, hi, lo_rec, hi_rec = self.lo, self.hi, self.lo_rec, self.hi_rec
        queue, queued, raise_lo, lower_hi = self.queue, self.queued, self.raise_lo, self.lower_hi
        network, popleft, passes = self.network, self.queue.popleft, 0
        xs, ys, reasons = network._x, network._y, network._reason
        kind, kinds = network._kind, network._kinds
        while queue:
            if passes == _PASSES:  # long for a network without a cycle: count moves from now on
                raise_lo, lower_hi = self.watching()
            passes += 1
            for _ in repeat(None, len(queue)):
                number = popleft()
                queued[number], self.current = 0, number
                x, y, reason = xs[number], ys[number], reasons[number]
                g, g_shift, h, h_shift = kinds[kind[number]]
                again = True
                while again:
                    again = False
                    if g is not None and (dep := lo_rec[y]) >= 0:
                        value = lo[y] + g_shift if g_shift is not None else g(lo[y])
                        if value > lo[x]:
                            if not raise_lo(x, value, reason, dep):
                                return
                            again = x == y
                    if h is not None and (dep := hi_rec[y]) >= 0:
                        value = hi[y] + h_shift if h_shift is not None else h(hi[y])
                        if value < hi[x]:
                            if not lower_hi(x, value, reason, dep):
                                return
                            again = again or x == y
                    if g is not None and (dep := hi_rec[x]) >= 0:
                        value = (
                            hi[x] - g_shift if g_shift is not None else g.greatest_at_most(hi[x])
                        )
                        if value < hi[y]:
                            if not lower_hi(y, value, reason, dep):
                                return
                            again = True
                    if h is not None and (dep := lo_rec[x]) >= 0:
                        value = lo[x] - h_shift if h_shift is not None else h.least_at_least(lo[x])
                        if value > lo[y]:
                            if not raise_lo(y, value, reason, dep):
                                return
                            again = True


class _CycleSearch:
    """Longest paths over the relations' edges (`_edge_weights`), looking for a cycle weighing > 0.

    After propagation (`at_fixed_point`), each variable starts at the fixed point's lower bound
    (the window's first day where open). Every edge out of a variable with a lower bound holds
    there already (propagation saw to it), so only the variables without one start, and a path
    goes on only while it raises a day: where facts date most variables, little is searched.
    During propagation (`_Propagation.lapping`), one variable starts, the others unreached, among
    the variables that moved often. Goldberg-Radzik passes: what edges that would
    raise a day reach from the variables raised in the last pass, in topological order (depth
    first), each then raising the days after it. A cycle of such edges weighs more than 0, and so
    does a cycle of the edges that last raised each day, looked for whenever there have been as
    many raises as there are such edges: while a cycle weighing more than 0 exists, days rise for
    ever and those edges among the rising days come to form one. Without one, the passes end.
    """

    def __init__(
        self,
        network: Network,
        longest: list[int],
        starts: list[int],
        backwards: bool = False,
        moved: tuple[list[int], int] | None = None,
    ) -> None:
        """`longest`: each variable's day to start from; `starts`: the variables whose edges
        out may raise a day; `backwards`: along every edge the other way (a cycle weighs as
        much either way); `moved`: (moves, fewest): only among the variables that moved as often
        (`_Propagation.lapping`)."""
        self.network, self.longest, self.raised = network, longest, starts
        self.weights = [(upper, lower) for lower, upper in network._weights] if backwards else None
        self.moved = moved
        self.parent: dict[int, tuple[int, int, int]] = {}  # v: (u, constraint, weight of u -> v)
        self.arcs: dict[int, list[tuple[int, int, int]]] = {}  # u: [(v, weight, constraint)]

    @classmethod
    def at_fixed_point(cls, run: _Propagation) -> _CycleSearch:
        """The search after propagation: from the fixed point's lower bounds, starting where there
        is none (`undated`)."""
        longest = run.lo[:]
        return cls(run.network, longest, cls.undated(run.network, longest, run.lo_rec))

    @staticmethod
    def undated(network: Network, longest: list[int], records: list[int]) -> list[int]:
        """The variables without a lower bound with an edge out that would raise a day: one that
        weighs more than 0 (to a variable without a lower bound, or with one close enough)."""
        found: list[int] = []
        open_below = [u for u, record in enumerate(records) if record < 0]
        if not open_below:
            return found
        xs, ys, kind, weights = network._x, network._y, network._kind, network._weights
        rising = [max(0, lower or 0, upper or 0) for lower, upper in weights]
        first, following = network.adjacency()
        for u in open_below:
            slot = first[u]
            while slot >= 0:
                number = slot >> 1
                most = rising[kind[number]]
                if most and _LO + most > longest[xs[number] if slot & 1 else ys[number]]:
                    found.append(u)
                    break
                slot = following[slot]
        return found

    def find(self) -> tuple[list[int], list[int], int] | None:
        """The variables and constraints on a cycle weighing more than 0, and its weight."""
        longest, parent, arcs_of = self.longest, self.parent, self.arcs_of
        raises, look_at = 0, 1
        while self.raised:
            order = self.order(self.raised)
            if not isinstance(order, list):
                return order
            raised: dict[int, None] = {}
            for u in order:
                for v, weight, number in arcs_of(u):
                    if longest[u] + weight > longest[v]:
                        longest[v] = longest[u] + weight
                        parent[v] = (u, number, weight)
                        raised[v] = None
                        raises += 1
            self.raised = list(raised)
            if raises >= look_at:
                cycle = self.parent_cycle()
                if cycle is not None:
                    return cycle
                look_at = raises + len(parent)
        return None

    def arcs_of(self, u: int) -> list[tuple[int, int, int]]:
        """The edges out of u: (v, weight, constraint); backwards, the edges into u turned."""
        arcs = self.arcs.get(u)
        if arcs is None:
            network, arcs = self.network, []
            weights = network._weights if self.weights is None else self.weights
            first, following = network.adjacency()
            slot = first[u]
            while slot >= 0:
                number = slot >> 1
                lower, upper = weights[network._kind[number]]
                if slot & 1 and lower is not None:  # u is y: x >= y + lower
                    arcs.append((network._x[number], lower, number))
                elif not slot & 1:  # u is x: y >= x + upper (x to itself: x >= x + lower too)
                    if upper is not None:
                        arcs.append((network._y[number], upper, number))
                    if network._y[number] == u and lower is not None:
                        arcs.append((u, lower, number))
                slot = following[slot]
            if self.moved is not None:
                moves, fewest = self.moved
                arcs = [arc for arc in arcs if moves[arc[0]] >= fewest]
            self.arcs[u] = arcs
        return arcs

    def order(self, starts: list[int]) -> list[int] | tuple[list[int], list[int], int]:
        """What edges that would raise a day reach from `starts`, in topological order; or a
        cycle of them (variables, constraints, weight)."""
        longest, arcs_of = self.longest, self.arcs_of
        state: dict[int, tuple[int, int, int] | None] = {}  # on the path: the edge in; done: None
        finished: list[int] = []
        for start in starts:
            if start in state:
                continue
            state[start], stack = (-1, -1, 0), [(start, 0)]
            while stack:
                u, i = stack.pop()
                arcs = arcs_of(u)
                while i < len(arcs):
                    v, weight, number = arcs[i]
                    i += 1
                    if longest[u] + weight > longest[v]:
                        if v not in state:
                            state[v] = (u, number, weight)
                            stack += [(u, i), (v, 0)]
                            break
                        if state[v] is not None:  # on the path: a cycle back to v
                            return self.path_cycle(state, u, v, number, weight)
                else:
                    state[u] = None
                    finished.append(u)
        return finished[::-1]

    @staticmethod
    def path_cycle(
        state: Mapping[int, tuple[int, int, int] | None], u: int, v: int, number: int, weight: int
    ) -> tuple[list[int], list[int], int]:
        """The cycle that the edge u -> v closes, `state` giving the edge into each variable on
        the path from v to u."""
        variables, numbers, total = [u], [number], weight
        while u != v:
            edge = state[u]
            assert edge is not None
            u, number, weight = edge
            variables.append(u)
            numbers.append(number)
            total += weight
        return variables, numbers, total

    def parent_cycle(self) -> tuple[list[int], list[int], int] | None:
        """A cycle of the edges that last raised each day: its variables, constraints, weight."""
        parent, walked = self.parent, {}
        for start in parent:
            v = start
            while v in parent and v not in walked:
                walked[v] = start
                v = parent[v][0]
            if walked.get(v) == start:  # this walk came back to v
                u, number, weight = parent[v]  # the edge into v closes it
                return self.path_cycle(parent, u, v, number, weight)
        return None


def _date(day: int, record: int) -> date | None:
    return None if record < 0 else date.fromordinal(day)


class Solution:
    """The intervals `solve()` reached, their proofs, and the contradiction found if any.

    After a contradiction the other intervals are those of that moment: sound, not tightest (after
    a cycle, the fixed point's).
    """

    def __init__(self, run: _Propagation) -> None:
        self._index, self._reasons, self._deps = run.index, run.reasons, run.deps
        self._aliases = run.network._aliases
        self._lo, self._hi, self._lo_rec, self._hi_rec = run.lo, run.hi, run.lo_rec, run.hi_rec
        self.contradiction: Contradiction | None = None
        self._every: list[tuple[int | None, int | None]] | None = None
        self._proofs: dict[int, tuple[str, ...]] = {}  # by variable: see `proof`
        if run.conflict >= 0:
            name = self._name(run.conflict)
            start, end = self.interval(name)
            self.contradiction = Contradiction(name, start, end, tuple(self.proof(name)))
        elif run.cycle is not None:
            variables, numbers, days = run.cycle
            name = self._name(min(variables))  # the first declared
            labels = (run.network._reason[number] for number in sorted(numbers))
            reasons = tuple(dict.fromkeys(label for label in labels if label is not None))
            self.contradiction = Contradiction(name, *self.interval(name), reasons, days)

    def _name(self, v: int) -> str:
        return next(name for name, index in self._index.items() if index == v)

    def _variable(self, name: str) -> int:
        v = self._index[name]
        if v >= len(self._lo):  # declared after this solution was computed
            raise KeyError(name)
        return v

    def interval(self, name: str) -> tuple[date | None, date | None]:
        """The first and last possible day; None on a side nothing bounds."""
        v = self._variable(name)
        return _date(self._lo[v], self._lo_rec[v]), _date(self._hi[v], self._hi_rec[v])

    def days(self, name: str) -> tuple[int | None, int | None]:
        """`interval` as ordinals (`date.toordinal()`), for comparing many at little cost."""
        v = self._variable(name)
        lo, hi = self._lo[v] if self._lo_rec[v] >= 0 else None, self._hi[v]
        return lo, hi if self._hi_rec[v] >= 0 else None

    def every_day(self) -> list[tuple[int | None, int | None]]:
        """`days` of every variable, by number (worked out once)."""
        if self._every is None:
            self._every = [
                (lo if lo_rec >= 0 else None, hi if hi_rec >= 0 else None)
                for lo, hi, lo_rec, hi_rec in zip(
                    self._lo, self._hi, self._lo_rec, self._hi_rec, strict=True
                )
            ]
        return self._every

    def edtf(self, name: str) -> str | None:
        """The interval as the narrowest EDTF (see `to_edtf`); None if open at both ends."""
        start, end = self.interval(name)
        return None if start is None and end is None else to_edtf(start, end)

    def proof_lower(self, name: str) -> list[str]:
        """The reasons that established the lower bound, oldest first."""
        return self._cite(self._chain(self._lo_rec[self._variable(name)]), name)

    def proof_upper(self, name: str) -> list[str]:
        """The reasons that established the upper bound, oldest first."""
        return self._cite(self._chain(self._hi_rec[self._variable(name)]), name)

    def proof(self, name: str) -> list[str]:
        """The reasons behind both bounds, deduplicated, in the order they were established."""
        v = self._variable(name)
        found = self.variable_proof(v)
        own = self._aliases.get(name)
        if own is None or own in found or (self._lo_rec[v] < 0 and self._hi_rec[v] < 0):
            return list(found)
        return [*found, own]

    def variable_proof(self, v: int) -> tuple[str, ...]:
        """`proof` of a variable by number, without the reason a name `same` gave adds."""
        found = self._proofs.get(v)
        if found is None:  # the same for every name of the variable but for its own reason
            chains = sorted(self._chain(self._lo_rec[v]) + self._chain(self._hi_rec[v]))
            found = self._proofs[v] = tuple(self._cite(chains, ""))
        return found

    def variable(self, name: str) -> int:
        """The number of the variable a name names (one for every name `same` gave it)."""
        return self._variable(name)

    def _chain(self, record: int) -> list[int]:
        chain = []
        while record >= 0:
            chain.append(record)
            record = self._deps[record]
        return chain[::-1]

    def _cite(self, records: list[int], name: str) -> list[str]:
        """The records' reasons, once each; for a name declared by `same`, its own reason last
        (where anything bounds it): the day came to it through that sameness."""
        reasons = [self._reasons[record] for record in records]
        if records and self._aliases.get(name) is not None:
            reasons.append(self._aliases[name])
        return list(dict.fromkeys(reason for reason in reasons if reason is not None))
