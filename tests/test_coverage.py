"""Coverage: every sentence of a source is quoted, skipped with a reason, or still to curate."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from factdb import validate
from factdb.cli import cli
from factdb.coverage import source_sentences, summarise
from factdb.text import sentence_spans

REPO = Path(__file__).resolve().parent.parent


def sentences_of_tree(result):
    """Every sentence of a validated tree's sources, with its status."""
    sources = [located.record for located in result.facts.sources]
    return source_sentences(sources, result.texts, result.spans)


def test_sentence_spans_keep_abbreviations_and_paragraphs():
    text = "Lloyd J. Austin III spoke. The U.S. agreed.\n\nMarketplace\n"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Lloyd J. Austin III spoke.",
        "The U.S. agreed.",
        "Marketplace",
    ]


def test_statuses_on_the_fixture_tree(tree: Path):
    sentences = sentences_of_tree(validate(tree, cache=False))
    assert [(s.line, s.status, s.claims) for s in sentences] == [
        (1, "covered", ("soldiers-arrived",)),
        (2, "covered", ("treaty-signed-in-capital",)),
        (4, "uncovered", ()),
    ]
    assert 0 < sentences[0].quoted_share < 1


def test_a_skipped_sentence_with_its_reason(tree: Path):
    registry = tree / "facts" / "registry.yaml"
    registry.write_text(
        registry.read_text().replace(
            "    reports_from: [agency]\n",
            "    reports_from: [agency]\n    skipped:\n"
            "      - text: A second paragraph says nine ships sailed.\n"
            "        reason: A test of skipping.\n",
        )
    )
    sentences = sentences_of_tree(validate(tree, cache=False))
    assert (sentences[2].status, sentences[2].reason) == ("skipped", "A test of skipping.")
    assert summarise(sentences)["all"] == {"covered": 2, "skipped": 1}


def test_every_seed_sentence_is_covered_or_explained():
    sentences = sentences_of_tree(validate(REPO, cache=False))
    uncovered = [f"{s.source}:{s.line}: {s.text}" for s in sentences if s.status == "uncovered"]
    assert uncovered == []
    assert {s.source for s in sentences} == {
        "s000-duma-ratifies-treaty",
        "s001-bta-duma-ratifies-pact",
        "s002-icaro-federation-council-approves",
        "s003-putin-signs-treaty-law",
        "s004-russia-seals-partnership",
    }
    skipped = [s for s in sentences if s.status == "skipped"]
    assert skipped and all(s.reason for s in skipped)


def test_coverage_in_the_database(repo_db: Path):
    db = sqlite_utils.Database(repo_db)
    rows = list(db.query("select * from coverage order by source"))
    assert len(rows) == 5
    assert all(r["uncovered"] == 0 and r["percent_accounted_for"] == 100 for r in rows)
    assert sum(r["sentences"] for r in rows) == db["sentences"].count
    assert db.execute("pragma foreign_key_check").fetchall() == []


def test_coverage_command(tree: Path):
    result = CliRunner().invoke(cli, ["coverage", "--root", str(tree)])
    assert result.exit_code == 0
    assert result.output.splitlines()[-2:] == [
        "66.7% of 3 sentences covered or explained",
        "seeds/sample.txt:4: uncovered: A second paragraph says nine ships sailed.",
    ]
    assert CliRunner().invoke(cli, ["coverage", "--root", str(tree), "--check"]).exit_code == 1
    assert CliRunner().invoke(cli, ["coverage", "--root", str(REPO), "--check"]).exit_code == 0


def test_the_sentences_tables_rows_are_the_sentences_with_their_claims_as_json():
    """The rows a build writes are made without a Sentence each: they must say what the
    sentences say, the claims as a JSON array, for every source of the repository."""
    import json

    from factdb.coverage import COLUMNS, quotes_by_source, sentence_rows_of, sentences_of

    result = validate(REPO, cache=False)
    sources = [located.record for located in result.facts.sources]
    quotes = quotes_by_source(result.spans)
    sentences = sentences_of(sources, result.texts, quotes)
    rows = sentence_rows_of(sources, result.texts, quotes)
    assert len(rows) == len(sentences) > 100 and all(len(row) == len(COLUMNS) for row in rows)
    assert any(len(s.claims) > 1 for s in sentences)  # the arrays of several claims
    assert any(s.status == "skipped" for s in sentences)  # and the reasons, too
    assert rows == [(*s[:8], json.dumps(list(s.claims)), s.quoted_share) for s in sentences]
