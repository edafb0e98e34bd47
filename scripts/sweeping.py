"""Narrowing a large date network over arrays (numpy), before the worklist finishes it.

A sweep applies every relation whose bounds are shifts (x in [y + a, y + b], on one weekday or
on any day: "on Tuesday", "yesterday", "on or before") all at once, round by round: each round
works out every such relation's bounds, in both directions, from the last round's; keeps the
tightest for each variable (the first relation added among equals); snaps it to the variable's
weekday; and records it, as the worklist does, with the relation's reason and the record of the
bound it came from. Propagation narrows monotonically, so the fixed point is the one the
worklist (`dating._Propagation.propagate`) reaches in any order; the proofs may cite other
claims among equally good ones. At 100,000 claims the worklist took 0.3 s over its relations
one at a time in Python; a round here is a few numpy operations over all of them.

What a sweep does not do is left to the worklist: the relations with other bounds (months,
calendar days, weeks), run afterwards from the swept state; and everything where a sweep gives
up and changes nothing: a variable left with no day (the worklist finds and names the
contradiction), or no fixed point within ROUNDS rounds (a cycle raising a day a little each
round: the worklist's cycle search names it). `dating` sweeps only where each variable's allowed
days are one weekday at most. This module knows nothing of `dating`: it reads lists of ints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# numpy's OpenBLAS starts a thread per other core as it is imported, which spins for about 0.1 s
# of CPU; a sweep makes no BLAS call (read when numpy is first imported; a caller's value stays)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the setting above)

ROUNDS = 200  # a chain of relations this long is propagated; longer, the worklist goes on

Array = Any  # numpy arrays of int64 (numpy's own typing of them adds nothing here)


def link(xs: list[int], ys: list[int], size: int) -> tuple[list[int], list[int]]:
    """`Network.adjacency` over arrays: the first slot of each variable, the next of each slot."""
    x, y = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
    owner = np.empty(2 * len(x), dtype=np.int64)
    owner[0::2], owner[1::2] = x, y
    keep = np.ones(2 * len(x), dtype=bool)
    keep[1::2] = y != x  # a relation of a variable to itself is linked once
    slots = np.flatnonzero(keep)
    order = np.argsort(owner[slots], kind="stable")
    slots = slots[order]
    owners = owner[slots]
    following = np.full(2 * len(x), -1, dtype=np.int64)
    same = owners[1:] == owners[:-1]
    following[slots[:-1][same]] = slots[1:][same]
    starts = np.ones(len(slots), dtype=bool)
    starts[1:] = ~same
    first = np.full(size, -1, dtype=np.int64)
    first[owners[starts]] = slots[starts]
    return first.tolist(), following.tolist()


@dataclass
class Network:
    """What a sweep reads of a date network (`dating.Network`): each relation's x, y, kind and
    reason; each kind's lower and upper shift (None: open) and whether it is swept at all (both
    bounds shifts or open); each variable's weekday (-1: any day) and the reason it has it."""

    x: list[int]
    y: list[int]
    kind: list[int]
    reasons: list[str | None]
    shifts: list[tuple[int | None, int | None]]
    swept: list[bool]
    weekdays: list[int]
    why: list[str | None]


@dataclass
class Bounds:
    """Each variable's bounds and the records that set them (-1: open), in a window of days;
    the records made by a sweep: their reasons and the records they came from, numbered on from
    `first_record`."""

    lo: list[int]
    hi: list[int]
    lo_rec: list[int]
    hi_rec: list[int]
    window: tuple[int, int]  # the first and last day a bound may take (one past: no day left)
    first_record: int
    reasons: list[str | None]
    deps: list[int]


class _Relations:
    """The swept relations, as arrays: x, y, the shifts of the lower and upper bound (where there
    is one) and each relation's number."""

    def __init__(self, network: Network) -> None:
        kind = np.asarray(network.kind, dtype=np.int64)
        self.numbers = np.flatnonzero(np.asarray(network.swept, dtype=bool)[kind])
        kind = kind[self.numbers]
        self.x = np.asarray(network.x, dtype=np.int64)[self.numbers]
        self.y = np.asarray(network.y, dtype=np.int64)[self.numbers]
        lower = [shift for shift, _ in network.shifts]
        upper = [shift for _, shift in network.shifts]
        self.has_lower = np.array([s is not None for s in lower], dtype=bool)[kind]
        self.has_upper = np.array([s is not None for s in upper], dtype=bool)[kind]
        self.lower = np.array([s or 0 for s in lower], dtype=np.int64)[kind]
        self.upper = np.array([s or 0 for s in upper], dtype=np.int64)[kind]


