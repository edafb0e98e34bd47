"""Building facts.db from a validation: the only module that writes the database.

The database is written into a temporary file beside its destination and renamed into place
when complete, so a failed build never damages the last good one. Its scratch folder
(`.facts.db.<pid>-<random>.tmp`) is named by the building process, and a build removes those
of builds that were killed. Rows come from `rows` (made here from the records, or prepared by
the workers of a sharded check), the shape from `tables`; the rows of every table are written
in the same order whichever way they were made.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import pairwise
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import factdb.profiling as profiling
from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.coverage import quotes_by_source
from factdb.database import sqlite_utils
from factdb.processes import forked_pool, remove_orphans, scratch_prefix
from factdb.progress import progress_bar
from factdb.proving import claim_date_rows
from factdb.results import AnswerInput, PreparedRows, Row, ShardPart, Validation
from factdb.rows import (
    answer_days,
    answer_groups,
    answer_rows,
    claim_tables,
    comparison_rows,
    entity_rows,
    event_rows,
    registry_link_rows,
    sentence_table,
    source_rows,
    topic_rows,
)
from factdb.tables import (
    CLAIM_DATE_COLUMNS,
    FTS_COLUMNS,
    LINK_TABLES,
    VIEWS,
    create_indexes,
    create_tables,
    insert_tuples,
    table_columns,
)

# The tables whose rows a sharded check prepares, each with the columns its rows are ordered by.
PREPARED_TABLES = {
    "claims": ("id",),
    "claim_entities": LINK_TABLES["claim_entities"].pk,
    "claim_via": LINK_TABLES["claim_via"].pk,
    "sentences": ("source_id", "position"),
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
    remove_orphans(path.parent, f".{path.name}.", ".tmp")  # what killed builds left
    with tempfile.TemporaryDirectory(
        prefix=scratch_prefix(f".{path.name}."), suffix=".tmp", dir=path.parent
    ) as scratch:
        temporary = Path(scratch) / path.name
        try:
            _write(validation, temporary, Path(scratch))
        except sqlite3.IntegrityError as error:  # a rule validate should have checked: a bug
            raise BuildError(
                f"the database refused the rows ({error}), though the facts were validated: "
                "nothing was written; please report it"
            ) from error
        os.replace(temporary, path)
    return path


def _insert(db: sqlite_utils.Database, table: str, rows: list[dict]) -> None:
    """Insert rows with one executemany: sqlite-utils' insert_all is 4-5x slower at scale."""
    if rows:
        columns = list(rows[0])
        values = itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))
        insert_tuples(db, table, columns, map(values, rows))


_ID = itemgetter("id")


def _insert_sorted(db: sqlite_utils.Database, table: str, rows: Iterable[dict]) -> None:
    """Insert a main or link table's rows (dicts) in the order of its primary key."""
    key = itemgetter(*LINK_TABLES[table].pk) if table in LINK_TABLES else _ID
    _insert(db, table, sorted(rows, key=key))


def _write_registries(
    db: sqlite_utils.Database, validation: Validation, dated_beside: bool = False
) -> None:
    """The sources, entities, topics and events, and their link tables; `dated_beside`: not the
    sources and events, whose rows carry proved dates, which the processes beside write (see
    BESIDE)."""
    facts = validation.facts
    if not dated_beside:
        _write_sources(db, validation)
    _insert_sorted(db, "entities", entity_rows(facts.entities))
    _insert_sorted(db, "topics", topic_rows(facts.topics))
    if not dated_beside:
        _write_events(db, validation)
    for table, rows in registry_link_rows(facts.sources, facts.entities).items():
        _insert_sorted(db, table, rows)


def _write_sources(db: sqlite_utils.Database, validation: Validation) -> list[dict]:
    """The sources table; its rows, in the order of their ids."""
    facts = validation.facts
    rows = sorted(source_rows(facts.sources, validation.texts, validation.dates), key=_ID)
    _insert(db, "sources", rows)
    return rows


def _write_events(db: sqlite_utils.Database, validation: Validation) -> None:
    facts = validation.facts
    _insert_sorted(db, "events", event_rows(facts.events, validation.dates, validation.reported))


