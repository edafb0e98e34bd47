"""The site as a folder and that folder deployed (factdb.deploying, `facts build --site`,
`facts publish`).

The deployment directory is installed as its Dockerfile says, into a fresh virtual environment
(no Docker engine runs here), its CMD started, and the plugin's pages read from it. The targets'
tools are stood in for by small scripts on PATH that record how they were called.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from factdb.cli import cli
from factdb.deploying import (
    datasette_requirement,
    dockerfile,
    write_deployment,
    write_site,
)
from factdb.loadtest import wait_until_answering
from factdb.publishing import SETTINGS, read_metadata, serve_arguments

REPO = Path(__file__).resolve().parent.parent
CLAIM = "/facts/claims/s004-nis-3000-soldiers"
# a page of each kind the plugin makes or changes, and Datasette's own
PAGES = [
    "/",
    CLAIM,
    "/-/search?q=Kursk",
    "/facts/topics/nk-troops-in-russia",
    "/facts/claims.json?_shape=array&_size=3",
    "/-/dashboards/timeline",
    "/-/metadata.json",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(arguments: list[str], path: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [*arguments, "--get", path], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _timeless(page: str) -> str:
    return re.sub(r"\d+(?:\.\d+)?ms", "…ms", page)


# --- the site directory: plain `datasette serve DIR` -------------------------------------------


@pytest.fixture(scope="module")
def site(repo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(repo_db, REPO, tmp_path_factory.mktemp("site") / "site")


def test_a_site_directory_holds_the_database_metadata_settings_and_inspect_data(site: Path):
    assert sorted(p.name for p in site.iterdir()) == [
        "facts.db",
        "inspect-data.json",
        "metadata.json",
        "settings.json",
    ]
    assert json.loads((site / "settings.json").read_text()) == SETTINGS
    assert json.loads((site / "metadata.json").read_text()) == read_metadata(REPO)
    inspect = json.loads((site / "inspect-data.json").read_text())
    assert inspect["facts"]["file"] == "facts.db"  # by name: Datasette then opens it immutable


def test_plain_datasette_serve_dir_serves_the_site_as_facts_serve_does(repo_db: Path, site: Path):
    plain = [sys.executable, "-m", "datasette", "serve", str(site)]
    served = serve_arguments(repo_db, REPO)
    for path in PAGES:  # the same page, but for how long its queries took
        assert _timeless(_get(plain, path)) == _timeless(_get(served, path)), path
    settings = json.loads(_get(plain, "/-/settings.json"))
    assert {name: settings[name] for name in SETTINGS} == SETTINGS
    [database] = json.loads(_get(plain, "/-/databases.json"))
    assert (database["name"], database["is_mutable"]) == ("facts", False)


def test_facts_build_site_writes_the_site_and_refuses_a_folder_that_is_not_empty(tmp_path: Path):
    target = tmp_path / "site"
    arguments = ["build", "--root", str(REPO), "--no-cache", "-o", str(tmp_path / "facts.db")]
    result = CliRunner().invoke(cli, [*arguments, "--site", str(target)])
    assert result.exit_code == 0, result.output
    assert f"serve it with datasette serve {target}" in result.output
    assert (target / "settings.json").is_file() and (target / "facts.db").is_file()
    again = CliRunner().invoke(cli, [*arguments, "--site", str(target)])
    assert again.exit_code == 1
    assert again.output == f"Error: {target} is not an empty folder: give a new or empty one\n"


# --- the deployment directory, installed and started as its Dockerfile says -------------------


def test_the_dockerfile_pins_datasette_as_pyproject_does():
    assert datasette_requirement(REPO) == "datasette>=0.65.5,<0.66"
    lines = dockerfile().splitlines()
    assert lines[0].startswith("FROM python:3.11")
    assert "RUN pip install --no-cache-dir -r requirements.txt" in lines


def _dockerfile_steps(text: str) -> tuple[list[str], str, dict[str, str]]:
    """The RUN commands, the CMD and the ENV of a Dockerfile, checking it copies the folder to
    /app and works there (the folder stands in for /app below)."""
    runs, command, env = [], "", {}
    for line in text.splitlines():
        instruction, _, rest = line.partition(" ")
        if instruction == "RUN":
            runs.append(rest)
        elif instruction == "CMD":
            command = rest
        elif instruction == "ENV":
            name, _, value = rest.partition("=")
            env[name] = value
        elif instruction in ("COPY", "WORKDIR"):
            assert rest in (". /app", "/app"), line
        else:
            assert instruction in ("FROM", "EXPOSE", ""), line
    return runs, command, env


@pytest.fixture(scope="module")
def deployed(repo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """The deployment directory, installed into a fresh virtual environment exactly as its
    Dockerfile says, and its CMD running on a free port: the URL."""
    scratch = tmp_path_factory.mktemp("deploy")
    app = write_deployment(REPO, repo_db, scratch / "app")
    runs, command, env = _dockerfile_steps((app / "Dockerfile").read_text())
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    environment = {**os.environ, **env, "PATH": path, "PORT": str(_free_port())}
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        environment.pop(key, None)  # nothing of this test's environment leaks into the image's
    for step in runs:
        done = subprocess.run(
            ["bash", "-c", step], cwd=app, env=environment, capture_output=True, text=True
        )
        assert done.returncode == 0, f"RUN {step}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=app,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{environment['PORT']}"
    wait_until_answering(url, process)
    yield url, venv
    process.terminate()
    process.wait(timeout=10)


def test_the_deployment_runs_its_own_install_not_this_checkout(deployed):
    url, venv = deployed
    code = "import factdb.site, datasette; print(factdb.site.__file__, datasette.__version__)"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    )
    location, version = where.stdout.split()
    assert location.startswith(str(venv)) and not location.startswith(str(REPO))
    assert version.startswith("0.65.")
    plugins = {p["name"] for p in httpx.get(url + "/-/plugins.json").json()}
    assert {"factdb", "datasette-cluster-map", "datasette-dashboards"} <= plugins


def test_the_deployment_serves_the_plugins_pages_with_their_content(deployed):
    url, _ = deployed
    search = httpx.get(url + "/-/search?q=Kursk")
    assert search.status_code == 200 and "claims" in search.text and "Kursk" in search.text
    home = httpx.get(url + "/").text
    assert "Where the sources disagree" in home
    claim = httpx.get(url + CLAIM).text
    assert '<mark id="quote">' in claim
    chart = httpx.get(url + "/-/dashboards/timeline")
    assert chart.status_code == 200 and "vega-lite" in chart.text
    script = httpx.get(url + "/-/static-plugins/datasette_dashboards/vega-lite.min.js")
    assert script.status_code == 200 and len(script.content) > 100_000


def test_the_deployment_uses_settings_json_and_an_immutable_database(deployed):
    url, _ = deployed
    settings = httpx.get(url + "/-/settings.json").json()
    assert {name: settings[name] for name in SETTINGS} == SETTINGS
    [database] = httpx.get(url + "/-/databases.json").json()
    assert database["is_mutable"] is False


# --- facts publish: checks before anything, then the target's commands -------------------------


def _tool(folder: Path, name: str, script: str) -> None:
    """A stand-in for a command-line tool: a shell script that logs its arguments and folder."""
    path = folder / name
    path.write_text(
        f'#!/bin/sh\necho "{name} $* @ $(pwd)" >> "{folder / "calls.log"}"\n' + script,
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _calls(folder: Path) -> list[str]:
    log = folder / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A committed copy of this checkout's working tree (its own git repository)."""
    target = tmp_path / "checkout"
    ignored = shutil.ignore_patterns(
        ".git",
        ".venv",
        ".ci-venv",
        "build",
        "*.egg-info",
        "test-artifacts",
        ".cache",
        "__pycache__",
        "*.db",
        "*.inspect.json",
        ".hypothesis",
        ".pytest_cache",
        ".ruff_cache",
    )
    shutil.copytree(REPO, target, ignore=ignored, symlinks=True)
    git = ["git", "-C", str(target), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], check=True)
    return target


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder first on PATH for stand-in tools, with git and the rest of PATH after it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def _publish(checkout: Path, *arguments: str):
    return CliRunner().invoke(cli, ["publish", *arguments, "--root", str(checkout)])


