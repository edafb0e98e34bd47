"""The one definition of every record in the fact files.

Everything else is derived from these models: the JSON Schema that editors use, the SQLite
columns, and the field documentation in metadata.yml.
"""

from __future__ import annotations

import re
import unicodedata
from types import GenericAlias
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from factdb.schema.dates import DateRange, parse_edtf

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_ID_LENGTH = 100
MAX_TEXT_LENGTH = 5_000

# Characters that change how text looks or reads without being visible: format characters
# (Unicode category Cf: zero-width spaces, bidirectional controls, ...) and control characters
# (Cc) other than newline and tab, as ranges (Unicode 14; tests/test_models.py checks them
# against the running Python's Unicode database).
HIDDEN_CHARACTERS = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891"
    r"\u08e2\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    r"\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
_HIDDEN = re.compile(f"[{HIDDEN_CHARACTERS}]")


def _visible(text: str) -> str:
    """Refuse invisible and control characters, which can hide a difference from a reviewer."""
    if text.isprintable():  # no character of category C (nor any separator but the space)
        return text
    found = _HIDDEN.search(text)
    if found:
        raise PydanticCustomError(
            "invisible-character",
            "invisible or control character U+{code} at position {index}",
            {"code": f"{ord(found.group()):04X}", "index": found.start()},
        )
    return text


# What shows nothing on its own: white space, separators, format and control characters,
# combining marks with nothing to combine with, and the fillers and blanks Unicode files as
# letters or symbols (Hangul fillers U+115F, U+1160, U+3164, U+FFA0; braille blank U+2800).
_BLANK_CATEGORIES = {"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"}
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows_nothing(character: str) -> bool:
    return (
        character.isspace()
        or character in _BLANK_LETTERS
        or unicodedata.category(character) in _BLANK_CATEGORIES
    )


def is_blank(text: str) -> bool:
    """True if a text shows nothing: only white space, fillers or invisible characters."""
    first = text[:1]
    if first.isalnum() and first not in _BLANK_LETTERS:  # nearly every text: one test
        return False
    for character in text:
        if not _shows_nothing(character):
            return False
    return True


def _not_blank(text: str) -> str:
    if is_blank(text):
        raise PydanticCustomError(
            "blank-text", "shows nothing: only white space or blank-looking characters"
        )
    return text


def _no_edge_whitespace(quote: str) -> str:
    """A quote's place in its source covers its characters: white space around it would not be
    there (its offsets would not cover it), so it is refused rather than silently stripped."""
    if quote[:1].isspace() or quote[-1:].isspace():
        raise PydanticCustomError("quote-whitespace", "starts or ends with white space: remove it")
    return quote


PLACEHOLDER = "TODO"


_PLACEHOLDER = re.compile(r"\s*(?i:todo)")
# what a placeholder can start with: t, T, or white space (all of which is below U+3001)
_PLACEHOLDER_STARTS = {"t", "T"} | {chr(c) for c in range(0x3001) if chr(c).isspace()}


def _not_placeholder(value: object) -> object:
    """`facts new` leaves TODO where it could not fill a field in; validation refuses it."""
    if isinstance(value, str) and value[:1] in _PLACEHOLDER_STARTS and _PLACEHOLDER.match(value):
        raise PydanticCustomError("placeholder", "still a placeholder: fill it in")
    return value


def _year_as_text(value: object) -> object:
    """YAML reads an unquoted year (published: 2024) as a number; it is an EDTF date too."""
    return str(value) if type(value) is int else value


def _edtf(value: str) -> str:
    parse_edtf(value)  # raises PydanticCustomError("date-invalid") when it does not parse
    return value


def _no_repeats(items: list[str]) -> list[str]:
    """A list of ids names each id once."""
    if len(items) < 2 or len(set(items)) == len(items):
        return items
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item in seen:
            raise PydanticCustomError(
                "repeated-item",
                "'{item}' is listed twice (again at position {index})",
                {"item": item, "index": index},
            )
        seen.add(item)
    return items