def _columns(table: str) -> list[str]:
    """The columns of a table whose rows are tuples, in their order."""
    if table in LINK_TABLES:
        return list(LINK_TABLES[table].columns)
    if table == "sentences":
        return list(SENTENCE_COLUMNS)
    return list(table_columns(table))


def _insert_rows(db: sqlite_utils.Database, table: str, rows: list[Row]) -> None:
    """Insert rows (tuples in the order of the table's columns) into a table of the database,
    naming only the columns some row has a value in: one left out is NULL, as the rows say (no
    table has a default), and each NULL bound costs sqlite3 a search for an adapter (a chunk's
    1,000 claims, 5 of their 33 columns empty: 5.4 -> 4.5 ms)."""
    columns = _columns(table)
    values = list(zip(*rows, strict=True))  # column by column
    kept = [index for index, column in enumerate(values) if column.count(None) < len(column)]
    if len(kept) == len(columns) or not rows:
        insert_tuples(db, table, columns, rows)
    else:
        present = [values[index] for index in kept]
        insert_tuples(db, table, [columns[i] for i in kept], zip(*present, strict=True))


def _write_claims(db: sqlite_utils.Database, validation: Validation) -> list[AnswerInput]:
    """The claims, their links and the sentences, made here from every claim of the validation;
    returns what the answers table needs of them."""
    facts = validation.facts
    tables = claim_tables(facts.claims, facts.by_id("topics"), validation.spans)
    _insert_rows(db, "claims", tables.claims)
    for table, rows in tables.links.items():
        _insert_rows(db, table, rows)
    sources = [located.record for located in facts.sources]
    quotes = quotes_by_source(validation.spans)
    _insert_rows(db, "sentences", sentence_table(sources, validation.texts, quotes))
    return tables.answers


# The database's pages: 16 KiB, where SQLite's default is 4 KiB. A 100k build's merge of the
# shards took 0.56-0.61 s against 0.69-1.05 s, its statistics 0.24-0.27 against 0.32-0.35 s
# (3 alternated runs each); the pages Datasette serves from it were as fast (4 alternated
# rounds). The five articles' database is 1.2 MB where it was 0.7 MB: each table and index
# takes at least a page.
PAGE_SIZE = 16_384


def new_database(path: Path) -> sqlite_utils.Database:
    """A new, empty database file at `path` (one there is replaced), in pages of PAGE_SIZE,
    written with no journal and no syncs: a scratch file, or a build's temporary file, which a
    failure throws away."""
    db = sqlite_utils.Database(path, recreate=True)
    db.execute(f"pragma page_size = {PAGE_SIZE}")  # before the first table makes the file
    db.execute("pragma journal_mode = off")
    db.execute("pragma synchronous = off")
    return db


_OPEN_SHARDS: dict[Path, sqlite_utils.Database] = {}  # this process's shard, kept open


def write_prepared(directory: Path, tables: Mapping[str, list[Row]]) -> list[ShardPart]:
    """Write rows a sharded check prepared (claims, their links, sentences) into this process's
    shard database in `directory`, made when first written to; returns where they were written.

    A worker writes every chunk it checks into its shard, as it goes (they were files of
    marshalled rows, which a pool of processes wrote into shards after the check: at a million
    claims, 16 s of each core while the main process went on, twice the work)."""
    path = directory / f"shard-{os.getpid()}.db"  # a forked process never writes its parent's
    shard = _OPEN_SHARDS.get(path)
    if shard is None:
        shard = _OPEN_SHARDS[path] = new_database(path)  # a scratch file, merged then deleted
        for table in PREPARED_TABLES:  # no keys: the check finds repeats, the merge orders
            columns = ", ".join(f"[{column}]" for column in _columns(table))
            shard.execute(f"create table [{table}] ({columns})")
    parts = []
    with shard.conn:
        for table, rows in tables.items():
            if not rows:
                continue
            (before,) = shard.execute(f"select coalesce(max(rowid), 0) from [{table}]").fetchone()
            _insert_rows(shard, table, rows)  # rowids before+1.. (never deleted from: in turn)
            parts.append(_part(path, table, rows, before + 1))
    return parts


