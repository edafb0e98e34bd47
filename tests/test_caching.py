"""The cache changes how much work validation does, never what it finds."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

import factdb.caching as caching
from factdb import validate

BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
MORE_CLAIMS = """\
claims:
  - id: nine-ships
    source: sample
    statement: Nine ships sailed.
    quote: nine ships sailed
    date: '2024-10-24'
    date_basis: b
    claimant: null
    value: 9
    unit: ships
    assertion: stated
"""


def same_as_uncached(root: Path) -> list:
    cached = validate(root, cache=True).problems
    assert cached == validate(root, cache=False).problems
    return cached


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files the cache parses (rather than reads from the record cache)."""
    calls: list[str] = []
    original = caching._Records.parse

    def spy(self, path, relative, digest):
        calls.append(relative)
        return original(self, path, relative, digest)

    monkeypatch.setattr(caching._Records, "parse", spy)
    return calls


def test_first_and_second_runs(tree: Path, parsed: list[str]):
    assert same_as_uncached(tree) == []
    assert sorted(parsed) == ["facts/claims/sample.yaml", "facts/registry.yaml"]
    parsed.clear()
    assert same_as_uncached(tree) == []
    assert parsed == []


def test_a_changed_claims_file_is_the_only_one_parsed(tree: Path, parsed: list[str]):
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    same_as_uncached(tree)
    parsed.clear()
    path = tree / "facts" / "claims" / "more.yaml"
    path.write_text(path.read_text().replace("Nine ships sailed.", "Nine ships left."))
    assert same_as_uncached(tree) == []
    assert parsed == ["facts/claims/more.yaml"]


def test_new_problems_in_a_changed_file(tree: Path):
    same_as_uncached(tree)
    for case in ("quote-not-found", "unknown-reference", "yaml-syntax", "value-not-in-quote"):
        shutil.copyfile(BROKEN / f"{case}.yaml", tree / "facts" / "claims" / f"zz-{case}.yaml")
        assert {p.rule for p in same_as_uncached(tree)} >= {case}
    for path in (tree / "facts" / "claims").glob("zz-*.yaml"):
        path.unlink()
    assert same_as_uncached(tree) == []


def test_duplicate_ids_across_unchanged_and_changed_files(tree: Path):
    same_as_uncached(tree)
    duplicate = MORE_CLAIMS.replace("id: nine-ships", "id: soldiers-arrived")
    (tree / "facts" / "claims" / "aa-first.yaml").write_text(duplicate)  # sorts before sample
    problems = same_as_uncached(tree)
    assert [(p.rule, p.path) for p in problems] == [("unique-id", "facts/claims/sample.yaml")]
    (tree / "facts" / "claims" / "aa-first.yaml").unlink()
    assert same_as_uncached(tree) == []


def test_registry_and_seed_changes(tree: Path):
    same_as_uncached(tree)
    registry = tree / "facts" / "registry.yaml"
    text = registry.read_text()
    registry.write_text(text.replace("  - id: minister", "  - id: ministre"))
    assert {p.rule for p in same_as_uncached(tree)} == {"unknown-reference"}
    registry.write_text(text)
    assert same_as_uncached(tree) == []
    seed = tree / "seeds" / "sample.txt"
    seed.write_text(seed.read_text().replace("nine", "ten"))
    assert {p.rule for p in same_as_uncached(tree)} == {"seed-sha256"}


def test_a_claim_quoting_a_skipped_sentence(tree: Path):
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(
        registry.read_text().replace(
            "    reports_from: [agency]\n",
            "    reports_from: [agency]\n    skipped:\n"
            "      - text: A second paragraph says nine ships sailed.\n        reason: Test.\n",
        )
    )
    assert same_as_uncached(tree) == []
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    assert [p.rule for p in same_as_uncached(tree)] == ["skipped-but-quoted"]


def test_a_damaged_cache_is_rebuilt(tree: Path):
    same_as_uncached(tree)
    for path in (tree / ".cache" / "facts").rglob("*"):
        if path.is_file():
            path.write_bytes(b"garbage")
    assert same_as_uncached(tree) == []


