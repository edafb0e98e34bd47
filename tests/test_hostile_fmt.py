"""Hostile input to `facts fmt` and to what CI reads (issue #16, cases 3, 4 and 9).

fmt rewrites only fact files in facts/, never through a link out of it, always through a
temporary file renamed into place; it never changes a value's characters (checked against both
YAML readers, the exact ruamel.yaml path and the fast yaml-rs path); and every file name that
fmt, validate's text and github formats print is escaped.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factdb.cli import cli
from factdb.editing import format_text, round_trip_yaml
from factdb.loading import yaml_rs
from factdb.problems import Problem, escape_name, format_problems

HEADER = "# yaml-language-server: $schema=../../schema/factfile.schema.json"
UNFORMATTED = "claims:\n  - statement: 'x'\n    id: c\n"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def fmt(root: Path, *args: str):
    return run("fmt", "--root", str(root), *args)


# Case 3: fmt touches only fact files inside facts/, and writes atomically.


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A YAML file outside the repository, not in the canonical style."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "outside.yaml"
    path.write_text(UNFORMATTED)
    return path


def test_fmt_refuses_a_file_outside_the_repository(tree: Path, outside: Path):
    result = fmt(tree, str(outside))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{outside}:1:1: path-outside-facts: not in facts/; fmt rewrites only the fact files there"
    )
    assert outside.read_text() == UNFORMATTED


@pytest.mark.parametrize("name", ["metadata.yml", "seeds/notes.yaml", "facts/../metadata.yml"])
def test_fmt_refuses_metadata_and_seeds(tree: Path, name: str):
    for target in ("metadata.yml", "seeds/notes.yaml"):
        (tree / target).write_text(UNFORMATTED)
    seed = (tree / "seeds" / "sample.txt").read_bytes()
    result = fmt(tree, str(tree / name))
    assert result.exit_code == 1
    assert result.output.startswith(f"{name}:1:1: path-outside-facts: ")
    assert (tree / "metadata.yml").read_text() == UNFORMATTED
    assert (tree / "seeds" / "notes.yaml").read_text() == UNFORMATTED
    assert (tree / "seeds" / "sample.txt").read_bytes() == seed


def test_fmt_refuses_a_file_in_facts_that_is_not_a_fact_file(tree: Path):
    notes = tree / "facts" / "notes.txt"
    notes.write_text(UNFORMATTED)
    result = fmt(tree, str(notes))
    assert result.exit_code == 1
    assert result.output.startswith("facts/notes.txt:1:1: not-a-fact-file: ")
    assert notes.read_text() == UNFORMATTED


def test_fmt_never_follows_a_link_out_of_facts(tree: Path, outside: Path):
    link = tree / "facts" / "claims" / "linked.yaml"
    link.symlink_to(outside)
    for args, rule in (
        ((), "path-outside-repository"),  # discover's refusal: the link is never opened
        (("--check",), "path-outside-repository"),
        ((str(link),), "path-outside-facts"),
    ):
        result = fmt(tree, *args)
        assert result.exit_code == 1, args
        assert f"facts/claims/linked.yaml:1:1: {rule}: " in result.output, args
        assert outside.read_text() == UNFORMATTED
    assert link.is_symlink()


def test_fmt_never_follows_a_link_to_a_file_of_the_repository_outside_facts(tree: Path):
    (tree / "metadata.yml").write_text(UNFORMATTED)
    (tree / "facts" / "meta.yaml").symlink_to(tree / "metadata.yml")
    result = fmt(tree)
    assert result.exit_code == 1
    assert result.output.startswith("facts/meta.yaml:1:1: path-outside-facts: a link out of facts/")
    assert (tree / "metadata.yml").read_text() == UNFORMATTED


def test_fmt_refuses_a_facts_folder_that_is_a_link_out(tmp_path: Path, tree: Path):
    moved = tmp_path / "moved-facts"
    shutil.move(tree / "facts", moved)
    (tree / "facts").symlink_to(moved)
    before = {p: p.read_bytes() for p in moved.rglob("*.yaml")}
    result = fmt(tree, str(tree / "facts" / "registry.yaml"))
    assert result.exit_code == 1
    assert "path-outside-facts" in result.output
    assert {p: p.read_bytes() for p in moved.rglob("*.yaml")} == before


def test_fmt_formats_a_link_that_stays_in_facts_through_its_target(tree: Path):
    target = tree / "facts" / "claims" / "sample.yaml"
    link = tree / "facts" / "alias.yaml"
    link.symlink_to(target)
    result = fmt(tree)
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == target
    assert fmt(tree, "--check").exit_code == 0


def test_fmt_writes_through_a_renamed_temporary_file(tree: Path, monkeypatch):
    registry = tree / "facts" / "registry.yaml"
    registry.chmod(0o640)
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(source, target):
        replaced.append((str(source), str(target)))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    assert fmt(tree, str(registry)).exit_code == 0
    assert len(replaced) == 1
    source, target = replaced[0]
    assert target == str(registry) and Path(source).parent == registry.parent
    assert registry.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in registry.parent.iterdir()) == ["claims", "registry.yaml"]


def test_a_failed_write_leaves_the_file_and_no_temporary(tree: Path, monkeypatch):
    registry = tree / "facts" / "registry.yaml"
    before = registry.read_bytes()

    def fail(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    result = fmt(tree, str(registry))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"{registry.relative_to(tree)}:1:1: file-unwritable: No space left on device"
    )
    assert registry.read_bytes() == before
    assert sorted(p.name for p in registry.parent.iterdir()) == ["claims", "registry.yaml"]


def test_fmt_never_writes_through_a_hard_link(tree: Path, tmp_path: Path):
    outside = tmp_path / "hard.yaml"
    registry = tree / "facts" / "registry.yaml"
    os.link(registry, outside)
    before = outside.read_bytes()
    assert fmt(tree).exit_code == 0
    assert outside.read_bytes() == before
    assert registry.read_bytes() != before


# Case 4: fmt never changes a value's characters.


def readings(text: str) -> list:
    """The file as each reader sees it: ruamel.yaml round trip (exact) and yaml-rs (fast)."""
    found = [json.loads(json.dumps(round_trip_yaml().load(text)))]
    if yaml_rs is not None:
        found.append(yaml_rs.loads(text, parse_datetime=False))
    return found


def quoted(value: str) -> str:
    """A YAML double-quoted scalar that every reader reads alike: every character but printable
    ASCII and printable letters as an escape (a raw U+2028 or U+0085 is read as a line break by
    ruamel.yaml, not by yaml-rs)."""
    out = []
    for character in value:
        code = ord(character)
        if character in '\\"':
            out.append("\\" + character)
        elif 0x20 <= code < 0x7F or (code > 0xA0 and character.isprintable()):
            out.append(character)
        else:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def claim_file(value: str) -> str:
    record = {"id": "c", "statement": value, "about": value, "notes": value}
    return "claims:\n" + "".join(
        f"  {'- ' if n == 0 else '  '}{key}: {f'[{quoted(v)}]' if key == 'about' else quoted(v)}\n"
        for n, (key, v) in enumerate(record.items())
    )


def assert_kept(value: str) -> str:
    text = claim_file(value)
    expected = {"claims": [{"id": "c", "statement": value, "about": [value], "notes": value}]}
    assert all(reading == expected for reading in readings(text))  # the input is unambiguous
    once = format_text(text, HEADER)
    assert all(reading == expected for reading in readings(once)), once
    assert format_text(once, HEADER) == once
    assert once.count("\n") == 6, once  # each value on its key's line: never wrapped
    return once


LONG = "word  " * 900  # 5,400 characters with double spaces, past ruamel's old width


@pytest.mark.parametrize(
    "value",
    [
        "a\u2028b",
        "a\u2029b",
        "a\u0085b",
        "\u2028",
        "a \u2028 b",
        "x" * 5000,
        LONG.strip(),
        LONG,
        "it's  " * 800,
        "tab\there",
        " leading and trailing ",
        "quotes ' and \" and \\",
    ],
)
def test_fmt_keeps_every_character_of_a_value(value: str):
    assert_kept(value)


def test_a_value_the_two_readers_read_differently_is_left_and_reported(tree: Path):
    # what fmt wrote before: U+2028 as a line break inside quotes, which ruamel.yaml folds
    # ("a\u2028b") and yaml-rs (YAML 1.2: not a line break) keeps ("a\u2028      b")
    path = tree / "facts" / "claims" / "ambiguous.yaml"
    text = "claims:\n  - id: c\n    statement: 'a\u2028      b'\n    source: sample\n"
    path.write_text(text, encoding="utf-8")
    result = fmt(tree)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "facts/claims/ambiguous.yaml:3:16: format-changes-value: the YAML readers read this "
        "value differently, or formatting would change it; the file is left as it is [c]"
    )
    assert path.read_text(encoding="utf-8") == text


def test_the_first_run_is_idempotent_on_a_file_written_by_hand(tree: Path):
    path = tree / "facts" / "claims" / "hand.yaml"
    path.write_text(claim_file("x" * 4100 + "  y\u2028z"), encoding="utf-8")
    assert fmt(tree).exit_code == 0
    once = path.read_text(encoding="utf-8")
    result = fmt(tree, "--check")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == once


SPECIAL = st.sampled_from(
    list(" \t\n\r\u2028\u2029\u0085\u00a0\u3000\ufeff\u200b'\"\\#:-?!&*|>%@`{}[],")
    + ["  ", "\r\n", "yes", "null", "~", "- ", ": ", " #"]
)
PIECES = st.one_of(st.text(max_size=6), SPECIAL)
VALUES = st.one_of(
    st.text(),
    st.lists(PIECES, max_size=30).map("".join),
    st.tuples(st.lists(PIECES, min_size=1, max_size=8).map("".join), st.integers(4097, 9000))
    .filter(lambda pair: pair[0] != "")
    .map(lambda pair: (pair[0] * (pair[1] // len(pair[0]) + 1))[: pair[1]]),
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_formatting_never_changes_a_value_and_is_idempotent(value: str):
    assert_kept(value)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(VALUES)
def test_fmt_on_a_tree_keeps_values_and_a_second_run_changes_nothing(tmp_path_factory, value):
    root = tmp_path_factory.mktemp("fmt")
    path = root / "facts" / "claims" / "x.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(claim_file(value), encoding="utf-8")
    before = readings(path.read_text(encoding="utf-8"))
    assert all(reading == before[0] for reading in before)
    assert fmt(root).exit_code == 0
    assert readings(path.read_text(encoding="utf-8")) == before
    once = path.read_bytes()
    assert fmt(root, "--check").exit_code == 0
    assert path.read_bytes() == once


# Case 9: file names in what CI reads are escaped.

INJECTED = "x\n::warning file=a,line=1::pwned.yaml"


def commands(output: str) -> list[str]:
    """The lines a GitHub runner would take as workflow commands (v2 '::', v1 '##[')."""
    return [line for line in output.splitlines() if line.lstrip().startswith("::") or "##[" in line]


def test_escape_name():
    assert escape_name("facts/claims/a.yaml") == "facts/claims/a.yaml"
    assert escape_name("a\nb\r\t\\c") == "a\\nb\\r\\t\\\\c"
    assert escape_name("a\x1b[31m\x7f\u2028\u202e\U000e0001") == (
        "a\\x1b[31m\\x7f\\u2028\\u202e\\U000e0001"
    )
    assert escape_name("caf\udcc3\udca9") == "caf\\xc3\\xa9"  # bytes that were not UTF-8
    assert escape_name("::warning::x") == "\\x3a:warning::x"
    assert escape_name("  ::x::") == "  \\x3a:x::"
    assert escape_name("a##[error]b") == "a##\\x5berror]b"


def test_problem_formats_escape_the_file_name():
    problem = Problem(INJECTED, 2, 1, "yaml-syntax", "bad ##[error]x\nnext")
    assert problem.as_text() == (
        "x\\n::warning file=a,line=1::pwned.yaml:2:1: yaml-syntax: bad ##\\x5berror]x next"
    )
    assert problem.as_github() == (
        "::error file=x%0A%3A%3Awarning file=a%2Cline=1%3A%3Apwned.yaml,line=2,col=1,"
        "title=yaml-syntax::bad ##[error]x%0Anext"
    )
    surrogate = Problem("facts/\udcff.yaml", 1, 1, "yaml-syntax", "m")
    assert json.loads(format_problems([surrogate], "json"))[0]["path"] == "facts/\\xff.yaml"
    format_problems([surrogate], "json").encode("utf-8")  # valid UTF-8


@pytest.mark.parametrize("name", [INJECTED, "x##[warning]pwned.yaml", "::error::x.yaml"])
def test_validate_and_fmt_check_inject_no_workflow_command(tree: Path, name: str):
    (tree / "facts" / name).write_text("claims: [\n")
    for args in (["validate", "--format", "github"], ["validate"], ["fmt", "--check"]):
        result = run(*args, "--root", str(tree))
        assert result.exit_code == 1
        lines = commands(result.stdout)
        assert all(line.startswith("::error file=facts/") for line in lines), lines
        assert escape_name(f"facts/{name}") in result.stdout or args[-1] == "github"


def test_fmt_check_escapes_the_names_it_lists(tree: Path):
    name = tree / "facts" / "claims" / "new\nline.yaml"
    name.write_text(UNFORMATTED.replace("c\n", "c\n    source: sample\n"))
    result = fmt(tree, "--check")
    assert result.exit_code == 1
    assert f"would reformat {escape_name(str(name))}" in result.output.splitlines()
    assert commands(result.output) == []


def test_an_undecodable_file_name_prints_as_bytes(tree: Path):
    path = os.path.join(os.fsencode(tree / "facts"), b"\xff.yaml")
    with open(path, "wb") as handle:
        handle.write(b"claims: [\n")
    result = run("validate", "--no-cache", "--root", str(tree))
    assert result.exit_code == 1
    assert result.stdout.startswith("facts/\\xff.yaml:2:1: yaml-syntax: ")
