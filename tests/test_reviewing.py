"""facts diff: what a pull request changes, as Markdown, from two real git revisions."""

from __future__ import annotations

import os
import re
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
        "## Facts: `HEAD~1` → `HEAD`",
        "",
        "**1 claim(s) added, 0 removed, 0 changed.** `HEAD` passes `facts validate`.",
        "",
        "### Added",
        "",
        "| id | statement | claimant | date | topic | value/answer |",
        "| --- | --- | --- | --- | --- | --- |",
        "| `nine-ships-sailed` | `Nine ships sailed.` | the article | `../2024-10-24` |  | `9` |",
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
    assert "| approximate | `True` | `False` |" in out
    assert (
        "- new: `soldiers-arrived`: `3000` (`The article itself`) vs `9` (`The article itself`)"
        in out
    )


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


# Hostile input (issue #16, case 9): values put into the pull-request comment are shown as
# text, never rendered; a revision holding a link out of the tree is a one-line error.

HOSTILE = (
    "@octocat ![i](https://e.example/i.png) <img src=x onerror=alert(1)> "
    "[l](javascript:alert(1)) <script>x</script> ``tick` | **b** https://e.example #1 :+1: ##[x"
)


def code_spans_removed(markdown: str) -> str:
    """The text outside inline code spans (CommonMark: a run of n backticks up to the next run
    of exactly n)."""
    out, position = [], 0
    runs = list(re.finditer(r"`+", markdown))
    index = 0
    while index < len(runs):
        opening = runs[index]
        closing = next(
            (r for r in runs[index + 1 :] if len(r.group()) == len(opening.group())), None
        )
        if closing is None:
            index += 1
            continue
        out.append(markdown[position : opening.start()])
        position = closing.end()
        index = runs.index(closing) + 1
    out.append(markdown[position:])
    return "".join(out)


def hostile_change(repo: Path) -> str:
    registry = repo / "facts" / "registry.yaml"
    registry.write_text(registry.read_text().replace("name: The Minister", f"name: '{HOSTILE}'"))
    claims = repo / "facts" / "claims" / "sample.yaml"
    claims.write_text(
        claims.read_text().replace(
            "statement: Officials said about 3,000 soldiers had arrived.",
            f"statement: '{HOSTILE}'",
        )
        + "  - id: nine-thousand\n    source: sample\n"
        f"    statement: '{HOSTILE}'\n"
        "    quote: nine ships sailed\n    date: 2024-10-24\n    date_basis: b\n"
        "    claimant: minister\n    topic: soldiers-arrived\n    value: 9\n    unit: soldiers\n"
        "    assertion: stated\n"
    )
    result = run("diff", "--root", str(repo), "HEAD")
    assert result.exit_code == 0, result.output
    return result.output


def test_diff_shows_markdown_html_and_mentions_as_text(repo: Path):
    out = hostile_change(repo)
    shown = HOSTILE.replace("##[", "#\u200b#[")
    assert out.replace("\\|", "|").count(shown) == 3  # added, changed, in the conflict
    outside = code_spans_removed(out)
    for markup in ("@", "<", "](", "http", ":+1:", "**b", "#1", "##["):
        assert markup not in outside, (markup, outside)
    rows = [line for line in out.splitlines() if line.startswith("| `nine-thousand` |")]
    assert rows == [
        "| `nine-thousand` | ```"
        + shown.replace("|", "\\|")
        + "``` | `minister` | `2024-10-24` | `soldiers-arrived` | `9` |"
    ]


def test_diff_renders_no_link_image_or_html(repo: Path):
    markdown = pytest.importorskip("markdown")
    html = markdown.markdown(hostile_change(repo), extensions=["tables"])
    for tag in ("<img", "<a ", "<script", "<strong>b"):
        assert tag not in html, tag
    assert "@octocat" not in re.sub(r"<code>.*?</code>", "", html, flags=re.S)


def test_diff_labels_are_code(repo: Path):
    git(repo, "branch", "x<b>@y")
    result = run("diff", "--root", str(repo), "x<b>@y", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "## Facts: `x<b>@y` → `HEAD`"


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../../../etc/passwd"])
def test_diff_of_a_commit_holding_a_link_out_of_the_tree(repo: Path, target: str):
    (repo / "facts" / "claims" / "evil.yaml").symlink_to(target)
    git(repo, "add", "facts/claims/evil.yaml")
    git(repo, "commit", "-q", "-m", "a link out")
    result = run("diff", "--root", str(repo), "HEAD~1", "HEAD")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output == (
        "Error: revision HEAD holds facts/claims/evil.yaml, a link leading out of the tree: "
        "facts diff does not read it\n"
    )


def test_diff_escapes_a_file_name_in_its_error(repo: Path):
    name = "facts/claims/x\n::warning::##[error]y.yaml"
    (repo / name).symlink_to("/etc/passwd")
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", "a link out")
    result = run("diff", "--root", str(repo), "HEAD~1", "HEAD")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: revision HEAD holds facts/claims/x\\n::warning::##\\x5berror]y.yaml, a link "
        "leading out of the tree: facts diff does not read it"
    ]
