"""Hostile paths: huge files are refused by their size alone, and no path whose real location
leaves the repository is read, built or written through (issue #16, cases 2 and 5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb import validate
from factdb.cli import cli
from factdb.processes import MIN_PARALLEL_FILES

GIB = 1 << 30
SECRET = "top-secret-key-name"
OUTSIDE_CLAIMS = f"""\
claims:
  - id: from-outside
    source: sample
    statement: Officials said about 3,000 soldiers had arrived.
    quote: about 3,000 soldiers had arrived {SECRET}
    date: 2024-10-22
    date_basis: b
    claimant: null
    assertion: stated
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def sparse(path: Path, size: int = GIB) -> Path:
    """A file of `size` bytes that takes no room on disk (all zeros)."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def add_claim_files(tree: Path, count: int) -> None:
    """`count` more valid claim files (copies of the tree's claims under other ids)."""
    sample = (tree / "facts" / "claims" / "sample.yaml").read_text()
    for number in range(count):
        copy = sample.replace("  - id: ", f"  - id: copy{number}-")
        (tree / "facts" / "claims" / f"copy-{number:03d}.yaml").write_text(copy)


def located(problems) -> list[tuple[str, str, int, int]]:
    return [(p.rule, p.path, p.line, p.column) for p in problems]


# Case 2: the size of a file is known before a byte of it is read, in every path.

MEASURE = """\
import json, resource, sys, time
from pathlib import Path
start = time.monotonic()
{body}
seconds = time.monotonic() - start
print(json.dumps({{"seconds": seconds, "out": out}}))
"""
# Linux keeps, as a process's peak RSS, the peak of the memory it was forked from until it
# runs another program: a process forked from pytest would report pytest's peak. So a small
# Python process runs the measured one, and reads the peak of its children (the measured
# process and the workers it waited for) with getrusage.
LAUNCH = """\
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"returncode": done.returncode, "stdout": done.stdout,
                  "stderr": done.stderr, "peak_kib": peak}))
"""

BODIES = {
    "serial": "from factdb.loading import load_facts\n"
    "out = [p.as_text() for p in load_facts(Path(sys.argv[1])).problems]",
    "sharded": "from factdb.sharding import check_tree\n"
    "out = [p.as_text() for p in check_tree(Path(sys.argv[1]), workers=2).validation.problems]",
    "uncached": "from factdb import validate\n"
    "out = [p.as_text() for p in validate(sys.argv[1], cache=False).problems]",
    "cached": "from factdb import validate\n"
    "validate(sys.argv[1], cache=True)\n"
    "out = [p.as_text() for p in validate(sys.argv[1], cache=True).problems]",
    "build": "from click.testing import CliRunner\nfrom factdb.cli import cli\n"
    "result = CliRunner().invoke(cli, ['build', '--root', sys.argv[1], '-o', sys.argv[2]])\n"
    "out = [result.exit_code, result.output]",
}


def measured(body: str, *args: str) -> dict:
    """Run `body` in a fresh Python process: its output, seconds and peak memory (KiB)."""
    script = MEASURE.format(body=body)
    command = [sys.executable, "-c", LAUNCH, sys.executable, "-c", script, *args]
    launched = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stderr
    done = json.loads(launched.stdout)
    assert done["returncode"] == 0, done["stderr"]
    result = json.loads(done["stdout"].splitlines()[-1])
    result["peak_kib"] = done["peak_kib"]
    return result


def assert_cheap(result: dict) -> None:
    assert result["seconds"] < 5, result
    assert result["peak_kib"] < 300 * 1024, result  # it took 3.1 GB to read a 1 GiB file


@pytest.mark.parametrize("way", sorted(BODIES))
def test_a_1_gib_fact_file_is_refused_by_its_size_alone(tree: Path, tmp_path: Path, way: str):
    sparse(tree / "facts" / "claims" / "huge.yaml")
    result = measured(BODIES[way], str(tree), str(tmp_path / "facts.db"))
    assert_cheap(result)
    message = f"facts/claims/huge.yaml:1:1: file-too-large: {GIB} bytes; the limit is 2097152"
    if way == "build":
        assert result["out"][0] == 1 and message in result["out"][1]
        assert not (tmp_path / "facts.db").exists()
    else:
        assert result["out"] == [message]


def test_a_1_gib_file_among_many_claim_files_is_refused_by_its_size(tree: Path):
    add_claim_files(tree, MIN_PARALLEL_FILES)
    sparse(tree / "facts" / "claims" / "huge.yaml")
    result = measured(BODIES["uncached"], str(tree))
    assert_cheap(result)
    assert [line.split(": ")[1] for line in result["out"]] == ["file-too-large"]


@pytest.mark.parametrize("cache", [False, True])
def test_a_1_gib_seed_is_refused_by_its_size_alone(tree: Path, cache: bool):
    seed = tree / "seeds" / "sample.txt"
    seed.unlink()
    sparse(seed)
    body = (
        "from factdb import validate\n"
        f"out = [(p.rule, p.path) for p in validate(sys.argv[1], cache={cache}).problems]"
    )
    result = measured(body, str(tree))
    assert_cheap(result)
    assert ["file-too-large", "facts/registry.yaml"] in result["out"]


def test_add_source_refuses_a_1_gib_text_by_its_size(tree: Path, tmp_path: Path):
    huge = sparse(tmp_path / "huge.txt")
    body = (
        "from click.testing import CliRunner\nfrom factdb.cli import cli\n"
        "result = CliRunner().invoke(cli, ['add-source', '--root', sys.argv[1], sys.argv[2]])\n"
        "out = [result.exit_code, result.output]"
    )
    result = measured(body, str(tree), str(huge))
    assert_cheap(result)
    assert result["out"] == [1, f"Error: {huge} is {GIB} bytes; the limit is 2097152\n"]
    assert not (tree / "seeds" / "huge.txt").exists()


def test_a_fifo_among_the_fact_files_is_never_opened(tree: Path):
    """Opening a named pipe would wait for a writer for ever."""
    os.mkfifo(tree / "facts" / "claims" / "pipe.yaml")
    started = time.monotonic()
    assert validate(tree, cache=False).problems == []  # not a file: not a fact file
    assert time.monotonic() - started < 5


# Case 5: a path whose real location leaves the repository is refused, never read.


def outside_file(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def assert_not_shown(problems, *secrets: str) -> None:
    for problem in problems:
        for secret in secrets:
            assert secret not in problem.as_text()


LINKED = [
    ("claims.yaml", OUTSIDE_CLAIMS),
    ("data.json", json.dumps({SECRET: 1, "another-secret-key": [1]})),
]


@pytest.mark.parametrize(("name", "text"), LINKED, ids=["claims", "json"])
@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("cache", [False, True])
def test_a_fact_file_linked_outside_the_repository_is_refused(
    tree: Path, tmp_path: Path, name: str, text: str, size: str, cache: bool
):
    if size == "large":  # the sharded path, with worker processes
        add_claim_files(tree, MIN_PARALLEL_FILES)
    link = tree / "facts" / "claims" / "linked.yaml"
    link.symlink_to(outside_file(tmp_path, name, text))
    expected = [("path-outside-repository", "facts/claims/linked.yaml", 1, 1)]
    for _ in range(2):  # the second run of the cached path takes the index
        result = validate(tree, cache=cache)
        assert located(result.problems) == expected
        assert "outside the repository" in result.problems[0].message
        assert_not_shown(result.problems, SECRET, "another-secret-key", str(tmp_path))
        assert all(c.record.id != "from-outside" for c in result.facts.claims)
        (tree / "facts" / "claims" / "sample.yaml").touch()  # a changed file for the cache


def test_the_cached_path_sees_a_file_replaced_by_a_link(tree: Path, tmp_path: Path):
    claims = tree / "facts" / "claims" / "sample.yaml"
    assert validate(tree, cache=True).problems == []
    outside = outside_file(tmp_path, "claims.yaml", claims.read_text())
    claims.unlink()
    claims.symlink_to(outside)
    expected = [("path-outside-repository", "facts/claims/sample.yaml", 1, 1)]
    assert located(validate(tree, cache=True).problems) == expected
    assert located(validate(tree, cache=False).problems) == expected


@pytest.mark.parametrize("cache", [False, True])
def test_a_facts_folder_linked_outside_the_repository_is_refused(
    tree: Path, tmp_path: Path, cache: bool
):
    outside = tmp_path / "outside-facts"
    shutil.move(tree / "facts", outside)
    (tree / "facts").symlink_to(outside)
    for _ in range(2):
        result = validate(tree, cache=cache)
        assert located(result.problems) == [("path-outside-repository", "facts", 1, 1)]
        assert result.facts.claims == [] and result.facts.sources == []


def test_links_inside_the_repository_are_followed(tree: Path):
    other = tree / "elsewhere"
    other.mkdir()
    shutil.move(tree / "facts" / "claims" / "sample.yaml", other / "sample.yaml")
    (tree / "facts" / "claims" / "sample.yaml").symlink_to(Path("../../elsewhere/sample.yaml"))
    result = validate(tree, cache=False)
    assert result.problems == [] and len(result.facts.claims) == 2


def test_a_dangling_link_is_refused_without_a_traceback(tree: Path, tmp_path: Path):
    (tree / "facts" / "claims" / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    problems = validate(tree, cache=False).problems
    assert located(problems) == [("path-outside-repository", "facts/claims/gone.yaml", 1, 1)]


def test_build_never_builds_a_file_linked_outside(tree: Path, tmp_path: Path):
    link = tree / "facts" / "claims" / "linked.yaml"
    link.symlink_to(outside_file(tmp_path, "claims.yaml", OUTSIDE_CLAIMS))
    database = tmp_path / "facts.db"
    result = run("build", "--root", str(tree), "-o", str(database))
    assert result.exit_code == 1
    assert "facts/claims/linked.yaml:1:1: path-outside-repository:" in result.output
    assert SECRET not in result.output
    assert not database.exists()


@pytest.mark.parametrize("cache", [False, True])
def test_a_seeds_folder_linked_outside_is_refused_and_never_quoted(
    tree: Path, tmp_path: Path, cache: bool
):
    outside = tmp_path / "outside-seeds"
    shutil.move(tree / "seeds", outside)
    text = (outside / "sample.txt").read_text().replace("soldiers", f"soldiers {SECRET}")
    (outside / "sample.txt").write_text(text)
    (tree / "seeds").symlink_to(outside)
    claims = tree / "facts" / "claims" / "sample.yaml"
    claims.write_text(claims.read_text().replace("3,000 soldiers", "3,000 soldeirs"))
    expected = [("seed-path", "facts/registry.yaml", 4, 11)]
    for _ in range(2):  # the second run of the cached path checks only the changed claims
        problems = validate(tree, cache=cache).problems
        assert located(problems) == expected
        assert "seeds/ leads outside the repository" in problems[0].message
        assert_not_shown(problems, SECRET)
        claims.write_text(claims.read_text() + "\n")


@pytest.mark.parametrize("cache", [False, True])
def test_a_seed_linked_outside_is_never_read(tree: Path, tmp_path: Path, cache: bool):
    outside = outside_file(tmp_path, "secret.txt", f"about 3,000 soldiers {SECRET}\n")
    (tree / "seeds" / "link.txt").symlink_to(outside)
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(registry.read_text().replace("seeds/sample.txt", "seeds/link.txt"))
    claims = tree / "facts" / "claims" / "sample.yaml"
    for _ in range(2):
        problems = validate(tree, cache=cache).problems
        assert located(problems) == [("seed-path", "facts/registry.yaml", 4, 11)]
        assert_not_shown(problems, SECRET)
        claims.write_text(claims.read_text().replace("soldiers had", "soldeirs had") + "\n")


# add-source writes nothing through a link, nor outside the repository.


def article(tmp_path: Path) -> Path:
    path = tmp_path / "new-article.txt"
    path.write_text("A headline\n\nPublished 9:00 am Friday, October 25, 2024\n\nBody text.\n")
    return path


def test_add_source_refuses_to_write_through_a_dangling_link(tree: Path, tmp_path: Path):
    target = tmp_path / "written-here.txt"
    (tree / "seeds" / "new-article.txt").symlink_to(target)
    before = sorted(p.name for p in (tree / "facts").iterdir())
    result = run("add-source", "--root", str(tree), str(article(tmp_path)))
    assert result.exit_code == 1
    assert "seeds/new-article.txt is a symbolic link" in result.output
    assert not target.exists()
    assert sorted(p.name for p in (tree / "facts").iterdir()) == before


def test_add_source_refuses_to_write_through_a_link_to_a_file(tree: Path, tmp_path: Path):
    target = outside_file(tmp_path, "victim.txt", "keep me\n")
    (tree / "seeds" / "new-article.txt").symlink_to(target)
    result = run("add-source", "--root", str(tree), str(article(tmp_path)))
    assert result.exit_code == 1 and "is a symbolic link" in result.output
    assert target.read_text() == "keep me\n"


def test_add_source_refuses_a_seeds_folder_outside_the_repository(tree: Path, tmp_path: Path):
    outside = tmp_path / "outside-seeds"
    outside.mkdir()
    shutil.rmtree(tree / "seeds")
    (tree / "seeds").symlink_to(outside)
    result = run("add-source", "--root", str(tree), str(article(tmp_path)))
    assert result.exit_code == 1
    assert "seeds leads outside the repository" in result.output
    assert list(outside.iterdir()) == []


def test_add_source_refuses_a_sources_file_linked_outside(tree: Path, tmp_path: Path):
    victim = outside_file(tmp_path, "sources.yaml", "sources: []\n")
    (tree / "facts" / "sources.yaml").symlink_to(victim)
    result = run("add-source", "--root", str(tree), str(article(tmp_path)))
    assert result.exit_code == 1
    assert "facts/sources.yaml is a symbolic link" in result.output
    assert victim.read_text() == "sources: []\n"
    assert not (tree / "seeds" / "new-article.txt").exists()


def test_add_source_still_writes_where_it_should(tree: Path, tmp_path: Path):
    result = run("add-source", "--root", str(tree), str(article(tmp_path)))
    assert result.exit_code == 0, result.output
    assert (tree / "seeds" / "new-article.txt").read_text().startswith("A headline")


def test_facts_new_never_reads_a_seed_through_a_link_leading_out(tmp_path: Path):
    """facts new looks a quote up as validation reads the seed: a seeds/ that leads out of the
    repository is refused, and nothing of the outside file is printed."""
    from factdb.cli import cli

    root = tmp_path / "repo"
    shutil.copytree(Path(__file__).resolve().parent / "fixtures" / "tree", root)
    outside = tmp_path / "outside"
    shutil.copytree(root / "seeds", outside)
    (outside / "sample.txt").write_text("SECRET outside line about soldiers\n")
    shutil.rmtree(root / "seeds")
    os.symlink(outside, root / "seeds")
    result = CliRunner().invoke(
        cli,
        [
            "new",
            "--root",
            str(root),
            "--source",
            "sample",
            "--quote",
            "soldiers",
            "--statement",
            "x",
        ],
    )
    assert result.exit_code == 1
    assert "SECRET" not in result.output and "seed-path" in result.output
