"""sqlite-utils, imported without numpy and pandas.

sqlite-utils imports numpy and pandas at its own import wherever they are installed, to accept
their values in inserts: 0.1 s a process here, where numpy is installed for the date sweep
(`factdb.sweeping`), though nothing here hands it either. They are hidden from that import; a
process that has imported numpy already keeps it (sqlite-utils then sees it, as it would).
Import `sqlite_utils` from here, never directly.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

HIDDEN = ("numpy", "pandas")


def _import_sqlite_utils() -> ModuleType:
    hidden = [name for name in HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            del sys.modules[name]


if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_sqlite_utils()

__all__ = ["sqlite_utils"]
