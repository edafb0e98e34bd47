"""Records to table rows: pure functions of the records, used by building and by the workers of a
sharded check (which prepare their claims' rows, `results.PreparedRows`, for building to write)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from operator import attrgetter, itemgetter

from factdb.comparing import DATE_END, DATE_START, Answer, Days, compare_answers
from factdb.coverage import Quotes, id_list, sentence_rows_of
from factdb.loading import Located
from factdb.results import AnswerInput, ProvedDate, QuoteSpan, Row
from factdb.schema.dates import parse_edtf
from factdb.schema.models import Claim, Entity, Event, Source, Topic
from factdb.tables import model_columns, table_columns


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


_UNPROVED = ProvedDate(None, None, None, ())


def date_sort_key(start: str | None, end: str | None, record_id: str) -> str:
    """Where a dated record stands in date order (the sort_key of claims and events): its first
    possible day, or its last where the start is open (an 'on or before' date stands at the day
    it names, not before every other), '~' (after every date) where it has neither; then a
    space and its id. Never null, and unique as the id is, so Datasette pages by it without
    losing or repeating rows (docs/pages.md, "Paging and exports")."""
    return f"{start or end or '~'} {record_id}"


def source_rows(
    sources: Iterable[Located[Source]], texts: Mapping[str, str], dates: Mapping[str, ProvedDate]
) -> list[dict]:
    """Rows of the sources table, each with its seed's full text and its proved publication."""
    rows, columns = [], set(table_columns("sources"))
    for located in sources:
        source = located.record
        written = parse_edtf(source.published)
        proved = dates.get(f"source:{source.id}", _UNPROVED)
        row = source.model_dump(include=columns)
        row.update(
            label=source.name or source.title or source.id,
            published_start=_iso(written.start),
            published_end=_iso(written.end),
            text=texts.get(source.id),
            proved=proved.edtf,
            proved_start=proved.start,
            proved_end=proved.end,
            published_proof=id_list(list(proved.proof)),
        )
        rows.append(row)
    return rows


def event_rows(
    events: Iterable[Located[Event]], dates: Mapping[str, ProvedDate], reported: Mapping[str, int]
) -> list[dict]:
    """Rows of the events table, each with the date the claims prove and how many report it."""
    rows, columns = [], set(table_columns("events"))
    for located in events:
        event = located.record
        proved = dates.get(f"event:{event.id}", _UNPROVED)
        row = event.model_dump(include=columns)
        row.update(
            about=id_list(event.about),
            date=proved.edtf,
            date_start=proved.start,
            date_end=proved.end,
            date_proof=id_list(list(proved.proof)),
            claims=reported.get(event.id, 0),
            sort_key=date_sort_key(proved.start, proved.end, event.id),
        )
        rows.append(row)
    return rows


def entity_rows(entities: Iterable[Located[Entity]]) -> list[dict]:
    """Rows of the entities table."""
    rows = []
    for located in entities:
        entity = located.record
        row = entity.model_dump(include=set(table_columns("entities")))
        row["aliases"] = json.dumps(entity.aliases, ensure_ascii=False)
        # in name order, then id: a tab sorts before any other character a name can hold
        row["sort_key"] = f"{entity.name}\t{entity.id}"
        rows.append(row)
    return rows


def topic_rows(topics: Iterable[Located[Topic]]) -> list[dict]:
    """Rows of the topics table."""
    return [t.record.model_dump(include=set(table_columns("topics"))) for t in topics]


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


_NO_SPAN = QuoteSpan("", None, None)  # type: ignore[arg-type]  # a claim whose quote is unplaced


def claim_rows(
    claims: Iterable[Located[Claim]], topics: Mapping[str, Topic], spans: Mapping[str, QuoteSpan]
) -> list[Row]:
    """Rows of the claims table, as tuples in the order of table_columns("claims")."""
    fields = attrgetter(*model_columns("claims"))
    rows = []
    for located in claims:
        claim = located.record
        span = spans.get(claim.id, _NO_SPAN)
        topic = topics.get(claim.topic) if claim.topic else None
        dates = _date_columns(claim.date)
        rows.append(
            (
                *fields(claim),
                *dates,  # date_start, date_end, date_precision, date_qualifier
                id_list(claim.about),  # about
                id_list(claim.via),  # via
                claim.via[0] if claim.via else claim.source,  # origin
                answer_key(claim, topic),  # answer_key
                claim.value_min if claim.value_min is not None else claim.value,  # value_low
                claim.value_max if claim.value_max is not None else claim.value,  # value_high
                span.start,  # quote_start
                span.end,  # quote_end
                located.path,  # file
                located.line,  # line
                id_list(claim.when),  # when
                date_sort_key(dates[0], dates[1], claim.id),  # sort_key
            )
        )
    return rows


