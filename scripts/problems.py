"""Problems found in fact files: located, named, and printable in three formats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the facts, at a 1-based line and column of a file."""

    path: str
    line: int
    column: int
    rule: str
    message: str
    record_id: str | None = None
    severity: str = "error"  # or "warning": reported, but fails a run only with --strict

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_text(self) -> str:
        """`file:line:column: rule: message [id]`, the form editors and terminals link; a
        warning says so after its rule."""
        suffix = f" [{self.record_id}]" if self.record_id else ""
        rule = self.rule if self.is_error else f"{self.rule} (warning)"
        return f"{self.path}:{self.line}:{self.column}: {rule}: {_one_line(self.message)}{suffix}"

    def as_github(self) -> str:
        """A GitHub Actions error annotation, shown on the file's line in a pull request."""
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", self.path),
                ("line", self.line),
                ("col", self.column),
                ("title", self.rule),
            )
        )
        suffix = f" [{self.record_id}]" if self.record_id else ""
        return f"::{self.severity} {props}::{_escape_data(self.message + suffix)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_problems(problems: Iterable[Problem], fmt: str = "text") -> str:
    """Render problems as text lines, GitHub annotations or a JSON array."""
    ordered = sorted(problems)
    if fmt == "json":
        return json.dumps([asdict(p) for p in ordered], indent=2, ensure_ascii=False)
    if fmt == "github":
        return "\n".join(p.as_github() for p in ordered)
    return "\n".join(p.as_text() for p in ordered)
