"""An atheris harness for the loader: any bytes as a fact file must give problems, not a crash.

Run on demand, not in CI (see README.md):

    pip install atheris
    python tests/fuzz/fuzz_loader.py -max_total_time=300 "$(mktemp -d)" tests/fixtures/broken

libFuzzer writes the inputs it finds into the first directory: give it a scratch one, and the
fixture corpus only as seed input. A crash is any exception escaping the loader.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from factdb.loading import load_facts

WORK = Path(tempfile.mkdtemp(prefix="facts-fuzz-"))
(WORK / "facts").mkdir()
TARGET = WORK / "facts" / "fuzzed.yaml"


def test_one_input(data: bytes) -> None:
    TARGET.write_bytes(data)
    for fast in (True, False):
        facts = load_facts(WORK, fast=fast)
        for problem in facts.problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.rule


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
