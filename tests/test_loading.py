from pathlib import Path

from scripts.loading import load_facts


def test_byte_order_mark_and_crlf_are_accepted(tree: Path):
    path = tree / "facts" / "claims" / "sample.yaml"
    text = path.read_text()
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    facts = load_facts(tree)
    assert facts.problems == []
    assert [c.record.id for c in facts.claims] == ["soldiers-arrived", "treaty-signed-in-capital"]


def test_records_know_their_file_line_and_fields(tree: Path):
    facts = load_facts(tree)
    claim = facts.claims[1]
    assert (claim.path, claim.line, claim.column) == ("facts/claims/sample.yaml", 16, 5)
    assert claim.at("quote") == (19, 12)
    assert claim.at("no-such-field") == (16, 5)


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
