"""Editing fact files with ruamel.yaml round trip: one canonical style, comments kept.

Reading for validation is done in loading.py; this module is for writing: `facts fmt`, and
the records that `facts new` and `facts add-source` append.
"""

from __future__ import annotations

import os
from functools import lru_cache
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from factdb.loading import string_timestamp_constructor
from factdb.schema.models import RECORD_MODELS, FactFile

SCHEMA_FILE = "schema/factfile.schema.json"
HEADER_PREFIX = "# yaml-language-server: $schema="
LINE_WIDTH = 4096  # canonical: a value stays on one line, never wrapped
SECTION_ORDER = list(FactFile.model_fields)
FIELD_ORDER = {section: list(model.model_fields) for section, model in RECORD_MODELS.items()}
# Words YAML 1.1 tools (PyYAML, yamllint) read as booleans or null: always quoted.
_AMBIGUOUS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""}


@lru_cache(maxsize=16384)
def _plain_is_safe(data: str) -> bool:
    """True if ruamel writes the string without quotes (it reads back as this string)."""
    probe = YAML(typ="rt")
    probe.width = LINE_WIDTH
    out = StringIO()
    probe.dump({"k": data}, out)
    return not out.getvalue().startswith(("k: '", 'k: "', "k: |", "k: >"))


def _represent_str(representer: Any, data: str) -> Any:
    """Plain where safe; otherwise single quotes, which read better than escaped double quotes."""
    if data.lower() in _AMBIGUOUS or ("'" in data and not _plain_is_safe(data)):
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
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith(HEADER_PREFIX):
        lines = lines[1:]
    yaml = round_trip_yaml()
    data = yaml.load("\n".join(lines))
    body = dump(canonical(data), yaml) if data is not None else ""
    return f"{header}\n{_blank_line_between_records(body)}"


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


def format_file(path: Path, root: Path, write: bool = True) -> bool:
    """Format one fact file; return True if it was (or, without write, would be) changed."""
    text = path.read_text(encoding="utf-8")
    formatted = format_text(text, schema_header(path, root))
    if formatted == text:
        return False
    if write:
        path.write_text(formatted, encoding="utf-8")
    return True


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
    path.write_text(format_text(text, schema_header(path, root)), encoding="utf-8")


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
    text = format_text(dump(canonical(data), yaml), schema_header(path, root))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return changed
