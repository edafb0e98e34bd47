"""Coverage: which sentences of each source a claim quotes, which are skipped, which remain.

A sentence is covered when a claim's quote overlaps it, skipped when its source lists it under
`skipped` with a reason (a photo credit, a page trailer), and uncovered otherwise: "uncovered"
always means "still to curate".
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from scripts.checks import Validation
from scripts.text import normalise_quote, sentence_spans

STATUSES = ("covered", "skipped", "uncovered")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a source and whether the facts account for it."""

    source: str
    position: int
    start: int
    end: int
    line: int
    text: str
    status: str
    reason: str | None
    claims: tuple[str, ...]
    quoted_share: float  # share of the sentence's characters inside some quote


COLUMNS: dict[str, tuple[type, str]] = {
    "source_id": (str, "Id of the source."),
    "position": (int, "Position of the sentence in the source, from 0."),
    "start": (int, "Offset in the source text where the sentence begins."),
    "end": (int, "Offset in the source text where the sentence ends."),
    "line": (int, "Line of the seed file the sentence is on."),
    "text": (str, "The sentence, verbatim."),
    "status": (str, "covered (a claim quotes it), skipped (with a reason) or uncovered."),
    "reason": (str, "Why a skipped sentence carries no claim."),
    "claims": (str, "JSON array of the ids of the claims that quote it."),
    "quoted_share": (float, "Share of the sentence's characters that quotes span (0-1)."),
}


def source_sentences(validation: Validation) -> list[Sentence]:
    """Every sentence of every readable source, with its coverage status."""
    quotes: dict[str, list[tuple[int, int, str]]] = {}
    for located in validation.facts.claims:
        span = validation.spans.get(located.record.id)
        if span:
            quotes.setdefault(located.record.source, []).append((*span, located.record.id))
    sentences: list[Sentence] = []
    for located in validation.facts.sources:
        source = located.record
        text = validation.texts.get(source.id)
        if text is None:
            continue
        skipped = {normalise_quote(s.text): s.reason for s in source.skipped}
        for position, (start, end) in enumerate(sentence_spans(text)):
            overlapping = [
                (max(q_start, start), min(q_end, end), cid)
                for q_start, q_end, cid in quotes.get(source.id, [])
                if q_start < end and start < q_end
            ]
            claims = tuple(sorted(cid for _, _, cid in overlapping))
            quoted = (
                set().union(*(range(a, b) for a, b, _ in overlapping)) if overlapping else set()
            )
            reason = skipped.get(normalise_quote(text[start:end]))
            status = "covered" if claims else "skipped" if reason else "uncovered"
            line = text.count("\n", 0, start) + 1
            sentences.append(
                Sentence(
                    source.id,
                    position,
                    start,
                    end,
                    line,
                    text[start:end],
                    status,
                    reason if status == "skipped" else None,
                    claims,
                    round(len(quoted) / (end - start), 3),
                )
            )
    return sentences


def summarise(sentences: list[Sentence]) -> dict[str, Counter]:
    """Counts of sentences by status, per source and for 'all'."""
    summary: dict[str, Counter] = {}
    for sentence in sentences:
        for key in (sentence.source, "all"):
            summary.setdefault(key, Counter())[sentence.status] += 1
    return summary


def sentence_rows(sentences: list[Sentence]) -> list[dict]:
    """Rows for the sentences table."""
    return [
        {
            "source_id": s.source,
            "position": s.position,
            "start": s.start,
            "end": s.end,
            "line": s.line,
            "text": s.text,
            "status": s.status,
            "reason": s.reason,
            "claims": json.dumps(list(s.claims)),
            "quoted_share": s.quoted_share,
        }
        for s in sentences
    ]


COVERAGE_VIEW = """
select source_id as source, count(*) as sentences,
  sum(status = 'covered') as covered, sum(status = 'skipped') as skipped,
  sum(status = 'uncovered') as uncovered,
  round(100.0 * sum(status != 'uncovered') / count(*), 1) as percent_accounted_for
from sentences group by source_id
"""


def format_coverage(sentences: list[Sentence], validation: Validation) -> str:
    """A table of counts per source, then each uncovered sentence at its seed file and line."""
    summary = summarise(sentences)
    width = max([len(key) for key in summary] + [6])
    lines = [f"{'source':<{width}}  sentences  covered  skipped  uncovered"]
    for key in [*sorted(k for k in summary if k != "all"), "all"]:
        counts = summary[key]
        total = sum(counts.values())
        lines.append(
            f"{key:<{width}}  {total:>9}  {counts['covered']:>7}  {counts['skipped']:>7}"
            f"  {counts['uncovered']:>9}"
        )
    total = len(sentences)
    accounted = sum(s.status != "uncovered" for s in sentences)
    share = 100.0 * accounted / total if total else 100.0
    lines.append(f"{share:.1f}% of {total} sentences covered or explained")
    seeds = {s.record.id: s.record.seed for s in validation.facts.sources}
    for sentence in sentences:
        if sentence.status == "uncovered":
            lines.append(f"{seeds[sentence.source]}:{sentence.line}: uncovered: {sentence.text}")
    return "\n".join(lines)
