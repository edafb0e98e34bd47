"""Editing fact files with ruamel.yaml round trip: one canonical style, comments kept.

Reading for validation is done in loading.py; this module is for writing: `facts fmt`, and
the records that `facts new` and `facts add-source` append. Every file is replaced whole,
through a temporary file renamed into place (`write_atomic`); `facts fmt` rewrites only fact
files inside facts/ and never changes a value (`format_tree`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from factdb.loading import (
    FACTS_DIR,
    discover,
    parse_yaml,
    read_text,
    relative_path,
    string_timestamp_constructor,
    yaml_rs,
)
from factdb.problems import Problem
from factdb.schema.models import RECORD_MODELS, FactFile

SCHEMA_FILE = "schema/factfile.schema.json"
HEADER_PREFIX = "# yaml-language-server: $schema="
LINE_WIDTH = sys.maxsize  # canonical: a value stays on its key's line, never wrapped
SECTION_ORDER = list(FactFile.model_fields)
FIELD_ORDER = {section: list(model.model_fields) for section, model in RECORD_MODELS.items()}
# Words YAML 1.1 tools (PyYAML, yamllint) read as booleans or null: always quoted.
_AMBIGUOUS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""}
# Line breaks: LF and CR, and those ruamel.yaml reads as line breaks (YAML 1.1) where YAML 1.2
# (and yaml-rs) does not, so that the two readers read different values when they are written
# raw. A value holding one is double-quoted, where they are escapes, on one line.
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
# A plain value starting with an indicator is read differently by ruamel.yaml in flow lists
# ("[?x]", "[: x]" where the space is not ASCII): quoted.
_INDICATORS = tuple("-?:,[]{}#&*!|>'\"%@`")


@lru_cache(maxsize=16384)
def _plain_is_safe(data: str) -> bool:
    """True if ruamel writes the string without quotes (it reads back as this string)."""
    probe = YAML(typ="rt")
    probe.width = LINE_WIDTH
    out = StringIO()
    probe.dump({"k": data}, out)
    return not out.getvalue().startswith(("k: '", 'k: "', "k: |", "k: >"))


def _represent_str(representer: Any, data: str) -> Any:
    """Plain where safe; otherwise single quotes, which read better than escaped double quotes;
    double quotes (escapes \\n, \\L...) for a value holding a line break."""
    if any(character in data for character in _LINE_BREAKS):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    if (
        data.lower() in _AMBIGUOUS
        or data.startswith(_INDICATORS)
        or ("'" in data and not _plain_is_safe(data))
    ):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return representer.represent_str(data)


def _represent_none(representer: Any, data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


class _FactsRepresenter(RoundTripRepresenter):
    """ruamel's round-trip representer with our quoting of strings and nulls."""


_FactsRepresenter.add_representer(str, _represent_str)
_FactsRepresenter.add_representer(type(None), _represent_none)


def round_trip_yaml() -> YAML:
    """The YAML instance that reads and writes fact files in the canonical style."""
    yaml = YAML(typ="rt")
    yaml.Constructor = string_timestamp_constructor()
    yaml.width = LINE_WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = False
    yaml.Representer = _FactsRepresenter
    return yaml


def schema_header(path: Path, root: Path) -> str:
    """The first line of a fact file: where editors find its JSON Schema."""
    relative = os.path.relpath(root / SCHEMA_FILE, path.resolve().parent)
    return f"{HEADER_PREFIX}{Path(relative).as_posix()}"


def _order(mapping: CommentedMap, order: list[str]) -> None:
    """Move keys into the given order, in place, so that their comments move with them."""
    for key in [k for k in order if k in mapping] + [k for k in mapping if k not in order]:
        mapping.move_to_end(key)


def canonical(data: Any) -> Any:
    """Sections in schema order, and each record's keys in its model's field order."""
    if isinstance(data, CommentedMap):
        _order(data, SECTION_ORDER)
        for section, records in data.items():
            if section in FIELD_ORDER and isinstance(records, CommentedSeq):
                for record in records:
                    if isinstance(record, CommentedMap):
                        _order(record, FIELD_ORDER[section])
    return data


