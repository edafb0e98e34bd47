"""What validating a fact tree gives: the records, the problems, and what the checks found.

Plain records, shared by every module that checks or builds: nothing here checks or writes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from factdb.loading import Facts
from factdb.problems import Problem

Row = tuple[Any, ...]  # a table row, its values in the order of the table's columns


class QuoteSpan(NamedTuple):
    """Where a claim's quote stands in its source's text: characters [start, end)."""

    source: str
    start: int
    end: int


class AnswerInput(NamedTuple):
    """What the answers and comparisons tables need of one claim that answers a topic."""

    id: str
    topic: str
    answer_key: str
    claimant: str | None
    source: str
    origin: str
    unit: str | None
    value_low: float | None
    value_high: float | None
    approximate: bool  # the claim hedges its value ('about'): see comparing
    date_start: str | None
    date_end: str | None


class ClaimDating(NamedTuple):
    """What the date reasoning needs of a claim that names an event or dates itself relatively."""

    id: str
    source: str
    event: str | None
    when: tuple[str, ...]
    date: str  # as written (EDTF)
    future: bool  # scheduled or expected: on or after its article's publication
    path: str
    line: int
    column: int
    position: int  # its place among its file's claims: where its fields are found when needed


class PublicationBound(NamedTuple):
    """The bound a source's absolutely dated claims put on its publication: on or after the
    latest day of its past claims (`future` False), on or before the earliest of its future ones."""

    source: str
    day: str  # ISO date
    future: bool
    claim: str  # the claim that sets it
    path: str
    line: int
    column: int
    position: int  # the claim's place among its file's claims: where its date is found if needed


@dataclass
class Datings:
    """The ClaimDatings of some claims, kept column by column: sent from a worker, 100,000 named
    tuples took 0.7 s to pickle and unpickle (Python code per tuple), columns a tenth of that;
    and the dates across articles read them a column at a time."""

    id: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    event: list[str | None] = field(default_factory=list)
    when: list[tuple[str, ...]] = field(default_factory=list)
    date: list[str] = field(default_factory=list)
    future: list[bool] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    column: list[int] = field(default_factory=list)
    position: list[int] = field(default_factory=list)

    def extend(self, other: Datings) -> None:
        for column, more in zip(self.columns(), other.columns(), strict=True):
            column += more

    def row(self, index: int) -> ClaimDating:
        return ClaimDating(*(column[index] for column in self.columns()))

    def rows(self, indices: Iterable[int]) -> Datings:
        """The rows at these indices, in their order."""
        wanted = list(indices)
        return Datings(*([column[i] for i in wanted] for column in self.columns()))

    def __len__(self) -> int:
        return len(self.id)

    def __iter__(self) -> Iterator[ClaimDating]:
        return map(ClaimDating._make, zip(*self.columns(), strict=True))

    def columns(self) -> tuple[list[Any], ...]:
        return (
            self.id,
            self.source,
            self.event,
            self.when,
            self.date,
            self.future,
            self.path,
            self.line,
            self.column,
            self.position,
        )


@dataclass
class DatingInputs:
    """What the dates across articles are proved from: the claims that date themselves
    relatively or name an event, and the bounds the others put on their articles."""

    datings: Datings
    bounds: list[PublicationBound]
    digests: dict[str, str] = field(default_factory=dict)  # by file: see proving.inputs_digest


class ProvedDate(NamedTuple):
    """What the articles together prove of a date: its first and last possible days (ISO; None
    where nothing bounds it), as EDTF, and the claims the proof rests on."""

    start: str | None
    end: str | None
    edtf: str | None
    proof: tuple[str, ...]


@dataclass(frozen=True)
class ShardPart:
    """The rows of one table that one task wrote into a shard: their rowids there, and the first
    and last of their keys (the columns the table is ordered by, see `building.PREPARED_TABLES`)."""

    shard: Path
    table: str
    low: int  # rowids low..high, both included
    high: int
    first: Any  # a value, or a tuple of values where the order takes several columns
    last: Any
    ordered: bool  # each row's key after the one before: the rows are in the table's order

    @property
    def count(self) -> int:
        return self.high - self.low + 1


@dataclass
class PreparedRows:
    """Rows prepared by the workers of a sharded check, for building to write: each process
    writes the rows of the claims and sentences it prepares into a SQLite database of its own
    (a shard, `building.write_prepared`) in a scratch folder, and building merges the shards.
    Each task's rows are a part of a shard, with their keys' range: where those ranges do not
    overlap, the merge copies the parts one after another, without sorting them all again.

    `close()` removes the folder.
    """

    directory: Path
    parts: list[ShardPart] = field(default_factory=list)

    PREFIX = "factdb-rows-"  # then the id of the process that made it (see processes)

    @classmethod
    def create(cls) -> PreparedRows:
        """An empty set of prepared rows, in a new scratch folder named by this process."""
        return cls(Path(tempfile.mkdtemp(prefix=f"{cls.PREFIX}{os.getpid()}-")))

    @property
    def shards(self) -> list[Path]:
        """The shards rows were written to, each once, in the order their parts were added."""
        return list(dict.fromkeys(part.shard for part in self.parts))

    def add(self, parts: Iterable[ShardPart]) -> None:
        self.parts += parts

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class Validation:
    """The outcome of validating a fact tree: the records, the problems, and what checks found.

    `facts` holds every record, except after a check on several processes, where the claims
    stayed in the workers: then `counts` gives the number of records of each kind and, where
    the check was made for a build, `prepared` holds their rows.
    """

    facts: Facts
    problems: list[Problem]
    texts: dict[str, str] = field(default_factory=dict)  # source id -> full text
    spans: dict[str, QuoteSpan] = field(default_factory=dict)  # claim id -> its quote's place
    counts: dict[str, int] | None = None  # records per kind, when `facts` holds only some
    prepared: PreparedRows | None = None
    # what the articles together prove: "claim:<id>", "event:<id>", "source:<id>" -> its date
    dates: Mapping[str, ProvedDate] = field(default_factory=dict)
    reported: dict[str, int] = field(default_factory=dict)  # event id -> claims that report it

    @property
    def ok(self) -> bool:
        """True if no problem is an error (warnings, such as a date that could be narrower,
        do not stop a build)."""
        return not any(problem.is_error for problem in self.problems)

    @property
    def complete(self) -> bool:
        """True if `facts` holds every claim (so rows can be made from it)."""
        return self.counts is None

    def count(self, kind: str) -> int:
        """How many records of a kind (sources, entities, topics, events, claims) the tree holds."""
        if self.counts is not None:
            return self.counts[kind]
        return len(getattr(self.facts, kind))

    def close(self) -> None:
        """Remove the prepared rows, if any: once built, they are not needed."""
        if self.prepared is not None:
            self.prepared.close()
            self.prepared = None

    def __enter__(self) -> Validation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
