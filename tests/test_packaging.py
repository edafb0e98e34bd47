"""The package as pip installs it: one top-level name, and the whole site from another folder.

The wheel is built from the repository and unpacked into a folder of its own (as a non-editable
install lays it out); the commands then run from an unrelated folder, with that folder first on
the path, so the code, the templates and the JSON Schemas all come from the installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps"]
    subprocess.run([*command, "-w", str(out), str(REPO)], check=True, capture_output=True)
    [built] = out.glob("factdb-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's files where a non-editable install puts them (pip's --target)."""
    target = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target"]
    subprocess.run([*command, str(target), str(wheel)], check=True, capture_output=True)
    return target


def test_the_wheel_installs_one_package_of_its_own_name(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "factdb",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert "factdb/site/templates/row-facts-claims.html" in names
    assert "factdb/schema/factfile.schema.json" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "facts = factdb.cli:main" in text and "facts = factdb.site" in text


def run(installed: Path, cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run(
        [sys.executable, *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_an_installed_package_validates_builds_and_serves_from_another_folder(
    installed: Path, tmp_path: Path
):
    where = run(installed, tmp_path, "-c", "import factdb.site; print(factdb.site.__file__)")
    assert where.stdout.startswith(str(installed)), where.stderr  # not the repository's code
    validated = run(
        installed, tmp_path, "-m", "factdb.cli", "validate", "--root", str(REPO), "--no-cache"
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert validated.stdout.startswith("OK: 195 claims, 5 sources")
    database = tmp_path / "facts.db"
    built = run(
        installed,
        tmp_path,
        "-m",
        "factdb.cli",
        "build",
        "--root",
        str(REPO),
        "--no-cache",
        "-o",
        str(database),
    )
    assert built.returncode == 0, built.stderr
    metadata = str(REPO / "metadata.yml")
    search = run(
        installed,
        tmp_path,
        "-m",
        "datasette",
        str(database),
        "-m",
        metadata,
        "--get",
        "/-/search?q=Kursk",
    )
    assert search.returncode == 0, search.stderr
    assert "Kursk" in search.stdout and "claims" in search.stdout
    claim = run(
        installed,
        tmp_path,
        "-m",
        "datasette",
        str(database),
        "-m",
        metadata,
        "--get",
        "/facts/claims/s004-nis-3000-soldiers",
    )
    assert claim.returncode == 0, claim.stderr
    assert '<mark id="quote">' in claim.stdout  # the plugin's template, from the package


def test_the_wheel_ships_the_sites_metadata(wheel: Path):
    shipped = zipfile.ZipFile(wheel).read("factdb/site/metadata.yml").decode()
    assert shipped == (REPO / "metadata.yml").read_text(encoding="utf-8")


def test_an_installed_package_benchmarks_and_load_tests_from_another_folder(
    installed: Path, tmp_path: Path
):
    """`facts bench` and the load test read the metadata the package ships (they looked for
    metadata.yml beside the installed code)."""
    workdir = tmp_path / "bench"
    arguments = ["--sizes", "200", "--runs", "1", "--no-serve", "--workdir", str(workdir)]
    bench = run(installed, tmp_path, "-m", "factdb.cli", "bench", *arguments)
    assert bench.returncode == 0, bench.stdout + bench.stderr
    assert "solving the dates" in bench.stdout
    database = workdir / "db-200" / "facts.db"
    assert database.is_file()
    load = run(installed, tmp_path, "-m", "factdb.loadtest", str(database), "2", "1")
    assert load.returncode == 0, load.stdout + load.stderr
    assert "requests/s" in load.stdout and "plain claims table" in load.stdout


@pytest.fixture(scope="module")
def unpacked_sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source distribution, built as `python -m build --sdist` builds it, and unpacked."""
    out = tmp_path_factory.mktemp("sdist")
    command = [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(REPO)]
    subprocess.run(command, check=True, capture_output=True)
    [archive] = out.glob("factdb-*.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out / archive.name.removesuffix(".tar.gz")


def test_the_sdist_holds_every_file_of_the_repository(unpacked_sdist: Path):
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout: nothing to compare the sdist with")
    missing = [name for name in tracked if not (unpacked_sdist / name).is_file()]
    assert missing == []
    assert not (unpacked_sdist / "scripts" / "site" / "metadata.yml").is_symlink()


def test_pytest_runs_from_an_unpacked_sdist(unpacked_sdist: Path, tmp_path: Path):
    """The package built from the sdist (not this checkout's), and the sdist's own tests."""
    target = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--target"]
    subprocess.run([*command, str(target), str(unpacked_sdist)], check=True, capture_output=True)
    collected = run(target, unpacked_sdist, "-m", "pytest", "--collect-only", "-q")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]
    assert " tests collected" in collected.stdout or " tests collected" in collected.stderr
    modules = ["tests/test_loading.py", "tests/test_checks.py", "tests/test_docs.py"]
    code = "import factdb; print(factdb.__file__)"
    assert run(target, unpacked_sdist, "-c", code).stdout.startswith(str(target))
    ran = run(target, unpacked_sdist, "-m", "pytest", "-q", "-p", "no:cacheprovider", *modules)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    assert " passed" in ran.stdout and "failed" not in ran.stdout
