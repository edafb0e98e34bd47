"""The command line, through click's CliRunner and, for serve, as a real process."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from factdb.cli import cli

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
REPO = Path(__file__).resolve().parent.parent


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_every_command_has_help():
    for name, command in cli.commands.items():
        assert command.help, name
        assert run(name, "--help").exit_code == 0


def test_validate_ok(tree):
    result = run("validate", "--root", str(tree))
    assert result.exit_code == 0
    assert result.output == "OK: 2 claims, 1 sources, 3 entities, 2 topics, 0 events in 2 files\n"


def test_validate_reports_located_problems_and_exits_1(tree):
    shutil.copyfile(BROKEN / "value-not-in-quote.yaml", tree / "facts" / "claims" / "zz.yaml")
    result = run("validate", "--root", str(tree))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "facts/claims/zz.yaml:10:12: value-not-in-quote: value 11000 is not written in the quote "
        "(as digits or words) [wrong-number]"
    ]
    assert "1 problem(s) in 3 file(s)" in result.stderr


def test_validate_never_shows_a_traceback_on_hostile_input(tree):
    for case in BROKEN.glob("*.yaml"):
        shutil.copyfile(case, tree / "facts" / "claims" / f"zz-{case.name}")
    result = CliRunner().invoke(cli, ["validate", "--root", str(tree)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert len(result.stdout.splitlines()) >= len(list(BROKEN.glob("*.yaml")))


def test_validate_github_format(tree):
    shutil.copyfile(BROKEN / "quote-not-found.yaml", tree / "facts" / "claims" / "zz.yaml")
    result = run("validate", "--root", str(tree), "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "::error file=facts/claims/zz.yaml,line=6,col=12,title=quote-not-found::quote not found"
    )


def test_validate_json_format(tree):
    shutil.copyfile(BROKEN / "unit-mismatch.yaml", tree / "facts" / "claims" / "zz.yaml")
    result = run("validate", "--root", str(tree), "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "path": "facts/claims/zz.yaml",
            "line": 12,
            "column": 11,
            "rule": "unit-mismatch",
            "message": "unit 'troops' differs from topic 'soldiers-arrived' unit 'soldiers'",
            "record_id": "wrong-unit",
            "severity": "error",
        }
    ]
    assert (
        json.loads(
            run(
                "validate",
                "--root",
                str(REPO / "tests/fixtures/tree"),
                "--format",
                "json",
                "--no-cache",
            ).stdout
        )
        == []
    )


def test_validate_without_facts_folder(tmp_path):
    result = CliRunner().invoke(cli, ["validate", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: no facts/ folder" in result.output


def test_build_writes_the_database(tree, tmp_path):
    output = tmp_path / "out.db"
    result = run("build", "--root", str(tree), "-o", str(output))
    assert result.exit_code == 0
    assert result.output == f"Built {output} with 2 claims\n"
    assert output.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.db", "tree"]  # no scratch left


def test_build_removes_the_counts_of_the_previous_database(tree, tmp_path):
    output = tmp_path / "facts.db"
    stale = tmp_path / "facts.inspect.json"
    stale.write_text('{"facts": {"tables": {"claims": {"count": 1}}}}')
    assert run("build", "--root", str(tree), "-o", str(output)).exit_code == 0
    assert not stale.exists()


def test_build_on_invalid_facts_keeps_the_previous_database(tree, tmp_path):
    output = tmp_path / "out.db"
    run("build", "--root", str(tree), "-o", str(output))
    before = output.read_bytes()
    shutil.copyfile(BROKEN / "missing-field.yaml", tree / "facts" / "claims" / "zz.yaml")
    result = run("build", "--root", str(tree), "-o", str(output))
    assert result.exit_code == 1
    assert "missing-field" in result.stdout
    assert output.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.db", "tree"]


def test_docs_check_passes_on_the_repository():
    result = run("docs", "--root", str(REPO), "--check")
    assert (result.exit_code, result.output) == (0, "metadata.yml is current\n")


def test_docs_check_fails_when_stale(tmp_path):
    shutil.copyfile(REPO / "metadata.yml", tmp_path / "metadata.yml")
    path = tmp_path / "metadata.yml"
    path.write_text(path.read_text().replace("Stable identifier of the claim.", "Old text."))
    result = run("docs", "--root", str(tmp_path), "--check")
    assert result.exit_code == 1
    assert run("docs", "--root", str(tmp_path)).output == "Updated metadata.yml\n"
    assert run("docs", "--root", str(tmp_path), "--check").exit_code == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_validates_builds_and_serves_over_http(tmp_path):
    """The README's main command, as a real process answering real HTTP."""
    port = _free_port()
    database = tmp_path / "facts.db"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "factdb.cli",
            "serve",
            "--root",
            str(REPO),
            "-o",
            str(database),
            "-p",
            str(port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/facts/claims.json?_shape=objects")
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert response.status_code == 200
        assert response.json()["filtered_table_rows_count"] > 100
        home = httpx.get(f"http://127.0.0.1:{port}/")
        assert "Russia, North Korea and the treaty" in home.text
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_invalid_facts(tree):
    shutil.copyfile(BROKEN / "missing-field.yaml", tree / "facts" / "claims" / "zz.yaml")
    result = run("serve", "--root", str(tree), "-o", str(tree / "facts.db"))
    assert result.exit_code == 1
    assert "missing-field" in result.stdout
    assert not (tree / "facts.db").exists()


def test_serve_insists_on_the_database_name_metadata_describes(tree):
    result = CliRunner().invoke(cli, ["serve", "--root", str(tree), "-o", str(tree / "other.db")])
    assert result.exit_code == 1
    assert "must be called facts.db" in result.output


def test_cli_assertion_choices_are_the_schema_ones():
    from factdb.cli import ASSERTIONS
    from factdb.schemas import ASSERTIONS as SCHEMA_ASSERTIONS

    assert ASSERTIONS == SCHEMA_ASSERTIONS


def test_a_command_runs_the_cyclic_collector_rarely(tree: Path):
    """Measured by `facts bench` (about 5 % of a 100k build); here, only that it is set, and
    that a command's answers stay the same with it."""
    import gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        result = run("validate", "--root", str(tree), "--no-cache")
        assert result.exit_code == 0 and result.output.startswith("OK:")
        assert gc.get_threshold() == (50_000, 20, 100)
    finally:
        gc.set_threshold(*before)


def facts_process(*args: str) -> subprocess.CompletedProcess:
    """`facts ...` as a real process: the entry point `main`, which ends with os._exit."""
    return subprocess.run(
        [sys.executable, "-m", "factdb.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_the_real_command_flushes_everything_and_keeps_its_exit_status(tree):
    for case in BROKEN.glob("*.yaml"):
        shutil.copyfile(case, tree / "facts" / "claims" / f"zz-{case.name}")
    for fmt in ("text", "json", "github"):
        expected = CliRunner().invoke(cli, ["validate", "--root", str(tree), "--format", fmt])
        process = facts_process("validate", "--root", str(tree), "--format", fmt)
        assert (process.returncode, process.stdout) == (1, expected.stdout), fmt
        assert process.stderr == expected.stderr and "Traceback" not in process.stderr
    shutil.rmtree(tree / "facts" / "claims")
    (tree / "facts" / "claims").mkdir()
    shutil.copyfile(
        REPO / "tests" / "fixtures" / "tree" / "facts" / "claims" / "sample.yaml",
        tree / "facts" / "claims" / "sample.yaml",
    )
    ok = facts_process("validate", "--root", str(tree))
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 2 claims")
    usage = facts_process("no-such-command")
    assert usage.returncode == 2 and "No such command 'no-such-command'" in usage.stderr
    assert facts_process("--help").returncode == 0


def test_an_exit_message_is_printed_with_status_1(capsys):
    from factdb.cli import _exit_code

    assert (_exit_code(None), _exit_code(0), _exit_code(3)) == (0, 0, 3)
    assert _exit_code("stopped: no facts") == 1
    assert capsys.readouterr().err == "stopped: no facts\n"


def test_the_entry_point_leaves_the_validation_to_the_exit(tree, monkeypatch):
    """`main` keeps what a command validated until os._exit (its objects are not freed one
    by one, on pages forked processes shared); `cli`, as tests call it, keeps nothing."""
    import factdb.cli
    from factdb.results import Validation

    class Exited(Exception):
        pass

    def exit_now(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(factdb.cli, "_KEPT", None)
    assert run("validate", "--root", str(tree)).exit_code == 0
    assert factdb.cli._KEPT is None
    monkeypatch.setattr(factdb.cli.os, "_exit", exit_now)
    monkeypatch.setattr(sys, "argv", ["facts", "validate", "--root", str(tree)])
    try:
        factdb.cli.main()
    except Exited as exited:
        assert exited.args == (0,)
    kept = factdb.cli._KEPT
    assert kept is not None and [type(value) for value in kept] == [Validation]
    assert kept[0].count("claims") == 2


def test_the_cyclic_collector_is_off_while_a_command_validates_and_builds(
    tree, tmp_path, monkeypatch
):
    """Off from validation to the command's end, build included, and on again afterwards, for
    whatever runs next in the same process."""
    import gc

    import factdb.building
    import factdb.validating

    seen: list[tuple[str, bool]] = []
    validate, build = factdb.validating.validate, factdb.building.build_database

    def validating(*args, **kwargs):
        seen.append(("validate", gc.isenabled()))
        return validate(*args, **kwargs)

    def building(*args, **kwargs):
        seen.append(("build", gc.isenabled()))
        return build(*args, **kwargs)

    monkeypatch.setattr(factdb.validating, "validate", validating)
    monkeypatch.setattr(factdb.building, "build_database", building)
    assert gc.isenabled()
    assert run("validate", "--root", str(tree)).exit_code == 0
    assert gc.isenabled()
    assert run("build", "--root", str(tree), "-o", str(tmp_path / "facts.db")).exit_code == 0
    assert gc.isenabled()
    assert seen == [("validate", False), ("validate", False), ("build", False)]