def test_counts_in_an_incremental_run(tree: Path):
    from click.testing import CliRunner

    from factdb.cli import cli

    runner = CliRunner()
    first = runner.invoke(cli, ["validate", "--root", str(tree)])
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    second = runner.invoke(cli, ["validate", "--root", str(tree)])
    assert first.output == "OK: 2 claims, 1 sources, 3 entities, 2 topics, 0 events in 2 files\n"
    assert second.output == "OK: 3 claims, 1 sources, 3 entities, 2 topics, 0 events in 3 files\n"


def test_the_last_unique_id_problems_stand_while_no_id_moves(tree: Path, monkeypatch):
    same_as_uncached(tree)
    duplicate = MORE_CLAIMS.replace("id: nine-ships", "id: soldiers-arrived")
    first = tree / "facts" / "claims" / "aa-first.yaml"
    first.write_text(duplicate)
    expected = same_as_uncached(tree)
    reads = []
    original = caching._read_ids
    monkeypatch.setattr(caching, "_read_ids", lambda root: reads.append(1) or original(root))
    first.write_text(duplicate.replace("Nine ships sailed.", "Nine ships left port."))
    assert same_as_uncached(tree) == expected
    assert reads == []  # its ids and their lines are as before: the problems stand
    sample = tree / "facts" / "claims" / "sample.yaml"
    sample.write_text("# a comment that moves every record down a line\n" + sample.read_text())
    moved = same_as_uncached(tree)
    assert reads == [1]
    assert [(p.rule, p.line) for p in moved] == [("unique-id", expected[0].line + 1)]


def test_files_unchanged_since_the_last_run_are_not_read(tree: Path, monkeypatch):
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    hour_ago = time.time_ns() - 3600 * 10**9
    for path in (tree / "facts").rglob("*.yaml"):
        os.utime(path, ns=(hour_ago, hour_ago))
    assert same_as_uncached(tree) == []
    read = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or original(self))
    assert validate(tree, cache=True).problems == []
    assert not [name for name in read if name.endswith(".yaml")]


def test_a_same_size_edit_in_the_tick_the_index_was_written_is_seen(tree: Path):
    """git's racy case: on a coarse clock, a file written in the tick the index is written in
    has the index's time, and an edit in that tick keeps its size and time."""
    more = tree / "facts" / "claims" / "more.yaml"
    more.write_text(MORE_CLAIMS)
    tick = time.time_ns() + 60 * 10**9  # not older than the index about to be written
    os.utime(more, ns=(tick, tick))
    assert same_as_uncached(tree) == []
    more.write_text(MORE_CLAIMS.replace("quote: nine ships sailed", "quote: nine ships sailex"))
    os.utime(more, ns=(tick, tick))  # same size, same time
    assert [p.rule for p in same_as_uncached(tree)] == ["quote-not-found"]


def test_many_changed_files_are_parsed_by_the_workers_not_first_by_this_process(
    tree: Path, monkeypatch
):
    """A cold cache (a fresh checkout, CI) parsed every file in the main process before the
    workers started: 4.1 s at 100k claims against 1.6 s without the cache. Now the tree goes
    straight to the sharded check, whose workers parse through the cache."""
    import factdb.sharding as sharding
    import factdb.validating as validating

    monkeypatch.setattr(validating, "MIN_PARALLEL_FILES", 2)
    for number in range(3):
        text = MORE_CLAIMS.replace("nine-ships", f"nine-ships-{number}")
        (tree / "facts" / "claims" / f"more-{number}.yaml").write_text(text)
    (tree / "facts" / "claims" / "more-2.yaml").write_text(
        (BROKEN / "unknown-field.yaml").read_text()
    )
    calls = []
    check_tree, check_changed = sharding.check_tree, caching.Cache.check_changed
    monkeypatch.setattr(
        sharding, "check_tree", lambda *a, **k: calls.append("full") or check_tree(*a, **k)
    )
    monkeypatch.setattr(
        caching.Cache,
        "check_changed",
        lambda self: calls.append(f"changed, {len(self.parsed)} parsed") or check_changed(self),
    )
    problems = same_as_uncached(tree)
    assert [p.rule for p in problems] == ["unknown-field"]
    # the cached run goes straight to the sharded check, nothing parsed before it; then the
    # uncached run that same_as_uncached compares it with
    assert calls == ["full", "full"]
    assert (tree / ".cache" / "facts" / "index.marshal").exists()
    calls.clear()
    assert same_as_uncached(tree) == problems  # and the next run is incremental
    assert calls == ["changed, 0 parsed", "full"]


