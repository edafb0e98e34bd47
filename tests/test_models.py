"""The models are the one schema: strict, and documented field by field."""

import pytest
from pydantic import ValidationError

from factdb.schema.models import RECORD_MODELS, Claim, Entity, FactFile


def _claim(**changes):
    data = {
        "id": "a-claim",
        "source": "sample",
        "statement": "S.",
        "quote": "q",
        "date": "2024",
        "date_basis": "b",
        "claimant": None,
        "assertion": "stated",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("model", [FactFile, *RECORD_MODELS.values()])
def test_every_field_has_a_description(model):
    undocumented = [name for name, info in model.model_fields.items() if not info.description]
    assert undocumented == []


def test_the_four_required_claim_keys_are_named_exactly():
    required = {n for n, info in Claim.model_fields.items() if info.is_required()}
    assert {"id", "source", "quote", "date"} <= required


def test_claimant_key_is_required_but_may_be_null():
    assert Claim.model_validate(_claim()).claimant is None
    data = _claim()
    del data["claimant"]
    with pytest.raises(ValidationError) as error:
        Claim.model_validate(data)
    assert error.value.errors()[0]["type"] == "missing"


def test_unquoted_year_is_read_as_a_date():
    assert Claim.model_validate(_claim(date=2024)).date == "2024"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_and_infinity_are_refused(bad):
    with pytest.raises(ValidationError) as error:
        Claim.model_validate(_claim(value=bad, unit="x"))
    assert error.value.errors()[0]["type"] == "finite_number"


@pytest.mark.parametrize(
    "bad_id", ["Upper", "under_score", "-lead", "trail-", "a--b", "caf\u00e9", ""]
)
def test_ids_outside_the_slug_alphabet_are_refused(bad_id):
    with pytest.raises(ValidationError):
        Entity.model_validate({"id": bad_id, "name": "N", "kind": "person", "description": "D"})


def test_bidi_control_in_a_quote_is_refused():
    with pytest.raises(ValidationError) as error:
        Claim.model_validate(_claim(quote="abc\u202edef"))
    assert error.value.errors()[0]["type"] == "invisible-character"


def test_hidden_characters_are_every_format_and_control_character():
    import re
    import unicodedata

    from factdb.schema.models import HIDDEN_CHARACTERS

    pattern = re.compile(f"[{HIDDEN_CHARACTERS}]")
    for code in range(0x110000):
        char = chr(code)
        hidden = unicodedata.category(char) in ("Cf", "Cc") and char not in "\n\t"
        assert bool(pattern.match(char)) is hidden, f"U+{code:04X}"


def _error_types(**changes) -> list[str]:
    try:
        Claim.model_validate(_claim(**changes))
    except ValidationError as error:
        return [detail["type"] for detail in error.errors()]
    return []


@pytest.mark.parametrize(
    ("statement", "rule"),
    [
        (" ", "blank-text"),
        ("   \n ", "blank-text"),
        ("\u3164", "blank-text"),  # HANGUL FILLER, a letter to Unicode
        ("\u115f\u1160\uffa0", "blank-text"),  # the other Hangul fillers
        ("\u2800", "blank-text"),  # BRAILLE PATTERN BLANK
        ("\u3000\u00a0\u2003", "blank-text"),  # ideographic, no-break and em spaces
        ("\u0301\ufe0f", "blank-text"),  # marks with nothing to mark
        ("\u200b", "invisible-character"),
        (" \u2060 ", "invisible-character"),
    ],
)
def test_a_text_that_shows_nothing_is_refused(statement, rule):
    assert _error_types(statement=statement) == [rule]
    assert _error_types(date_basis=statement) == [rule]  # every required text, not one


@pytest.mark.parametrize("statement", ["S.", "\u3164S", "e\u0301", "\u2800x", "\u4e00", "?"])
def test_a_text_with_something_visible_is_accepted(statement):
    assert _error_types(statement=statement) == []


def test_blank_optional_texts_are_refused_too():
    with pytest.raises(ValidationError) as error:
        Entity.model_validate(
            {"id": "e", "name": "N", "kind": "person", "description": "D", "notes": "\u3164 "}
        )
    assert [d["type"] for d in error.value.errors()] == ["blank-text"]


@pytest.mark.parametrize("quote", [" q", "q ", "q\n", "\tq", "\u00a0q", "q\u3000"])
def test_a_quote_with_white_space_at_either_end_is_refused(quote):
    assert _error_types(quote=quote) == ["quote-whitespace"]


def test_white_space_inside_a_quote_is_fine():
    assert _error_types(quote="q  with\tspaces\nand a line") == []


def test_the_json_schema_patterns_say_what_the_validators_say():
    """check-jsonschema (ECMA-262) runs them on the fixtures (test_schemas); Python's engine
    reads them alike, with fullmatch for ECMA's `$` (Python's also matches before a newline)."""
    import re

    from factdb.schema.models import QUOTE_PATTERN, TEXT_PATTERN

    text, quote = re.compile(TEXT_PATTERN), re.compile(QUOTE_PATTERN)
    for blank in (" ", "\u3164", "\u2800 \u3000"):
        assert not text.fullmatch(blank) and not quote.fullmatch(blank)
    for edged in (" q", "q ", "q\n"):
        assert text.fullmatch(edged) and not quote.fullmatch(edged)
    assert text.fullmatch("a b") and quote.fullmatch("a b")