def dump(data: Any, yaml: YAML | None = None) -> str:
    out = StringIO()
    (yaml or round_trip_yaml()).dump(data, out)
    return out.getvalue()


def format_text(text: str, header: str) -> str:
    """The canonical form of a fact file's text: header line, then the formatted YAML."""
    return _format(text, header)[0]


def _format(text: str, header: str) -> tuple[str, Any]:
    """The canonical text, and the data as the exact reader read it (in `_plain` form)."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith(HEADER_PREFIX):
        lines = lines[1:]
    yaml = round_trip_yaml()
    data = yaml.load("\n".join(lines))
    reading = _plain(data)
    body = dump(canonical(data), yaml) if data is not None else ""
    return f"{header}\n{_blank_line_between_records(body)}", reading


def _blank_line_between_records(text: str) -> str:
    """One blank line before each record of a section, except the first."""
    out: list[str] = []
    for line in text.split("\n"):
        previous = out[-1] if out else ""
        starts_record = line.startswith("  - ")
        if starts_record and previous.strip() and not previous.lstrip().startswith("#"):
            if not previous.endswith(":"):  # not the section key itself
                out.append("")
        out.append(line)
    return "\n".join(out)


def write_atomic(path: Path, text: str) -> None:
    """Replace a file whole: a temporary file in its folder, on disk (fsync), renamed over it, so
    that a reader or a crash finds the old file or the new one, never a part. The file keeps its
    permissions; a link at `path` is replaced by the file, never written through."""
    folder = path.parent
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:  # a new file: what open() would give it
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # the rename itself on disk (not every system can)
        handle_folder = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle_folder)
        finally:
            os.close(handle_folder)


@dataclass
class Formatting:
    """What `facts fmt` found: the fact files it read, those it changed (or, checking, would
    change), and problems. `blocked`: a path or YAML problem, so that nothing was written."""

    files: list[Path] = field(default_factory=list)
    changed: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    blocked: bool = False


def fact_file(path: Path, root: Path, relative: str, problems: list[Problem]) -> Path | None:
    """The real location of a fact file that fmt may rewrite: a .yaml or .yml regular file whose
    real path (links followed) is in the repository's own facts/ folder; else a problem."""
    facts = os.path.join(os.path.realpath(root), FACTS_DIR)
    real = os.path.realpath(path)
    if os.path.commonpath([facts, real]) != facts:
        linked = real != os.path.abspath(path)
        message = (
            "a link out of facts/; fmt never writes through it"
            if linked
            else "not in facts/; fmt rewrites only the fact files there"
        )
        problems.append(Problem(relative, 1, 1, "path-outside-facts", message))
        return None
    if os.path.splitext(real)[1] not in (".yaml", ".yml") or not os.path.isfile(real):
        problems.append(
            Problem(relative, 1, 1, "not-a-fact-file", "not a .yaml or .yml file; fmt skips it")
        )
        return None
    return Path(real)


def format_tree(root: Path, paths: Sequence[Path] | None = None, write: bool = True) -> Formatting:
    """`facts fmt`: format the given fact files (default: every one in facts/). Nothing is
    written if a path is not a fact file in facts/ or a file is not valid YAML; a file whose
    values formatting would change is left as it is and reported (`format-changes-value`)."""
    done = Formatting()
    texts: dict[Path, tuple[Path, str, str]] = {}  # real path: (path shown, relative, text)
    for path in paths if paths else discover(root, done.problems):
        relative = relative_path(path, root)
        real = fact_file(path, root, relative, done.problems)
        if real is None or real in texts:
            continue
        done.files.append(path)
        text = read_text(real, relative, done.problems)
        if text is not None:
            parse_yaml(text, relative, done.problems)
            texts[real] = (path, relative, text)
    if done.problems:
        done.blocked = True
        return done
    for real, (path, relative, text) in texts.items():
        formatted, reading = _format(text, schema_header(real, root))
        if formatted == real.read_text(encoding="utf-8"):
            continue
        if not _keeps_values(text, reading, formatted, relative, done.problems):
            continue
        try:
            if write:
                write_atomic(real, formatted)
            done.changed.append(path)
        except OSError as error:
            reason = error.strerror or str(error)
            done.problems.append(Problem(relative, 1, 1, "file-unwritable", reason))
    return done


