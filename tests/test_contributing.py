"""docs/contributing.md's walk-through, replayed: every command prints what the document shows."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb.cli import cli

REPO = Path(__file__).resolve().parent.parent
CLAIMS = "facts/claims/s004-russia-seals-partnership.yaml"
TODOS = """\
    date: TODO
    date_basis: TODO
    claimant: TODO
    about: [leonid-slutsky, state-duma]
    assertion: TODO"""
FILLED = """\
    date: '2024-10-24'
    date_basis: Holds as of the article's publication on Thursday, October 24, 2024.
    claimant: null
    about: [leonid-slutsky, state-duma]
    assertion: stated"""


def _blocks() -> list[tuple[str, list[str]]]:
    """Each `$ facts ...` command of the document's text blocks, with the lines it prints."""
    text = (REPO / "docs" / "contributing.md").read_text(encoding="utf-8")
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    for name in ("facts", "seeds", "schema"):
        shutil.copytree(REPO / name, target / name)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@e.org",
        "GIT_COMMITTER_NAME": "T",
        "GIT_COMMITTER_EMAIL": "t@e.org",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", "-C", str(target), *args], check=True, env=env)
    return target


def _run(clone: Path, command: str, stdin: str | None = None) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "facts"
    result = CliRunner().invoke(cli, [words[1], "--root", str(clone), *words[2:]], input=stdin)
    return result.output.rstrip("\n").splitlines()


def test_the_walk_through_prints_what_it_says(clone: Path, monkeypatch):
    monkeypatch.chdir(clone)
    steps = _blocks()
    commands = [command for command, _ in steps]
    assert commands == [
        commands[0],
        commands[1],
        "facts validate",
        "facts validate",
        "facts validate",
        "facts fmt --check",
        "pytest -q",
        "facts diff main",
    ]
    claims = clone / CLAIMS

    for index, (command, expected) in enumerate(steps):
        if command.startswith("pytest"):
            continue  # the suite itself; its count changes as tests are added
        if index == 3:  # filled in, with a typo in the quote
            text = claims.read_text()
            assert TODOS in text
            text = text.replace(TODOS, FILLED).replace("Leonid Slutsky\n", "Leonid Slutksy\n")
            claims.write_text(text)
        if index == 4:  # the typo fixed
            claims.write_text(claims.read_text().replace("Leonid Slutksy\n", "Leonid Slutsky\n"))
        stdin = "n\n" if index == 0 else None
        assert _run(clone, command, stdin) == expected, f"step {index}: {command}"
