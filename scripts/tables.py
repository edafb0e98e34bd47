"""The database's shape: its tables, columns, views, indexes and full-text search.

Table columns come from the pydantic models (one column per scalar field, a link table per list
of references) plus the derived columns declared in DERIVED, each with its description; nothing
here knows how rows are made (`rows`) or when they are written (`building`).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.coverage import COVERAGE_VIEW
from factdb.schema.models import Claim, Entity, Event, Record, Source, Topic

if TYPE_CHECKING:  # sqlite_utils imports numpy where installed (0.1 s): only a build needs it
    from factdb.database import sqlite_utils

# Derived columns: name -> (SQLite type, description), per table.
DERIVED: dict[str, dict[str, tuple[type, str]]] = {
    "sources": {
        "label": (str, "How the source is named on pages: its name, else its title, else its id."),
        "published_start": (str, "First day the publication date can be (ISO date)."),
        "published_end": (str, "Last day the publication date can be (ISO date)."),
        "text": (str, "The full verbatim text of the seed document."),
        "proved": (str, "The publication date the articles together prove (EDTF)."),
        "proved_start": (str, "First day of the proved publication date (ISO); null if open."),
        "proved_end": (str, "Last day of the proved publication date (ISO); null if open."),
        "published_proof": (
            str,
            "JSON array of the claims (and stated publication dates, by source id) the proved "
            "publication date rests on.",
        ),
    },
    "entities": {
        "aliases": (str, "JSON array of the other spellings the sources use."),
        "sort_key": (
            str,
            "Where the entity stands in name order: the name, a tab and the id (a tab sorts "
            "before any other character a name can hold); never null and unique, so the entities "
            "table pages by it without losing or repeating rows.",
        ),
    },
    "topics": {},
    "events": {
        "about": (str, "JSON array of the ids of the entities the event involves."),
        "date": (str, "The event's date as the articles together prove it (EDTF)."),
        "date_start": (str, "First day the event can have happened (ISO date); null if open."),
        "date_end": (str, "Last day the event can have happened (ISO date); null if open."),
        "date_proof": (str, "JSON array of the claims the event's date rests on."),
        "claims": (int, "How many claims report the event."),
        "sort_key": (
            str,
            "Where the event stands in date order: date_start (date_end where the start is open, "
            "'~' where it has no date), a space and the id; never null and unique, so the events "
            "table pages by it without losing or repeating rows.",
        ),
    },
    "claims": {
        "date_start": (str, "First day the claim's date can be (ISO date); null if open."),
        "date_end": (str, "Last day the claim's date can be (ISO date); null if open."),
        "date_precision": (str, "day, month, year or interval."),
        "date_qualifier": (
            str,
            "uncertain, approximate or uncertain-approximate; null if neither.",
        ),
        "about": (str, "JSON array of the ids of the entities the claim is about."),
        "via": (str, "JSON array of the outlets the claim was reported through, original first."),
        "origin": (
            str,
            "Independent origin of the claim: the first outlet it came through, "
            "or its source when the article reports it itself.",
        ),
        "answer_key": (
            str,
            "The claim's answer to its topic, in a form that compares equal "
            "when two claims agree: a number, a date or a lower-cased answer.",
        ),
        "value_low": (float, "Lowest value the claim allows (value_min, else value)."),
        "value_high": (float, "Highest value the claim allows (value_max, else value)."),
        "quote_start": (int, "Offset in the source text (characters) where the quote begins."),
        "quote_end": (int, "Offset in the source text (characters) where the quote ends."),
        "file": (str, "Fact file the claim is curated in."),
        "line": (int, "Line of that file where the claim starts."),
        "when": (str, "JSON array of how the quote dates the claim (relative expressions)."),
        "sort_key": (
            str,
            "Where the claim stands in date order: date_start (date_end where the start is "
            "open, so an 'on or before' date stands at the last day it allows), a space and the "
            "id; never null and unique, so the claims table pages by it without losing or "
            "repeating rows.",
        ),
    },
}


@dataclass(frozen=True)
class LinkTable:
    """A table of pairs: its description, and each column's referenced table, type and meaning."""

    description: str
    columns: dict[str, tuple[str | None, type, str]]
    pk: tuple[str, ...]


