"""The documentation: the generated command reference is current, and every link resolves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from factdb.cli import cli
from factdb.clidocs import cli_reference

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _commands(group: click.Group = cli, prefix: str = "") -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_commands(command, f"{prefix}{name} "))
        else:
            found[prefix + name] = command
    return found


def _prose(path: Path) -> str:
    """A Markdown file without its fenced code blocks."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", _prose(path), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_cli_reference_is_current():
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == cli_reference(cli), (
        "docs/cli.md is stale: run 'facts docs'"
    )


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch):
    before = cli_reference(cli)
    monkeypatch.setenv("COLUMNS", "40")
    assert cli_reference(cli) == before


def test_cli_reference_has_every_command():
    text = cli_reference(cli)
    for name in _commands():
        assert f"\n## facts {name}\n" in text


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help(name):
    assert _commands()[name].help, f"facts {name} has no help text"


def test_readme_is_at_most_8000_bytes():
    assert len((REPO / "README.md").read_bytes()) <= 8000


@pytest.mark.parametrize("page", PAGES, ids=lambda path: str(path.relative_to(REPO)))
def test_relative_links_resolve(page):
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        assert path.exists(), f"{page.name}: {target} does not exist"
        if anchor and path.suffix == ".md":
            assert anchor in _anchors(path), f"{page.name}: no heading for {target}"


def test_docs_check_fails_on_a_stale_cli_reference(tmp_path):
    shutil.copyfile(REPO / "metadata.yml", tmp_path / "metadata.yml")
    (tmp_path / "docs").mkdir()
    reference = tmp_path / "docs" / "cli.md"
    reference.write_text(cli_reference(cli).replace("Show this message and exit.", "Old text."))
    runner = CliRunner()

    result = runner.invoke(cli, ["docs", "--root", str(tmp_path), "--check"])
    assert (result.exit_code, result.output) == (
        1,
        "metadata.yml is current\ndocs/cli.md is stale: run 'facts docs'\n",
    )
    result = runner.invoke(cli, ["docs", "--root", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        0,
        "metadata.yml is current\nUpdated docs/cli.md\n",
    )
    assert reference.read_text() == cli_reference(cli)
    result = runner.invoke(cli, ["docs", "--root", str(tmp_path), "--check"])
    assert (result.exit_code, result.output) == (0, "metadata.yml is current\n")


def test_docs_check_fails_on_a_missing_cli_reference(tmp_path):
    shutil.copyfile(REPO / "metadata.yml", tmp_path / "metadata.yml")
    (tmp_path / "docs").mkdir()
    result = CliRunner().invoke(cli, ["docs", "--root", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "docs/cli.md is stale: run 'facts docs'" in result.output
    assert not (tmp_path / "docs" / "cli.md").exists()


def test_the_when_grammar_in_the_docs_is_the_parsers_own():
    """docs/data-model.md shows the grammar block of factdb.dating's docstring, unchanged."""
    import factdb.dating

    doc = factdb.dating.__doc__ or ""
    grammar = doc[doc.index("    today | yesterday") : doc.index("\nEvery relation reads")]
    page = (REPO / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert f"```text\n{grammar.rstrip()}\n```" in page
