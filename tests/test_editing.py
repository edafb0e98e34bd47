"""facts fmt: one canonical style, idempotent, comments and fields kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from factdb import validate
from factdb.cli import cli
from factdb.editing import format_text, schema_header
from factdb.loading import discover, load_facts

REPO = Path(__file__).resolve().parent.parent
HEADER = "# yaml-language-server: $schema=../schema/factfile.schema.json"

MESSY = """\
# A comment about the file
entities:
  # the capital
  - description: A capital city.   # trailing comment
    kind: place
    name: 'The Capital'
    id: capital-two
    latitude: 1.5
    longitude: 2.5
topics:
  - kind: text
    question: "Is it 'yes'?"
    id: yes-topic
sources: []
"""


def test_canonical_order_quoting_and_comments():
    out = format_text(MESSY, HEADER)
    assert out.splitlines()[0] == HEADER
    lines = out.splitlines()
    assert lines.index("sources: []") < lines.index("entities:") < lines.index("topics:")
    entity = out.split("entities:")[1].split("topics:")[0]
    keys = [line.strip().lstrip("- ").split(":")[0] for line in entity.splitlines() if ": " in line]
    assert keys == ["id", "name", "kind", "description", "latitude", "longitude"]
    for comment in ("# A comment about the file", "# the capital", "# trailing comment"):
        assert comment in out
    assert "name: The Capital" in out
    assert "question: Is it 'yes'?" in out


def test_ambiguous_words_stay_quoted():
    out = format_text("topics:\n  - id: t\n    question: 'yes'\n    kind: text\n", HEADER)
    assert "question: 'yes'" in out


def test_formatting_is_idempotent_on_the_repository_files():
    for path in discover(REPO):
        text = path.read_text(encoding="utf-8")
        once = format_text(text, schema_header(path, REPO))
        assert format_text(once, schema_header(path, REPO)) == once, path
        assert once == text, f"{path} is not formatted: run facts fmt"


def test_formatting_keeps_every_record_and_field(tree: Path):
    before = load_facts(tree)
    result = CliRunner().invoke(cli, ["fmt", "--root", str(tree)])
    assert result.exit_code == 0
    after = load_facts(tree)
    assert [c.record for c in after.claims] == [c.record for c in before.claims]
    assert [e.record for e in after.entities] == [e.record for e in before.entities]
    assert validate(tree, cache=False).problems == []


def test_fmt_check_lists_files_and_exits_1(tree: Path):
    result = CliRunner().invoke(cli, ["fmt", "--root", str(tree), "--check"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"would reformat {tree / 'facts/claims/sample.yaml'}",
        f"would reformat {tree / 'facts/registry.yaml'}",
    ]
    assert CliRunner().invoke(cli, ["fmt", "--root", str(tree)]).exit_code == 0
    again = CliRunner().invoke(cli, ["fmt", "--root", str(tree), "--check"])
    assert (again.exit_code, again.output) == (0, "3 file(s) already formatted\n".replace("3", "2"))


def test_fmt_refuses_broken_yaml_without_touching_it(tree: Path):
    bad = tree / "facts" / "bad.yaml"
    bad.write_text("claims: [\n")
    result = CliRunner().invoke(cli, ["fmt", "--root", str(tree)])
    assert result.exit_code == 1
    assert "yaml-syntax" in result.output
    assert bad.read_text() == "claims: [\n"


def test_yamllint_passes_on_the_fact_files():
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "facts", "metadata.yml", "tests/fixtures/tree"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
