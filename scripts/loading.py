"""Reading fact files into located, validated records, collecting every problem on the way."""

from __future__ import annotations

import errno
import importlib
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from factdb.locating import (
    NodeLocator,
    RecordKey,
    TextLocator,
    key_position,
    record_lines,
)
from factdb.problems import Problem
from factdb.progress import progress
from factdb.schema.models import (
    RECORD_MODELS,
    Claim,
    Entity,
    Event,
    Record,
    Source,
    Topic,
    list_of,
)

if TYPE_CHECKING:  # ruamel.yaml is imported only where the exact path runs (it costs 10 ms)
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import RoundTripConstructor


def _optional_yaml_rs() -> ModuleType | None:
    """yaml-rs, pinned (0.1.x is young): without it, every file takes the exact path."""
    try:
        return importlib.import_module("yaml_rs")
    except ImportError:  # pragma: no cover - exercised by test_loading's fallback test
        return None


yaml_rs = _optional_yaml_rs()
Locator = NodeLocator | TextLocator


class Positions(Protocol):
    """Where a record, or a field of it, stands in its file."""

    def record(self, key: RecordKey) -> tuple[int, int]: ...

    def position(self, key: RecordKey, path: tuple, kind: str = "") -> tuple[int, int]: ...


FACTS_DIR = "facts"
MAX_FILE_BYTES = 2 * 1024 * 1024
OUTSIDE_REPOSITORY = "path-outside-repository"  # the rule of a path leading out of the repository
MAX_DEPTH = 16

R = TypeVar("R", bound=Record)
KINDS = ("sources", "entities", "topics", "events", "claims")  # a fact file's sections, in order
REGISTRY_KINDS = ("sources", "entities", "topics", "events")  # what claims refer to
Ids = dict[str, list[tuple[str, int, int]]]  # kind -> (id, line, column) of each record


@dataclass
class Located(Generic[R]):
    """A validated record and where it stands: its file, its line and column, and its fields'."""

    record: R
    path: str
    line: int
    column: int
    locator: Positions | None = None
    key: RecordKey | None = None

    def at(self, name: str | None = None, index: int | None = None) -> tuple[int, int]:
        """Line and column of a field's value, or of one item of a list field; else the record's."""
        if name is None or self.locator is None or self.key is None:
            return self.line, self.column
        path = (name,) if index is None else (name, index)
        return self.locator.position(self.key, path)


def record_ids(records: dict[str, list[Located]]) -> Ids:
    """The ids of a file's records, kind by kind (only the kinds it holds), with positions."""
    return {k: [(x.record.id, x.line, x.column) for x in records[k]] for k in KINDS if records[k]}


