"""What one SQL function call may cost on the served database.

Datasette stops a query after `sql_time_limit_ms`, but checks the time between SQLite's steps,
never inside one function call: `printf('%.*c', 300000000, 'x')` ran 3.8 s and took 1.6 GB. Each
connection Datasette opens is given (`prepare_connection`):

- `SQLITE_LIMIT_LENGTH` = `MAX_LENGTH` (1,000,000 bytes): no string or blob, stored or made by a
  function, is longer ("string or blob too big"), which bounds the memory of every call. The
  longest value the site stores is a source's text (5 KB here, seeds up to ~20 KB; 13 KB at
  100,000 claims): the limit is 50 times that. Not 10 MB: the calls below cost the square of
  their arguments' lengths, 100 times more at 10 MB;
- `SQLITE_LIMIT_LIKE_PATTERN_LENGTH` = `MAX_LIKE_PATTERN` (500): LIKE and GLOB cost a pattern's
  length times the text's (a 1,000-character pattern over 1 MB ran 5.6 s);
- guards on the built-in functions whose one call costs more than the length of its result
  (`GUARDS`): printf/format, whose `%c` repeats a character as often as its precision says even
  past the length limit (300,000,000 times: 1.4 s with the limit, 22 s for 2,147,483,647), and
  instr, replace, trim, ltrim and rtrim, which compare every place of one argument with the
  other (instr of 1 MB and 0.5 MB: 7.5 s). A call within its bound runs SQLite's own function (on
  a private in-memory connection with the same limits), so its result is SQLite's; a call
  beyond it fails as a too long value does ("string or blob too big"), and Datasette answers
  400.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 1_000_000  # bytes of any string or blob
MAX_LIKE_PATTERN = 500  # bytes of a LIKE or GLOB pattern
MAX_PAIR_COST = 1_000_000_000  # length x length of a call of instr, replace or trim (~0.02 s)
LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_LENGTH,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: MAX_LIKE_PATTERN,
}
# printf's directives: flags, width, precision (digits or *), size, conversion
_DIRECTIVE = re.compile(r"%([-+ #0!,]*)(\*|\d*)(?:\.(\*|\d*))?(l{0,2})(.?)", re.DOTALL)
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _number(value: Any) -> float:
    """A width or precision as SQLite reads an argument (generously: exponents count)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        match = _NUMBER.match(value)
        value = float(match.group(0)) if match else 0
    if isinstance(value, int | float):
        return abs(value) if not math.isnan(value) else 0
    return 0


def printf_reach(args: tuple[Any, ...]) -> float:
    """The largest width or precision a printf call asks for."""
    if not args or not isinstance(args[0], str):
        return 0
    rest = list(args[1:])
    reach = 0.0
    for _flags, width, precision, _size, conversion in _DIRECTIVE.findall(args[0]):
        for part in (width, precision or ""):
            if part == "*":
                reach = max(reach, _number(rest.pop(0)) if rest else 0)
            elif part:
                reach = max(reach, int(part))
        if conversion not in ("%", "n", "") and rest:
            rest.pop(0)
    return reach


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else 0


def pair_cost(args: tuple[Any, ...]) -> float:
    """Length times length of the two arguments such a function compares."""
    return _length(args[0]) * _length(args[1]) if len(args) >= 2 else 0


# name: (number of arguments, the call's cost, its bound)
GUARDS: dict[str, tuple[int, Callable[[tuple[Any, ...]], float], float]] = {
    "printf": (-1, printf_reach, MAX_LENGTH),
    "format": (-1, printf_reach, MAX_LENGTH),
    "instr": (2, pair_cost, MAX_PAIR_COST),
    "replace": (3, pair_cost, MAX_PAIR_COST),
    "trim": (2, pair_cost, MAX_PAIR_COST),
    "ltrim": (2, pair_cost, MAX_PAIR_COST),
    "rtrim": (2, pair_cost, MAX_PAIR_COST),
}
# What a call beyond its bound returns: a value over the length limit, which SQLite refuses as
# it refuses any ("string or blob too big"). Raising instead would print a traceback: Datasette
# turns on sqlite3's callback tracebacks.
TOO_BIG = bytes(MAX_LENGTH + 1)
_PRIVATE = threading.local()  # each thread's connection that runs SQLite's own functions


def _builtin(name: str, args: tuple[Any, ...]) -> Any:
    connection = getattr(_PRIVATE, "connection", None)
    if connection is None:
        connection = _PRIVATE.connection = sqlite3.connect(":memory:")
        set_limits(connection)
    placeholders = ", ".join("?" * len(args))
    return connection.execute(f"select {name}({placeholders})", args).fetchone()[0]


def guarded(name: str) -> Callable[..., Any]:
    """SQLite's function `name`, refusing a call beyond its bound."""
    _, cost, bound = GUARDS[name]

    def call(*args: Any) -> Any:
        if cost(args) > bound:
            return TOO_BIG  # SQLite refuses it: "string or blob too big" (no Python traceback)
        return _builtin(name, args)

    return call


def set_limits(conn: sqlite3.Connection) -> None:
    """The length limits alone (a private connection has no guards: it runs SQLite's own)."""
    for limit, value in LIMITS.items():
        conn.setlimit(limit, value)


def bound_calls(conn: sqlite3.Connection) -> None:
    """Every bound of this module, on one of Datasette's connections."""
    set_limits(conn)
    for name, (arity, _, _) in GUARDS.items():
        conn.create_function(name, arity, guarded(name), deterministic=True)
