"""Rules that span records and files: each yields located problems with a stable rule name.

Per-record rules (types, formats, required fields) live in the pydantic models; these are the
rules a single record cannot check on its own.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path

from factdb.loading import (
    Facts,
    FileLocator,
    Ids,
    Located,
    decode_text,
    inside,
    read_bytes,
)
from factdb.problems import Problem
from factdb.results import QuoteSpan, Validation
from factdb.schema.dates import parse_edtf
from factdb.schema.models import Source, Topic
from factdb.text import (
    NormalisedText,
    closest_passage,
    find_normalised,
    normalisation_difference,
    normalise,
    normalise_quote,
    sentence_spans,
    value_in_text,
)

SEEDS_DIR = "seeds"
FUTURE_ASSERTIONS = {"scheduled", "expected"}


def check_record_rules(
    facts: Facts, normalised: Mapping[str, NormalisedText], result: Validation
) -> Iterator[Problem]:
    """The rules that look at one record at a time, against the registries."""
    yield from check_source_references(facts)
    yield from check_claims(facts, normalised, result)
    yield from check_skipped(facts, result.texts, result.spans)


def check_claims(
    facts: Facts, normalised: Mapping[str, NormalisedText], result: Validation
) -> Iterator[Problem]:
    """The rules on each claim of `facts`, against its registries."""
    for rule in (check_claim_references, check_topics, check_dates):
        yield from rule(facts)
    yield from check_quotes(facts, normalised, result.texts, result.spans)


def _problem(located: Located, name: str | None, rule: str, message: str) -> Problem:
    line, column = located.at(name)
    return Problem(located.path, line, column, rule, message, getattr(located.record, "id", None))


def id_key(identifier: str) -> str:
    """Ids that differ only in case or Unicode normalisation count as the same id."""
    if identifier.isascii():  # NFKC leaves ASCII as it is, and casefold is lower there
        return identifier.lower()
    return unicodedata.normalize("NFKC", identifier).casefold()


def unique_id_problems(root: Path, files: Mapping[str, Ids]) -> Iterator[Problem]:
    """unique-id: no two records of a kind share an id, over files known by their ids (in file
    order); the later is blamed. A file is read again only to place a repeated id's column."""
    if _repeated(files):
        yield from _repeated_ids(root, files)


def _repeated(files: Mapping[str, Ids]) -> bool:
    """Whether some kind has an id twice: its ids' keys against a set of them (at 1M claims
    0.4 s, where keeping each id's first place took 0.9 s, and 2.7 s within a build)."""
    keys: dict[str, list[str]] = {}
    for ids in files.values():
        for kind, kind_ids in ids.items():
            keys.setdefault(kind, []).extend([id_key(identifier) for identifier, _, _ in kind_ids])
    return any(len(set(kind_keys)) < len(kind_keys) for kind_keys in keys.values())


def _repeated_ids(root: Path, files: Mapping[str, Ids]) -> Iterator[Problem]:
    first: dict[str, dict[str, tuple[str, int]]] = {}  # kind -> id key -> (file, line)
    for relative, ids in files.items():
        locator: FileLocator | None = None
        for kind, kind_ids in ids.items():
            seen = first.setdefault(kind, {})
            for index, (identifier, line, _column) in enumerate(kind_ids):
                key = id_key(identifier)
                if key not in seen:
                    seen[key] = (relative, line)
                    continue
                locator = locator or FileLocator(root / relative)
                other_path, other_line = seen[key]
                message = (
                    f"{kind[:-1]} id '{identifier}' is already used at {other_path}:{other_line}"
                )
                position = locator.position((kind, index), ("id",))
                yield Problem(relative, *position, "unique-id", message, identifier)


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    from rapidfuzz import process  # imported when a reference is unknown

    matches = process.extract(name, list(known), limit=3, score_cutoff=60)
    return f"; did you mean {', '.join(repr(m[0]) for m in matches)}?" if matches else ""