def test_publish_refuses_uncommitted_changes_before_anything(checkout: Path, tools: Path):
    _tool(tools, "gcloud", "echo someone\n")
    with (checkout / "facts" / "sources.yaml").open("a") as file:
        file.write("\n")
    result = _publish(checkout, "cloudrun")
    assert result.exit_code == 1
    assert result.output == (
        "Error: uncommitted changes (facts/sources.yaml): commit them first; facts publish "
        "deploys a commit: nothing was deployed\n"
    )
    assert _calls(tools) == []


def test_publish_says_which_tool_is_missing(
    checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    only_git = tmp_path / "only-git"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(only_git))
    result = _publish(checkout, "cloudrun")
    assert result.exit_code == 1
    assert result.output == (
        "Error: gcloud (the Google Cloud CLI) is not installed: see cloud.google.com/sdk: "
        "nothing was deployed\n"
    )
    docker = _publish(checkout, "docker")
    assert docker.output == (
        "Error: docker is not installed: see docs.docker.com/get-docker: nothing was deployed\n"
    )


def test_publish_needs_a_credential_and_a_docker_engine(checkout: Path, tools: Path):
    _tool(tools, "gcloud", 'echo "(unset)"\n')
    _tool(tools, "docker", "exit 1\n")
    result = _publish(checkout, "cloudrun")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no Google Cloud credential: run gcloud auth login (or activate a key): "
        "nothing was deployed\n"
    )
    docker = _publish(checkout, "docker")
    assert docker.output == (
        "Error: no Docker engine answers (docker info failed): start it first: "
        "nothing was deployed\n"
    )
    assert [call.split(" @ ")[0] for call in _calls(tools)] == [
        "gcloud config get-value account",
        "docker info --format {{.ServerVersion}}",
    ]


