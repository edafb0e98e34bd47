"""A progress bar on a terminal for long runs; nothing in CI, in pipes or for small trees."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sized
from typing import Protocol, TypeVar

T = TypeVar("T")
MIN_ITEMS = 200  # fewer files than this take a moment at most: no bar


def shown(total: int) -> bool:
    """Whether a bar for `total` items would be shown here."""
    return total >= MIN_ITEMS and sys.stderr.isatty() and not os.environ.get("CI")


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterable[T]:
    """`items`, wrapped in a tqdm bar on stderr when that is a terminal and the work is long."""
    count = total if total is not None else len(items) if isinstance(items, Sized) else 0
    if not shown(count):
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, total=count, unit="file", leave=False, file=sys.stderr)


class Bar(Protocol):
    """What callers of progress_bar() use: tqdm's bar, or the silent stand-in."""

    def update(self, count: int = 1, /) -> object: ...

    def set_postfix_str(self, text: str, /) -> object: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, count: int = 1) -> None:
        """Nothing to show."""

    def set_postfix_str(self, text: str) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(total: int, description: str, unit: str = "file", size: int | None = None) -> Bar:
    """A bar to `update(n)` by hand (work done out of order, by other processes), or a silent
    stand-in where progress() would show none; close() it when done. `size`: how many items
    the work is about, where that is not `total` (a few steps over many claims)."""
    if not shown(total if size is None else size):
        return _Silent()
    from tqdm import tqdm

    return tqdm(desc=description, total=total, unit=unit, leave=False, file=sys.stderr)
