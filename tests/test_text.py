import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factdb.text import (
    _RUNS,
    _SPACES,
    _TRANSLATE,
    NormalisedText,
    closest_passage,
    find_quote,
    normalise,
    normalise_quote,
    value_in_quote,
)

_TRANSLATE_KEYS = [chr(code) for code in _TRANSLATE]

SOURCE = (
    "He said the \u201ctreaty\u201d \u2014 signed  in June \u2014 was final.\nNext paragraph here."
)


def test_quote_found_after_documented_normalisation_with_original_span():
    text = normalise(SOURCE)
    span = find_quote(text, 'the "treaty" - signed in June')
    assert span is not None
    assert SOURCE[span[0] : span[1]] == "the \u201ctreaty\u201d \u2014 signed  in June"


def test_quote_never_matches_across_a_paragraph_break():
    assert find_quote(normalise(SOURCE), "was final. Next paragraph") is None


def test_quote_with_other_changes_is_not_found():
    assert find_quote(normalise(SOURCE), "the treaty - signed in June") is None
    assert find_quote(normalise(SOURCE), 'THE "TREATY"') is None


def test_closest_passage_shows_the_typo():
    passage, score = closest_passage(normalise(SOURCE), SOURCE, "the treaty - signed in Jnue")
    assert passage == "the \u201ctreaty\u201d \u2014 signed  in June"
    assert 80 < score < 100


@pytest.mark.parametrize(
    "value, quote, expected",
    [
        (3000, "sent about 3,000 soldiers", True),
        (3000, "sent 3000 soldiers", True),
        (3000, "three thousand soldiers", True),
        (397, "with 397 deputies", True),
        (9, "a group of nine countries", True),
        (32, "going on for 32 months", True),
        (3000, "sent 13,000 soldiers", False),
        (3000, "sent 3,0001 soldiers", False),
        (11000, "approximately 10,000 troops", False),
        (10000, "approximately 10,000 troops", True),
        (19, "signed on June 19 during", True),
    ],
)
def test_value_in_quote(value, quote, expected):
    assert value_in_quote(value, quote) is expected


@settings(max_examples=1000, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab \t\r\n.'\"-") + list(_TRANSLATE_KEYS)), max_size=40)
)
def test_normalising_a_quote_is_the_documented_formula(quote):
    """The shortcuts (ASCII text, no runs of spaces) change nothing."""
    assert normalise_quote(quote) == _SPACES.sub(" ", quote.translate(_TRANSLATE)).strip()


def _normalised_by_the_general_expression(text: str) -> NormalisedText:
    """normalise as documented, with the one expression that tries a match at every space."""
    translated = text.translate(_TRANSLATE)
    parts, breaks, shifts, shift, position = [], [], [], 0, 0
    for match in _RUNS.finditer(translated):
        parts.append(translated[position : match.start()])
        parts.append("\n" if "\n" in match.group() else " ")
        removed = match.end() - match.start() - 1
        if removed:
            shift += removed
            breaks.append(len("".join(parts)))
            shifts.append(shift)
        position = match.end()
    parts.append(translated[position:])
    return NormalisedText("".join(parts), tuple(breaks), tuple(shifts), len(text))


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab \t\r\n") + ["\u00a0"]), max_size=30))
def test_normalising_a_source_is_the_same_with_or_without_runs_of_spaces(text):
    """The shortcut for texts where no space is followed by whitespace changes nothing."""
    assert normalise(text) == _normalised_by_the_general_expression(text)