class _State:
    """The bounds being swept, and the records made on the way."""

    def __init__(self, bounds: Bounds, network: Network) -> None:
        self.lo = np.asarray(bounds.lo, dtype=np.int64)
        self.hi = np.asarray(bounds.hi, dtype=np.int64)
        self.lo_rec = np.asarray(bounds.lo_rec, dtype=np.int64)
        self.hi_rec = np.asarray(bounds.hi_rec, dtype=np.int64)
        self.low, self.high = bounds.window
        self.reasons: list[str | None] = []
        self.deps: list[int] = []
        self.base = bounds.first_record
        self.weekdays = np.asarray(network.weekdays, dtype=np.int64)
        self.why = network.why

    def record(self, reasons: list[str | None], deps: Array) -> Array:
        """New records; their numbers."""
        first = self.base + len(self.deps)
        self.reasons += reasons
        self.deps += deps.tolist()
        return np.arange(first, first + len(reasons), dtype=np.int64)

    def narrow(self, found: tuple[Array, Array, Array, Array], reasons: list, lower: bool) -> None:
        """Set the bounds found (targets, values, deps, relation numbers), snapped to weekdays."""
        targets, values, deps, numbers = found
        records = self.record([reasons[n] for n in numbers.tolist()], deps)
        weekday = self.weekdays[targets]
        snapped = np.flatnonzero(weekday >= 0)
        if len(snapped):
            day, wanted = values[snapped], weekday[snapped]
            if lower:  # ordinal 1 was a Monday (weekday 0)
                moved = day + (wanted - (day - 1) % 7) % 7
            else:
                moved = day - ((day - 1) % 7 - wanted) % 7
            moved = np.clip(moved, self.low - 1, self.high + 1)
            changed = snapped[moved != day]
            if len(changed):
                why = [self.why[t] for t in targets[changed].tolist()]
                records[changed] = self.record(why, records[changed])
                values[changed] = moved[moved != day]
        bounds, kept = (self.lo, self.lo_rec) if lower else (self.hi, self.hi_rec)
        bounds[targets], kept[targets] = values, records

    def best(
        self, candidates: tuple[Array, Array, Array, Array], lower: bool
    ) -> tuple[Array, Array, Array, Array] | None:
        """Of candidate bounds, those tighter than the current ones, the tightest per target
        (the first relation among equals); None where none is tighter."""
        targets, values, deps, numbers = candidates
        if lower:
            values, bounds = np.minimum(values, self.high + 1), self.lo
            tighter = values > bounds[targets]
        else:
            values, bounds = np.maximum(values, self.low - 1), self.hi
            tighter = values < bounds[targets]
        if not tighter.any():
            return None
        targets, values = targets[tighter], values[tighter]
        deps, numbers = deps[tighter], numbers[tighter]
        # the tightest value per target, then the first relation among those that give it, by
        # scattering (ufunc.at) rather than sorting every candidate (at 1M claims, in a profiler,
        # 0.56 -> 0.12 s)
        size, limits = len(bounds), np.iinfo(np.int64)
        scatter, loosest = (np.maximum, limits.min) if lower else (np.minimum, limits.max)
        tightest = np.full(size, loosest, dtype=np.int64)
        scatter.at(tightest, targets, values)
        tied = np.flatnonzero(values == tightest[targets])
        earliest = np.full(size, limits.max, dtype=np.int64)
        np.minimum.at(earliest, targets[tied], numbers[tied])
        chosen = tied[numbers[tied] == earliest[targets[tied]]]
        chosen = chosen[np.argsort(targets[chosen], kind="stable")]  # by target, then as given
        targets, values, deps, numbers = (a[chosen] for a in (targets, values, deps, numbers))
        first = np.ones(len(targets), dtype=bool)  # a relation of a variable to itself: once
        first[1:] = targets[1:] != targets[:-1]
        return targets[first], values[first], deps[first], numbers[first]


def _candidates(
    relations: _Relations, state: _State, lower: bool
) -> tuple[Array, Array, Array, Array]:
    """Every bound the relations give this round: x's from y's, y's from x's (lower or upper):
    (targets, values, the records they come from, relation numbers)."""
    x, y = relations.x, relations.y
    if lower:  # x.lo >= y.lo + g; y.lo >= x.lo - h
        bounds, kept = state.lo, state.lo_rec
        forward = relations.has_lower & (kept[y] >= 0)
        back = relations.has_upper & (kept[x] >= 0)
        forward_values = bounds[y[forward]] + relations.lower[forward]
        back_values = bounds[x[back]] - relations.upper[back]
    else:  # x.hi <= y.hi + h; y.hi <= x.hi - g
        bounds, kept = state.hi, state.hi_rec
        forward = relations.has_upper & (kept[y] >= 0)
        back = relations.has_lower & (kept[x] >= 0)
        forward_values = bounds[y[forward]] + relations.upper[forward]
        back_values = bounds[x[back]] - relations.lower[back]
    return (
        np.concatenate((x[forward], y[back])),
        np.concatenate((forward_values, back_values)),
        np.concatenate((kept[y[forward]], kept[x[back]])),
        np.concatenate((relations.numbers[forward], relations.numbers[back])),
    )


def sweep(network: Network, bounds: Bounds) -> Bounds | None:
    """The bounds narrowed by the network's swept relations to their fixed point, with the
    records made; None where the sweep gives up (a variable left with no day, or no fixed point
    within ROUNDS rounds)."""
    relations, state = _Relations(network), _State(bounds, network)
    for _ in range(ROUNDS):
        lower = state.best(_candidates(relations, state, True), True)
        upper = state.best(_candidates(relations, state, False), False)
        if lower is None and upper is None:
            return Bounds(
                state.lo.tolist(),
                state.hi.tolist(),
                state.lo_rec.tolist(),
                state.hi_rec.tolist(),
                bounds.window,
                bounds.first_record,
                state.reasons,
                state.deps,
            )
        if lower is not None:
            state.narrow(lower, network.reasons, True)
        if upper is not None:
            state.narrow(upper, network.reasons, False)
        if (state.lo > state.hi).any():
            return None
    return None