@pytest.fixture
def dated_tree(tmp_path: Path) -> Path:
    """A generated tree whose claims report events and date themselves relatively ("on
    Tuesday"), events shared across its files."""
    from factdb.benchmark import generate_corpus

    return generate_corpus(tmp_path / "corpus", 200).root


def _no_full_check(monkeypatch) -> None:
    import factdb.sharding as sharding

    def refuse(*args, **kwargs):
        raise AssertionError("the touched-file run checked every file again")

    monkeypatch.setattr(sharding, "check_tree", refuse)


def test_a_touched_file_of_a_dated_tree_is_checked_alone_and_dates_are_solved_again(
    dated_tree: Path, monkeypatch
):
    """The dates across articles are solved from each file's kept inputs (at 1M claims a
    touched file re-checked the whole dated tree: 84 % of a cold validate)."""
    assert validate(dated_tree, cache=True).problems == []  # fills the cache
    claims = dated_tree / "facts" / "claims" / "00001.yaml"
    text = claims.read_text(encoding="utf-8")
    claims.write_text(text + "# touched\n", encoding="utf-8")
    uncached = validate(dated_tree, cache=False)
    with monkeypatch.context() as patched:
        _no_full_check(patched)
        cached = validate(dated_tree, cache=True)
    assert cached.problems == uncached.problems == []
    assert set(cached.dates) == set(uncached.dates)
    for name in list(uncached.dates)[::17]:
        assert cached.dates[name] == uncached.dates[name], name
    assert cached.reported == uncached.reported

    # a weekday changed in that file: the contradiction it makes with the other articles
    changed = re.sub(r"when: \[(\w+)\]", "when: [sunday]", text, count=1)
    changed = changed.replace("date_basis:", "date_basis:", 1)
    claims.write_text(changed, encoding="utf-8")
    uncached = validate(dated_tree, cache=False)
    with monkeypatch.context() as patched:
        _no_full_check(patched)
        cached = validate(dated_tree, cache=True)
    assert cached.problems == uncached.problems != []
    assert {p.path for p in cached.problems} >= {"facts/claims/00001.yaml"}


def test_a_touched_file_whose_inputs_to_the_dates_did_not_move_solves_nothing(
    dated_tree: Path, monkeypatch
):
    """The last solving's problems stand; the dates are solved only when asked for."""
    import factdb.caching as caching

    validate(dated_tree, cache=True)  # fills the cache
    claims = dated_tree / "facts" / "claims" / "00001.yaml"
    claims.write_text(claims.read_text(encoding="utf-8") + "# touched\n", encoding="utf-8")
    uncached = validate(dated_tree, cache=False)
    solved, prove = [], caching.prove
    monkeypatch.setattr(caching, "prove", lambda *a: solved.append(1) or prove(*a))
    cached = validate(dated_tree, cache=True)
    assert solved == [] and cached.problems == uncached.problems
    assert cached.reported == uncached.reported
    name = next(name for name in uncached.dates if name.startswith("claim:"))
    assert cached.dates[name] == uncached.dates[name] and solved == [1]
    assert len(cached.dates) == len(uncached.dates) and solved == [1]


def test_a_date_problem_in_a_touched_file_is_found_again_where_it_now_stands(
    dated_tree: Path, monkeypatch
):
    """Its claim's inputs are the same, but a line inserted in the record moved its date."""
    import factdb.caching as caching

    claims = dated_tree / "facts" / "claims" / "00001.yaml"
    text = claims.read_text(encoding="utf-8")
    looser = re.sub(r"date: '(\d{4}-\d\d)-\d\d'", r"date: '\1'", text, count=1)
    claims.write_text(looser, encoding="utf-8")
    first = validate(dated_tree, cache=True)
    assert [p.rule for p in first.problems] == ["date-looser-than-proved"]
    moved = looser.replace("    date: '", "    # a note\n    date: '", 1)
    claims.write_text(moved, encoding="utf-8")
    uncached = validate(dated_tree, cache=False)
    solved, prove = [], caching.prove
    monkeypatch.setattr(caching, "prove", lambda *a: solved.append(1) or prove(*a))
    cached = validate(dated_tree, cache=True)
    assert solved == [1] and cached.problems == uncached.problems
    assert cached.problems[0].line == first.problems[0].line + 1


