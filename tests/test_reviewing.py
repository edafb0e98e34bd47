"""facts diff: what a pull request changes, as Markdown, from two real git revisions."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb.cli import cli

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "t@example.org",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def repo(tree: Path) -> Path:
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "base")
    return tree


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_diff_of_an_added_claim(repo: Path):
    added = run(
        "new",
        "--root",
        str(repo),
        "--source",
        "sample",
        "--quote",
        "nine ships sailed",
        "--statement",
        "Nine ships sailed.",
        "--date",
        "../2024-10-24",
        "--date-basis",
        "Undated.",
        "--claimant",
        "null",
        "--value",
        "9",
        "--unit",
        "ships",
        "--assertion",
        "stated",
    )
    assert added.exit_code == 0, added.output
    git(repo, "commit", "-q", "-am", "add a claim")
    result = run("diff", "--root", str(repo), "HEAD~1", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:9] == [
        "## Facts: HEAD~1 → HEAD",
        "",
        "**1 claim(s) added, 0 removed, 0 changed.** HEAD passes `facts validate`.",
        "",
        "### Added",
        "",
        "| id | statement | claimant | date | topic | value/answer |",
        "| --- | --- | --- | --- | --- | --- |",
        "| `nine-ships-sailed` | Nine ships sailed. | the article | ../2024-10-24 |  | 9 |",
    ]


def test_diff_shows_changed_fields_and_a_new_conflict(repo: Path):
    claims = repo / "facts" / "claims" / "sample.yaml"
    claims.write_text(
        claims.read_text()
        + "  - id: nine-thousand\n    source: sample\n    statement: Nine ships.\n"
        "    quote: nine ships sailed\n    date: 2024-10-24\n    date_basis: b\n"
        "    claimant: null\n    topic: soldiers-arrived\n    value: 9\n    unit: soldiers\n"
        "    assertion: stated\n"
    )
    text = claims.read_text().replace("    approximate: true\n", "")
    claims.write_text(text)
    result = run("diff", "--root", str(repo), "HEAD")  # against the working tree
    assert result.exit_code == 0, result.output
    out = result.output
    assert "**1 claim(s) added, 0 removed, 1 changed.** working tree passes" in out
    assert "| approximate | True | False |" in out
    assert "- new: `soldiers-arrived`: 3000 (The article itself) vs 9 (The article itself)" in out


def test_diff_reports_invalid_head(repo: Path):
    shutil.copyfile(
        Path(__file__).parent / "fixtures" / "broken" / "quote-not-found.yaml",
        repo / "facts" / "claims" / "zz.yaml",
    )
    result = run("diff", "--root", str(repo), "HEAD")
    assert result.exit_code == 0
    assert "working tree has 1 validation problem(s)" in result.output


def test_diff_of_an_unknown_revision(repo: Path):
    result = run("diff", "--root", str(repo), "no-such-branch")
    assert result.exit_code == 1
    assert "Error: no git revision 'no-such-branch'" in result.output