_CLAIM_COLUMNS = list(table_columns("claims"))
_CLAIM_ID = _CLAIM_COLUMNS.index("id")
_ANSWER_INDEXES = [_CLAIM_COLUMNS.index(name) for name in AnswerInput._fields]


def answer_inputs(rows: Iterable[Row]) -> list[AnswerInput]:
    """What answer_rows needs of the claims (as claim_rows made them) that answer a topic."""
    topic, key = _CLAIM_COLUMNS.index("topic"), _CLAIM_COLUMNS.index("answer_key")
    return [
        AnswerInput(*(row[i] for i in _ANSWER_INDEXES))
        for row in rows
        if row[topic] is not None and row[key] is not None
    ]


Groups = dict[tuple[str, str], list[AnswerInput]]  # see answer_groups
AnswerDays = dict[int, tuple[str | None, str | None]]  # see answer_days


def answer_rows(
    topics: Mapping[str, Topic],
    names: Mapping[str, str],
    groups: Groups,
    days: AnswerDays | None = None,
) -> list[dict]:
    """One row per topic and distinct answer, with who gives it and how independently.

    `groups`: answer_groups of the claims that answer a topic; `names`: entity id -> name;
    `days`: answer_days of the groups, where already worked out.
    """
    days = answer_days(groups) if days is None else days
    return [
        _answer_row(topics[topic_id], answer, members, names, days[id(members)])
        for (topic_id, answer), members in groups.items()
    ]


def answer_days(groups: Groups) -> AnswerDays:
    """Each answer's first and last day, by the identity of its claims: worked out once for
    the answers table and the comparisons (a million claims: seconds)."""
    return {id(members): _first_and_last(members) for members in groups.values()}


def answer_groups(claims: Iterable[AnswerInput]) -> dict[tuple[str, str], list[AnswerInput]]:
    """The claims that give each answer, by (topic, answer key), in that order."""
    groups: dict[tuple[str, str], list[AnswerInput]] = {}
    for claim in claims:
        groups.setdefault((claim.topic, claim.answer_key), []).append(claim)
    return dict(sorted(groups.items()))


def _answer_row(
    topic: Topic,
    answer: str,
    members: list[AnswerInput],
    names: Mapping[str, str],
    days: tuple[str | None, str | None],
) -> dict:
    """The row of one answer to a topic, from the claims that give it and their first and
    last day."""
    first = members[0]
    quantity, when = topic.kind == "quantity", topic.kind == "date"
    first_date, last_date = days
    # each column once, at C speed (an answer at 1M claims has 4,000 of them), in claim order
    claimants, sources, origins, ids = zip(*map(_ANSWER_PARTS, members), strict=True)
    named = dict.fromkeys(
        names.get(claimant or "", "The article itself") for claimant in dict.fromkeys(claimants)
    )
    first_sources, first_origins = dict.fromkeys(sources), dict.fromkeys(origins)
    return {
        "topic": topic.id,
        "answer": answer,
        "kind": topic.kind,
        "unit": first.unit if quantity else None,
        "low": first.value_low if quantity else None,
        "high": first.value_high if quantity else None,
        "date_start": first.date_start if when else None,
        "date_end": first.date_end if when else None,
        "claims": len(members),
        "articles": len(first_sources),
        "independent_origins": len(first_origins),
        "claimants": json.dumps(list(named), ensure_ascii=False),
        "sources": id_list(list(first_sources)),
        "origins": id_list(list(first_origins)),
        "claim_ids": id_list(list(ids)),
        "first_date": first_date,
        "last_date": last_date,
    }


