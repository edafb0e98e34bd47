"""Dates across articles: what every claim, event and publication date the articles prove together.

Each claim that names an event or dates itself relatively (`when`) is a variable, tied to its
article's publication date and to its event; a claim with neither only bounds its article's
publication (a past claim happened on or before it, a scheduled one on or after). A publication
date that the text prints (`published_stated`) is evidence; every other one is proved. The
network is solved by `dating.Network` to the tightest intervals, each with the claims that prove
it; written dates are then checked against them:

- `date-contradiction`: no date satisfies every constraint on a claim, event or publication (one
  problem at each claim involved);
- `date-looser-than-proved` (a warning; an error with --strict): the written date could be
  narrower, and the proof says how;
- `date-not-proved`: the written date is narrower than, or outside, what the articles prove;
- `relative-date-unknown`, `unknown-reference` (an event a `when` names), `event-without-claims`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from factdb.coverage import id_list
from factdb.dating import (
    Network,
    Relation,
    Solution,
    describe,
    implies,
    on_or_after,
    on_or_before,
    parse_when,
    to_edtf,
)
from factdb.loading import Facts, FileLocator, Located
from factdb.problems import Problem
from factdb.profiling import step
from factdb.results import ClaimDating, Datings, ProvedDate, PublicationBound
from factdb.schema.dates import parse_edtf
from factdb.schema.models import Claim

T = TypeVar("T")

FUTURE_ASSERTIONS = {"scheduled", "expected"}
STATED = "published:"  # the reason a stated publication date is cited by


def claim_datings(
    claims: Iterable[Located[Claim]], published: Mapping[str, str]
) -> tuple[Datings, list[PublicationBound]]:
    """What the date reasoning needs of some claims: each claim that names an event or dates
    itself relatively; of the others, the bound each source's latest past claim (and earliest
    future one) puts on its publication. `published`: source id -> written EDTF publication."""
    datings = Datings()
    columns = datings.columns()
    bounds: dict[tuple[str, bool, str], PublicationBound] = {}  # each file's own, for the cache
    whens: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple for each distinct `when`
    for located in claims:
        claim = located.record
        future = claim.assertion in FUTURE_ASSERTIONS
        if claim.event is not None or claim.when:
            when = tuple(claim.when)
            row = (
                claim.id,
                claim.source,
                claim.event,
                whens.setdefault(when, when),
                claim.date,
                future,
                located.path,
                located.line,
                located.column,
                _position(located),
            )
            for column, value in zip(columns, row, strict=True):
                column.append(value)
            continue
        bound = _publication_bound(located, future, published.get(claim.source))
        key = (claim.source, future, located.path)
        if bound is not None and (key not in bounds or _tighter(bound, bounds[key])):
            bounds[key] = bound
    return datings, list(bounds.values())


def reported_events(datings: Datings) -> dict[str, int]:
    """How many of the claims report each event (`Validation.reported`)."""
    return dict(Counter(event for event in datings.event if event is not None))


NO_INPUTS: list = [[], []]  # a file without a claim that dates itself or bounds a publication


def file_inputs(datings: Datings, bounds: list[PublicationBound]) -> dict[str, list]:
    """What each file gives the dates across articles, as the cache keeps it: [its datings'
    columns, its bounds as tuples] (`NO_INPUTS` for a file not named)."""
    rows: dict[str, list[int]] = {}
    for index, path in enumerate(datings.path):
        rows.setdefault(path, []).append(index)
    found: dict[str, list[Any]] = {
        path: [list(datings.rows(kept).columns()), []] for path, kept in rows.items()
    }
    for bound in bounds:
        found.setdefault(bound.path, [[], []])[1].append(tuple(bound))
    return found


def inputs_digest(inputs: list) -> str:
    """A digest of one file's `file_inputs` (repr: the same values give the same text)."""
    return hashlib.sha256(repr(inputs).encode()).hexdigest()


def _position(located: Located[Claim]) -> int:
    """The claim's place among its file's claims (-1: unknown, its record's place will do)."""
    return located.key[1] if located.key is not None else -1