def _keeps_values(
    text: str, expected: Any, formatted: str, relative: str, problems: list[Problem]
) -> bool:
    """True if every YAML reader reads the file, and the formatted text, as the exact reader
    read the file (`expected`); otherwise False, and a problem at the first value that differs."""
    before = _readings(text, exact=False)
    after = _readings(formatted)
    if all(reading == expected for reading in before + after):
        return True
    different = next(r for r in before + after if r != expected)
    line, column, record_id = _position(text, _difference(expected, different))
    problems.append(
        Problem(
            relative,
            line,
            column,
            "format-changes-value",
            "the YAML readers read this value differently, or formatting would change it; "
            "the file is left as it is",
            record_id,
        )
    )
    return False


_UNREADABLE = ("unreadable",)


def _readings(text: str, exact: bool = True) -> list[Any]:
    """The data as each YAML reader that can read the text reads it (the exact reader, unless
    not `exact`, then yaml-rs, the fast path's), in a form where 1, 1.0, True and "1" differ."""
    readings = []
    if exact:
        try:
            readings.append(_plain(round_trip_yaml().load(text)))
        except Exception:  # the formatter wrote what its own reader cannot read
            readings.append(_UNREADABLE)
    if yaml_rs is not None:
        try:
            readings.append(_plain(yaml_rs.loads(text, parse_datetime=False)))
        except Exception:  # the fast path leaves it to the exact reader
            pass
    return readings


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    for kind in (str, bool, int):
        if isinstance(value, kind):
            return (kind.__name__, kind(value))
    if isinstance(value, float):
        return ("float", repr(float(value)))
    return (type(value).__name__, repr(value))


def _difference(a: Any, b: Any, path: tuple = ()) -> tuple:
    """The path (keys and indexes) to the first place where two readings differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in a.items():
            if key not in b or value != b[key]:
                return _difference(value, b.get(key), (*path, key))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _difference(x, y, (*path, index))
    return path


def _position(text: str, path: tuple) -> tuple[int, int, str | None]:
    """The 1-based line and column of a value in the text, and the id of its record."""
    line, column, record_id = 0, 0, None
    node: Any = round_trip_yaml().load(text)
    for step in path:
        key = step[1] if isinstance(step, tuple) else step
        if isinstance(node, CommentedMap) and key in node:
            if isinstance(node.get("id"), str):
                record_id = node["id"]
            line, column = node.lc.value(key)
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
            line, column = node.lc.item(key)
        else:
            break
        node = node[key]
    return line + 1, column + 1, record_id


def append_record(
    path: Path, root: Path, section: str, record: dict, comment: str | None = None
) -> None:
    """Append a record to a section of a fact file (created if missing), keeping the rest as is."""
    yaml = round_trip_yaml()
    if path.exists():
        data = yaml.load(path.read_text(encoding="utf-8")) or CommentedMap()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = CommentedMap()
    items = data.setdefault(section, CommentedSeq())
    entry = CommentedMap((k, record[k]) for k in FIELD_ORDER[section] if k in record)
    for key, value in entry.items():
        if isinstance(value, list):
            flow = CommentedSeq(value)
            flow.fa.set_flow_style()
            entry[key] = flow
    items.append(entry)
    if comment:
        items.yaml_set_comment_before_after_key(len(items) - 1, before=comment, indent=2)
    text = dump(canonical(data), yaml)
    write_atomic(path, format_text(text, schema_header(path, root)))


def update_records(
    path: Path, root: Path, section: str, changes: dict[str, dict[str, Any]]
) -> list[str]:
    """Set fields of records (by id) in one section of a fact file, keeping everything else and
    its comments; the file is replaced whole, through a temporary file. Returns the ids changed."""
    yaml = round_trip_yaml()
    data = yaml.load(path.read_text(encoding="utf-8"))
    changed = []
    for record in data.get(section) or []:
        fields = changes.get(record.get("id")) if isinstance(record, CommentedMap) else None
        if fields:
            for key, value in fields.items():
                record[key] = value
            changed.append(record["id"])
    write_atomic(path, format_text(dump(canonical(data), yaml), schema_header(path, root)))
    return changed
