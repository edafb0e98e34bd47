"""facts new and facts add-source: drafts that validate once a person fills the TODOs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from factdb import validate
from factdb.authoring import date_from_passage, entities_in, locate_quote, propose_id, slugify
from factdb.cli import cli
from factdb.loading import load_facts
from factdb.schema.models import Source

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _source(published: str) -> Source:
    return Source(
        id="s",
        seed="seeds/x.txt",
        sha256="0" * 64,
        title=None,
        publisher=None,
        published=published,
        published_basis="b",
        language="en",
    )


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_locate_quote_exact_returns_the_source_spelling():
    text = "He said the \u201ctreaty\u201d was signed."
    passage = locate_quote(text, 'the "treaty" was signed')
    assert (passage.text, passage.exact) == ("the \u201ctreaty\u201d was signed", True)


def test_locate_quote_shows_the_closest_passage():
    passage = locate_quote("About 3,000 soldiers had arrived.", "about 3,000 soldeirs had arrived")
    assert passage.exact is False
    assert passage.text == "About 3,000 soldiers had arrived."


def test_ids_are_proposed_from_the_statement_and_never_reused():
    assert slugify("The Duma ratified the treaty on Thursday") == "duma-ratified-treaty-thursday"
    taken = {"s004-duma-ratified-treaty-thursday"}
    assert propose_id("s004-x", "The Duma ratified the treaty on Thursday", taken) == (
        "s004-duma-ratified-treaty-thursday-2"
    )
    assert propose_id("sample", "Nine ships", set()) == "nine-ships"


def test_entities_found_by_name_or_alias(tree: Path):
    entities = [e.record for e in load_facts(tree).entities]
    assert entities_in("The Minister met The Agency", entities) == ["minister", "agency"]
    assert entities_in("The Ministers", entities) == []


@pytest.mark.parametrize(
    "passage, published, expected",
    [
        ("signed on June 19 during", "2024-10-24", ("2024-06-19", '"June 19" in the quote')),
        ("Published Thursday, October 24, 2024", "2024", ("2024-10-24", '"October 24, 2024"')),
        ("the treaty was signed in June", "2024-10-24", ("2024-06", '"in June" in the quote')),
        ("told MPs on Wednesday that", "2024-10-24", ("2024-10-23", '"on Wednesday": the latest')),
        ("ratified on Thursday", "2024-10-24", ("2024-10-24", '"on Thursday": the latest')),
        ("Russian MPs ratified today", "2024-10-24", ("2024-10-24", '"today" in a source')),
        ("said yesterday that", "2024-10-24", ("2024-10-23", '"yesterday" in a source')),
        ("said on Wednesday that", "2024-10-01/2024-11-05", None),
        ("no date here", "2024-10-24", None),
    ],
)
def test_dates_read_from_the_passage(passage, published, expected):
    found = date_from_passage(passage, _source(published))
    if expected is None:
        assert found is None
    else:
        assert found[0] == expected[0]
        assert found[1].startswith(expected[1])


def test_new_with_every_field_validates(tree: Path):
    result = run(
        "new",
        "--root",
        str(tree),
        "--source",
        "sample",
        "--quote",
        "nine ships sailed",
        "--statement",
        "A second paragraph says nine ships sailed.",
        "--date",
        "../2024-10-24",
        "--date-basis",
        "Undated; on or before publication.",
        "--claimant",
        "null",
        "--value",
        "9",
        "--unit",
        "ships",
        "--assertion",
        "stated",
    )
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "Added claim second-paragraph-says-nine-ships-sailed to facts/claims/sample.yaml\n"
    )
    assert validate(tree, cache=False).problems == []
    text = (tree / "facts" / "claims" / "sample.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schema/factfile.schema.json\n")
    assert "  - id: soldiers-arrived\n" in text  # the rest of the file is still there


def test_new_leaves_placeholders_that_validation_refuses(tree: Path):
    result = run("new", "--root", str(tree), "--source", "sample", "--quote", "was signed in June")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Added claim signed-june to facts/claims/sample.yaml",
        "Fill in: statement, claimant, assertion (marked TODO), then run: facts validate",
    ]
    problems = validate(tree, cache=False).problems
    assert {(p.rule, p.record_id) for p in problems} == {("placeholder", "signed-june")}
    assert sorted(p.message.split(":")[0] for p in problems) == [
        "assertion",
        "claimant",
        "statement",
    ]
    claim = [c for c in load_facts(tree, None).claims if c.record.id == "signed-june"]
    assert claim == []  # a record with placeholders is not valid
    text = (tree / "facts" / "claims" / "sample.yaml").read_text()
    assert "date: 2024-06\n" in text and "about: [capital]" not in text.split("signed-june")[1]


def test_new_with_a_typo_asks_and_takes_the_closest_passage(tree: Path):
    result = run(
        "new",
        "--root",
        str(tree),
        "--source",
        "sample",
        "--quote",
        "about 3,000 soldeirs had arrived",
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert 'Closest passage (97%):\n  "about 3,000 soldiers had arrived"' in result.output
    assert (
        "quote: about 3,000 soldiers had arrived\n"
        in (tree / "facts" / "claims" / "sample.yaml")
        .read_text()
        .split("id: about-3-000-soldiers")[1]
    )


def test_new_with_a_typo_declined_adds_nothing(tree: Path):
    before = (tree / "facts" / "claims" / "sample.yaml").read_text()
    result = run(
        "new",
        "--root",
        str(tree),
        "--source",
        "sample",
        "--quote",
        "about 3,000 soldeirs had arrived",
        input="n\n",
    )
    assert result.exit_code == 1
    assert "Error: no claim added: correct the quote and try again" in result.output
    assert (tree / "facts" / "claims" / "sample.yaml").read_text() == before


def test_new_refuses_an_unknown_source(tree: Path):
    result = run("new", "--root", str(tree), "--source", "sampel", "--quote", "x")
    assert result.exit_code == 1
    assert "no source 'sampel'; known sources: sample" in result.output


def test_new_keeps_comments_in_the_target_file(tree: Path):
    path = tree / "facts" / "claims" / "sample.yaml"
    path.write_text(
        "# keep me\n" + path.read_text().replace("  - id: treaty", "  # and me\n  - id: treaty")
    )
    run("new", "--root", str(tree), "--source", "sample", "--quote", "nine ships sailed")
    text = path.read_text()
    assert "# keep me" in text and "# and me" in text


def test_add_source_copies_the_seed_and_drafts_its_record(tree: Path, tmp_path: Path):
    article = tmp_path / "new-article.txt"
    article.write_text("A headline\n\nPublished 9:00 am Friday, October 25, 2024\n\nBody text.\n")
    result = run("add-source", "--root", str(tree), str(article), "--title", "A headline")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Copied {article} to seeds/new-article.txt; added source headline",
        "Fill in: publisher (marked TODO; null where the text does not say), "
        "then run: facts validate",
    ]
    assert (tree / "seeds" / "new-article.txt").read_bytes() == article.read_bytes()
    problems = validate(tree, cache=False).problems
    assert [(p.rule, p.record_id) for p in problems] == [("placeholder", "headline")]
    registry = (tree / "facts" / "sources.yaml").read_text()
    assert registry.startswith("# yaml-language-server: $schema=../schema/factfile.schema.json\n")
    assert "published: '2024-10-25'" in registry
    assert (
        'published_basis: The text says "Published 9:00 am Friday, October 25, 2024".' in registry
    )
    registry = registry.replace("publisher: TODO", "publisher: null")
    (tree / "facts" / "sources.yaml").write_text(registry)
    assert validate(tree, cache=False).problems == []


def test_add_source_refuses_to_overwrite_a_different_seed(tree: Path, tmp_path: Path):
    other = tmp_path / "sample.txt"
    other.write_text("Different text.\n")
    result = run("add-source", "--root", str(tree), str(other))
    assert result.exit_code == 1
    assert "exists with other content" in result.output


def test_read_seed_reads_a_source_text_as_validation_does(tree: Path):
    from factdb.authoring import read_seed

    text = read_seed(tree, load_facts(tree), "sample")
    assert text.startswith("Officials said on Tuesday")


def test_read_seed_never_reads_a_seed_linked_outside(tree: Path, tmp_path: Path):
    from factdb.authoring import AuthoringError, read_seed

    outside = tmp_path / "secret.txt"
    outside.write_text("about 3,000 soldiers and a secret\n")
    (tree / "seeds" / "link.txt").symlink_to(outside)
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(registry.read_text().replace("seeds/sample.txt", "seeds/link.txt"))
    with pytest.raises(AuthoringError) as error:
        read_seed(tree, load_facts(tree), "sample")
    assert str(error.value) == (
        "seed-path: seed 'seeds/link.txt' leads outside seeds/ (a symbolic link?)"
    )


def test_read_seed_refuses_a_changed_seed(tree: Path):
    from factdb.authoring import AuthoringError, read_seed

    seed = tree / "seeds" / "sample.txt"
    seed.write_text(seed.read_text() + "More.\n")
    with pytest.raises(AuthoringError, match="^seed-sha256: seeds/sample.txt has sha256"):
        read_seed(tree, load_facts(tree), "sample")
