from datetime import date

import pytest
from pydantic_core import PydanticCustomError

from factdb.schema.dates import parse_edtf


@pytest.mark.parametrize(
    "value, start, end, precision, qualifier",
    [
        ("2024-10-24", date(2024, 10, 24), date(2024, 10, 24), "day", None),
        ("2024-10", date(2024, 10, 1), date(2024, 10, 31), "month", None),
        ("2024", date(2024, 1, 1), date(2024, 12, 31), "year", None),
        ("2024-10-01/2024-11-05", date(2024, 10, 1), date(2024, 11, 5), "interval", None),
        ("2024-11-06?", date(2024, 11, 6), date(2024, 11, 6), "day", "uncertain"),
        ("2024-10~", date(2024, 10, 1), date(2024, 10, 31), "month", "approximate"),
        ("../2024-10-24", None, date(2024, 10, 24), "interval", None),
        ("2024-10/..", date(2024, 10, 1), None, "interval", None),
    ],
)
def test_accepted_dates_and_their_bounds(value, start, end, precision, qualifier):
    parsed = parse_edtf(value)
    assert (parsed.start, parsed.end, parsed.precision, parsed.qualifier) == (
        start,
        end,
        precision,
        qualifier,
    )


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2024-21", "use YYYY"),  # an EDTF season: a typo for a month here
        ("2024-02-30", "no such day"),
        ("2024-10-24/2024-10-01", "ends before it starts"),
        ("../..", "use YYYY"),
        ("1700-01-01", "outside 1800-2100"),
        ("202X", "use YYYY"),
        ("24 October 2024", "use YYYY"),
    ],
)
def test_refused_dates(value, reason):
    with pytest.raises(PydanticCustomError) as error:
        parse_edtf(value)
    assert error.value.type == "date-invalid"
    assert reason in str(error.value)


# The edtf package is the reference: our bounds must equal its bounds on every accepted date.
import edtf  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_days = st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31))


@st.composite
def _single(draw) -> str:
    day = draw(_days)
    form = draw(st.sampled_from(["day", "month", "year"]))
    text = {"day": day.isoformat(), "month": day.isoformat()[:7], "year": str(day.year)}[form]
    return text + draw(st.sampled_from(["", "?", "~", "%"]))


@st.composite
def _accepted(draw) -> str:
    kind = draw(st.sampled_from(["single", "interval", "open-start", "open-end"]))
    if kind == "single":
        return draw(_single())
    if kind == "open-start":
        return "../" + draw(_single())
    if kind == "open-end":
        return draw(_single()) + "/.."
    a, b = sorted([draw(_single()), draw(_single())], key=lambda t: t.rstrip("?~%"))
    return f"{a}/{b}"


def _edtf_bound(part: str, lower: bool):
    if part == "..":
        return None
    parsed = edtf.parse_edtf(part)
    return date(*(parsed.lower_strict() if lower else parsed.upper_strict())[:3])


@settings(max_examples=150, deadline=None)
@given(_accepted())
def test_bounds_agree_with_the_edtf_package(value):
    try:
        ours = parse_edtf(value)
    except PydanticCustomError:  # an interval that ends before it starts, e.g. 2024-10/2024-09-30
        first, last = (
            _edtf_bound(value.split("/")[0], True),
            _edtf_bound(value.split("/")[-1], False),
        )
        assert first and last and first > last
        return
    assert ours.start == _edtf_bound(value.split("/")[0], lower=True)
    assert ours.end == _edtf_bound(value.split("/")[-1], lower=False)
