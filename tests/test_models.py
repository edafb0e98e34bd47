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