LINK_TABLES: dict[str, LinkTable] = {
    "aliases": LinkTable(
        "Other spellings of each entity's name, as the sources use them.",
        {
            "entity_id": ("entities", str, "Id of the entity."),
            "alias": (None, str, "Another spelling the sources use."),
        },
        ("entity_id", "alias"),
    ),
    "claim_entities": LinkTable(
        "Which entities each claim is about.",
        {
            "claim_id": ("claims", str, "Id of the claim."),
            "entity_id": ("entities", str, "Id of an entity the claim is about."),
        },
        ("claim_id", "entity_id"),
    ),
    "claim_via": LinkTable(
        "Outlets each claim was reported through.",
        {
            "claim_id": ("claims", str, "Id of the claim."),
            "entity_id": ("entities", str, "Id of an outlet the claim came through."),
            "position": (None, int, "0 for the original outlet, then each relay in order."),
        },
        ("claim_id", "entity_id"),
    ),
    "source_reports_from": LinkTable(
        "Outlets and agencies each source says it reports from.",
        {
            "source_id": ("sources", str, "Id of the source."),
            "entity_id": ("entities", str, "Id of an outlet or agency the source reports from."),
        },
        ("source_id", "entity_id"),
    ),
}

# The date the articles together prove for each claim that names an event or dates itself
# relatively (the others' dates are their written ones).
CLAIM_DATE_COLUMNS: dict[str, tuple[type, str]] = {
    "claim_id": (str, "Id of the claim."),
    "proved": (str, "The claim's date as the articles together prove it (EDTF)."),
    "proved_start": (str, "First day of the proved date (ISO); null if open."),
    "proved_end": (str, "Last day of the proved date (ISO); null if open."),
    "proof": (
        str,
        "JSON array of the claims (and stated publication dates, by source id) the "
        "proved date rests on.",
    ),
}

ANSWER_COLUMNS: dict[str, tuple[type, str]] = {
    "topic": (str, "Id of the topic the answer is to."),
    "answer": (
        str,
        "The answer, as claims compare it: a number, a range low..high, an EDTF "
        "date or a lower-cased word.",
    ),
    "kind": (str, "How the topic's answers are compared: quantity, date or text."),
    "unit": (str, "Unit of a quantity answer."),
    "low": (float, "Lowest value a quantity answer allows; null if open."),
    "high": (float, "Highest value a quantity answer allows; null if open."),
    "date_start": (str, "First day a date answer allows (ISO date)."),
    "date_end": (str, "Last day a date answer allows (ISO date)."),
    "claims": (int, "How many claims give this answer."),
    "articles": (int, "How many distinct sources give it."),
    "independent_origins": (
        int,
        "How many independent origins give it: articles relaying the "
        "same agency report count once.",
    ),
    "claimants": (
        str,
        "JSON array of who gives it (names; 'The article itself' for an article's own voice).",
    ),
    "sources": (str, "JSON array of the sources that give it."),
    "origins": (str, "JSON array of its independent origins."),
    "claim_ids": (str, "JSON array of the claims that give it."),
    "first_date": (str, "Earliest date of a claim giving it (ISO date)."),
    "last_date": (str, "Latest date of a claim giving it (ISO date)."),
}

# Every pair of different answers to a topic, and how they relate (factdb.comparing).
COMPARISON_COLUMNS: dict[str, tuple[type, str]] = {
    "topic": (str, "Id of the topic both answers are to."),
    "answer_a": (str, "Answer A: a value, a range low..high, a date or a word."),
    "answer_b": (str, "Answer B (after A in text order): a value, a range, a date or a word."),
    "relation": (
        str,
        "conflict (they cannot both be true at the same time), unclear-time (their dates are "
        "too vague to order them, on a topic that changes over time), update (at different "
        "times, on a topic that changes over time), close (hedged and within the topic's "
        "tolerance) or compatible (both can be true).",
    ),
    "reason": (str, "Why, in plain words: which values, at which times."),
    "unit_a": (str, "Unit of answer A."),
    "unit_b": (str, "Unit of answer B."),
    "first_date_a": (str, "Earliest date of a claim giving answer A (ISO date)."),
    "last_date_a": (str, "Latest date of a claim giving answer A (ISO date)."),
    "first_date_b": (str, "Earliest date of a claim giving answer B (ISO date)."),
    "last_date_b": (str, "Latest date of a claim giving answer B (ISO date)."),
}

MODELS: dict[str, type[Record]] = {
    "sources": Source,
    "entities": Entity,
    "topics": Topic,
    "events": Event,
    "claims": Claim,
}
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "claims": [
        ("source", "sources", "id"),
        ("claimant", "entities", "id"),
        ("topic", "topics", "id"),
        ("event", "events", "id"),
    ],
}
SKIP_FIELDS = {"skipped"}  # list fields kept elsewhere (coverage)