# For JSON Schema only (pydantic checks these with the validators above): no TODO placeholder,
# no control or invisible characters, not blank (approximately: white space and the fillers).
_SHOWN = (  # no control or invisible character
    r"[^\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_SOMETHING = r"(?=[\s\S]*[^\s\u115f\u1160\u3164\uffa0\u2800])"  # not blank
TEXT_PATTERN = rf"^(?![Tt][Oo][Dd][Oo]){_SOMETHING}{_SHOWN}*$"
QUOTE_PATTERN = rf"^(?!\s)(?![Tt][Oo][Dd][Oo]){_SOMETHING}{_SHOWN}*(?<!\s)$"  # no edge spaces
# For JSON Schema only: the EDTF subset of schema/dates.py, with the days of each month.
_YEAR = r"(?:18[0-9]{2}|19[0-9]{2}|20[0-9]{2}|2100)"
_DAY = (
    r"(?:-(?:(?:0[13578]|1[02])(?:-(?:0[1-9]|[12][0-9]|3[01]))?"
    r"|(?:0[469]|11)(?:-(?:0[1-9]|[12][0-9]|30))?|02(?:-(?:0[1-9]|1[0-9]|2[0-9]))?))?"
)
_ONE = _YEAR + _DAY + r"[?~%]?"
EDTF_PATTERN = rf"^(?:{_ONE}|{_ONE}/{_ONE}|\.\./{_ONE}|{_ONE}/\.\.)$"

Text = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TEXT_LENGTH, json_schema_extra={"pattern": TEXT_PATTERN}),
    AfterValidator(_visible),
    AfterValidator(_not_blank),
]
Quote = Annotated[
    Text,
    AfterValidator(_no_edge_whitespace),
    Field(json_schema_extra={"pattern": QUOTE_PATTERN}),
]
# The fields `facts new` and `facts add-source` may leave as TODO refuse the placeholder.
FilledText = Annotated[Text, BeforeValidator(_not_placeholder)]
Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_ID_LENGTH,
        pattern=SLUG_PATTERN,
        json_schema_extra={"pattern": SLUG_PATTERN},
    ),
]
FilledSlug = Annotated[Slug, BeforeValidator(_not_placeholder)]
SlugList = Annotated[
    list[Slug], AfterValidator(_no_repeats), Field(json_schema_extra={"uniqueItems": True})
]
Edtf = Annotated[
    str,
    BeforeValidator(_year_as_text),
    BeforeValidator(_not_placeholder),
    Field(
        max_length=60,
        description="A date in the Library of Congress EDTF format: 2024-10-24, 2024-10, 2024, "
        "an interval 2024-10-01/2024-10-24, optionally qualified with ? (uncertain) or ~ "
        "(approximate).",
        examples=["2024-10-24", "2024-10", "2024-10-21/2024-10-24", "2024-06~"],
    ),
    AfterValidator(_edtf),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": 60, "pattern": EDTF_PATTERN},
                {"type": "integer", "minimum": 1800, "maximum": 2100},
            ]
        }
    ),
]