def _publication_bound(
    located: Located[Claim], future: bool, published: str | None
) -> PublicationBound | None:
    """The bound an absolutely dated claim puts on its article's publication, if it has one
    (a date after a written publication is `date-after-publication`'s to report, not used)."""
    claim = located.record
    dates = parse_edtf(claim.date)
    day = dates.end if future else dates.start
    if day is None:
        return None
    written = parse_edtf(published) if published else None
    if not future and written is not None and written.end is not None and day > written.end:
        return None
    return PublicationBound(
        claim.source,
        day.isoformat(),
        future,
        claim.id,
        located.path,
        located.line,
        located.column,
        _position(located),
    )


def _tighter(bound: PublicationBound, other: PublicationBound) -> bool:
    """True if `bound` says more: a later day for past claims, an earlier one for future ones."""
    if bound.day == other.day:
        return bound.claim < other.claim  # the same bound from two claims: cite one, stably
    return bound.day < other.day if bound.future else bound.day > other.day


@dataclass
class Proof:
    """The proved dates (variable -> ProvedDate) and the problems found proving them."""

    dates: Mapping[str, ProvedDate] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class Places:
    """Where a claim's fields stand in its file, found (by reading the file again) only for the
    few claims a problem is about."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.locators: dict[str, FileLocator] = {}

    def of(self, claim: ClaimDating | PublicationBound, *path: str | int) -> tuple[str, int, int]:
        """Where a field of the claim stands: path, line, column (its record's, if not found)."""
        if claim.position < 0:
            return claim.path, claim.line, claim.column
        locator = self.locators.setdefault(claim.path, FileLocator(self.root / claim.path))
        try:
            line, column = locator.position(("claims", claim.position), tuple(path))
        except Exception:  # the file changed under us: the record's own place will do
            line, column = claim.line, claim.column
        return claim.path, line, column


def prove(
    root: Path,
    facts: Facts,
    datings: Datings,
    bounds: list[PublicationBound],
) -> Proof:
    """Solve the dates of every claim, event and publication together; check the written ones."""
    with step("dates across articles"):
        return _prove(root, facts, datings, bounds)


def _prove(root: Path, facts: Facts, datings: Datings, bounds: list[PublicationBound]) -> Proof:
    places = Places(root)
    proof = Proof()
    datings = _first_of_each(datings)  # a repeated id is unique-id's problem, not a date's
    network = Network()
    sources = _add_publications(network, facts)
    events = {
        located.record.id: network.declare("event:" + located.record.id) for located in facts.events
    }
    variables, aliased, problems = _add_claims(network, datings, sources, events, places)
    proof.problems += problems
    for bound in bounds:
        start, end = (None, bound.day) if bound.future else (bound.day, None)
        network.within(f"source:{bound.source}", _day(start), _day(end), bound.claim)
    solution = network.solve()
    evidence = [] if solution.contradiction else _written_evidence(solution, datings, variables)
    if evidence:  # written dates that say more than the rest proves: evidence in their own right
        for index in evidence:
            dates = parse_edtf(datings.date[index])
            claim = datings.id[index]
            network.within_variable(variables[index], dates.start, dates.end, claim)
        solution = network.solve()
    if solution.contradiction is not None:
        reasons = solution.contradiction.reasons
        where = _places(facts, datings, bounds, places, reasons)
        proof.problems += _contradiction(solution, where)
        return proof
    proved = _proved(solution, facts, datings, variables, aliased)
    proof.dates = proved
    proof.problems += _check_written(facts, datings, variables, proved, places)
    proof.problems += _events_without_claims(facts, datings)
    return proof


def _written_evidence(solution: Solution, datings: Datings, variables: list[int]) -> list[int]:
    """The claims dated by their event alone whose written date does not hold what the rest of
    the articles prove (their indices): the curator read more (or other) in the text than the
    network knows.

    A written date the rest proves anyway (as `facts dates --write` leaves it) is not evidence,
    so that a proof never rests on a date copied from that proof."""
    proved = solution.every_day()
    found = []
    for index, (when, event, written) in enumerate(
        zip(datings.when, datings.event, datings.date, strict=True)
    ):
        if when or event is None:
            continue
        first, last = _ordinals(written)
        start, end = proved[variables[index]]
        holds_start = first is None or (start is not None and first <= start)
        holds_end = last is None or (end is not None and last >= end)
        if not (holds_start and holds_end):
            found.append(index)
    return found


def _first_of_each(datings: Datings) -> Datings:
    if len(set(datings.id)) == len(datings):
        return datings
    first = {claim: index for index, claim in reversed(list(enumerate(datings.id)))}
    return datings.rows(sorted(first.values()))


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _add_publications(network: Network, facts: Facts) -> dict[str, int]:
    """Each source's publication as a variable (source id -> its number), stated ones dated."""
    variables = {}
    for located in facts.sources:
        source = located.record
        variables[source.id] = network.declare(f"source:{source.id}")
        if source.published_stated:
            dates = parse_edtf(source.published)
            network.within(f"source:{source.id}", dates.start, dates.end, STATED + source.id)
    return variables


def _add_claims(
    network: Network,
    datings: Datings,
    sources: dict[str, int],
    events: dict[str, int],
    places: Places,
) -> tuple[list[int], list[bool], list[Problem]]:
    """Each claim's variable (its event's, where it names a known one; its own otherwise) and
    its constraints, added a `when` at a time. Returns the variables, whether each claim has
    its event's (`aliased`), and the problems of expressions that cannot be used."""
    ids = datings.id
    variables = [-1 if event is None else events.get(event, -1) for event in datings.event]
    aliased = [variable >= 0 for variable in variables]
    for index, variable in enumerate(variables):
        if variable < 0:
            variables[index] = network.declare(CLAIM + ids[index])
    publications = [sources.get(source, -1) for source in datings.source]
    for index, variable in enumerate(publications):
        if variable < 0:  # a source nobody defines: unknown-reference's problem; still a day
            publications[index] = network.declare("source:" + datings.source[index])
    groups: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    for index, key in enumerate(zip(datings.when, datings.future, strict=True)):
        group = groups.get(key)
        if group is None:
            groups[key] = [index]
        else:
            group.append(index)
    problems: list[Problem] = []
    for (when, future), members in groups.items():
        problems += _add_group(
            network, datings, members, _plan(when, future), variables, publications, events, places
        )
    return variables, aliased, problems


def _add_group(
    network: Network,
    datings: Datings,
    members: list[int],
    plan: _Plan,
    variables: list[int],
    publications: list[int],
    events: dict[str, int],
    places: Places,
) -> list[Problem]:
    """The constraints of the claims (`members`, by index) that share a `when` and a side."""
    xs, ys = _picked(variables, members), _picked(publications, members)
    reasons: Sequence[str | None] = _picked(datings.id, members)
    if plan.side is not None:
        network.relate_many(xs, plan.side, ys, reasons)
    if not datings.when[members[0]]:  # dated by an event, or by what is written
        for i in members:
            if datings.event[i] is None:
                dates = parse_edtf(datings.date[i])
                network.within_variable(variables[i], dates.start, dates.end, datings.id[i])
    problems = []
    for index, relation, event_id in plan.relations:
        if event_id is None:
            network.relate_many(xs, relation, ys, reasons)
        elif event_id in events:
            network.relate_many(xs, relation, [events[event_id]] * len(xs), reasons)
        else:
            message = f"when: no event '{event_id}'"
            for i in members:
                where = places.of(datings.row(i), "when", index)  # read only for a problem
                problems.append(Problem(*where, "unknown-reference", message, datings.id[i]))
    for index, message in plan.unknown:
        for i in members:
            where = places.of(datings.row(i), "when", index)
            problems.append(Problem(*where, "relative-date-unknown", message, datings.id[i]))
    return problems


def _picked(values: Sequence[T], indices: list[int]) -> Sequence[T]:
    """The values at these indices (itemgetter takes a third of a comprehension's time)."""
    return [values[indices[0]]] if len(indices) == 1 else itemgetter(*indices)(values)


@dataclass(frozen=True)
class _Plan:
    """What a claim's `when` (for a past or a future claim) adds: the relation to its article's
    publication that keeps it on its side (None where an expression already does, as "on
    Tuesday" does "on or before"), each understood expression's relation with the event it
    refers to (None: the publication), and each expression not understood, with why."""

    side: Relation | None
    relations: tuple[tuple[int, Relation, str | None], ...]
    unknown: tuple[tuple[int, str], ...]


@lru_cache(maxsize=4096)
def _plan(when: tuple[str, ...], future: bool) -> _Plan:
    side = on_or_after() if future else on_or_before()
    relations, unknown, implied = [], [], False
    for index, text in enumerate(when):
        try:
            expression = parse_when(text)
        except ValueError as error:
            unknown.append((index, str(error)))
            continue
        relation = expression.relation(future)
        relations.append((index, relation, expression.event))
        implied = implied or (expression.event is None and implies(relation, side))
    return _Plan(None if implied else side, tuple(relations), tuple(unknown))


def _places(
    facts: Facts,
    datings: Datings,
    bounds: list[PublicationBound],
    places: Places,
    reasons: Iterable[str],
) -> dict[str, tuple[str, int, int]]:
    """Where each of some reasons stands (a claim's date, a stated publication): asked only
    after a contradiction, for the claims it involves."""
    wanted = set(reasons)
    where = {b.claim: places.of(b, "date") for b in bounds if b.claim in wanted}
    for index, claim in enumerate(datings.id):
        if claim in wanted:
            where[claim] = places.of(datings.row(index), "date")
    for located in facts.sources:
        if STATED + located.record.id in wanted:
            where[STATED + located.record.id] = (located.path, *located.at("published"))
    return where


def _contradiction(solution: Solution, where: Mapping[str, tuple[str, int, int]]) -> list[Problem]:
    """date-contradiction, at each claim (or stated publication) involved."""
    conflict = solution.contradiction
    assert conflict is not None
    involved = ", ".join(conflict.reasons)
    message = f"the dates of {_name(conflict.variable)} cannot all hold; involved: {involved}"
    return [
        Problem(*where[reason], "date-contradiction", message, _record(reason))
        for reason in conflict.reasons
        if reason in where
    ]


def _name(variable: str) -> str:
    kind, _, identifier = variable.partition(":")
    return {"source": "the publication of", "event": "event", "claim": "claim"}[
        kind
    ] + f" '{identifier}'"


def _record(reason: str) -> str:
    return reason.removeprefix(STATED)


def _proved(
    solution: Solution, facts: Facts, datings: Datings, variables: list[int], aliased: list[bool]
) -> ProvedDates:
    names = [f"source:{s.record.id}" for s in facts.sources]
    names += [f"event:{e.record.id}" for e in facts.events]
    return ProvedDates(solution, names, datings.id, variables, aliased)


CLAIM = "claim:"


class ProvedDates(Mapping[str, ProvedDate]):
    """Each source's, event's and dated claim's proved date ("source:<id>", "event:<id>",
    "claim:<id>"), worked out with its proof when first asked for: a validation that builds
    nothing asks only for the few a problem cites (walking every proof back was a third of the
    solving). A claim is not a name in the network: it has its event's variable (`aliased`: the
    claim's id then ends its proof, the day came to it through the event) or its own."""

    def __init__(
        self,
        solution: Solution,
        names: list[str],
        claims: list[str],
        variables: list[int],
        aliased: list[bool],
    ) -> None:
        self.solution = solution
        self.known: dict[str, ProvedDate | None] = dict.fromkeys(names)
        self.claims, self.variables, self.aliased = claims, variables, aliased
        self.claim_dates: dict[int, ProvedDate] = {}  # by the claim's place in `claims`

    @cached_property
    def places(self) -> dict[str, int]:
        """Each claim's place in `claims` (worked out when a claim is first asked for)."""
        return {claim: index for index, claim in enumerate(self.claims)}

    def __getitem__(self, name: str) -> ProvedDate:
        if name.startswith(CLAIM):
            index = self.places[name[len(CLAIM) :]]  # KeyError for a claim not proved
            found = self.claim_dates.get(index)
            if found is None:
                found = self.claim_dates[index] = self._claim(index)
            return found
        known = self.known[name]  # KeyError for a name not proved
        if known is None:
            variable = self.solution.variable(name)
            proof = tuple(_record(reason) for reason in self.solution.proof(name))
            known = self.known[name] = ProvedDate(*self._interval(variable), proof)
        return known

    def _interval(self, variable: int) -> tuple[str | None, str | None, str | None]:
        """A variable's first and last days (ISO) and EDTF, the same for every claim of it."""
        start, end = self.solution.every_day()[variable]
        first = None if start is None else date.fromordinal(start)
        last = None if end is None else date.fromordinal(end)
        return (
            None if first is None else first.isoformat(),
            None if last is None else last.isoformat(),
            None if first is None and last is None else to_edtf(first, last),
        )

    def _claim(self, index: int, own: bool = True) -> ProvedDate:
        """The claim's proved date (`own`: with its own id ending its event's proof)."""
        variable, claim = self.variables[index], self.claims[index]
        proof = tuple(_record(reason) for reason in self.solution.variable_proof(variable))
        start, end, edtf = self._interval(variable)
        bounded = start is not None or end is not None
        if own and self.aliased[index] and bounded and claim not in proof:
            proof = (*proof, claim)
        return ProvedDate(start, end, edtf, proof)

    def claim_rows(self) -> Iterator[ClaimDateRow]:
        """`claim_date_rows`: each variable's date and proof once, a claim's own id added to
        the proof of its event as `_claim` adds it."""
        done: dict[int, tuple[str | None, str | None, str | None, str, tuple[str, ...]]] = {}
        claims = zip(self.claims, self.variables, self.aliased, strict=True)
        for index, (claim, variable, aliased) in enumerate(claims):
            found = done.get(variable)
            if found is None:
                base = self._claim(index, own=False)
                found = done[variable] = (*base[:3], id_list(base.proof), base.proof)
            edtf_start, edtf_end, edtf, listed, proof = found
            if aliased and (edtf_start is not None or edtf_end is not None) and claim not in proof:
                listed = f'{listed[:-1]}, "{claim}"]' if proof else f'["{claim}"]'
            yield claim, edtf, edtf_start, edtf_end, listed

    def __iter__(self) -> Iterator[str]:
        yield from self.known
        yield from (CLAIM + claim for claim in self.claims)

    def __len__(self) -> int:
        return len(self.known) + len(self.claims)

    def agrees(self, name: str, written: str) -> bool:
        """True if a written EDTF date is exactly the proved one (without working out a proof)."""
        return _ordinals(written) == self.solution.days(name)


class LazyProvedDates(Mapping[str, ProvedDate]):
    """Proved dates worked out when first asked for (the cache's, where no input moved)."""

    def __init__(self, solve: Callable[[], Mapping[str, ProvedDate]]) -> None:
        self.solve = solve

    @cached_property
    def solved(self) -> Mapping[str, ProvedDate]:
        return self.solve()

    def __getitem__(self, name: str) -> ProvedDate:
        return self.solved[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.solved)

    def __len__(self) -> int:
        return len(self.solved)


ClaimDateRow = tuple[str, str | None, str | None, str | None, str]  # id, EDTF, start, end, proof


def claim_date_rows(dates: Mapping[str, ProvedDate]) -> list[ClaimDateRow]:
    """Rows of the claim_dates table, by claim id: every dated claim's id, proved date (EDTF,
    first and last day) and proof (a JSON array), from any mapping of proved dates; from
    ProvedDates, each variable's worked out once."""
    if isinstance(dates, LazyProvedDates):
        dates = dates.solved
    if isinstance(dates, ProvedDates):
        return sorted(dates.claim_rows())
    return sorted(
        (name[len(CLAIM) :], proved.edtf, proved.start, proved.end, id_list(proved.proof))
        for name, proved in dates.items()
        if name.startswith(CLAIM)
    )


@lru_cache(maxsize=65536)
def _ordinals(written: str) -> tuple[int | None, int | None]:
    """A written EDTF date's first and last days as ordinals (None: open)."""
    dates = parse_edtf(written)
    return (
        None if dates.start is None else dates.start.toordinal(),
        None if dates.end is None else dates.end.toordinal(),
    )


def _check_written(
    facts: Facts, datings: Datings, variables: list[int], dates: ProvedDates, places: Places
) -> Iterator[Problem]:
    proved = dates.solution.every_day()
    ordinals = {written: _ordinals(written) for written in set(datings.date)}
    differ = [
        index
        for index, (variable, written) in enumerate(zip(variables, datings.date, strict=True))
        if proved[variable] != ordinals[written]
    ]
    for index in differ:
        written, claim = datings.date[index], datings.id[index]
        found = _compare(written, dates[f"claim:{claim}"])
        if found is not None:
            rule, message = found
            where = places.of(datings.row(index), "date")
            yield Problem(*where, rule, message, claim, _severity(rule))
    for located in facts.sources:
        source = located.record
        if source.published_stated:
            continue
        if dates.agrees(f"source:{source.id}", source.published):
            continue
        found = _compare(source.published, dates[f"source:{source.id}"])
        if found is not None:
            rule, message = found
            line, column = located.at("published")
            yield Problem(
                located.path, line, column, rule, f"published {message}", source.id, _severity(rule)
            )


def _severity(rule: str) -> str:
    return "warning" if rule == "date-looser-than-proved" else "error"


def _compare(written: str, proved: ProvedDate) -> tuple[str, str] | None:
    """How a written date stands to the proved interval: None where they agree."""
    dates = parse_edtf(written)
    first = None if dates.start is None else dates.start.isoformat()
    last = None if dates.end is None else dates.end.isoformat()
    if (first, last) == (proved.start, proved.end):
        return None
    shown = proved.edtf or "../.."
    because = f"; proved by {', '.join(proved.proof)}" if proved.proof else ""
    inside = _within(proved.start, proved.end, first, last)
    if inside:  # the proved interval lies inside the written one
        return "date-looser-than-proved", f"{written} could be {shown}{because}"
    return "date-not-proved", f"{written} is not what the articles prove: {shown}{because}"


def _within(
    start: str | None, end: str | None, outer_start: str | None, outer_end: str | None
) -> bool:
    """True if [start, end] lies inside [outer_start, outer_end] (None: open)."""
    starts_after = outer_start is None or (start is not None and start >= outer_start)
    ends_before = outer_end is None or (end is not None and end <= outer_end)
    return starts_after and ends_before


def _events_without_claims(facts: Facts, datings: Datings) -> Iterator[Problem]:
    reported = set(datings.event)
    for located in facts.events:
        if located.record.id not in reported:
            yield Problem(
                located.path,
                located.line,
                located.column,
                "event-without-claims",
                f"no claim reports event '{located.record.id}'",
                located.record.id,
            )


def basis(dating: ClaimDating, proved: ProvedDate) -> str:
    """A generated date_basis: how the quote dates the claim, and the claims that prove it."""
    parts = [describe(parse_when(text), dating.future) for text in dating.when]
    if dating.event is not None:
        parts.append(f"the date of event '{dating.event}'")
    proof = ", ".join(claim for claim in proved.proof if claim != dating.id)
    tail = f"; proved with {proof}" if proof else ""
    return f"{'; '.join(parts)}: {proved.edtf}{tail}." if parts else f"{proved.edtf}{tail}."


def published_basis(proved: ProvedDate) -> str:
    """A generated published_basis: the interval the articles prove, and the claims behind it."""
    proof = ", ".join(proved.proof) or "nothing in the articles"
    return f"Not printed in the text; the articles together prove {proved.edtf}, from: {proof}."


def proved_changes(
    facts: Facts, dates: Mapping[str, ProvedDate]
) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    """The proved dates and generated bases to write, where they differ from the written ones:
    file -> section -> record id -> fields. Dates the articles leave open at both ends are not
    written (EDTF has no form for them)."""
    changes: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    published = {s.record.id: s.record.published for s in facts.sources}
    datings, _ = claim_datings(facts.claims, published)
    for dating in datings:
        proved = dates.get(f"claim:{dating.id}")
        if proved is not None and proved.edtf and _compare(dating.date, proved) is not None:
            fields = {"date": proved.edtf, "date_basis": basis(dating, proved)}
            changes.setdefault(dating.path, {}).setdefault("claims", {})[dating.id] = fields
    for located in facts.sources:
        source = located.record
        proved = dates.get(f"source:{source.id}")
        if source.published_stated or proved is None or not proved.edtf:
            continue
        if _compare(source.published, proved) is not None:
            fields = {"published": proved.edtf, "published_basis": published_basis(proved)}
            changes.setdefault(located.path, {}).setdefault("sources", {})[source.id] = fields
    return changes