def _sqlite_type(annotation: Any) -> type:
    """The SQLite column type for a pydantic field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and args:
        return _sqlite_type(args[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _sqlite_type(args[0])
    if annotation is bool:
        return int
    if annotation in (int, float):
        return annotation
    return str


@cache
def model_columns(table: str) -> list[str]:
    """The columns of a table that are its model's fields as they are (not DERIVED from them)."""
    return [n for n in table_columns(table) if n not in DERIVED[table]]


@cache
def table_columns(table: str) -> dict[str, type]:
    """Columns of a main table: the model's scalar fields, then the derived ones."""
    columns: dict[str, type] = {}
    for name, info in MODELS[table].model_fields.items():
        origin = typing.get_origin(info.annotation)
        if origin is list or name in SKIP_FIELDS or name in DERIVED[table]:
            continue
        columns[name] = _sqlite_type(info.annotation)
    columns.update({name: kind for name, (kind, _) in DERIVED[table].items()})
    return columns


def column_descriptions(table: str) -> dict[str, str]:
    """Description of every column of a main table, from the models and DERIVED."""
    descriptions = {
        name: info.description or ""
        for name, info in MODELS[table].model_fields.items()
        if name in table_columns(table)
    }
    descriptions.update({name: text for name, (_, text) in DERIVED[table].items()})
    return descriptions


VIEWS: dict[str, str] = {
    "claims_view": """
select
  c.id, c.statement, c.quote, c.date, c.date_start, c.date_end, c.date_precision, c.date_basis,
  coalesce(e.name, 'The article itself') as claimant_name, c.claimant,
  coalesce(e.party_to_conflict, 0) as claimant_is_party,
  c.source, s.title as source_title, s.publisher as source_publisher, c.via, c.origin,
  c.topic, t.question as topic_question, c.value, c.value_min, c.value_max, c.approximate, c.unit,
  c.answer, c.assertion, c.about, c.notes
from claims c
join sources s on s.id = c.source
left join entities e on e.id = c.claimant
left join topics t on t.id = c.topic
""",
    "corroborations": """
select a.topic, t.question, a.answer, a.unit, a.claims, a.articles, a.independent_origins,
  a.claimants, a.sources, a.origins, a.claim_ids
from answers a join topics t on t.id = a.topic
where a.articles >= 2
""",
    "conflicts": """
select c.topic, t.question,
  c.answer_a, c.unit_a, a.claims as claims_a, a.claimants as claimants_a,
  a.sources as sources_a, c.first_date_a, c.last_date_a,
  c.answer_b, c.unit_b, b.claims as claims_b, b.claimants as claimants_b,
  b.sources as sources_b, c.first_date_b, c.last_date_b, c.reason
from comparisons c
join answers a on a.topic = c.topic and a.answer = c.answer_a
join answers b on b.topic = c.topic and b.answer = c.answer_b
join topics t on t.id = c.topic
where c.relation = 'conflict'
""",
    "coverage": COVERAGE_VIEW,
    "places": """
select e.id, e.name, e.description, e.latitude, e.longitude,
  (select count(*) from claim_entities ce where ce.entity_id = e.id) as claims
from entities e where e.latitude is not null and e.longitude is not null
""",
    "contested_topics": """
select t.id as topic, t.question, t.kind, count(*) as conflicting_pairs,
  (select count(*) from answers a where a.topic = t.id) as answers,
  (select sum(claims) from answers a where a.topic = t.id) as claims
from conflicts c join topics t on t.id = c.topic
group by t.id
""",
}

_NAMES = {
    "claimant_name": "Name of who asserts the claim; 'The article itself' for the article's "
    "own voice.",
    "claimant_is_party": "1 if the claimant is a party to the conflict (Russia, North Korea, "
    "Ukraine and their governments, forces, officials and state media).",
    "source_title": "Title of the source, where it has one.",
    "source_publisher": "Publisher of the source, where the text names one.",
    "topic_question": "The question of the claim's topic.",
}
_PAIR = {
    "topic": "Id of the topic both answers are to.",
    "question": "The topic's question.",
    "answer_{x}": "Answer {X}: a value, a range low..high, a date or a word.",
    "unit_{x}": "Unit of answer {X}.",
    "claims_{x}": "How many claims give answer {X}.",
    "claimants_{x}": "JSON array of who gives answer {X}.",
    "sources_{x}": "JSON array of the sources that give answer {X}.",
    "first_date_{x}": "Earliest date of a claim giving answer {X}.",
    "last_date_{x}": "Latest date of a claim giving answer {X}.",
}
VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "claims_view": {},  # filled below from the claims table and _NAMES
    "corroborations": {
        "question": "The topic's question.",
        **{name: text for name, (_, text) in ANSWER_COLUMNS.items()},
    },
    "conflicts": {
        **{
            key.format(x=x, X=x.upper()): text.format(x=x, X=x.upper())
            for x in ("a", "b")
            for key, text in _PAIR.items()
        },
        "reason": "Why they cannot both be true: which values, at which times.",
    },
    "places": {
        "id": "Id of the place.",
        "name": "Name of the place.",
        "description": "What the place is.",
        "latitude": "Latitude in decimal degrees (WGS 84).",
        "longitude": "Longitude in decimal degrees (WGS 84).",
        "claims": "How many claims are about the place.",
    },
    "coverage": {
        "source": "Id of the source.",
        "sentences": "How many sentences the source has.",
        "covered": "Sentences that a claim quotes.",
        "skipped": "Sentences listed as carrying no claim, each with a reason.",
        "uncovered": "Sentences still to curate.",
        "percent_accounted_for": "Share of sentences covered or skipped, in percent.",
    },
    "contested_topics": {
        "topic": "Id of the topic.",
        "question": "The topic's question.",
        "kind": "How the topic's answers are compared.",
        "conflicting_pairs": "How many pairs of its answers cannot both be true.",
        "answers": "How many distinct answers it has.",
        "claims": "How many claims answer it.",
    },
}


