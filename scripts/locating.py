"""Where things stand in a fact file: 1-based line and column of records, fields and items.

Two locators give the same answers. `NodeLocator` walks ruamel.yaml's round-trip nodes, which
know every position; it is exact and slow. `TextLocator` reads a line index of the file text,
which is enough for the canonical block layout (a record per `- ` item, a field per line); for
anything else it asks a `NodeLocator`, built from the same text only when first needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where nodes are walked: the fast path never needs ruamel.yaml
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

Position = tuple[int, int]
RecordKey = tuple[str, int]  # (section, index of the record in it)


def key_position(node: CommentedMap, key: Any) -> Position:
    line, column = node.lc.key(key)
    return line + 1, column + 1


def value_position(node: CommentedMap, key: Any) -> Position:
    try:
        line, column = node.lc.value(key)
    except (KeyError, TypeError):
        return key_position(node, key)
    return line + 1, column + 1


def item_position(node: CommentedSeq, index: int) -> Position:
    line, column = node.lc.item(index)
    return line + 1, column + 1


class NodeLocator:
    """Positions read off ruamel.yaml round-trip nodes."""

    def __init__(self, data: CommentedMap) -> None:
        self.data = data

    def record(self, key: RecordKey) -> Position:
        section, index = key
        return item_position(self.data[section], index)

    def position(self, key: RecordKey, path: tuple, kind: str = "") -> Position:
        """The value a path names inside a record (its key for an unknown field); else nearest."""
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        section, index = key
        node: Any = self.data[section][index]
        found = self.record(key)
        for depth, part in enumerate(path):
            if isinstance(node, CommentedMap) and part in node:
                last = depth == len(path) - 1
                found = (
                    key_position(node, part)
                    if last and kind == "extra_forbidden"
                    else value_position(node, part)
                )
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                found = item_position(node, part)
                node = node[part]
            else:
                break
        return found


_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(\S)|[ \t]*$)")


class TextLocator:
    """Positions from a line index of the text, for the canonical block layout."""

    def __init__(
        self,
        text: str,
        records: dict[RecordKey, tuple[int, int, int]],
        exact: Callable[[], NodeLocator],
    ) -> None:
        self.text = text
        self._lines: list[str] | None = None
        self.records = records  # key -> (first line index, end line index, dash column)
        self._exact_factory = exact
        self._exact: NodeLocator | None = None
        self._fields: dict[RecordKey, dict[str, tuple[Position, Position | None]]] = {}

    def exact(self) -> NodeLocator:
        if self._exact is None:
            self._exact = self._exact_factory()
        return self._exact

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def record(self, key: RecordKey) -> Position:
        first, _, dash = self.records[key]
        return first + 1, dash + 3

    def _scan(self, key: RecordKey) -> dict[str, tuple[Position, Position | None]]:
        """Each field of a record: its key's position, and its value's when on the same line."""
        if key not in self._fields:
            first, end, dash = self.records[key]
            indent = dash + 2
            fields: dict[str, tuple[Position, Position | None]] = {}
            for number in range(first, min(end, len(self.lines))):
                line = self.lines[number]
                start = indent if number > first else dash + 2
                if number > first and (len(line) <= indent or line[:indent].strip()):
                    continue
                match = _KEY.match(line, start)
                if match and match.group(1) not in fields:
                    value = (number + 1, match.start(2) + 1) if match.group(2) else None
                    fields[match.group(1)] = ((number + 1, start + 1), value)
            self._fields[key] = fields
        return self._fields[key]

    def position(self, key: RecordKey, path: tuple, kind: str = "") -> Position:
        if len(path) != 1 or not isinstance(path[0], str):
            return self.exact().position(key, path, kind)
        fields = self._scan(key)
        if path[0] not in fields:  # missing, or a key the line scan cannot read: ask the exact path
            return self.exact().position(key, path, kind)
        key_at, value_at = fields[path[0]]
        if kind == "extra_forbidden":
            return key_at
        if value_at is None:  # the value starts on a later line: ask the exact locator
            return self.exact().position(key, path, kind)
        return value_at


# Each starts with a newline, a literal the regular expression engine finds fast; "(?m)^" is
# tried at every character.
_SECTION = re.compile(r"\n([A-Za-z_]+):[ \t]*(?:#[^\n]*)?(?=\n|\Z)")  # on "\n" + text
_TOP_LEVEL = re.compile(r"\n[^ #\n-]")
_ITEM = re.compile(r"(?m)^( *)- (?!-)")


def record_lines(
    text: str, sections: dict[str, int]
) -> dict[RecordKey, tuple[int, int, int]] | None:
    """Where each record of each block section starts and ends (0-based line numbers, end
    exclusive, and the column of its dash); None if the layout is unusual.

    `sections` gives the number of records each section holds, to check the index against.
    Works on the text with regular expressions and C-level newline counts: no Python loop over
    lines.
    """
    starts = {  # section -> where its line ends
        m.group(1): m.end() - 1 for m in _SECTION.finditer("\n" + text) if m.group(1) in sections
    }
    records: dict[RecordKey, tuple[int, int, int]] = {}
    for section, count in sections.items():
        if count == 0:
            continue
        if section not in starts:
            return None
        begin = starts[section]
        following = _TOP_LEVEL.search(text, begin)
        stop = following.start() + 1 if following else len(text)
        first_item = _ITEM.search(text, begin, stop)
        if first_item is None:
            return None
        indent = len(first_item.group(1))
        marker = "\n" + " " * indent + "- "
        items = [first_item.start()]
        position = text.find(marker, first_item.end(), stop)
        while position >= 0:
            if text.startswith("- ", position + len(marker)):  # "- - x": a list in a list
                return None
            items.append(position + 1)
            position = text.find(marker, position + 1, stop)
        if len(items) != count:
            return None
        line = text.count("\n", 0, items[0])
        lines = [line]
        for previous, current in zip(items, items[1:], strict=False):
            line += text.count("\n", previous, current)
            lines.append(line)
        end_line = line + text.count("\n", items[-1], stop)
        if stop == len(text) and not text.endswith("\n"):
            end_line += 1
        for index, first in enumerate(lines):
            last = lines[index + 1] if index + 1 < len(lines) else end_line
            records[(section, index)] = (first, last, indent)
    return records