class Record(BaseModel):
    """Base of every record: unknown fields are errors, and so are ids outside the slug alphabet."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=False,
        allow_inf_nan=False,
        defer_build=True,  # each model is built when first used: a touched-file run needs one
    )


class SkippedSentence(Record):
    """A sentence of a source that carries no checkable claim, and why."""

    text: Text = Field(description="The sentence, verbatim as it stands in the source.")
    reason: Text = Field(description="Why no claim quotes it (photo credit, page trailer, ...).")


class Source(Record):
    """A source document kept verbatim in seeds/."""

    id: Slug = Field(description="Stable, readable identifier of the source, e.g. 'ap-2024-10-24'.")
    seed: Text = Field(
        description="Path of the verbatim text, relative to the repository root, inside seeds/.",
        examples=["seeds/004_a26611f9c53c19ae.txt"],
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the seed file's bytes (hex): proves the text is unchanged.",
    )
    title: FilledText | None = Field(
        description="Headline or title as the text gives it; null where the text has none."
    )
    name: FilledText | None = Field(
        default=None,
        description="How every page names the source: curated from its text (what it reports, "
        "and who it reports from), e.g. 'Untitled report quoted by BTA: Russian MPs ratify the "
        "pact'; never a headline or publisher the text does not give. Without it, the title "
        "(or the id) names the source.",
    )
    publisher: FilledText | None = Field(
        description="Who published the document, as the text names it; null where it does not."
    )
    published: Edtf = Field(
        description="Publication date in EDTF: the day the text states, or the narrowest range "
        "that the text (and the rest of the dataset) supports."
    )
    published_basis: FilledText = Field(
        description="How the publication date was established: quoted from the text, or the "
        "reasoning that gives the range."
    )
    published_stated: bool = Field(
        default=False,
        description="True where the text itself prints its publication date: `published` is "
        "then evidence. Otherwise `published` is what the articles together prove, and the "
        "validator checks it.",
    )
    language: str = Field(
        pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$",
        description="Language of the text as a BCP 47 tag, e.g. 'en'.",
    )
    url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="Where the document was published; null where it is not known.",
    )
    reports_from: SlugList = Field(
        default_factory=list,
        description="Entity ids of the outlets and agencies the document says it reports from "
        "(AFP, AP, BTA, Yonhap, ...).",
    )
    skipped: list[SkippedSentence] = Field(
        default_factory=list,
        description="Sentences that carry no claim, each with a reason, so that coverage counts "
        "them as explained rather than still to curate.",
    )
    notes: Text | None = Field(default=None, description="Free notes for curators and readers.")


EntityKind = Literal["person", "organisation", "government", "media", "country", "place", "group"]


def _both_or_neither(first: str, second: str) -> dict:
    """JSON Schema: if one of two fields is a number, the other must be one too."""

    def needs(a: str, b: str) -> dict:
        number = {"properties": {a: {"type": "number"}}, "required": [a]}
        return {"if": number, "then": {"properties": {b: {"type": "number"}}, "required": [b]}}

    return {"allOf": [needs(first, second), needs(second, first)]}


class Entity(Record):
    """A person, organisation, country or place that claims name or that makes claims."""

    model_config = ConfigDict(json_schema_extra=_both_or_neither("latitude", "longitude"))

    id: Slug = Field(description="Stable identifier, e.g. 'antony-blinken'.")
    name: Text = Field(description="The usual English name.")
    kind: EntityKind = Field(description="What sort of thing the entity is.")
    aliases: list[Text] = Field(
        default_factory=list,
        description="Other spellings the sources use ('Yoon Suk-yeol', 'Yoon Suk Yeol').",
    )
    description: Text = Field(description="One short sentence saying who or what this is.")
    party_to_conflict: bool = Field(
        default=False,
        description="True for Russia, North Korea, Ukraine and their governments, forces, "
        "officials and state media: an interested party in the war.",
    )
    wikidata: str | None = Field(
        default=None, pattern=r"^Q[1-9][0-9]*$", description="Wikidata item id, e.g. 'Q159'."
    )
    latitude: float | None = Field(
        default=None, ge=-90, le=90, description="Latitude of a place, in decimal degrees (WGS 84)."
    )
    longitude: float | None = Field(
        default=None,
        ge=-180,
        le=180,
        description="Longitude of a place, in decimal degrees (WGS 84).",
    )
    notes: Text | None = Field(default=None, description="Free notes for curators and readers.")

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> Entity:
        if (self.latitude is None) != (self.longitude is None):
            raise PydanticCustomError(
                "coordinates-incomplete", "latitude and longitude go together: give both or neither"
            )
        return self


TopicKind = Literal["quantity", "date", "text"]


class Topic(Record):
    """A question that several claims answer, so that agreement and disagreement show."""

    id: Slug = Field(description="Stable identifier, e.g. 'north-korean-troops-in-russia'.")
    question: Text = Field(
        description="The question, e.g. 'How many North Korean troops are in Russia?'"
    )
    kind: TopicKind = Field(
        description="How answers are compared: 'quantity' by value, 'date' by the claim's date, "
        "'text' by the claim's answer."
    )
    unit: Text | None = Field(
        default=None, description="Unit every quantity answer uses, e.g. 'soldiers'."
    )
    description: Text | None = Field(default=None, description="What the question covers.")
    changes_over_time: bool = Field(
        default=False,
        description="True where the true answer changes with time (troops keep arriving): "
        "answers at different times then form a timeline, not a conflict.",
    )
    tolerance: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="For quantities: how far apart (a share of the larger, e.g. 0.1) two "
        "estimates may be and still be 'close' rather than contradicting, where either is hedged "
        "('about', 'around').",
    )
    exclusive: list[list[Text]] = Field(
        default_factory=list,
        description="For text topics: groups of answers that exclude each other; two answers "
        "conflict only where one group holds both (answers in no common group are compatible).",
    )


EventKind = Literal[
    "vote", "signing", "statement", "troop-movement", "launch", "meeting", "attack", "other"
]


class Event(Record):
    """Something that happened, or is to happen, on a day: a vote, a signing, a statement, a
    transfer of troops, a missile launch. Its date is never written: the validator derives it
    from the claims that report it (and proves it from all the articles together)."""

    id: Slug = Field(description="Stable identifier, e.g. 'duma-ratifies-treaty'.")
    name: Text = Field(
        description="What happened, in a few words: 'The State Duma ratifies the treaty'."
    )
    kind: EventKind = Field(description="What sort of event it is.")
    about: SlugList = Field(
        default_factory=list, description="Entity ids of who or what the event involves."
    )
    description: Text | None = Field(default=None, description="More on the event, if needed.")
    notes: Text | None = Field(default=None, description="Free notes for curators and readers.")


RelativeDate = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9 -]+$",
        description="A date as the quote gives it, relative to the article's publication "
        "('today', 'yesterday', 'wednesday', 'last week', 'june', 'october 24') or to an event "
        "('32 months after russia-invades-ukraine'); the grammar is in docs/data-model.md.",
        examples=["yesterday", "wednesday", "october 24", "32 months after full-scale-invasion"],
    ),
]


Assertion = Annotated[
    Literal[
        "stated",
        "confirmed",
        "reported",
        "estimated",
        "speculated",
        "denied",
        "expected",
        "scheduled",
    ],
    BeforeValidator(_not_placeholder),
]


def _value_needs_unit() -> dict:
    """JSON Schema: a claim with a value, value_min or value_max needs a unit."""
    number = [
        {"properties": {name: {"type": "number"}}, "required": [name]}
        for name in ("value", "value_min", "value_max")
    ]
    text = {"properties": {"unit": {"type": "string"}}, "required": ["unit"]}
    return {"if": {"anyOf": number}, "then": text}


class Claim(Record):
    """One checkable assertion, with the verbatim quote that carries it and who asserts it."""

    model_config = ConfigDict(json_schema_extra=_value_needs_unit())

    id: Slug = Field(description="Stable identifier of the claim.")
    source: Slug = Field(description="Id of the source the quote comes from.")
    statement: FilledText = Field(description="The claim in one plain sentence.")
    quote: Quote = Field(
        description="Verbatim passage of the source that carries the claim: the shortest that "
        "still says it on its own. Whitespace runs, typographic quotes, apostrophes and dashes "
        "may differ; nothing else."
    )
    date: Edtf = Field(description="When the claimed thing happened or holds, in EDTF.")
    date_basis: FilledText = Field(
        description="How the date was established: the words of the source that state it, or how "
        "a relative date ('on Wednesday') was resolved from the article's own date."
    )
    when: list[RelativeDate] = Field(
        default_factory=list,
        description="How the quote dates it, relative to the article or to an event, e.g. "
        "[yesterday] or [today, 32 months after full-scale-invasion]; each must hold. The "
        "validator proves `date` from these, the events and all the articles together.",
    )
    event: Slug | None = Field(
        default=None,
        description="Id of the event the claim reports: its date is the event's date.",
    )
    claimant: FilledSlug | None = Field(
        description="Entity id of who asserts the claim (a minister, an agency); null when the "
        "article asserts it in its own voice."
    )
    via: SlugList = Field(
        default_factory=list,
        description="Entity ids of the outlets the claim was reported through, the original first "
        "(e.g. [afp, bta]); the first is the claim's origin for counting independent sources.",
    )
    about: SlugList = Field(
        default_factory=list, description="Entity ids of whom or what the claim is about."
    )
    topic: Slug | None = Field(
        default=None, description="Id of the topic (question) that the claim answers."
    )
    value: float | None = Field(
        default=None,
        description="The quantity the claim states, e.g. 3000; it must appear in the quote.",
    )
    value_min: float | None = Field(
        default=None, description="Lower bound where the text hedges ('several hundred': 200)."
    )
    value_max: float | None = Field(
        default=None, description="Upper bound where the text hedges ('several hundred': 999)."
    )
    approximate: bool = Field(
        default=False, description="True where the text hedges the value ('about', 'around')."
    )
    unit: Text | None = Field(default=None, description="Unit of the value, e.g. 'soldiers'.")
    answer: Text | None = Field(
        default=None,
        description="Short answer to a 'text' topic's question; claims with different answers "
        "disagree.",
    )
    assertion: Assertion = Field(
        description="How firmly the claim is made: stated, confirmed, reported (relayed from "
        "others), estimated, speculated, denied, expected or scheduled (in the future)."
    )
    notes: Text | None = Field(default=None, description="Free notes for curators and readers.")

    @model_validator(mode="after")
    def _consistent_quantity(self) -> Claim:
        low = self.value_min if self.value_min is not None else self.value
        high = self.value_max if self.value_max is not None else self.value
        if low is not None and high is not None and low > high:
            raise PydanticCustomError(
                "value-bounds", "value_min, value and value_max must not decrease"
            )
        if self.value_min is not None and self.value is not None and self.value_min > self.value:
            raise PydanticCustomError("value-bounds", "value_min is above value")
        if self.unit is None and (low is not None or high is not None):
            raise PydanticCustomError("unit-missing", "a claim with a value needs a unit")
        return self


class FactFile(Record):
    """A YAML fact file: any of the four lists of records."""

    sources: list[Source] = Field(default_factory=list, description="Source documents.")
    entities: list[Entity] = Field(
        default_factory=list, description="People, organisations, places."
    )
    topics: list[Topic] = Field(default_factory=list, description="Questions that claims answer.")
    events: list[Event] = Field(
        default_factory=list, description="Things that happen, dated by the claims."
    )
    claims: list[Claim] = Field(default_factory=list, description="Claims with verbatim quotes.")


RECORD_MODELS: dict[str, type[Record]] = {
    "sources": Source,
    "entities": Entity,
    "topics": Topic,
    "events": Event,
    "claims": Claim,
}

__all__ = [
    "Claim",
    "DateRange",
    "Entity",
    "Event",
    "FactFile",
    "RECORD_MODELS",
    "Record",
    "SkippedSentence",
    "Source",
    "Topic",
]


def list_of(model: type[Record]) -> Any:
    """The type list[model], made at run time (to a type checker, a variable is no type)."""
    return GenericAlias(list, (model,))
