"""CI and contributor configuration: valid to real validators, and doing what they claim."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from factdb.cli import cli

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
BIN = str(Path(sys.executable).parent)


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    env.update(
        GIT_AUTHOR_NAME="T",
        GIT_AUTHOR_EMAIL="t@e.org",
        GIT_COMMITTER_NAME="T",
        GIT_COMMITTER_EMAIL="t@e.org",
    )
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)


def _steps(name: str) -> str:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    return "\n".join(
        step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]
    )


def test_workflows_are_valid_github_actions():
    files = [str(path) for path in sorted(WORKFLOWS.glob("*.yml"))]
    schema = "vendor.github-workflows"
    result = _run(sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_request_workflow_runs_the_checks_and_posts_the_diff():
    steps = _steps("pull-request.yml")
    expected = [
        "facts validate --strict --format github",
        "facts fmt --check",
        "pytest",
        'facts diff "origin/${{ github.base_ref }}" HEAD',
        "gh pr comment",
    ]
    for command in expected:
        assert command in steps


def test_publish_workflow_builds_and_publishes_with_datasette():
    steps = _steps("publish.yml")
    assert "facts build" in steps and "facts publish-command" in steps
    command = CliRunner().invoke(cli, ["publish-command", "--root", str(REPO)]).output
    assert command.startswith("datasette publish cloudrun facts.db --service facts --metadata")
    assert "--setting sql_time_limit_ms 1000" in command


def test_pre_commit_hooks_format_and_validate(tree: Path):
    assert _run(sys.executable, "-m", "pre_commit", "validate-config").returncode == 0
    shutil.copyfile(REPO / ".pre-commit-config.yaml", tree / ".pre-commit-config.yaml")
    shutil.copyfile(REPO / ".gitignore", tree / ".gitignore")  # .cache/ is not committed
    assert _run("git", "init", "-q", cwd=tree).returncode == 0
    assert _run("git", "add", "-A", cwd=tree).returncode == 0
    first = _run(sys.executable, "-m", "pre_commit", "run", "--all-files", cwd=tree)
    assert first.returncode == 1  # facts fmt rewrote the unformatted fixture files
    assert "facts fmt" in first.stdout and "files were modified by this hook" in first.stdout
    second = _run(sys.executable, "-m", "pre_commit", "run", "--all-files", cwd=tree)
    assert second.returncode == 0, second.stdout
    assert "facts validate" in second.stdout and "Passed" in second.stdout
