"""The subset of EDTF that fact files may use, and the bounds SQL sorts and filters by.

The subset is fixed by the regular expressions below; within it, a date's bounds are plain ISO
days, months and years, so they come from the standard library. The `edtf` package, the
reference for the format, is the oracle in the tests (tests/test_dates.py checks the bounds
against it on generated dates): its parser costs about 3.4 ms a date here, which at 100,000
claims would be minutes.

Accepted: a day (2024-10-24), a month (2024-10) or a year (2024), each optionally qualified
with ``?`` (uncertain), ``~`` (approximate) or ``%`` (both), and a closed interval of two of
those (2024-10-01/2024-10-24), where one end may be open (``../2024-10-24``: "on or before",
the honest date of an undated statement in an article of that day). Refused although the
``edtf`` package parses them: seasons (2024-21 would silently be spring), unspecified digits
(202X), intervals open at both ends, and years outside 1800-2100, which here can only be typos.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from pydantic_core import PydanticCustomError

_SINGLE = r"(?P<{n}y>\d{{4}})(?:-(?P<{n}m>0[1-9]|1[0-2])(?:-(?P<{n}d>\d{{2}}))?)?(?P<{n}q>[?~%])?"
_DATE = re.compile("^" + _SINGLE.format(n="a") + "$")
_INTERVAL = re.compile("^" + _SINGLE.format(n="a") + "/" + _SINGLE.format(n="b") + "$")
_OPEN_START = re.compile(r"^\.\./" + _SINGLE.format(n="b") + "$")
_OPEN_END = re.compile("^" + _SINGLE.format(n="a") + r"/\.\.$")
YEAR_RANGE = (1800, 2100)


@dataclass(frozen=True)
class DateRange:
    """Bounds and precision of an EDTF date, as stored in the database."""

    start: date | None  # None: open start ("../2024-10-24")
    end: date | None  # None: open end ("2024-10-24/..")
    precision: str  # day, month, year or interval
    qualifier: str | None  # uncertain, approximate, uncertain-approximate or None


_QUALIFIERS = {"?": "uncertain", "~": "approximate", "%": "uncertain-approximate"}


def _invalid(value: str, why: str) -> PydanticCustomError:
    return PydanticCustomError(
        "date-invalid",
        "'{value}' is not an accepted EDTF date: {why}",
        {"value": value, "why": why},
    )


@lru_cache(maxsize=65536)
def parse_edtf(value: str) -> DateRange:
    """Parse an accepted EDTF date into its bounds; raise a 'date-invalid' error otherwise."""
    match = (
        _DATE.match(value)
        or _INTERVAL.match(value)
        or _OPEN_START.match(value)
        or _OPEN_END.match(value)
    )
    if match is None:
        raise _invalid(value, "use YYYY, YYYY-MM or YYYY-MM-DD, optionally with ? ~ %, or A/B")
    groups = match.groupdict()
    for key in ("ay", "by"):
        year = groups.get(key)
        if year is not None and not YEAR_RANGE[0] <= int(year) <= YEAR_RANGE[1]:
            raise _invalid(value, f"year {year} is outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]}")
    start_date = _bound(value, value.split("/")[0], lower=True)
    end_date = _bound(value, value.split("/")[-1], lower=False)
    if start_date and end_date and start_date > end_date:
        raise _invalid(value, "the interval ends before it starts")
    if "/" in value:
        precision = "interval"
    elif groups["ad"]:
        precision = "day"
    elif groups["am"]:
        precision = "month"
    else:
        precision = "year"
    qualifiers = {q for k in ("aq", "bq") if (q := groups.get(k)) is not None}
    qualifier = _QUALIFIERS[sorted(qualifiers)[0]] if qualifiers else None
    return DateRange(start_date, end_date, precision, qualifier)


@lru_cache(maxsize=65536)
def _bound(value: str, part: str, lower: bool) -> date | None:
    """The first or last day that one end of a date stands for; None for an open end."""
    if part == "..":
        return None
    digits = part.rstrip("?~%")
    year, _, rest = digits.partition("-")
    month, _, day = rest.partition("-")
    try:
        if day:
            return date.fromisoformat(digits)
        if month:
            last = calendar.monthrange(int(year), int(month))[1]
            return date(int(year), int(month), 1 if lower else last)
        return date(int(year), 1, 1) if lower else date(int(year), 12, 31)
    except ValueError:
        raise _invalid(value, "no such day in the calendar") from None