def test_publish_to_cloud_run_builds_the_image_of_the_deployment_directory_then_deploys_it(
    checkout: Path, tools: Path
):
    snapshot = tools / "snapshot"
    answers = (
        'case "$*" in *account*) echo curator@example.org;; *project*) echo my-project;; esac\n'
    )
    keep = f'case "$*" in "builds submit"*) cp -r . "{snapshot}";; esac\n'
    _tool(tools, "gcloud", answers + keep)
    result = _publish(checkout, "cloudrun", "--service", "treaty")
    assert result.exit_code == 0, result.output
    calls = [call.split(" @ ")[0] for call in _calls(tools)]
    assert calls[-2:] == [
        "gcloud builds submit --tag gcr.io/my-project/treaty",
        "gcloud run deploy --allow-unauthenticated --platform=managed "
        "--image gcr.io/my-project/treaty treaty",
    ]
    assert (
        f"$ {shlex.join(['gcloud', 'builds', 'submit', '--tag', 'gcr.io/my-project/treaty'])}"
        in (result.output)
    )
    assert (snapshot / "Dockerfile").read_text() == dockerfile()
    assert sorted(p.name for p in (snapshot / "site").iterdir()) == [
        "facts.db",
        "inspect-data.json",
        "metadata.json",
        "settings.json",
    ]
    [wheel] = (snapshot / "wheels").iterdir()
    assert (snapshot / "requirements.txt").read_text().splitlines() == [
        "datasette>=0.65.5,<0.66",
        f"./wheels/{wheel.name}",
    ]
    assert result.output.endswith("Published to cloudrun as treaty\n")


def test_a_failed_step_stops_the_publish_with_one_line(checkout: Path, tools: Path):
    answers = 'case "$*" in *account*) echo a@example.org;; *project*) echo p;; esac\n'
    _tool(tools, "gcloud", answers + 'case "$*" in "builds submit"*) exit 3;; esac\n')
    result = _publish(checkout, "cloudrun")
    assert result.exit_code == 1
    assert result.output.endswith(
        "Error: gcloud builds submit failed: the site was not changed by this step\n"
    )
    assert not any("run deploy" in call for call in _calls(tools))


def test_publish_directory_writes_the_deployment_and_deploys_nothing(tmp_path: Path, tools: Path):
    target = tmp_path / "app"
    result = CliRunner().invoke(
        cli, ["publish", "docker", "--root", str(REPO), "--directory", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert (target / "Dockerfile").read_text() == dockerfile()
    assert _calls(tools) == []
    again = CliRunner().invoke(
        cli, ["publish", "docker", "--root", str(REPO), "--directory", str(target)]
    )
    assert again.output == f"Error: {target} is not an empty folder: give a new or empty one\n"