def comparison_rows(
    topics: Mapping[str, Topic], groups: Groups, days: AnswerDays | None = None
) -> list[dict]:
    """One row per topic and pair of its distinct answers (answer_a before answer_b): how the
    two relate (conflict, unclear-time, update, close or compatible) and why; see `comparing`.

    `groups`: answer_groups of the claims that answer a topic, and `days`, as for answer_rows.
    """
    answers: dict[str, list[Answer]] = {}
    for (topic_id, key), members in groups.items():
        answers.setdefault(topic_id, []).append(Answer(key, members))
    days = answer_days(groups) if days is None else days
    shared = Days()  # each answer's dates read once for all its pairs
    return [
        _comparison_row(topics[topic_id], a, b, days, shared)
        for topic_id, given in answers.items()
        for index, a in enumerate(given)
        for b in given[index + 1 :]
    ]


_ANSWER_PARTS = attrgetter("claimant", "source", "origin", "id")


def _first_and_last(claims: list[AnswerInput]) -> tuple[str | None, str | None]:
    """The first day any of the claims names, and the last (None where none does)."""
    starts = list(filter(None, map(DATE_START, claims)))
    ends = list(filter(None, map(DATE_END, claims)))
    return min(starts) if starts else None, max(ends) if ends else None


def _comparison_row(
    topic: Topic,
    a: Answer,
    b: Answer,
    days: AnswerDays,
    shared: Days,
) -> dict:
    """The row of one pair of answers to a topic (`days`: each answer's first and last day,
    by the identity of its claims, worked out once for all its pairs)."""
    relation, reason = compare_answers(topic, a, b, shared)
    row = {
        "topic": topic.id,
        "answer_a": a.key,
        "answer_b": b.key,
        "relation": relation,
        "reason": reason,
        "unit_a": a.claims[0].unit if topic.kind == "quantity" else None,
        "unit_b": b.claims[0].unit if topic.kind == "quantity" else None,
    }
    for side, answer in (("a", a), ("b", b)):
        row[f"first_date_{side}"], row[f"last_date_{side}"] = days[id(answer.claims)]
    return row


def registry_link_rows(
    sources: Iterable[Located[Source]], entities: Iterable[Located[Entity]]
) -> dict[str, list[dict]]:
    """Rows of the link tables of sources and entities."""
    return {
        "aliases": [
            {"entity_id": e.record.id, "alias": alias}
            for e in entities
            for alias in dict.fromkeys(e.record.aliases)
        ],
        "source_reports_from": [
            {"source_id": s.record.id, "entity_id": e}
            for s in sources
            for e in dict.fromkeys(s.record.reports_from)
        ],
    }


def claim_link_rows(claims: Iterable[Located[Claim]]) -> dict[str, list[Row]]:
    """Rows of the link tables of claims, as (claim_id, entity_id[, position]) tuples."""
    claims = list(claims)
    return {
        "claim_entities": [(c.record.id, e) for c in claims for e in dict.fromkeys(c.record.about)],
        "claim_via": [(c.record.id, e, i) for c in claims for i, e in enumerate(c.record.via)],
    }


@dataclass
class ClaimTables:
    """The rows of the claim tables for some claims, each table sorted by its key."""

    claims: list[Row]
    links: dict[str, list[Row]]

    @property
    def answers(self) -> list[AnswerInput]:
        """What the answers table needs of these claims (a sharded build's workers do not ask:
        the answers are made from the shards; making them there cost 2 % of the work at 100k)."""
        return answer_inputs(self.claims)


def claim_tables(
    claims: Iterable[Located[Claim]], topics: Mapping[str, Topic], spans: Mapping[str, QuoteSpan]
) -> ClaimTables:
    """Every claim table's rows for these claims, in a stable order (by id, then the link)."""
    claims = list(claims)
    rows = sorted(claim_rows(claims, topics, spans), key=lambda row: row[_CLAIM_ID])
    links = {table: sorted(found) for table, found in claim_link_rows(claims).items()}
    return ClaimTables(rows, links)


def sentence_table(sources: list[Source], texts: Mapping[str, str], quotes: Quotes) -> list[Row]:
    """Rows of the sentences table for these sources, sorted by source and position."""
    return sorted(sentence_rows_of(sources, texts, quotes), key=itemgetter(0, 1))