def test_kept_records_come_back_as_the_models_they_were(tmp_path: Path):
    """Every record of the five articles, kept as plain field values and read back, equals the
    validated model, with the same fields set (what `fmt` and the JSON export leave out)."""
    import pickle

    from factdb.loading import load_records

    root = Path(__file__).resolve().parents[1]
    store = caching._Records(tmp_path)
    kinds = set()
    for path in sorted((root / "facts").rglob("*.yaml")):
        relative = path.relative_to(root).as_posix()
        parsed, problems = store.parse(path, relative, "digest")
        assert problems == []
        kept, _ = store.load("digest")
        assert pickle.loads(store.path("digest").read_bytes())[0][0][2].__class__ is tuple
        fresh = [(kind, located.record) for kind, located in load_records(path, relative, [])]
        assert [(kind, record) for kind, record, _, _ in kept] == fresh
        for (_, record, line, column), (_, was, wline, wcolumn) in zip(kept, parsed, strict=True):
            assert type(record) is type(was)
            assert record.__pydantic_fields_set__ == was.__pydantic_fields_set__
            assert record.model_dump(exclude_unset=True) == was.model_dump(exclude_unset=True)
            assert (line, column) == (wline, wcolumn)
            kinds.add(type(record).__name__)
    assert kinds == {"Source", "Entity", "Topic", "Event", "Claim"}


def test_a_record_with_extra_fields_is_kept_whole():
    from pydantic import BaseModel, ConfigDict

    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")
        id: str

    record = Loose(id="a", more=1)
    packed = caching._pack([("topics", record, 3, 5)])
    assert packed[0][2] is record  # pickled as the model, extra fields and all
    assert caching._unpack(packed) == [("topics", record, 3, 5)]


@pytest.fixture
def no_validators():
    """This process without the record validators built so far (restored afterwards)."""
    from factdb.loading import LIST_VALIDATORS

    saved = dict(LIST_VALIDATORS)
    LIST_VALIDATORS.clear()
    yield LIST_VALIDATORS
    LIST_VALIDATORS.clear()
    LIST_VALIDATORS.update(saved)


def test_the_record_validators_are_kept_between_runs(tree: Path, no_validators, monkeypatch):
    from factdb import loading

    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    same_as_uncached(tree)
    kept = tree / ".cache" / "facts" / "validators.pickle"
    assert kept.is_file()
    no_validators.clear()  # as a new process: the claims' validator is read, not built
    built: list[object] = []
    monkeypatch.setattr(loading, "TypeAdapter", lambda *a: built.append(a))
    path = tree / "facts" / "claims" / "more.yaml"
    path.write_text(MORE_CLAIMS.replace("Nine ships sailed.", "Nine ships left."))
    assert validate(tree, cache=True).problems == []
    path.write_text(MORE_CLAIMS.replace("value: 9", "value: nine"))  # one record by itself
    problems = validate(tree, cache=True).problems
    assert built == []
    assert [(p.path, p.line, p.rule) for p in problems] == [
        ("facts/claims/more.yaml", 9, "wrong-type")
    ]
    monkeypatch.undo()
    assert same_as_uncached(tree) == problems


def test_validators_kept_for_other_models_are_built_again(tree: Path, no_validators):
    import pickle

    same_as_uncached(tree)
    kept = tree / ".cache" / "facts" / "validators.pickle"
    kept.write_bytes(pickle.dumps(("facts-cache-0-pydantic-1", {"claims": "not a validator"})))
    no_validators.clear()
    (tree / "facts" / "claims" / "more.yaml").write_text(MORE_CLAIMS)
    assert same_as_uncached(tree) == []
    key, validators = pickle.loads(kept.read_bytes())
    assert key == caching.VALIDATORS_KEY
    assert "claims" in validators and type(validators["claims"]).__name__ == "SchemaValidator"
