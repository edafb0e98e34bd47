from pathlib import Path

from factdb.loading import load_facts


def test_byte_order_mark_and_crlf_are_accepted(tree: Path):
    path = tree / "facts" / "claims" / "sample.yaml"
    text = path.read_text()
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    facts = load_facts(tree)
    assert facts.problems == []
    assert [c.record.id for c in facts.claims] == ["soldiers-arrived", "treaty-signed-in-capital"]


def test_decoding_drops_a_byte_order_mark_and_turns_crlf_into_lf_only():
    from factdb.loading import decode_text

    problems: list = []
    assert decode_text(b"\xef\xbb\xbfa: 1\r\nb: 2\r\n", "x.yaml", problems) == "a: 1\nb: 2\n"
    assert decode_text(b"a: 1\rb: 2\n", "x.yaml", problems) == "a: 1\rb: 2\n"  # a lone CR stays
    assert decode_text(b"a: 1\nb: 2\n", "x.yaml", problems) == "a: 1\nb: 2\n"
    assert problems == []


def test_records_know_their_file_line_and_fields(tree: Path):
    facts = load_facts(tree)
    claim = facts.claims[1]
    assert (claim.path, claim.line, claim.column) == ("facts/claims/sample.yaml", 16, 5)
    assert claim.at("quote") == (19, 12)
    assert claim.at("no-such-field") == (16, 5)


def test_registry_lookups_are_worked_out_once_and_shared_by_chunks(tree: Path):
    from factdb.loading import Facts

    facts = load_facts(tree)
    sources = facts.by_id("sources")
    assert sources == {s.record.id: s.record for s in facts.sources}
    assert facts.by_id("sources") is sources and facts.ids("sources") is facts.ids("sources")
    chunk = Facts(facts.sources, facts.entities, facts.topics, facts.events)
    chunk.derived = facts.derived  # as sharding gives each chunk the registries' lookups
    assert chunk.by_id("sources") is sources
    facts.sources.append(facts.sources[0])  # records added since: worked out again
    assert facts.by_id("sources") is not sources and facts.by_id("sources") == sources


def test_dates_stay_the_text_written(tree: Path):
    facts = load_facts(tree)
    assert facts.claims[0].record.date == "2024-10-22"
    assert facts.sources[0].record.published == "2024-10-24"


def test_yaml_1_2_no_is_a_string_not_false(tree: Path):
    path = tree / "facts" / "more.yaml"
    path.write_text(
        "entities:\n  - id: no-entity\n    name: no\n    kind: person\n    description: D.\n"
    )
    facts = load_facts(tree)
    assert facts.problems == []
    assert {e.record.id: e.record.name for e in facts.entities}["no-entity"] == "no"


# The fast path (yaml-rs and a line index) must say exactly what the exact path says.
import shutil  # noqa: E402

import pytest  # noqa: E402

from factdb import validate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"