@dataclass
class Facts:
    """Every valid record of a fact tree, in file order, with the problems met while loading."""

    sources: list[Located[Source]] = field(default_factory=list)
    entities: list[Located[Entity]] = field(default_factory=list)
    topics: list[Located[Topic]] = field(default_factory=list)
    events: list[Located[Event]] = field(default_factory=list)
    claims: list[Located[Claim]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # each registry's ids and its records by id, with how many records they were taken from
    # (see `ids`, `by_id`); shared by the Facts of each chunk of claims, which hold the same
    # registries (at 1M claims, 1,000 chunks: worked out for each, 20,000 sources cost seconds)
    derived: dict[tuple[str, str], tuple[int, Any]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def ids(self, kind: str) -> frozenset[str]:
        """The ids of one kind of registry record ("sources", "events", ...), worked out once
        (again only if records were added since)."""
        return self._derived("ids", kind, lambda records: frozenset(r.record.id for r in records))

    def by_id(self, kind: str) -> dict[str, Any]:
        """The records of one kind of registry by id (the last of an id written twice, which
        unique-id reports), worked out once as `ids` is."""
        return self._derived("by_id", kind, lambda found: {r.record.id: r.record for r in found})

    def _derived(self, what: str, kind: str, derive: Callable[[list[Located]], Any]) -> Any:
        records = getattr(self, kind)
        known = self.derived.get((what, kind))
        if known is None or known[0] != len(records):
            known = self.derived[what, kind] = len(records), derive(records)
        return known[1]


@cache
def string_timestamp_constructor() -> type[RoundTripConstructor]:
    """ruamel.yaml's round-trip constructor keeping dates as the text written (EDTF strings),
    not as datetime objects."""
    from ruamel.yaml.constructor import RoundTripConstructor

    class StringTimestampConstructor(RoundTripConstructor):
        pass

    StringTimestampConstructor.add_constructor(
        "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
    )
    return StringTimestampConstructor


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.Constructor = string_timestamp_constructor()
    yaml.allow_duplicate_keys = False
    return yaml


def fact_entries(root: Path, refused: list[Problem] | None = None) -> list[os.DirEntry]:
    """Every fact file under root/facts, as directory entries, in a stable order.

    As `Path.rglob` would: symbolic links to folders are not followed; links to files are,
    where their real location is inside the repository. A link leading outside it (or a facts/
    that does) is never opened: its problem goes into `refused`. One directory read per folder
    and no `stat` per file (the entry knows its type; only links are resolved).
    """
    base = os.path.realpath(root)
    folder = root / FACTS_DIR
    if not inside(folder, base):
        _refuse(refused, FACTS_DIR, "the facts folder leads")
        return []
    outside: list[Problem] = []
    found: list[tuple[list[str], os.DirEntry]] = []
    folders = [str(folder)]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif os.path.splitext(entry.name)[1] not in (".yaml", ".yml"):
                        continue
                    elif entry.is_symlink() and not inside(entry.path, base):
                        _refuse(outside, relative_path(entry.path, root), "a symbolic link leads")
                    elif entry.is_file():
                        found.append((entry.path.split(os.sep), entry))
        except OSError:
            continue
    found.sort(key=lambda pair: pair[0])  # Path order, without Path's slow comparisons
    if refused is not None:
        refused += sorted(outside)
    return [entry for _, entry in found]


def inside(path: Path | str, base: str) -> bool:
    """True if the real location of `path` (every link followed) is `base` or inside it; `base`
    is a real path (os.path.realpath)."""
    real = os.path.realpath(path)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def _refuse(refused: list[Problem] | None, relative: str, what: str) -> None:
    if refused is not None:
        message = f"{what} outside the repository: not read"
        refused.append(Problem(relative, 1, 1, OUTSIDE_REPOSITORY, message))


def discover(root: Path, refused: list[Problem] | None = None) -> list[Path]:
    """Every fact file under root/facts, in a stable order (see fact_entries)."""
    return [Path(entry.path) for entry in fact_entries(root, refused)]


FileRecords = tuple[dict[str, list[Located]], list[Problem]]  # records by kind, and problems
Loader = Callable[[Path, str], FileRecords]  # (path, relative path) -> the file's records


def load_file(path: Path, relative: str) -> FileRecords:
    """A fact file's records by kind, and the problems met reading them."""
    problems: list[Problem] = []
    records: dict[str, list[Located]] = {kind: [] for kind in KINDS}
    for kind, located in load_records(path, relative, problems):
        records[kind].append(located)
    return records, problems


def load_facts(root: Path, paths: list[Path] | None = None, fast: bool = True) -> Facts:
    """Load and validate every fact file; problems are collected, never raised.

    fast=False reads every file with ruamel.yaml's round trip, the exact reference path.
    Given `paths`, a path whose real location is outside the repository is refused unread.
    """
    facts = Facts()
    if paths is None:
        paths = discover(root, facts.problems)
    else:
        base = os.path.realpath(root)
        for path in [p for p in paths if not inside(p, base)]:
            _refuse(facts.problems, relative_path(path, root), "the path leads")
        paths = [path for path in paths if inside(path, base)]
    for path in progress(paths, "Reading facts"):
        relative = relative_path(path, root)
        facts.files.append(relative)
        for kind, located in load_records(path, relative, facts.problems, fast):
            getattr(facts, kind).append(located)
    return facts


def relative_path(path: Path | str, root: Path) -> str:
    """A fact file's path as problems name it: relative to root, with forward slashes."""
    text, prefix = str(path), str(root) + os.sep
    if text.startswith(prefix) and os.sep == "/" and ".." not in text:  # the common case, fast
        return text[len(prefix) :]
    path = Path(path)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_bounded(path: Path | str) -> bytes | int:
    """A regular file's bytes, or its size where that is over MAX_FILE_BYTES: the size is known
    from `stat` before a byte is read, and no more than the limit is ever read (a file that
    grows meanwhile included). Raises OSError, also for what is not a regular file: a device
    is never opened, and a named pipe put in its place meanwhile is opened without waiting."""
    status = _regular(os.stat(path))
    if status.st_size > MAX_FILE_BYTES:
        return status.st_size
    with open(os.open(path, os.O_RDONLY | _NONBLOCK), "rb") as handle:
        status = _regular(os.fstat(handle.fileno()))
        size = min(status.st_size, MAX_FILE_BYTES)
        data = handle.read(size + 1)  # a buffer of the limit's size would cost 4 times more
        if len(data) > size:  # it grew since the stat: read on, up to the limit
            data += handle.read(MAX_FILE_BYTES + 1 - len(data))
            if len(data) > MAX_FILE_BYTES:
                return max(len(data), os.fstat(handle.fileno()).st_size)
    return data


def read_head(path: Path | str, size: int) -> bytes:
    """The first `size` bytes of a regular file no larger than MAX_FILE_BYTES (empty if it is
    larger); raises OSError as read_bounded does."""
    if _regular(os.stat(path)).st_size > MAX_FILE_BYTES:
        return b""
    with open(os.open(path, os.O_RDONLY | _NONBLOCK), "rb") as handle:
        _regular(os.fstat(handle.fileno()))
        return handle.read(size)


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _regular(status: os.stat_result) -> os.stat_result:
    if not stat.S_ISREG(status.st_mode):
        raise OSError(errno.EINVAL, "not a regular file")
    return status


def read_bytes(path: Path | str, relative: str, problems: list[Problem]) -> bytes | None:
    """A file's bytes (read_bounded), or None with the reason in `problems`."""
    try:
        data = read_bounded(path)
    except OSError as error:
        problems.append(Problem(relative, 1, 1, "file-unreadable", error.strerror or str(error)))
        return None
    if isinstance(data, int):
        message = f"{data} bytes; the limit is {MAX_FILE_BYTES}"
        problems.append(Problem(relative, 1, 1, "file-too-large", message))
        return None
    return data


def read_text(path: Path | str, relative: str, problems: list[Problem]) -> str | None:
    """Read a UTF-8 file (a byte-order mark and CRLF are fine), or record why it can't be read."""
    data = read_bytes(path, relative, problems)
    return None if data is None else decode_text(data, relative, problems)


def decode_text(data: bytes, relative: str, problems: list[Problem]) -> str | None:
    """UTF-8 bytes as text without a byte-order mark or CRLF; None if they are not UTF-8."""
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
    # a search for one character runs at memchr's speed, for two at a tenth of it (the claim
    # files of 100k claims, 45 MB: 2 against 42 ms)
    return text.replace("\r\n", "\n") if "\r" in text else text


def parse_yaml(text: str, relative: str, problems: list[Problem]) -> Any:
    """Parse YAML 1.2, refusing anchors, aliases, tags and deep nesting; None on failure."""
    from ruamel.yaml.error import MarkedYAMLError
    from ruamel.yaml.reader import ReaderError

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
    except ReaderError as error:  # a character YAML does not allow, at a position in the text
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        problems.append(
            Problem(
                relative,
                line,
                column,
                "yaml-character",
                f"character U+{_code(error.character):04X} is not allowed in YAML",
            )
        )
    except Exception as error:  # ruamel raises a few unmarked errors on odd input
        problems.append(Problem(relative, 1, 1, "yaml-syntax", str(error) or type(error).__name__))
    return None


def _round_trip_map(data: Any) -> bool:
    """True for a mapping read by ruamel.yaml's round trip (which knows its positions)."""
    from ruamel.yaml.comments import CommentedMap

    return isinstance(data, CommentedMap)


def _code(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character)


def _refused_constructs(yaml: YAML, text: str, relative: str) -> Iterator[Problem]:
    """Anchors, aliases and explicit tags have no place in fact files; nor has deep nesting."""
    from ruamel.yaml.events import AliasEvent, CollectionStartEvent, NodeEvent, ScalarEvent

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


def _only_comments(text: str) -> bool:
    """True if every line is blank or a comment; lines are read only up to the first other."""
    text = text.replace("\r", "\n")  # a lone carriage return ends a line in YAML too
    position = 0
    while position < len(text):
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        line = text[position:end].strip()
        if line and not line.startswith("#"):
            return False
        position = end + 1
    return True


def load_records(
    path: Path, relative: str, problems: list[Problem], fast: bool = True
) -> Iterator[tuple[str, Located]]:
    """Each valid record of one fact file with its kind; what is wrong goes into `problems`."""
    text = read_text(path, relative, problems)
    if text is None:
        return
    if _only_comments(text):
        problems.append(Problem(relative, 1, 1, "empty-file", "the file holds no records"))
        return
    parsed = _parse_fast(text) if fast else None
    if parsed is None:
        data = parse_yaml(text, relative, problems)
        if data is None:
            return
        locator: Locator | None = NodeLocator(data) if _round_trip_map(data) else None
    else:
        data, locator = parsed
    if not isinstance(data, dict):
        problems.append(
            Problem(
                relative,
                1,
                1,
                "not-a-mapping",
                "a fact file is a mapping of sources/entities/topics/events/claims to lists",
            )
        )
        return
    for key, items in data.items():
        model = RECORD_MODELS.get(key) if isinstance(key, str) else None
        if model is None or not isinstance(items, list):
            line, column = _section_position(text, data, key, locator)
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
            else:
                problems.append(
                    Problem(
                        relative, line, column, "not-a-list", f"{key} must be a list of records"
                    )
                )
            continue
        yield from (
            (key, r) for r in _validate_section(model, key, items, relative, locator, problems)
        )


_MARKUP = re.compile(r"(?m)(?:^[ \t]*(?:-[ \t]+)*|:[ \t]+|[\[{,][ \t]*)[!&*]")  # tag, anchor, alias
_NESTED = re.compile(r"[\[{][ \t]*[\[{]")  # nested flow collections
_NESTED_LIST = re.compile(r"\[[ \t]*[\[{]")  # the same, in a text without "{"
_DEEP = " " * (2 * MAX_DEPTH)  # deep block nesting
# a character YAML does not allow in a stream: outside its "printable" set (tab, LF, CR,
# x20-x7E, x85, xA0-xD7FF, xE000-xFFFD, x10000-x10FFFF), written as the complement, which
# compiles in a tenth of the time (3 ms a process); test_loading checks every code point
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# characters the two parsers read differently: a byte-order mark past the first (ruamel.yaml
# skips one at the start of the text, yaml-rs keeps it in the key) and the line breaks YAML 1.1
# knew (NEL, LS, PS)
_READ_DIFFERENTLY = re.compile("[\x85\u2028\u2029\ufeff]")
_ASCII_CONTROLS = {c: None for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_NO_ALIASES = yaml_rs.AliasLimits(max_total_replayed_events=0) if yaml_rs else None


def suspect(text: str) -> bool:
    """True if the text may hold what the exact path must judge: a tag, anchor or alias, nested
    flow collections, deep nesting, a character YAML forbids, or a tab, a byte-order mark or
    a YAML 1.1 line break (the two parsers read those differently).

    Each regular expression runs only where a cheap test (a character present, ASCII only)
    leaves room for it to match: one combined expression cost 0.6 ms a file.
    """
    if "\t" in text:  # yaml-rs takes a tab in a plain key that ruamel.yaml refuses
        return True
    if any(mark in text for mark in "!&*") and _MARKUP.search(text):
        return True
    if (_NESTED if "{" in text else _NESTED_LIST).search(text):
        return True
    if text.startswith(_DEEP) or "\n" + _DEEP in text:
        return True
    if text.isascii():
        return len(text.translate(_ASCII_CONTROLS)) != len(text)
    return _FORBIDDEN.search(text) is not None or _READ_DIFFERENTLY.search(text) is not None


def _parse_fast(text: str) -> tuple[Any, Locator] | None:
    """yaml-rs and a line index, for the common case; None where the exact path must decide."""
    if yaml_rs is None or suspect(text):
        return None
    try:
        data = yaml_rs.loads(text, parse_datetime=False, alias_limits=_NO_ALIASES)
    except Exception:  # any error is reported by the exact path, with its position
        return None
    if not isinstance(data, dict):
        return None
    sections = {k: len(v) for k, v in data.items() if isinstance(v, list) and k in RECORD_MODELS}
    if set(sections) != {k for k in data if k in RECORD_MODELS}:
        return None
    records = record_lines(text, sections)
    if records is None:
        return None

    def exact() -> NodeLocator:
        return NodeLocator(_yaml().load(text))

    return data, TextLocator(text, records, exact)


class FileLocator:
    """The locator of a file read again, and only when a position in it is first asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inner: Locator | None = None

    def _locator(self) -> Locator:
        if self._inner is None:
            text = read_text(self.path, str(self.path), []) or ""
            parsed = _parse_fast(text)
            self._inner = parsed[1] if parsed else NodeLocator(_yaml().load(text))
        return self._inner

    def record(self, key: RecordKey) -> tuple[int, int]:
        return self._locator().record(key)

    def position(self, key: RecordKey, path: tuple, kind: str = "") -> tuple[int, int]:
        return self._locator().position(key, path, kind)


def _section_position(text: str, data: Any, key: Any, locator: Locator | None) -> tuple[int, int]:
    if isinstance(locator, NodeLocator) and _round_trip_map(data):
        return key_position(data, key)
    for number, line in enumerate(text.split("\n")):
        if line.startswith(f"{key}:"):
            return number + 1, 1
    return 1, 1


LIST_VALIDATORS: dict[type[Record], Any] = {}
"""Each model's validator of a list of its records (pydantic-core's, of TypeAdapter(list[model])),
built when first needed. `caching` keeps them between runs: building the claims' took a run
that checks one changed file 20 ms, reading it back 0.4 ms."""


def list_validator(model: type[Record]) -> Any:
    validator = LIST_VALIDATORS.get(model)
    if validator is None:
        validator = LIST_VALIDATORS[model] = TypeAdapter(list_of(model)).validator
    return validator


def _validate_section(
    model: type[Record],
    section: str,
    items: list,
    relative: str,
    locator: Locator | None,
    problems: list[Problem],
) -> list[Located]:
    """Validate a section's records in one call; record by record only when some are wrong."""
    if locator is not None and all(isinstance(item, dict) for item in items):
        plain = [i if type(i) is dict else _plain(i) for i in items]  # yaml-rs gives plain dicts
        try:
            records = list_validator(model).validate_python(plain)
        except ValidationError:
            pass
        else:
            return [
                Located(record, relative, *locator.record((section, i)), locator, (section, i))
                for i, record in enumerate(records)
            ]
    located = (
        _validate_item(model, (section, i), item, relative, locator, problems)
        for i, item in enumerate(items)
    )
    return [r for r in located if r is not None]


def _validate_item(
    model: type[Record],
    key: RecordKey,
    item: Any,
    relative: str,
    locator: Locator | None,
    problems: list[Problem],
) -> Located | None:
    line, column = locator.record(key) if locator else (1, 1)
    if not isinstance(item, dict):
        problems.append(
            Problem(relative, line, column, "not-a-mapping", "a record must be a mapping")
        )
        return None
    record_id = item.get("id") if isinstance(item.get("id"), str) else None
    try:
        record = model.model_validate(_plain(item))  # keys as text, as the exact path reads them
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            where = (
                locator.position(key, detail["loc"], detail["type"]) if locator else (line, column)
            )
            problems.append(
                Problem(relative, *where, _rule_name(detail), _error_message(detail), record_id)
            )
        return None
    return Located(record, relative, line, column, locator, key)


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


def _rule_name(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind in _RULES:
        return _RULES[kind]
    if "-" in kind:  # our own PydanticCustomError types are already rule names
        return kind
    return "wrong-type" if kind.endswith(("_type", "_parsing")) else kind.replace("_", "-")


def _error_message(detail: ErrorDetails) -> str:
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