def _part(shard: Path, table: str, rows: list[Row], low: int) -> ShardPart:
    """The part of a shard some rows of a table were written to, from rowid `low` on."""
    columns = _columns(table)
    keys = list(map(itemgetter(*(columns.index(c) for c in PREPARED_TABLES[table])), rows))
    if all(before < after for before, after in pairwise(keys)):
        return ShardPart(shard, table, low, low + len(rows) - 1, keys[0], keys[-1], True)
    return ShardPart(shard, table, low, low + len(rows) - 1, min(keys), max(keys), False)


def _close_shards() -> None:
    """Close the shards this process wrote to (the main one writes the claims it read itself)."""
    while _OPEN_SHARDS:
        _OPEN_SHARDS.popitem()[1].close()


def _write_answers(
    db: sqlite_utils.Database, validation: Validation, answers: list[AnswerInput]
) -> None:
    """The answers to each topic, and how the answers to a topic compare."""
    topics = validation.facts.by_id("topics")
    names = {e.record.id: e.record.name for e in validation.facts.entities}
    groups = answer_groups(answers)
    days = answer_days(groups)
    _insert(db, "answers", answer_rows(topics, names, groups, days))
    _insert(db, "comparisons", comparison_rows(topics, groups, days))


def _write_claim_dates(db: sqlite_utils.Database, validation: Validation) -> None:
    columns = list(CLAIM_DATE_COLUMNS)
    insert_tuples(db, "claim_dates", columns, claim_date_rows(validation.dates))


_SIDE_VALIDATION: list[Validation] = []  # in the forked process: what it was forked with


def _side_database(path: Path, prepared: PreparedRows) -> sqlite_utils.Database:
    """A scratch database of every table, with the shards attached (see `_attach_shards`)."""
    side = new_database(path)  # a scratch file, copied then deleted
    create_tables(side)
    _attach_shards(side, prepared)
    return side


def _attach_shards(db: sqlite_utils.Database, prepared: PreparedRows) -> None:
    """Attach every shard, as shard0, shard1, ... in the order of `prepared.shards` (outside
    any transaction, which attaching cannot be in)."""
    db.conn.commit()
    for number, shard in enumerate(prepared.shards):
        db.execute(f"attach database ? as shard{number}", [str(shard)])


Query = tuple[str, list[int]]  # a query, with its parameters


def _in_order(
    prepared: PreparedRows, table: str, columns: Sequence[str], one_query: bool = False
) -> list[Query]:
    """Queries that give, one after another, some columns of a table's rows from the shards
    attached, in the order of the table's keys, each row's place in that order first.

    Where the parts of the shards are each in order and their ranges of keys do not overlap
    (a chunk of claim files holds ids of its own, as files of ids in order do), each part is read
    in turn by its rowids, and nothing is sorted (merging the claims, links and sentences at 100k
    claims 1.15-1.42 s -> 0.64-0.77 s, at 1M 19.2 s -> 7.0 s, alone); else, or for `one_query`,
    every shard's rows are sorted together (no query where no shard holds any). An FTS5 index is
    written by one query: it flushes what it holds at each statement, so that a statement per
    part would give another index than one build does."""
    names = {shard: f"shard{number}" for number, shard in enumerate(prepared.shards)}
    wanted = ", ".join(f"[{column}]" for column in columns)
    parts = sorted((p for p in prepared.parts if p.table == table), key=attrgetter("first"))
    if not parts:
        return []
    apart = all(p.ordered for p in parts) and all(a.last < b.first for a, b in pairwise(parts))
    if one_query or not apart:
        order = ", ".join(f"[{column}]" for column in PREPARED_TABLES[table])
        shards = dict.fromkeys(names[part.shard] for part in parts)
        union = " union all ".join(f"select * from {name}.[{table}]" for name in shards)
        number = f"row_number() over (order by {order})"
        return [(f"select {number}, {wanted} from ({union}) order by {order}", [])]
    queries, before = [], 0
    for part in parts:
        where = f"from {names[part.shard]}.[{table}] where rowid between ? and ?"
        queries.append(
            (f"select rowid + ?, {wanted} {where}", [before + 1 - part.low, part.low, part.high])
        )
        before += part.count
    return queries


def _side_answers(
    side: sqlite_utils.Database, validation: Validation, prepared: PreparedRows
) -> None:
    """The answers and comparisons, from what the shards hold of the claims that answer."""
    with side.conn:
        _write_answers(side, validation, _answer_inputs(side, prepared))