def _missing(
    located: Located, name: str, ids: Iterable[str | None], known: AbstractSet[str], kind: str
) -> Iterator[Problem]:
    for ref in ids:
        if ref is not None and ref not in known:
            message = f"{name}: no {kind} '{ref}'{_did_you_mean(ref, known)}"
            yield _problem(located, name, "unknown-reference", message)


def check_source_references(facts: Facts) -> Iterator[Problem]:
    """unknown-reference: the outlets a source reports from exist."""
    entities = facts.ids("entities")
    for source in facts.sources:
        yield from _missing(source, "reports_from", source.record.reports_from, entities, "entity")


def check_claim_references(facts: Facts) -> Iterator[Problem]:
    """unknown-reference: every source, entity and topic a claim names exists."""
    sources, entities = facts.ids("sources"), facts.ids("entities")
    topics, events = facts.ids("topics"), facts.ids("events")
    for claim in facts.claims:
        record = claim.record
        if record.source not in sources:
            yield from _missing(claim, "source", [record.source], sources, "source")
        if record.claimant is not None and record.claimant not in entities:
            yield from _missing(claim, "claimant", [record.claimant], entities, "entity")
        if not entities.issuperset(record.about):
            yield from _missing(claim, "about", record.about, entities, "entity")
        if not entities.issuperset(record.via):
            yield from _missing(claim, "via", record.via, entities, "entity")
        if record.topic is not None and record.topic not in topics:
            yield from _missing(claim, "topic", [record.topic], topics, "topic")
        if record.event is not None and record.event not in events:
            yield from _missing(claim, "event", [record.event], events, "event")


def check_topics(facts: Facts) -> Iterator[Problem]:
    """A claim answers its topic in the topic's terms: a value in its unit, or an answer."""
    topics: dict[str, Topic] = facts.by_id("topics")
    for claim in facts.claims:
        record = claim.record
        topic = topics.get(record.topic) if record.topic else None
        has_value = any(v is not None for v in (record.value, record.value_min, record.value_max))
        if record.answer is not None and (topic is None or topic.kind != "text"):
            yield _problem(
                claim,
                "answer",
                "answer-without-text-topic",
                "an answer needs a topic of kind 'text'",
            )
        if topic is None:
            continue
        if topic.kind == "quantity":
            if not has_value:
                yield _problem(
                    claim,
                    "topic",
                    "value-missing",
                    f"topic '{topic.id}' is a quantity: give value (or value_min/value_max)",
                )
            elif topic.unit and record.unit != topic.unit:
                yield _problem(
                    claim,
                    "unit",
                    "unit-mismatch",
                    f"unit '{record.unit}' differs from topic '{topic.id}' unit '{topic.unit}'",
                )
        elif topic.kind == "text" and record.answer is None:
            yield _problem(
                claim,
                "topic",
                "answer-missing",
                f"topic '{topic.id}' is answered in text: give answer",
            )


def check_dates(facts: Facts) -> Iterator[Problem]:
    """date-after-publication: a claim's date is not after its source's, unless it is a plan."""
    sources: dict[str, Source] = facts.by_id("sources")
    for claim in facts.claims:
        record = claim.record
        source = sources.get(record.source)
        source_dates = parse_edtf(source.published) if source is not None else None  # cached
        if (
            source_dates is None
            or source_dates.end is None
            or record.assertion in FUTURE_ASSERTIONS
        ):
            continue
        claim_dates = parse_edtf(record.date)
        if claim_dates.start is not None and claim_dates.start > source_dates.end:
            yield _problem(
                claim,
                "date",
                "date-after-publication",
                f"date {record.date} is after the source's publication ({source_dates.end}); "
                "use assertion 'scheduled' or 'expected' for plans",
            )


