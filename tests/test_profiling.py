"""`--profile`: each step's time of a validate or build on stderr, parsed back by the bench."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb import profiling
from factdb.cli import cli


@pytest.fixture
def tree(dates_tree: Path) -> Path:
    return dates_tree


def test_a_report_parses_back_to_its_steps():
    timed = {"registries read": 0.25, "written: claims and sentences / shards merged": 1.5}
    text = "Built x\n" + profiling.report(timed) + "\nsomething else\n"
    assert profiling.parse(text) == timed


def test_steps_add_up_where_they_happen_more_than_once():
    profiling.reset()
    with profiling.step("a"):
        pass
    profiling.add("a", 1.0)
    profiling.add("b", 2.0)
    assert list(profiling.steps()) == ["a", "b"]
    assert 1.0 <= profiling.steps()["a"] < 1.1 and profiling.steps()["b"] == 2.0
    profiling.reset()
    assert profiling.steps() == {}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_validate_profile_times_the_dates_among_its_steps(tree: Path, monkeypatch, workers: str):
    monkeypatch.setenv("FACTS_WORKERS", workers)
    result = CliRunner().invoke(cli, ["validate", "--root", str(tree), "--no-cache", "--profile"])
    assert result.exit_code == 0, result.output
    steps = profiling.parse(result.stderr)
    assert "dates across articles" in steps and "registries read" in steps
    whole = steps.pop("(the whole command)")
    assert all(0 <= seconds <= whole for seconds in steps.values())
    assert "profile:" not in result.stdout


def test_build_profile_times_the_writing_steps_once_each(tree: Path, tmp_path: Path):
    database = tmp_path / "facts.db"
    arguments = ["build", "--root", str(tree), "-o", str(database), "--no-cache", "--profile"]
    first = CliRunner().invoke(cli, arguments)
    second = CliRunner().invoke(cli, arguments)  # the same process: nothing carried over
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    steps = profiling.parse(second.stderr)
    for name in ("registries", "claims and sentences", "indexes", "full-text search"):
        assert f"written: {name}" in steps
    assert (
        steps["written: claims and sentences / claim dates"]
        <= steps["written: claims and sentences"]
    )
    assert second.stderr.count("dates across articles") == 1


def test_without_profile_nothing_is_printed(tree: Path):
    result = CliRunner().invoke(cli, ["validate", "--root", str(tree), "--no-cache"])
    assert result.exit_code == 0 and "profile:" not in result.output