@pytest.mark.parametrize("case", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_fast_and_exact_paths_report_the_same_problems(tree: Path, case: Path):
    shutil.copyfile(case, tree / "facts" / "claims" / f"zz-{case.name}")
    fast = load_facts(tree, fast=True)
    exact = load_facts(tree, fast=False)
    assert fast.problems == exact.problems
    assert [c.record for c in fast.claims] == [c.record for c in exact.claims]


def test_fast_and_exact_paths_place_every_field_of_the_repository_alike():
    fast, exact = load_facts(REPO, fast=True), load_facts(REPO, fast=False)
    assert fast.problems == exact.problems == []
    for kind in ("sources", "entities", "topics", "claims"):
        for a, b in zip(getattr(fast, kind), getattr(exact, kind), strict=True):
            assert a.record == b.record
            assert (a.path, a.line, a.column) == (b.path, b.line, b.column)
            for name, value in a.record:
                assert a.at(name) == b.at(name), (a.record.id, name)
                if isinstance(value, list):
                    for index in range(len(value)):
                        assert a.at(name, index) == b.at(name, index), (a.record.id, name, index)


def test_the_fast_path_is_the_one_taken_for_canonical_files(monkeypatch):
    import factdb.loading as loading

    calls = []
    monkeypatch.setattr(loading, "parse_yaml", lambda *a, **k: calls.append(a[1]))
    assert validate(REPO, cache=False).problems == []
    assert calls == []


def test_without_yaml_rs_every_file_takes_the_exact_path(tree: Path, monkeypatch):
    import factdb.loading as loading

    shutil.copyfile(BROKEN / "unknown-field.yaml", tree / "facts" / "claims" / "zz.yaml")
    expected = load_facts(tree).problems
    monkeypatch.setattr(loading, "yaml_rs", None)
    assert loading._parse_fast("claims: []\n") is None
    assert load_facts(tree).problems == expected


def test_a_key_the_line_scan_cannot_read_is_placed_by_the_exact_path(tree: Path):
    path = tree / "facts" / "claims" / "sample.yaml"
    path.write_text(
        path.read_text().replace("    source: sample\n", "    sou sam    x: sample\n", 1)
    )
    fast, exact = load_facts(tree, fast=True), load_facts(tree, fast=False)
    assert fast.problems == exact.problems
    assert ("unknown-field", 3, 5) in {(p.rule, p.line, p.column) for p in fast.problems}


@pytest.mark.parametrize("key", ["null", "~", "1", "true"])
def test_a_key_that_is_not_text_is_the_same_problem_on_both_paths(tree: Path, key: str):
    """Found by the mutation property test: yaml-rs gave pydantic a None key. Such a key is
    placed at its record (the exact path's locator knows keys as text only)."""
    path = tree / "facts" / "claims" / "sample.yaml"
    path.write_text(path.read_text().replace("    source: sample\n", f"    {key}: x\n", 1))
    fast, exact = load_facts(tree, fast=True), load_facts(tree, fast=False)
    assert fast.problems == exact.problems
    assert ("unknown-field", 2, 5) in {(p.rule, p.line, p.column) for p in fast.problems}


def test_discover_finds_yaml_files_in_path_order_following_file_links_only(tree: Path):
    from factdb.loading import discover

    facts = tree / "facts"
    (facts / "b").mkdir()
    (facts / "b" / "x.yml").write_text("claims: []\n")
    (facts / "b-c.yaml").write_text("claims: []\n")  # "-" sorts before "/" as text, not as a Path
    (facts / "notes.txt").write_text("not a fact file\n")
    (facts / ".yaml").write_text("claims: []\n")  # no suffix, as Path.suffix has it
    (facts / "linked.yaml").symlink_to(facts / "b-c.yaml")
    (facts / "folder-link.yaml").symlink_to(facts / "b")
    (facts / "dangling.yaml").symlink_to(facts / "nowhere.yaml")
    outside = tree / "outside"
    outside.mkdir()
    (outside / "far.yaml").write_text("claims: []\n")
    (facts / "far").symlink_to(outside)  # a link to a folder is not followed

    expected = sorted(p for p in facts.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    found = discover(tree)
    assert found == expected
    names = [p.relative_to(facts).as_posix() for p in found]
    assert "b/x.yml" in names and "linked.yaml" in names
    assert not {"far/far.yaml", "folder-link.yaml", "dangling.yaml", ".yaml"} & set(names)


def test_the_fast_path_never_imports_ruamel_yaml(tree: Path):
    """ruamel.yaml costs a touched-file run 10 ms: it is imported only where the exact path runs."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from factdb import validate; "
        f"assert validate(Path({str(tree)!r}), cache=False).problems == []; "
        "print(sorted(m for m in sys.modules if m.startswith('ruamel')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_forbidden_characters_are_exactly_those_outside_yaml_printable_set():
    from factdb.loading import _FORBIDDEN

    def printable(code: int) -> bool:  # YAML 1.2, production [1] c-printable
        return (
            code in (0x09, 0x0A, 0x0D, 0x85)
            or 0x20 <= code <= 0x7E
            or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF
        )

    text = "".join(map(chr, range(0x110000)))
    found = [match.start() for match in _FORBIDDEN.finditer(text)]
    assert found == [code for code in range(0x110000) if not printable(code)]


def test_a_file_growing_after_its_stat_is_read_no_further_than_the_limit(tmp_path, monkeypatch):
    import os

    import factdb.loading as loading

    path = tmp_path / "growing.yaml"
    path.write_bytes(b"#" * (loading.MAX_FILE_BYTES + 10))
    real_stat = os.stat

    def stale_stat(target, *args, **kwargs):  # the size it had when stat'ed: 100 bytes
        status = real_stat(target, *args, **kwargs)
        if str(target) != str(path):
            return status
        return os.stat_result((status.st_mode, *status[1:6], 100, *status[7:]))

    monkeypatch.setattr(loading.os, "stat", stale_stat)
    assert loading.read_bounded(path) == loading.MAX_FILE_BYTES + 10


def test_explicit_paths_that_are_not_files_or_leave_the_repository_are_refused(
    tree: Path, tmp_path: Path
):
    import os

    pipe = tree / "facts" / "pipe.yaml"
    os.mkfifo(pipe)
    outside = tmp_path / "outside.yaml"
    outside.write_text("claims: []\n")
    link = tree / "facts" / "link.yaml"
    link.symlink_to(outside)
    facts = load_facts(tree, [pipe, link, outside])
    assert [(p.rule, p.path, p.message) for p in facts.problems] == [
        (
            "path-outside-repository",
            "facts/link.yaml",
            "the path leads outside the repository: not read",
        ),
        (
            "path-outside-repository",
            outside.as_posix(),
            "the path leads outside the repository: not read",
        ),
        ("file-unreadable", "facts/pipe.yaml", "not a regular file"),
    ]
