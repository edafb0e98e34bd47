"""The site as a folder, and that folder deployed: what `facts build --site` and `facts publish`
write and run.

A *site directory* is a Datasette configuration directory: `facts.db`, `metadata.json`,
`settings.json` (`publishing.SETTINGS`) and `inspect-data.json`. Plain `datasette serve DIR`
serves it as the project's site: immutable (because of the inspect data), with the project's
settings, and with the pages and templates of the installed plugin.

A *deployment directory* is what is sent to be built into an image: the site directory as
`site/`, this project's wheel in `wheels/`, `requirements.txt` (Datasette pinned as
pyproject.toml pins it, and the wheel, which brings the plugins it depends on) and a
`Dockerfile` that installs exactly those and serves `site/`. The tests install what the
Dockerfile installs into a fresh virtual environment and run its CMD.

Datasette's own `publish cloudrun` and `package` write a Dockerfile that installs `datasette`
unpinned plus an `--install` list, start it with files and `--setting` arguments, and delete
their folder when done; so the folder is written here and the same steps are run on it:
`gcloud builds submit --tag` and `gcloud run deploy` (Cloud Run), `docker build` (a local image,
as `datasette package` makes). Everything that can stop a deployment (uncommitted changes, a
tool that is not installed, no credential) is checked before anything is built.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from factdb.publishing import DATABASE_NAME, SETTINGS, read_metadata, write_inspect_file

SITE_FILES = (f"{DATABASE_NAME}.db", "metadata.json", "settings.json", "inspect-data.json")
BASE_IMAGE = "python:3.11-slim-bookworm"
PORT = 8001
TARGETS = ("cloudrun", "docker")

Run = Callable[..., subprocess.CompletedProcess[str]]


def write_site(database: Path, root: Path | None, directory: Path) -> Path:
    """Write the site directory (see the module's docstring) of `database` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{DATABASE_NAME}.db"
    shutil.copyfile(database, target)
    metadata = json.dumps(read_metadata(root), indent=2, ensure_ascii=False)
    (directory / "metadata.json").write_text(metadata + "\n", encoding="utf-8")
    (directory / "settings.json").write_text(json.dumps(SETTINGS, indent=2) + "\n")
    write_inspect_file(target, directory / "inspect-data.json")
    return directory


def datasette_requirement(project: Path) -> str:
    """The requirement pyproject.toml gives Datasette, e.g. "datasette>=0.65.5,<0.66"."""
    with (project / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    for requirement in dependencies:
        if re.match(r"datasette\s*(?:[<>=!~;\[]|$)", requirement):
            return str(requirement)
    raise ValueError("pyproject.toml does not pin datasette")


def build_wheel(project: Path, directory: Path) -> Path:
    """This project's wheel, built from `project` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(directory)]
    subprocess.run([*command, str(project)], check=True, capture_output=True)
    [wheel] = directory.glob("factdb-*.whl")
    return wheel


def dockerfile() -> str:
    """The Dockerfile of a deployment directory: install requirements.txt, serve site/."""
    serve = shlex.join(["datasette", "serve", "--host", "0.0.0.0", "--cors", "site"])
    return "\n".join(
        [
            f"FROM {BASE_IMAGE}",
            "COPY . /app",
            "WORKDIR /app",
            "RUN pip install --no-cache-dir -r requirements.txt",
            f"ENV PORT={PORT}",
            f"EXPOSE {PORT}",
            f'CMD {serve} --port "$PORT"',
            "",
        ]
    )


def write_deployment(project: Path, database: Path, directory: Path) -> Path:
    """Write the deployment directory (see the module's docstring) into `directory`."""
    write_site(database, project, directory / "site")
    wheel = build_wheel(project, directory / "wheels")
    requirements = [datasette_requirement(project), f"./wheels/{wheel.name}", ""]
    (directory / "requirements.txt").write_text("\n".join(requirements), encoding="utf-8")
    (directory / "Dockerfile").write_text(dockerfile(), encoding="utf-8")
    return directory


@dataclass(frozen=True)
class Target:
    """Where a deployment goes: `name` (cloudrun, docker), the service or image name."""

    name: str
    service: str


def _output(run: Run, command: Sequence[str], cwd: Path | None = None) -> str | None:
    """A command's standard output; None if it fails or cannot start."""
    try:
        done = run(list(command), cwd=cwd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return str(done.stdout) if done.returncode == 0 else None


def _value(run: Run, command: Sequence[str]) -> str:
    """A command's one-line answer ("" if it fails, prints nothing or says "(unset)")."""
    answer = (_output(run, command) or "").strip()
    return "" if answer == "(unset)" else answer


def uncommitted(project: Path, run: Run = subprocess.run) -> list[str]:
    """Why the checkout is not one commit: not a git checkout, or its changed files."""
    status = _output(run, ["git", "status", "--porcelain"], cwd=project)
    if status is None:
        return [f"{project} is not a git checkout: facts publish deploys a commit"]
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if not changed:
        return []
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return [f"uncommitted changes ({shown}): commit them first; facts publish deploys a commit"]


def target_problems(target: Target, run: Run = subprocess.run) -> list[str]:
    """What stops a deployment to `target`: its tool missing, no credential, no engine."""
    if target.name == "cloudrun":
        if shutil.which("gcloud") is None:
            return ["gcloud (the Google Cloud CLI) is not installed: see cloud.google.com/sdk"]
        if not _value(run, ["gcloud", "config", "get-value", "account"]):
            return ["no Google Cloud credential: run gcloud auth login (or activate a key)"]
        if not _value(run, ["gcloud", "config", "get-value", "project"]):
            return ["no Google Cloud project: run gcloud config set project PROJECT_ID"]
        return []
    if shutil.which("docker") is None:
        return ["docker is not installed: see docs.docker.com/get-docker"]
    if _output(run, ["docker", "info", "--format", "{{.ServerVersion}}"]) is None:
        return ["no Docker engine answers (docker info failed): start it first"]
    return []


def deploy_commands(target: Target, run: Run = subprocess.run) -> list[list[str]]:
    """The commands that send a deployment directory to `target`, run in that directory."""
    if target.name == "cloudrun":
        project = _value(run, ["gcloud", "config", "get-value", "project"])
        image = f"gcr.io/{project}/{target.service}"
        return [
            ["gcloud", "builds", "submit", "--tag", image],
            ["gcloud", "run", "deploy", "--allow-unauthenticated", "--platform=managed"]
            + ["--image", image, target.service],
        ]
    return [["docker", "build", "-t", target.service, "."]]
