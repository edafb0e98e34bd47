"""Reads of a database made in a thread of their own, on a connection of their own.

Not in an event loop: the startup hook runs in one that `datasette serve` does not run again
once it serves, so a read started there would never be seen to end (`held.start_reading`). The
future is a `concurrent.futures.Future`, which any thread may look at.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from datasette.database import Database

T = TypeVar("T")


def read_in_background(
    db: Database, read: Callable[[sqlite3.Connection], T], name: str
) -> concurrent.futures.Future[T]:
    """Start `read(conn)` in a thread (named `name`) on a new connection to `db`; its result,
    or the exception it raised, in the future given back."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        conn = db.connect()
        try:
            future.set_result(read(conn))
        except Exception as error:  # whatever the read raised, for the future's reader
            future.set_exception(error)
        finally:
            conn.close()

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
