"""Building facts.db from validated facts with sqlite-utils: atomically and deterministically.

Table columns come from the pydantic models (one column per scalar field, a link table per list
of references) plus the derived columns declared in DERIVED, each with its description.
"""

from __future__ import annotations

import json
import os
import tempfile
import types
import typing
from dataclasses import dataclass
from functools import cache
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any

import sqlite_utils

from factdb.checks import Validation
from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.coverage import COVERAGE_VIEW, id_list, sentence_rows, source_sentences
from factdb.progress import progress_bar
from factdb.schema.dates import parse_edtf
from factdb.schema.models import Claim, Entity, Record, Source, Topic

# Derived columns: name -> (SQLite type, description), per table.
DERIVED: dict[str, dict[str, tuple[type, str]]] = {
    "sources": {
        "label": (str, "How the source is named on pages: its title, or its id where it has none."),
        "published_start": (str, "First day the publication date can be (ISO date)."),
        "published_end": (str, "Last day the publication date can be (ISO date)."),
        "text": (str, "The full verbatim text of the seed document."),
    },
    "entities": {
        "aliases": (str, "JSON array of the other spellings the sources use."),
    },
    "topics": {},
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

MODELS: dict[str, type[Record]] = {
    "sources": Source,
    "entities": Entity,
    "topics": Topic,
    "claims": Claim,
}
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "claims": [
        ("source", "sources", "id"),
        ("claimant", "entities", "id"),
        ("topic", "topics", "id"),
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
def _model_columns(table: str) -> list[str]:
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


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def source_rows(validation: Validation) -> list[dict]:
    rows = []
    for located in validation.facts.sources:
        source = located.record
        dates = parse_edtf(source.published)
        row = source.model_dump(include=set(table_columns("sources")))
        row.update(
            label=source.title or source.id,
            published_start=_iso(dates.start),
            published_end=_iso(dates.end),
            text=validation.texts.get(source.id),
        )
        rows.append(row)
    return rows


def entity_rows(validation: Validation) -> list[dict]:
    rows = []
    for located in validation.facts.entities:
        entity = located.record
        row = entity.model_dump(include=set(table_columns("entities")))
        row["aliases"] = json.dumps(entity.aliases, ensure_ascii=False)
        rows.append(row)
    return rows


def topic_rows(validation: Validation) -> list[dict]:
    return [
        t.record.model_dump(include=set(table_columns("topics"))) for t in validation.facts.topics
    ]


def answer_key(claim: Claim, topic: Topic | None) -> str | None:
    """What two claims on one topic must share to agree."""
    if topic is None:
        return None
    if topic.kind == "quantity":
        low = claim.value_min if claim.value_min is not None else claim.value
        high = claim.value_max if claim.value_max is not None else claim.value
        if low is None and high is None:
            return None
        if low == high:
            return f"{low:g}"
        return f"{'' if low is None else f'{low:g}'}..{'' if high is None else f'{high:g}'}"
    if topic.kind == "date":
        return claim.date
    return " ".join(claim.answer.split()).casefold() if claim.answer else None


@cache
def _date_columns(value: str) -> tuple[str | None, str | None, str, str | None]:
    """date_start, date_end, date_precision and date_qualifier of an EDTF date."""
    dates = parse_edtf(value)
    return _iso(dates.start), _iso(dates.end), dates.precision, dates.qualifier


_NO_SPAN = (None, None, None)


def claim_rows(validation: Validation) -> list[tuple]:
    """Rows of the claims table, as tuples in the order of table_columns("claims")."""
    topics = {t.record.id: t.record for t in validation.facts.topics}
    fields = attrgetter(*_model_columns("claims"))
    spans = validation.spans
    rows = []
    for located in validation.facts.claims:
        claim = located.record
        _, quote_start, quote_end = spans.get(claim.id, _NO_SPAN)
        topic = topics.get(claim.topic) if claim.topic else None
        rows.append((
            *fields(claim),
            *_date_columns(claim.date),  # date_start, date_end, date_precision, date_qualifier
            id_list(claim.about),  # about
            id_list(claim.via),  # via
            claim.via[0] if claim.via else claim.source,  # origin
            answer_key(claim, topic),  # answer_key
            claim.value_min if claim.value_min is not None else claim.value,  # value_low
            claim.value_max if claim.value_max is not None else claim.value,  # value_high
            quote_start,
            quote_end,
            located.path,  # file
            located.line,  # line
        ))  # fmt: skip
    return rows


# What answer_rows reads of each claim that answers a topic, in this order.
ANSWER_INPUTS = ("id", "topic", "answer_key", "claimant", "source", "origin", "unit",
                 "value_low", "value_high", "date_start", "date_end")  # fmt: skip


def answer_rows(validation: Validation, claims: list[tuple]) -> list[dict]:
    """One row per topic and distinct answer, with who gives it and how independently.

    `claims`: the claims that answer a topic, as tuples of ANSWER_INPUTS, in id order.
    """
    topics = {t.record.id: t.record for t in validation.facts.topics}
    names = {e.record.id: e.record.name for e in validation.facts.entities}
    groups: dict[tuple[str, str], list[tuple]] = {}
    for claim in claims:
        groups.setdefault((claim[1], claim[2]), []).append(claim)
    rows = []
    for (topic_id, answer), members in sorted(groups.items()):
        topic = topics[topic_id]
        ids, _, _, claimants, sources, origins, _, _, _, starts, ends = zip(*members, strict=True)
        _, _, _, _, _, _, unit, low, high, start, end = members[0]
        quantity, when = topic.kind == "quantity", topic.kind == "date"
        known_starts = [s for s in starts if s]
        known_ends = [e for e in ends if e]
        named = dict.fromkeys(names.get(c, "The article itself") for c in claimants)
        rows.append({
            "topic": topic_id,
            "answer": answer,
            "kind": topic.kind,
            "unit": unit if quantity else None,
            "low": low if quantity else None,
            "high": high if quantity else None,
            "date_start": start if when else None,
            "date_end": end if when else None,
            "claims": len(members),
            "articles": len(set(sources)),
            "independent_origins": len(set(origins)),
            "claimants": json.dumps(list(named), ensure_ascii=False),
            "sources": id_list(list(dict.fromkeys(sources))),
            "origins": id_list(list(dict.fromkeys(origins))),
            "claim_ids": id_list(list(ids)),
            "first_date": min(known_starts) if known_starts else None,
            "last_date": max(known_ends) if known_ends else None,
        })  # fmt: skip
    return rows


def registry_link_rows(validation: Validation) -> dict[str, list[dict]]:
    """Rows of the link tables of sources and entities."""
    facts = validation.facts
    return {
        "aliases": [
            {"entity_id": e.record.id, "alias": alias}
            for e in facts.entities
            for alias in dict.fromkeys(e.record.aliases)
        ],
        "source_reports_from": [
            {"source_id": s.record.id, "entity_id": e}
            for s in facts.sources
            for e in dict.fromkeys(s.record.reports_from)
        ],
    }


def claim_link_rows(validation: Validation) -> dict[str, list[dict]]:
    """Rows of the link tables of claims: the entities each is about, the outlets it came via."""
    claims = validation.facts.claims
    return {
        "claim_entities": [
            {"claim_id": c.record.id, "entity_id": e}
            for c in claims
            for e in dict.fromkeys(c.record.about)
        ],
        "claim_via": [
            {"claim_id": c.record.id, "entity_id": e, "position": i}
            for c in claims
            for i, e in enumerate(c.record.via)
        ],
    }


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
select a.topic, t.question,
  a.answer as answer_a, a.unit as unit_a, a.claims as claims_a, a.claimants as claimants_a,
  a.sources as sources_a, a.first_date as first_date_a, a.last_date as last_date_a,
  b.answer as answer_b, b.unit as unit_b, b.claims as claims_b, b.claimants as claimants_b,
  b.sources as sources_b, b.first_date as first_date_b, b.last_date as last_date_b
from answers a
join answers b on a.topic = b.topic and a.answer < b.answer
join topics t on t.id = a.topic
where (a.kind = 'quantity' and (a.high < b.low or b.high < a.low))
  or (a.kind = 'date' and (a.date_end < b.date_start or b.date_end < a.date_start))
  or (a.kind = 'text')
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
        key.format(x=x, X=x.upper()): text.format(x=x, X=x.upper())
        for x in ("a", "b")
        for key, text in _PAIR.items()
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


def build_database(validation: Validation, path: Path) -> Path:
    """Write facts.db from valid facts: a temporary file, renamed into place when complete."""
    if not validation.ok:
        raise ValueError("refusing to build from facts with problems")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        _write(validation, Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _insert(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Insert rows with one executemany: sqlite-utils' insert_all is 4-5x slower at scale."""
    if rows:
        columns = list(rows[0])
        values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        insert_tuples(db, table, columns, map(values, rows))


def insert_tuples(db: sqlite_utils.Database, table: str, columns: list[str], rows) -> None:
    """Insert rows given as tuples of the columns' values, with one executemany."""
    sql = "insert into [{}] ({}) values ({})".format(
        table, ", ".join(f"[{c}]" for c in columns), ", ".join("?" for _ in columns)
    )
    db.conn.executemany(sql, rows)


def _link_order(table: str):
    """Link rows sort by their primary key (which the old sort, by every value, amounted to)."""
    return itemgetter(*LINK_TABLES[table].pk)


# The tables a shard holds (see scripts/sharding.py), each with the order of its rows.
SHARD_TABLES = {
    "claims": "id",
    "claim_entities": "claim_id, entity_id",
    "claim_via": "claim_id, entity_id",
    "sentences": "source_id, position",
}


def write_claims(db: sqlite_utils.Database, validation: Validation) -> list[tuple]:
    """Insert the rows of validation.facts.claims into the claim tables, in a stable order.

    Returns what answer_rows needs of the claims that answer a topic, in id order.
    """
    columns = list(table_columns("claims"))
    rows = sorted(claim_rows(validation), key=itemgetter(columns.index("id")))
    insert_tuples(db, "claims", columns, rows)
    for table, links in claim_link_rows(validation).items():
        _insert(db, table, sorted(links, key=_link_order(table)))
    inputs = itemgetter(*(columns.index(name) for name in ANSWER_INPUTS))
    topic, key = columns.index("topic"), columns.index("answer_key")
    return [inputs(row) for row in rows if row[topic] is not None and row[key] is not None]


def _merge_shards(db: sqlite_utils.Database, count: int) -> None:
    """Copy the tables of the attached shards shard0..shardN, in the serial build's order."""
    for table, order in SHARD_TABLES.items():
        union = " union all ".join(f"select * from shard{i}.[{table}]" for i in range(count))
        db.execute(f"insert into main.[{table}] select * from ({union}) order by {order}")


WRITE_STEPS = ("registries", "claims and sentences", "indexes", "full-text search", "statistics")


class _Steps:
    """The steps of writing the database, on a bar where the database is large."""

    def __init__(self, claims: int) -> None:
        self.bar = progress_bar(len(WRITE_STEPS), "Writing the database", "step", size=claims)
        self.names = iter(WRITE_STEPS)
        self.bar.set_postfix_str(next(self.names))

    def done(self) -> None:
        """The current step is done: count it and name the next."""
        self.bar.update(1)
        self.bar.set_postfix_str(next(self.names, ""))


def _write(validation: Validation, path: Path) -> None:
    steps = _Steps((validation.counts or {}).get("claims", len(validation.facts.claims)))
    try:
        _write_steps(validation, path, steps)
    finally:
        steps.bar.close()


def _write_steps(validation: Validation, path: Path, steps: _Steps) -> None:
    db = sqlite_utils.Database(path, recreate=True)
    # a temporary file, thrown away on failure: no journal, no syncs until the end
    db.execute("pragma journal_mode = off")
    db.execute("pragma synchronous = off")
    db.execute("pragma foreign_keys = on")
    create_tables(db)
    for number, shard in enumerate(validation.shards):  # outside any transaction
        db.execute(f"attach database ? as shard{number}", [str(shard)])
    with db.conn:
        for table, rows in (
            ("sources", source_rows(validation)),
            ("entities", entity_rows(validation)),
            ("topics", topic_rows(validation)),
        ):
            _insert(db, table, sorted(rows, key=itemgetter("id")))
        for table, rows in registry_link_rows(validation).items():
            _insert(db, table, sorted(rows, key=_link_order(table)))
        steps.done()
        if validation.shards:  # a sharded validation: claims and sentences in shards, answers made
            _merge_shards(db, len(validation.shards))
            answers = validation.answers
        else:
            answers = answer_rows(validation, write_claims(db, validation))
            sentences = sorted(sentence_rows(source_sentences(validation)), key=itemgetter(0, 1))
            insert_tuples(db, "sentences", list(SENTENCE_COLUMNS), sentences)
        _insert(db, "answers", answers)
    steps.done()
    for number in range(len(validation.shards)):
        db.execute(f"detach database shard{number}")
    create_indexes(db)  # after the rows: one sort per index, not a b-tree update per row
    steps.done()
    for table, columns in FTS_COLUMNS.items():
        db[table].enable_fts(columns, fts_version="FTS5", create_triggers=False)
    steps.done()
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())
    db.execute("analyze")
    db.conn.commit()
    db.close()
    with open(path, "rb+") as handle:  # on disk before it replaces the previous database
        os.fsync(handle.fileno())
    steps.done()


def create_tables(db: sqlite_utils.Database) -> None:
    for table in ("sources", "entities", "topics", "claims"):
        db[table].create(
            table_columns(table),
            pk="id",
            foreign_keys=FOREIGN_KEYS.get(table, []),
            not_null=["id"],
        )
    db["answers"].create(
        {name: kind for name, (kind, _) in ANSWER_COLUMNS.items()},
        pk=("topic", "answer"),
        foreign_keys=[("topic", "topics", "id")],
    )
    db["sentences"].create(
        {name: kind for name, (kind, _) in SENTENCE_COLUMNS.items()},
        pk=("source_id", "position"),
        foreign_keys=[("source_id", "sources", "id")],
    )
    for table, link in LINK_TABLES.items():
        db[table].create(
            {name: kind for name, (_, kind, _) in link.columns.items()},
            pk=link.pk,
            foreign_keys=[
                (name, other, "id") for name, (other, _, _) in link.columns.items() if other
            ],
        )


def create_indexes(db: sqlite_utils.Database) -> None:
    """Indexes on the columns pages sort and filter claims by, then on every foreign key that
    no index (a primary key's included) already starts with."""
    for table, columns in (
        ("claims", ["date_start", "date_end", "id"]),
        ("claims", ["topic", "answer_key"]),
        ("claims", ["topic", "date_start"]),
        ("claims", ["assertion"]),
        ("claims", ["date_precision"]),
        ("claims", ["origin"]),
    ):
        db[table].create_index(columns, if_not_exists=True)
    for table in db.tables:
        leading = {index.columns[0] for index in table.indexes if index.columns}
        for key in table.foreign_keys:
            if key.column not in leading:
                table.create_index([key.column], if_not_exists=True)
