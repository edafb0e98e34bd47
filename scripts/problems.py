"""Problems found in fact files: located, named, and printable in three formats."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace


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
        suffix = f" [{escape_name(self.record_id)}]" if self.record_id else ""
        rule = self.rule if self.is_error else f"{self.rule} (warning)"
        message = _visible(_one_line(self.message))
        return f"{escape_name(self.path)}:{self.line}:{self.column}: {rule}: {message}{suffix}"

    def as_github(self) -> str:
        """A GitHub Actions error annotation, shown on the file's line in a pull request."""
        props = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("file", _controls(self.path)),
                ("line", self.line),
                ("col", self.column),
                ("title", self.rule),
            )
        )
        suffix = f" [{self.record_id}]" if self.record_id else ""
        return f"::{self.severity} {props}::{_escape_data(_controls(self.message + suffix))}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# a control character but tab and line ends, a line or paragraph separator, a bidi control, a
# byte that was not UTF-8 (a surrogate escape): what messages and annotations do not print raw
_CONTROLS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def _escape_character(character: str) -> str:
    code = ord(character)
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _workflow_safe(text: str) -> str:
    """No GitHub workflow command: the runner takes a line that starts with '::' (after spaces)
    and '##[' anywhere in a line as one; a character of each is escaped."""
    text = text.replace("##[", "##\\x5b")
    stripped = text.lstrip(" ")
    if stripped.startswith("::"):
        text = text[: len(text) - len(stripped)] + "\\x3a" + stripped[1:]
    return text


def escape_name(name: str) -> str:
    """A file name (or an id) as printed where terminals and CI read it: one line, nothing
    hidden, no workflow command. A backslash, and every character Python does not call printable
    but the space (controls, line and paragraph separators, format characters such as bidi
    controls, other spaces, unassigned code points) are written as escapes (\\\\, \\n, \\xNN,
    \\uNNNN); a byte that was not UTF-8 as \\xNN."""
    if not (name.isprintable() and "\\" not in name):
        name = "".join(c if c.isprintable() and c != "\\" else _escape_character(c) for c in name)
    return _workflow_safe(name)


def _controls(text: str, pattern: re.Pattern = _CONTROLS) -> str:
    """Control characters (but tab and line ends), separators, bidi controls and undecodable
    bytes escaped."""
    return pattern.sub(lambda match: _escape_character(match.group()), text)


def _visible(message: str) -> str:
    """A message as a text line prints it: no control character, no workflow command."""
    return _workflow_safe(_controls(message))


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_problems(
    problems: Iterable[Problem], fmt: str = "text", limit: int | None = None
) -> str:
    """Render problems as text lines, GitHub annotations or a JSON array; text and GitHub
    output stop after `limit` problems with a line saying how many more (JSON has them all)."""
    ordered = sorted(problems)
    if fmt == "json":  # JSON escapes controls itself; a byte that was not UTF-8 is escaped here
        rows = [asdict(replace(p, path=_controls(p.path, _SURROGATES))) for p in ordered]
        return json.dumps(rows, indent=2, ensure_ascii=False)
    shown = ordered if limit is None else ordered[:limit]
    lines = [p.as_github() if fmt == "github" else p.as_text() for p in shown]
    if len(shown) < len(ordered):
        more = len(ordered) - len(shown)
        lines.append(f"... and {more:,} more problem(s): --format json lists every one")
    return "\n".join(lines)


# Rules that mean a whole file could not be read: its records, and so the ids it defines, are
# missing, and every reference to them would be a problem of its own.
UNREAD_RULES = frozenset(
    {
        "file-too-large",
        "file-unreadable",
        "not-utf8",
        "path-outside-repository",
        "yaml-syntax",
        "yaml-character",
        "yaml-tag",
        "yaml-anchor",
        "yaml-alias",
        "yaml-too-deep",
        "yaml-duplicate-key",
        "not-a-mapping",
    }
)
CASCADE_LIMIT = 20  # unknown references kept one by one where a file could not be read


def collapse_cascade(problems: list[Problem]) -> list[Problem]:
    """Where a fact file could not be read and more than CASCADE_LIMIT references name ids no
    readable file defines, those references as one problem at each such file, with their count
    and the first of them, instead of one per claim (a 1 GB sources file made 1,000,001)."""
    unread = sorted({p.path for p in problems if p.rule in UNREAD_RULES})
    references = [p for p in problems if p.rule == "unknown-reference"]
    if not unread or len(references) <= CASCADE_LIMIT:
        return problems
    first = min(references)
    message = (
        f"{len(references):,} references name ids that no readable file defines (the first, "
        f"{first.path}:{first.line}: {first.message}); they may be defined in this file, "
        "which could not be read: fix it first"
    )
    kept = [p for p in problems if p.rule != "unknown-reference"]
    kept += [Problem(path, 1, 1, "unknown-reference", message) for path in unread]
    return sorted(kept)
