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


def test_publish_workflow_validates_then_publishes_the_tested_deployment():
    steps = _steps("publish.yml")
    assert steps.index("facts validate --strict") < steps.index("facts publish cloudrun")
    assert "publish-command" not in steps and "datasette publish" not in steps
    # the command the workflow runs exists with the options it gives
    usage = CliRunner().invoke(cli, ["publish", "--help"]).output
    assert "cloudrun" in usage and "--service" in usage


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
