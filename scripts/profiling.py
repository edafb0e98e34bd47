"""Where a run's time goes: the steps of validating and building, timed in the main process.

`facts validate --profile` and `facts build --profile` print each step's seconds on stderr
after the run (lines starting "profile:"); `facts bench --profile` runs its cold validate and
build so and shows each step per corpus size, in microseconds per claim, where a step that grows
faster than the corpus stands out. A step in the workers is timed as the main process waits for
it ("claim files", "shards").
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

PREFIX = "profile:"
_STEPS: dict[str, float] = {}  # step name -> seconds, in the order first timed
_LINE = re.compile(rf"^{PREFIX}\s+([0-9.]+) s\s+(.+)$", re.MULTILINE)


@contextlib.contextmanager
def step(name: str) -> Iterator[None]:
    """Time a step of the run (added to what the same step took before in this run)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - started)


def add(name: str, seconds: float) -> None:
    _STEPS[name] = _STEPS.get(name, 0.0) + seconds


def steps() -> dict[str, float]:
    """The steps timed so far in this process."""
    return dict(_STEPS)


def reset() -> None:
    _STEPS.clear()


def report(timed: dict[str, float]) -> str:
    """One "profile:" line per step: seconds, then name ("step / part" for a part of a step
    timed on its own, which the step's own time includes)."""
    return "\n".join(f"{PREFIX} {seconds:8.3f} s  {name}" for name, seconds in timed.items())


def parse(text: str) -> dict[str, float]:
    """The steps of a `report` found in some output."""
    return {name: float(seconds) for seconds, name in _LINE.findall(text)}