def _side_dates(side: sqlite_utils.Database, validation: Validation, _: PreparedRows) -> None:
    """The claim dates, then the events, from the dates the validation proved (an event's proof
    is its claims' but for their own ids: worked out once, for both)."""
    with side.conn:
        _write_claim_dates(side, validation)
        _write_events(side, validation)


def _answer_inputs(side: sqlite_utils.Database, prepared: PreparedRows) -> list[AnswerInput]:
    """What the answers table needs of every claim that answers a topic, read from the shards
    (the workers once sent them back, pickled: at 1M claims, a gigabyte in the main process).

    SQLite gives a new string for each value read; every value but the id is kept once, as the
    first string read with that text. A million claims' repeated strings were half a gigabyte
    of pages new to the forked process: this process went from 8.1-9.7 s to 5.7 s at 1M
    (system time 1.7-3.6 -> 0.5 s)."""
    columns = ", ".join(f"[{name}]" for name in AnswerInput._fields)
    answering = "topic is not null and answer_key is not null"
    answers = []
    once: dict[Any, Any] = {}
    kept = once.setdefault
    for query, parameters in _in_order(prepared, "claims", list(AnswerInput._fields)):
        for row in side.execute(f"select {columns} from ({query}) where {answering}", parameters):
            claim, topic, key, claimant, source, origin, unit, low, high, hedged, start, end = row
            answers.append(
                AnswerInput(
                    claim,
                    kept(topic, topic),
                    kept(key, key),
                    kept(claimant, claimant),
                    kept(source, source),
                    kept(origin, origin),
                    kept(unit, unit),
                    low,
                    high,
                    bool(hedged),  # stored as 0 or 1
                    kept(start, start),
                    kept(end, end),
                )
            )
    return answers


TEXT_FTS = ("claims", "sources", "entities")  # the full-text indexes _index_side_text makes


def _index_side_text(
    side: sqlite_utils.Database, validation: Validation, prepared: PreparedRows
) -> None:
    """The sources table, and the claims', sources' and entities' full-text indexes as the main
    process would make them: their rows in the order of their ids, numbered as the database's
    rowids will be (its claims, sources and entities are written in that order, into empty
    tables)."""
    for table in TEXT_FTS:  # the tables are empty here: the same index, empty
        side.table(table).enable_fts(FTS_COLUMNS[table], fts_version="FTS5", create_triggers=False)
    columns = ", ".join(f"[{column}]" for column in FTS_COLUMNS["claims"])
    with side.conn:
        for query, parameters in _in_order(prepared, "claims", FTS_COLUMNS["claims"], True):
            side.execute(f"insert into claims_fts (rowid, {columns}) {query}", parameters)
        registries = {
            "sources": _write_sources(side, validation),  # the table too: its rows are made here
            "entities": sorted(entity_rows(validation.facts.entities), key=_ID),
        }
        for table, rows in registries.items():
            names = FTS_COLUMNS[table]
            side.conn.executemany(
                f"insert into {table}_fts (rowid, {', '.join(names)}) "
                f"values (?, {', '.join('?' * len(names))})",
                ((number, *(row[name] for name in names)) for number, row in enumerate(rows, 1)),
            )


class Beside(NamedTuple):
    """What a process forked beside the main one writes, into a database of its own."""

    name: str  # of its database: side-<name>.db in the build's scratch folder
    write: Callable[[sqlite_utils.Database, Validation, PreparedRows], None]
    tables: tuple[str, ...] = ()  # copied row by row, in their order
    fts: tuple[str, ...] = ()  # tables whose full-text index it makes, copied shadow table by table


# Each in a process of its own (at 1M claims, with the claim dates beside the answers that
# process took 14.5 s, the full-text indexes' 6.7 s; the main process then waited for it)
BESIDE = (
    Beside("answers", _side_answers, tables=("answers", "comparisons")),
    Beside("dates", _side_dates, tables=("claim_dates", "events")),
    Beside("text", _index_side_text, tables=("sources",), fts=TEXT_FTS),
)
SIDE_FTS = tuple(table for beside in BESIDE for table in beside.fts)


