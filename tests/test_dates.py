from datetime import date

import pytest
from pydantic_core import PydanticCustomError

from schema.dates import parse_edtf


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
