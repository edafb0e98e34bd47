"""The JSON Schema files: generated, current, and in agreement with pydantic per record."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from factdb.cli import cli
from factdb.editing import HEADER_PREFIX
from factdb.loading import discover
from factdb.schemas import json_schemas

REPO = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
SCHEMA = REPO / "schema" / "factfile.schema.json"

# Per-record rules: a JSON Schema validator should refuse each on its own.
PER_RECORD = {
    "missing-field",
    "unknown-field",
    "wrong-type",
    "bad-format",
    "bad-choice",
    "date-invalid",
    "invisible-character",
    "repeated-item",
    "unit-missing",
    "coordinates-incomplete",
    "placeholder",
    "not-a-mapping",
    "not-a-list",
    "unknown-section",
    "empty-file",
    "not-utf8",
    "yaml-syntax",
    "yaml-duplicate-key",
    "yaml-tag",
    "yaml-too-deep",
    "string-too-long",
    "yaml-character",
    "blank-text",
    "quote-whitespace",
}
# Per-record rules JSON Schema cannot express (documented in README.md): an order between two
# fields, NaN (a number to JSON Schema validators), and anchors (a validator sees the expansion).
NOT_EXPRESSIBLE = {"value-bounds", "not-finite", "yaml-anchor"}


def _check_jsonschema(files: list[Path]) -> dict[str, bool]:
    """Run the real check-jsonschema over files; return file -> passed."""
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--schemafile",
        str(SCHEMA),
        "--output-format",
        "json",
        *map(str, files),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    report = json.loads(result.stdout)
    failed = {e["filename"] for e in report.get("errors", [])}
    failed |= {e["filename"] for e in report.get("parse_errors", [])}
    return {str(f): str(f) not in failed for f in files}


def test_json_schema_files_are_current():
    for name, text in json_schemas().items():
        assert (REPO / "schema" / name).read_text(encoding="utf-8") == text, name
    result = CliRunner().invoke(cli, ["schema", "--root", str(REPO), "--check"])
    assert (result.exit_code, result.output) == (0, "JSON Schema files are current\n")


def test_every_fact_file_names_its_schema():
    for path in discover(REPO):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(HEADER_PREFIX), path
        assert (path.parent / first.removeprefix(HEADER_PREFIX)).resolve() == SCHEMA


def test_check_jsonschema_accepts_the_repository_facts():
    files = discover(REPO) + discover(REPO / "tests" / "fixtures" / "tree")
    assert all(_check_jsonschema(files).values())


def test_check_jsonschema_agrees_with_pydantic_on_per_record_rules():
    cases = sorted(BROKEN.glob("*.yaml"))
    passed = _check_jsonschema(cases)
    rule = {
        str(case): re.search(
            r"# expect: ([a-z0-9-]+)", case.read_bytes().decode("utf-8", "replace")
        )[1]
        for case in cases
    }
    refused_by_json_schema = {rule[f] for f, ok in passed.items() if not ok}
    accepted_by_json_schema = {rule[f] for f, ok in passed.items() if ok}
    assert refused_by_json_schema == PER_RECORD
    # What JSON Schema accepts: the cross-record rules (ours alone) and the three documented ones.
    assert accepted_by_json_schema & (PER_RECORD | NOT_EXPRESSIBLE) == NOT_EXPRESSIBLE
    assert {"quote-not-found", "unique-id", "unknown-reference", "seed-sha256"} <= (
        accepted_by_json_schema - NOT_EXPRESSIBLE
    )