def _write_side(path: Path, beside: Beside) -> Path:
    """Write what `beside` makes into a database of its own at `path` (in a forked process,
    from the shards and what it inherits, while the main one merges the shards and builds the
    indexes)."""
    validation = _SIDE_VALIDATION[0]
    assert validation.prepared is not None, "a sharded check's rows"
    side = _side_database(path, validation.prepared)
    beside.write(side, validation, validation.prepared)
    side.close()
    return path


def _copy_side(db: sqlite_utils.Database, made: Mapping[Beside, Path]) -> None:
    """Copy what the forked processes made: the rows of the tables, in their order, and the
    full-text indexes (the same virtual table, then the rows of its shadow tables, which hold
    the whole of an FTS5 index). A plain `insert ... select *` into an empty table of the same
    shape lets SQLite copy each row's record as it is (its "transfer optimisation", which an
    `order by` turns off; the rows come in rowid order either way): 79 -> 68 ms at 100k."""
    db.conn.commit()  # databases are attached outside any transaction
    for beside, path in made.items():
        db.execute("attach database ? as side", [str(path)])
        with db.conn:
            for table in beside.tables:
                db.execute(f"insert into main.[{table}] select * from side.[{table}]")
            for table in beside.fts:
                name = f"{table}_fts"
                query = "select sql from side.sqlite_master where name = ?"
                (sql,) = db.execute(query, [name]).fetchone()
                db.execute(sql)
                for shadow in (f"{name}_{part}" for part in ("data", "idx", "docsize", "config")):
                    db.execute(f"delete from main.[{shadow}]")
                    db.execute(f"insert into main.[{shadow}] select * from side.[{shadow}]")
        db.execute("detach database side")


BESIDE_STEP = (
    "written: full-text search / answers, comparisons, claim dates, "
    "claims', sources' and entities' FTS"
)


@contextlib.contextmanager
def _made_beside(
    validation: Validation, scratch: Path
) -> Iterator[Callable[[], dict[Beside, Path]] | None]:
    """For a sharded check's rows, start making what BESIDE names, each in a forked process;
    the function given waits for them and gives their databases (None: nothing is made beside,
    the claims being all in this process)."""
    if validation.prepared is None:
        yield None
        return
    _close_shards()  # before a fork, and before they are read
    inherited = (validation,)  # inherited by the forked processes, not pickled
    with forked_pool(len(BESIDE), _SIDE_VALIDATION.append, inherited) as pool:
        futures = {b: pool.submit(_write_side, scratch / f"side-{b.name}.db", b) for b in BESIDE}
        yield lambda: {beside: future.result() for beside, future in futures.items()}


def _merge_shards(db: sqlite_utils.Database, prepared: PreparedRows) -> None:
    """Copy the claims, their links and the sentences from the shards, in the order of a build
    made in one process (the same rowids too)."""
    _attach_shards(db, prepared)
    with db.conn:
        for table in PREPARED_TABLES:
            columns = _columns(table)
            into = f"main.[{table}] (rowid, {', '.join(f'[{c}]' for c in columns)})"
            for query, parameters in _in_order(prepared, table, columns):
                db.execute(f"insert into {into} {query}", parameters)
    for number in range(len(prepared.shards)):
        db.execute(f"detach database shard{number}")


def _check_references(db: sqlite_utils.Database) -> None:
    """Raise IntegrityError, naming the first such row, if a foreign key leads to no row
    (validate proves every reference: this is the database's own check of what was written)."""
    dangling = db.execute("pragma foreign_key_check").fetchone()
    if dangling is not None:
        table, rowid, parent, key = dangling
        keys = db.execute(f"pragma foreign_key_list([{table}])").fetchall()
        column = next(row[3] for row in keys if row[0] == key)
        raise sqlite3.IntegrityError(
            f"FOREIGN KEY constraint failed: {table}.{column} of row {rowid} names no {parent}"
        )


BUSY_TIMEOUT_MS = 3_600_000  # how long `analyze` may wait for the foreign-key check's reader