class NormalisedTexts(Mapping[str, NormalisedText]):
    """Source texts, each normalised when first asked for (by whichever process needs it)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self._texts = texts
        self._normalised: dict[str, NormalisedText] = {}

    def __getitem__(self, source_id: str) -> NormalisedText:
        if source_id not in self._normalised:
            self._normalised[source_id] = normalise(self._texts[source_id])
        return self._normalised[source_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def load_seeds(
    root: Path, facts: Facts, result: Validation, only: set[str] | None = None
) -> NormalisedTexts:
    """Check each source's seed path and sha256; read its text (normalised when first used).
    `only`: the ids of the sources whose seeds are wanted (default: every source's)."""
    seeds_dir = seeds_folder(root)
    for source in facts.sources:
        if only is not None and source.record.id not in only:
            continue
        text = _seed_text(root, seeds_dir, source, result.problems)
        if text is not None:
            result.texts[source.record.id] = text
    return NormalisedTexts(result.texts)


def seed_text(root: Path, source: Located, problems: list[Problem]) -> str | None:
    """One source's seed text, read as validation reads it (load_seeds); None with the reasons
    in `problems` where it is refused, too large, changed or not UTF-8."""
    return _seed_text(root, seeds_folder(root), source, problems)


def _seed_text(
    root: Path, seeds_dir: Path | None, source: Located, problems: list[Problem]
) -> str | None:
    """A source's seed text, or None with the reasons in `problems`, placed at the source's
    seed (where the cache keeps them): a seed too large, unreadable or not UTF-8 included."""
    found: list[Problem] = []
    data = _seed_bytes(root, seeds_dir, source, found)
    text = None if data is None else decode_text(data, source.record.seed, found)
    for problem in found:
        if problem.path == source.record.seed:  # read_bytes or decode_text placed it in the seed
            place = (problem.line, problem.column) != (1, 1)
            where = f" (line {problem.line}, column {problem.column})" if place else ""
            message = f"{problem.path}{where}: {problem.message}"
            problem = _problem(source, "seed", problem.rule, message)
        problems.append(problem)
    return text


def _seed_bytes(
    root: Path, seeds_dir: Path | None, source: Located, problems: list[Problem]
) -> bytes | None:
    """A source's seed, read only if its real location is in seeds/ and its size within the
    limit; None (and the reason in `problems`) if it is refused or its sha256 differs."""
    record = source.record
    path = seed_file(root, seeds_dir, record.seed)
    if isinstance(path, str):
        problems.append(_problem(source, "seed", "seed-path", path))
        return None
    if not path.is_file():
        problems.append(_problem(source, "seed", "seed-missing", f"no file {record.seed}"))
        return None
    data = read_bytes(path, record.seed, problems)
    if data is None:
        return None
    digest = hashlib.sha256(data).hexdigest()
    if digest != record.sha256:
        message = f"{record.seed} has sha256 {digest}, not the recorded one"
        problems.append(_problem(source, "sha256", "seed-sha256", message))
        return None
    return data


def seeds_folder(root: Path) -> Path | None:
    """The real location of root/seeds; None where it leads outside the repository."""
    folder = os.path.realpath(root / SEEDS_DIR)
    return Path(folder) if inside(folder, os.path.realpath(root)) else None


def _plain_name(seed: str) -> str | None:
    """The file name of a seed right in seeds/ (seeds/name), as most are; else None."""
    name = seed[len(SEEDS_DIR) + 1 :] if seed.startswith(SEEDS_DIR + "/") else ""
    plain = name not in ("", ".", "..") and "/" not in name and "\\" not in name
    return name if plain else None


def plain_seed_status(seeds_dir: Path | str | None, seed: str) -> os.stat_result | None:
    """The status of a seed that is a file right in seeds/ and no link, as most are (what
    resolving its path would find, without a look at every folder above); None where
    `seed_file` must decide."""
    name = _plain_name(seed)
    if seeds_dir is None or name is None:
        return None
    try:
        status = os.lstat(os.path.join(seeds_dir, name))
    except OSError:
        return None  # missing: seed_file resolves it, as any other
    return None if stat.S_ISLNK(status.st_mode) else status


def seed_file(root: Path, seeds_dir: Path | None, seed: str) -> Path | str:
    """The seed's real path inside seeds/ (`seeds_dir`: seeds_folder), or why it is refused."""
    if seeds_dir is not None and plain_seed_status(seeds_dir, seed) is not None:
        return seeds_dir / seed[len(SEEDS_DIR) + 1 :]
    if seed.startswith(("/", "\\")) or (len(seed) > 1 and seed[1] == ":"):
        return f"seed '{seed}' is an absolute path; give it relative to the repository, in seeds/"
    parts = Path(seed).parts
    if ".." in parts or "\\" in seed:
        return f"seed '{seed}' may not contain '..' or backslashes"
    if not parts or parts[0] != SEEDS_DIR:
        return f"seed '{seed}' is not in {SEEDS_DIR}/"
    if seeds_dir is None:
        return f"{SEEDS_DIR}/ leads outside the repository (a symbolic link?): not read"
    resolved = (root / seed).resolve()
    if not resolved.is_relative_to(seeds_dir):
        return f"seed '{seed}' leads outside {SEEDS_DIR}/ (a symbolic link?)"
    return resolved


def check_quotes(
    facts: Facts,
    texts: Mapping[str, NormalisedText],
    originals: dict[str, str],
    spans: dict[str, QuoteSpan],
) -> Iterator[Problem]:
    """quote-not-found, value-not-in-quote: the quote is in the source, the value in the quote."""
    for claim in facts.claims:
        record = claim.record
        needle = normalise_quote(record.quote)
        text = texts.get(record.source)
        if text is not None:
            span = find_normalised(text, needle)
            if span is None:
                message = _quote_not_found(text, originals[record.source], record.quote, needle)
                yield _problem(
                    claim,
                    "quote",
                    "quote-not-found",
                    f"quote not found in source '{record.source}'{message}",
                )
            else:
                spans[record.id] = QuoteSpan(record.source, *span)
        number = record.value
        if number is not None and not value_in_text(number, needle):
            yield _problem(
                claim,
                "value",
                "value-not-in-quote",
                f"value {number:g} is not written in the quote (as digits or words)",
            )


def _quote_not_found(text: NormalisedText, original: str, quote: str, needle: str) -> str:
    """What to say of a quote not found: that it differs only in Unicode normalisation (the
    closest passage would look identical), or the closest passage."""
    difference = normalisation_difference(text, needle)
    if difference is not None:
        return f": it differs only in Unicode normalisation ({difference}); use the source's form"
    passage, score = closest_passage(text, original, quote)
    return f'; closest passage ({score:.0f}%): "{passage}"' if passage else ""


def check_skipped(
    facts: Facts, texts: dict[str, str], spans: Mapping[str, QuoteSpan]
) -> Iterator[Problem]:
    """skipped-not-a-sentence, skipped-but-quoted: a skipped entry is an unquoted sentence."""
    skipping = {located.record.id for located in facts.sources if located.record.skipped}
    quoted: dict[str, list[tuple[int, int]]] = {}  # the quotes of those sources alone
    if skipping:  # (every quote's span gathered for none: 0.6 s of a 1M-claim build)
        for source_id, start, end in spans.values():
            if source_id in skipping:
                quoted.setdefault(source_id, []).append((start, end))
    for source in facts.sources:
        text = texts.get(source.record.id)
        if text is None or not source.record.skipped:
            continue
        sentences = {
            normalise_quote(text[start:end]): (start, end) for start, end in sentence_spans(text)
        }
        for index, skipped in enumerate(source.record.skipped):
            span = sentences.get(normalise_quote(skipped.text))
            line, column = source.at("skipped", index)
            where = (source.path, line, column)
            if span is None:
                yield Problem(
                    *where,
                    "skipped-not-a-sentence",
                    f"skipped text is not a whole sentence of {source.record.seed}",
                    source.record.id,
                )
            elif any(
                q_start < span[1] and span[0] < q_end
                for q_start, q_end in quoted.get(source.record.id, [])
            ):
                yield Problem(
                    *where,
                    "skipped-but-quoted",
                    "a claim quotes this sentence: remove it from skipped",
                    source.record.id,
                )
