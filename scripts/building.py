"""Building facts.db from a validation: the only module that writes the database.

The database is written into a temporary file beside its destination and renamed into place
when complete, so a failed build never damages the last good one. Rows come from `rows` (made
here from the records, or prepared by the workers of a sharded check), the shape from `tables`;
the rows of every table are written in the same order whichever way they were made.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path

import sqlite_utils

from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.coverage import source_sentences
from factdb.progress import progress_bar
from factdb.results import AnswerInput, PreparedRows, Row, Validation
from factdb.rows import (
    answer_rows,
    claim_tables,
    entity_rows,
    registry_link_rows,
    sentence_table,
    source_rows,
    topic_rows,
)
from factdb.tables import (
    FTS_COLUMNS,
    LINK_TABLES,
    VIEWS,
    create_indexes,
    create_tables,
    insert_tuples,
    table_columns,
)

# The tables whose rows a sharded check prepares, each with the order its rows are written in.
PREPARED_TABLES = {
    "claims": "id",
    "claim_entities": "claim_id, entity_id",
    "claim_via": "claim_id, entity_id",
    "sentences": "source_id, position",
}
WRITE_STEPS = ("registries", "claims and sentences", "indexes", "full-text search", "statistics")


class BuildError(ValueError):
    """The validation cannot be built: it has problems, or lacks the rows of its claims."""


def build_database(validation: Validation, path: Path) -> Path:
    """Write the database from a valid tree: a temporary file, renamed into place when complete."""
    if not validation.ok:
        raise BuildError("refusing to build from facts with problems")
    if not validation.complete and validation.prepared is None:
        raise BuildError(
            "the claims were checked on several processes without their rows: "
            "validate with for_build=True"
        )
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


def _insert_sorted(db: sqlite_utils.Database, table: str, rows: Iterable[dict]) -> None:
    """Insert a main or link table's rows (dicts) in the order of its primary key."""
    key = itemgetter(*LINK_TABLES[table].pk) if table in LINK_TABLES else itemgetter("id")
    _insert(db, table, sorted(rows, key=key))


def _write_registries(db: sqlite_utils.Database, validation: Validation) -> None:
    """The sources, entities and topics, and their link tables."""
    facts = validation.facts
    _insert_sorted(db, "sources", source_rows(facts.sources, validation.texts))
    _insert_sorted(db, "entities", entity_rows(facts.entities))
    _insert_sorted(db, "topics", topic_rows(facts.topics))
    for table, rows in registry_link_rows(facts.sources, facts.entities).items():
        _insert_sorted(db, table, rows)


def _insert_rows(db: sqlite_utils.Database, table: str, rows: Iterable[Row]) -> None:
    """Insert rows (tuples in the order of the table's columns) into a table of the database."""
    if table in LINK_TABLES:
        columns = list(LINK_TABLES[table].columns)
    elif table == "sentences":
        columns = list(SENTENCE_COLUMNS)
    else:
        columns = list(table_columns(table))
    insert_tuples(db, table, columns, rows)


def _write_claims(db: sqlite_utils.Database, validation: Validation) -> list[AnswerInput]:
    """The claims, their links and the sentences, made here from every claim of the validation;
    returns what the answers table needs of them."""
    facts = validation.facts
    topics = {t.record.id: t.record for t in facts.topics}
    tables = claim_tables(facts.claims, topics, validation.spans)
    _insert_rows(db, "claims", tables.claims)
    for table, rows in tables.links.items():
        _insert_rows(db, table, rows)
    sources = [located.record for located in facts.sources]
    sentences = source_sentences(sources, validation.texts, validation.spans)
    _insert_rows(db, "sentences", sentence_table(sentences))
    return tables.answers


def _write_prepared(db: sqlite_utils.Database, prepared: PreparedRows) -> list[AnswerInput]:
    """The claims, their links and the sentences from rows the workers prepared: batch by batch
    into temporary tables, then into the database in the order of a build made here."""
    for table in PREPARED_TABLES:
        db.execute(f"create temp table [{table}] as select * from main.[{table}] where 0")
    for table, rows in prepared.tables():
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            db.conn.executemany(f"insert into temp.[{table}] values ({marks})", rows)
    for table, order in PREPARED_TABLES.items():
        db.execute(f"insert into main.[{table}] select * from temp.[{table}] order by {order}")
        db.execute(f"drop table temp.[{table}]")
    return prepared.answers


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
    steps = _Steps(validation.count("claims"))
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
    with db.conn:
        _write_registries(db, validation)
        steps.done()
        if validation.prepared is not None:
            answers = _write_prepared(db, validation.prepared)
        else:
            answers = _write_claims(db, validation)
        topics = {t.record.id: t.record for t in validation.facts.topics}
        names = {e.record.id: e.record.name for e in validation.facts.entities}
        _insert(db, "answers", answer_rows(topics, names, answers))
    steps.done()
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