def _statistics(db: sqlite_utils.Database, path: Path) -> None:
    """The query planner's statistics (`analyze`), gathered while another connection, in a
    thread, checks the foreign keys (`_check_references`): SQLite lets the GIL go while a
    statement runs, and both only read the rows. `analyze` writes its table in a transaction
    committed once the check is done, so that it never waits for the reader's lock (at 1M the
    check took 1.3 s, then `analyze` 1.3 s, one after the other)."""
    db.conn.commit()  # every row, for the reader to see
    found: list[Exception] = []  # what the check raised, raised here in turn

    def check() -> None:
        try:
            reader = sqlite_utils.Database(sqlite3.connect(path))
            try:
                _check_references(reader)
            finally:
                reader.close()
        except Exception as error:  # a dangling key, or a database that cannot be read
            found.append(error)

    checking = threading.Thread(target=check, name="foreign keys")
    # were `analyze` to spill its pages (sqlite_stat4, where SQLite has it) before the commit,
    # it would wait for the reader: as long as the check takes, not SQLite's 5 s
    db.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
    with profiling.step("written: statistics / foreign keys checked beside analyze"):
        checking.start()
        try:
            db.execute("begin")
            db.execute("analyze")
        finally:
            checking.join()
    if found:
        raise found[0]
    db.conn.commit()


class _Steps:
    """The steps of writing the database, on a bar where the database is large."""

    def __init__(self, claims: int) -> None:
        self.bar = progress_bar(len(WRITE_STEPS), "Writing the database", "step", size=claims)
        self.names = iter(WRITE_STEPS)
        self.current = next(self.names)
        self.bar.set_postfix_str(self.current)
        self.started = time.perf_counter()

    def done(self) -> None:
        """The current step is done: count it (and time it, see factdb.profiling), name the next."""
        now = time.perf_counter()
        profiling.add(f"written: {self.current}", now - self.started)
        self.started, self.current = now, next(self.names, "")
        self.bar.update(1)
        self.bar.set_postfix_str(self.current)


def _write(validation: Validation, path: Path, scratch: Path) -> None:
    steps = _Steps(validation.count("claims"))
    try:
        _write_steps(validation, path, scratch, steps)
    finally:
        steps.bar.close()


def _write_steps(validation: Validation, path: Path, scratch: Path, steps: _Steps) -> None:
    db = new_database(path)  # a temporary file, thrown away on failure; synced at the end
    # the foreign keys are checked once, when every table is written (`_check_references`):
    # checked for each row as it was inserted, they cost the merge of a 1M-claim build 40 %
    # SQLite's sorter stays on this thread (`pragma threads` left at 0): the processes beside
    # keep the other cores busy meanwhile, so its helper threads only added CPU (the indexes
    # of 1M claims: 4.3 s -> 5.4-5.8 s of CPU for 0.6 s less wall alone, none in a build); a
    # 100k build with one core busy elsewhere went 6.09 -> 5.81 s without them (8 rounds)
    create_tables(db)
    prepared = validation.prepared
    part = "written: claims and sentences / "  # the parts of that step, timed on their own
    with db.conn:  # solves the dates, if not yet: before any fork
        _write_registries(db, validation, dated_beside=prepared is not None)
    steps.done()
    with _made_beside(validation, scratch) as beside:  # meanwhile, the claims here
        if prepared is None:  # the claims are all here: their rows are made here
            with profiling.step(part + "claims and sentences"), db.conn:
                answers = _write_claims(db, validation)
            with profiling.step(part + "answers and comparisons"), db.conn:
                _write_answers(db, validation, answers)
            with profiling.step(part + "claim dates"), db.conn:
                _write_claim_dates(db, validation)
        else:
            with profiling.step(part + "shards merged"):
                _merge_shards(db, prepared)
        steps.done()
        create_indexes(db)  # after the rows: one sort per index, not a b-tree update per row
        steps.done()
        side = None
        if beside is not None:
            with profiling.step(BESIDE_STEP + " (processes beside, waited for)"):
                side = beside()
    if side is not None:
        with profiling.step(BESIDE_STEP + " copied"):
            _copy_side(db, side)
    for table, columns in FTS_COLUMNS.items():
        if side is None or table not in SIDE_FTS:
            db.table(table).enable_fts(columns, fts_version="FTS5", create_triggers=False)
    steps.done()
    for name, sql in VIEWS.items():
        db.create_view(name, sql.strip())
    _statistics(db, path)
    db.close()
    with open(path, "rb+") as handle:  # on disk before it replaces the previous database
        os.fsync(handle.fileno())
    steps.done()