def view_column_descriptions(view: str, columns: list[str]) -> dict[str, str]:
    """Description of every column of a view, taken from the tables where the names match."""
    known = {**column_descriptions("claims"), **_NAMES, **VIEW_COLUMNS[view]}
    return {name: known[name] for name in columns if name in known}


FTS_COLUMNS = {
    "claims": ["statement", "quote", "notes"],
    "sources": ["title", "publisher", "text"],
    "entities": ["name", "aliases", "description"],
}


def insert_tuples(
    db: sqlite_utils.Database, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples of the columns' values, with one executemany."""
    sql = "insert into [{}] ({}) values ({})".format(
        table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
    )
    db.conn.executemany(sql, rows)


def create_tables(db: sqlite_utils.Database) -> None:
    """Every table, empty, with its columns, keys and foreign keys."""
    for table in ("sources", "entities", "topics", "events", "claims"):
        db.table(table).create(
            table_columns(table),
            pk="id",
            foreign_keys=FOREIGN_KEYS.get(table, []),
            not_null=["id"],
        )
    db.table("claim_dates").create(
        {name: kind for name, (kind, _) in CLAIM_DATE_COLUMNS.items()},
        pk="claim_id",
        foreign_keys=[("claim_id", "claims", "id")],
    )
    db.table("answers").create(
        {name: kind for name, (kind, _) in ANSWER_COLUMNS.items()},
        pk=("topic", "answer"),
        foreign_keys=[("topic", "topics", "id")],
    )
    db.table("comparisons").create(
        {name: kind for name, (kind, _) in COMPARISON_COLUMNS.items()},
        pk=("topic", "answer_a", "answer_b"),
        foreign_keys=[("topic", "topics", "id")],
    )
    db.table("sentences").create(
        {name: kind for name, (kind, _) in SENTENCE_COLUMNS.items()},
        pk=("source_id", "position"),
        foreign_keys=[("source_id", "sources", "id")],
    )
    for table, link in LINK_TABLES.items():
        db.table(table).create(
            {name: kind for name, (_, kind, _) in link.columns.items()},
            pk=link.pk,
            foreign_keys=[
                (name, other, "id") for name, (other, _, _) in link.columns.items() if other
            ],
        )


# the claims the curator checks page (metadata.yml) lists, as its query writes them: a partial
# index of them lets SQLite read those alone (at 1M claims, 240 ms -> under 1 ms where none is)
TO_REVIEW = "length(quote) > 200 or date_precision = 'interval' or date_qualifier is not null"


def create_indexes(db: sqlite_utils.Database) -> None:
    """Indexes on the columns pages sort and filter claims by, and of the claims to review, then
    on every foreign key that no index (a primary key's included) already starts with."""
    for table, columns in (
        ("claims", ["sort_key"]),
        ("claims", ["date_start", "date_end", "id"]),
        ("claims", ["topic", "answer_key"]),
        ("claims", ["topic", "date_start"]),
        ("claims", ["assertion"]),
        ("claims", ["date_precision"]),
        ("claims", ["origin"]),
    ):
        db.table(table).create_index(columns, if_not_exists=True)
    db.execute(  # only the claims to review: the curator checks page reads this, not every claim
        f"create index if not exists idx_claims_to_review on claims (id) where {TO_REVIEW}"
    )
    for each in db.tables:
        leading = {index.columns[0] for index in each.indexes if index.columns}
        for key in each.foreign_keys:
            if key.column is not None and key.column not in leading:
                each.create_index([key.column], if_not_exists=True)
