"""Reading fact files into located, validated records, collecting every problem on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, NodeEvent, ScalarEvent

from schema.models import RECORD_MODELS, Claim, Entity, Record, Source, Topic
from scripts.problems import Problem

FACTS_DIR = "facts"
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 16

R = TypeVar("R", bound=Record)


@dataclass
class Located(Generic[R]):
    """A validated record and where it stands: its file, its line and column, and its fields'."""

    record: R
    path: str
    line: int
    column: int
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    items: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def at(self, name: str | None = None, index: int | None = None) -> tuple[int, int]:
        """Line and column of a field's value, or of one item of a list field; else the record's."""
        if name and index is not None and index < len(self.items.get(name, ())):
            return self.items[name][index]
        return self.fields.get(name, (self.line, self.column)) if name else (self.line, self.column)


@dataclass
class Facts:
    """Every valid record of a fact tree, in file order, with the problems met while loading."""

    sources: list[Located[Source]] = field(default_factory=list)
    entities: list[Located[Entity]] = field(default_factory=list)
    topics: list[Located[Topic]] = field(default_factory=list)
    claims: list[Located[Claim]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class _StringTimestampConstructor(RoundTripConstructor):
    """Keep dates as the text written (EDTF strings), not as datetime objects."""


_StringTimestampConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _StringTimestampConstructor
    yaml.allow_duplicate_keys = False
    return yaml


def discover(root: Path) -> list[Path]:
    """Every fact file under root/facts, in a stable order."""
    base = root / FACTS_DIR
    return sorted(p for p in base.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_facts(root: Path, paths: list[Path] | None = None) -> Facts:
    """Load and validate every fact file; problems are collected, never raised."""
    facts = Facts()
    for path in paths if paths is not None else discover(root):
        relative = _relative(path, root)
        facts.files.append(relative)
        for kind, located in _load_records(path, relative, facts.problems):
            getattr(facts, kind).append(located)
    return facts


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_text(path: Path, relative: str, problems: list[Problem]) -> str | None:
    """Read a UTF-8 file (a byte-order mark and CRLF are fine), or record why it can't be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    relative, 1, 1, "file-too-large", f"{size} bytes; the limit is {MAX_FILE_BYTES}"
                )
            )
            return None
        data = path.read_bytes()
    except OSError as error:
        problems.append(Problem(relative, 1, 1, "file-unreadable", error.strerror or str(error)))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        problems.append(
            Problem(
                relative, line, column, "not-utf8", f"byte 0x{data[error.start]:02x} is not UTF-8"
            )
        )
        return None
    return text.replace("\r\n", "\n")


def parse_yaml(text: str, relative: str, problems: list[Problem]) -> Any:
    """Parse YAML 1.2, refusing anchors, aliases, tags and deep nesting; None on failure."""
    yaml = _yaml()
    before = len(problems)
    try:
        problems.extend(_refused_constructs(yaml, text, relative))
        if len(problems) > before:
            return None
        return yaml.load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        rule = "yaml-duplicate-key" if "duplicate key" in str(error.problem) else "yaml-syntax"
        message = " ".join(str(part) for part in (error.context, error.problem) if part)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(relative, line, column, rule, message))
    except Exception as error:  # ruamel raises a few unmarked errors on odd input
        problems.append(Problem(relative, 1, 1, "yaml-syntax", str(error) or type(error).__name__))
    return None


def _refused_constructs(yaml: YAML, text: str, relative: str) -> Iterator[Problem]:
    """Anchors, aliases and explicit tags have no place in fact files; nor has deep nesting."""
    depth = 0
    for event in yaml.parse(text):
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if isinstance(event, AliasEvent):
            yield Problem(
                relative, line, column, "yaml-alias", f"alias *{event.anchor} is not allowed"
            )
        elif isinstance(event, NodeEvent) and event.anchor:
            yield Problem(
                relative, line, column, "yaml-anchor", f"anchor &{event.anchor} is not allowed"
            )
        tag = getattr(event, "tag", None)
        if isinstance(event, ScalarEvent | CollectionStartEvent) and tag is not None:
            yield Problem(relative, line, column, "yaml-tag", f"tag {tag} is not allowed")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                yield Problem(
                    relative, line, column, "yaml-too-deep", f"nested deeper than {MAX_DEPTH}"
                )
                return
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1


def _load_records(
    path: Path, relative: str, problems: list[Problem]
) -> Iterator[tuple[str, Located]]:
    text = read_text(path, relative, problems)
    if text is None:
        return
    if not text.strip() or all(
        line.lstrip().startswith("#") for line in text.splitlines() if line.strip()
    ):
        problems.append(Problem(relative, 1, 1, "empty-file", "the file holds no records"))
        return
    data = parse_yaml(text, relative, problems)
    if data is None:
        return
    if not isinstance(data, CommentedMap):
        problems.append(
            Problem(
                relative,
                1,
                1,
                "not-a-mapping",
                "a fact file is a mapping of sources/entities/topics/claims to lists",
            )
        )
        return
    for key, items in data.items():
        line, column = _key_position(data, key)
        model = RECORD_MODELS.get(key) if isinstance(key, str) else None
        if model is None:
            problems.append(
                Problem(
                    relative,
                    line,
                    column,
                    "unknown-section",
                    f"{key!r} is not one of {', '.join(RECORD_MODELS)}",
                )
            )
            continue
        if not isinstance(items, CommentedSeq):
            problems.append(
                Problem(relative, line, column, "not-a-list", f"{key} must be a list of records")
            )
            continue
        for index, item in enumerate(items):
            located = _validate_item(model, items, index, item, relative, problems)
            if located is not None:
                yield key, located


def _validate_item(
    model: type[Record],
    items: CommentedSeq,
    index: int,
    item: Any,
    relative: str,
    problems: list[Problem],
) -> Located | None:
    line, column = _item_position(items, index)
    if not isinstance(item, CommentedMap):
        problems.append(
            Problem(relative, line, column, "not-a-mapping", "a record must be a mapping")
        )
        return None
    record_id = item.get("id") if isinstance(item.get("id"), str) else None
    try:
        record = model.model_validate(_plain(item))
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            where = _error_position(item, detail["loc"], (line, column), detail["type"])
            problems.append(
                Problem(relative, *where, _rule_name(detail), _error_message(detail), record_id)
            )
        return None
    fields = {key: _value_position(item, key) for key in item if isinstance(key, str)}
    items = {
        key: [_item_position(value, i) for i in range(len(value))]
        for key, value in item.items()
        if isinstance(key, str) and isinstance(value, CommentedSeq)
    }
    return Located(record, relative, line, column, fields, items)


def _plain(value: Any) -> Any:
    """Plain dicts, lists and builtin scalars, so that pydantic sees only standard types."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


_RULES = {
    "missing": "missing-field",
    "extra_forbidden": "unknown-field",
    "string_pattern_mismatch": "bad-format",
    "literal_error": "bad-choice",
    "finite_number": "not-finite",
}


def _rule_name(detail: dict) -> str:
    kind = detail["type"]
    if kind in _RULES:
        return _RULES[kind]
    if "-" in kind:  # our own PydanticCustomError types are already rule names
        return kind
    return "wrong-type" if kind.endswith(("_type", "_parsing")) else kind.replace("_", "-")


def _error_message(detail: dict) -> str:
    field_name = ".".join(str(part) for part in detail["loc"])
    message = detail["msg"]
    if detail["type"] == "missing":
        return f"required field '{field_name}' is missing"
    if detail["type"] == "extra_forbidden":
        return f"unknown field '{field_name}'"
    if not field_name:
        return message
    given = detail.get("input")
    shown = f" (got {given!r:.60})" if isinstance(given, str | int | float | bool) else ""
    return f"{field_name}: {message}{shown}"


def _error_position(
    item: CommentedMap, loc: tuple, default: tuple[int, int], kind: str
) -> tuple[int, int]:
    """Walk a pydantic error location down the YAML nodes to the line and column it names."""
    node: Any = item
    position = default
    for index, part in enumerate(loc):
        if isinstance(node, CommentedMap) and part in node:
            last = index == len(loc) - 1
            on_key = last and kind == "extra_forbidden"
            position = _key_position(node, part) if on_key else _value_position(node, part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            position = _item_position(node, part)
            node = node[part]
        else:
            break
    return position


def _key_position(node: CommentedMap, key: Any) -> tuple[int, int]:
    line, column = node.lc.key(key)
    return line + 1, column + 1


def _value_position(node: CommentedMap, key: Any) -> tuple[int, int]:
    try:
        line, column = node.lc.value(key)
    except (KeyError, TypeError):
        return _key_position(node, key)
    return line + 1, column + 1


def _item_position(node: CommentedSeq, index: int) -> tuple[int, int]:
    line, column = node.lc.item(index)
    return line + 1, column + 1
