"""Drafting new records: a claim from a source and a quote, a source from a text file.

What can be read off the text is filled in; everything else is left as the TODO placeholder,
which validation refuses until a person fills it in.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from factdb.checks import SEEDS_DIR, seed_text
from factdb.loading import MAX_FILE_BYTES, Facts, inside, read_bounded
from factdb.problems import Problem
from factdb.schema.dates import parse_edtf
from factdb.schema.models import PLACEHOLDER, Entity, Source
from factdb.text import closest_passage, find_quote, normalise, normalise_quote

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MONTH = "(" + "|".join(MONTHS) + ")"
_MONTH_DAY = re.compile(_MONTH + r" (\d{1,2})(?:, (\d{4}))?\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2}) " + _MONTH + r"(?: (\d{4}))?\b")
_IN_MONTH = re.compile(r"\bin " + _MONTH + r"(?: (\d{4}))?\b")
_WEEKDAY = re.compile(r"\bon (" + "|".join(WEEKDAYS) + r")\b")
_RELATIVE = re.compile(r"\b(today|yesterday)\b")
_STOPWORDS = set(
    "a an the of to in on at for and or by with that this is was were be has have had".split()
)
CLAIMS_DIR = "facts/claims"
SOURCES_FILE = "facts/sources.yaml"


class AuthoringError(Exception):
    """A draft cannot be made: the message says why."""


@dataclass
class Passage:
    """Where a quote stands in its source: exactly, or the closest passage and how close."""

    text: str
    exact: bool
    score: float


def locate_quote(source_text: str, quote: str) -> Passage:
    """The exact passage for a quote (as the source writes it), or the closest one."""
    normalised = normalise(source_text)
    span = find_quote(normalised, quote)
    if span is not None:
        return Passage(source_text[span[0] : span[1]], True, 100.0)
    text, score = closest_passage(normalised, source_text, quote)
    return Passage(text, False, score)


def read_seed(root: Path, facts: Facts, source_id: str) -> str:
    """A source's seed text as validation reads it: only from inside seeds/ (no link leading
    out), within the size limit, with its recorded sha256; else AuthoringError, which never
    quotes the file."""
    found = [s for s in facts.sources if s.record.id == source_id]
    if not found:
        raise AuthoringError(f"no source '{source_id}' in the facts")
    problems: list[Problem] = []
    text = seed_text(root, found[0], problems)
    if text is None:
        raise AuthoringError("; ".join(f"{p.rule}: {p.message}" for p in problems))
    return text


def slugify(text: str, words: int = 6) -> str:
    """A short slug from the significant words of a text."""
    plain = re.sub(r"'s\b", "", normalise_quote(text).lower())
    tokens = re.findall(r"[a-z0-9]+", plain)
    significant = [t for t in tokens if t not in _STOPWORDS] or tokens
    return "-".join(significant[:words]) or "claim"


def propose_id(source_id: str, text: str, taken: set[str]) -> str:
    """An unused claim id: the source's short prefix (s004) and a slug of the statement."""
    prefix = source_id.split("-")[0]
    base = f"{prefix}-{slugify(text)}" if re.fullmatch(r"s\d+", prefix) else slugify(text)
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def entities_in(text: str, entities: list[Entity]) -> list[str]:
    """Ids of the entities whose name or an alias occurs in the text, as a whole word."""
    plain = normalise_quote(text)
    found = []
    for entity in entities:
        for name in [entity.name, *entity.aliases]:
            if re.search(r"(?<!\w)" + re.escape(normalise_quote(name)) + r"(?!\w)", plain):
                found.append(entity.id)
                break
    return found


def _single_day(published: str) -> date | None:
    dates = parse_edtf(published)
    return dates.start if dates.precision == "day" else None


def _year(published: str) -> int | None:
    dates = parse_edtf(published)
    if dates.start and dates.end and dates.start.year == dates.end.year:
        return dates.start.year
    return None


def date_from_passage(passage: str, source: Source) -> tuple[str, str] | None:
    """A date and its basis when the passage states one; None when it does not."""
    year = _year(source.published)
    day = _single_day(source.published)
    for pattern, order in ((_MONTH_DAY, "md"), (_DAY_MONTH, "dm")):
        match = pattern.search(passage)
        if match:
            month_name, day_text = (match[1], match[2]) if order == "md" else (match[2], match[1])
            stated_year = match[3]
            if year_text := stated_year or year:
                value = date(int(year_text), MONTHS.index(month_name) + 1, int(day_text))
                basis = f'"{match[0]}" in the quote'
                if not stated_year:
                    basis += f", in the year of the source's publication ({source.published})"
                return value.isoformat(), basis
    match = _IN_MONTH.search(passage)
    if match and (year_text := match[2] or year):
        month = f"{int(year_text):04d}-{MONTHS.index(match[1]) + 1:02d}"
        basis = f'"{match[0]}" in the quote'
        if not match[2]:
            basis += f", in the year of the source's publication ({source.published})"
        return month, basis
    if day:
        match = _WEEKDAY.search(passage)
        if match:
            back = (day.weekday() - WEEKDAYS.index(match[1])) % 7
            value = day - timedelta(days=back)
            return value.isoformat(), (
                f'"{match[0]}": the latest {match[1]} on or before the source\'s publication on '
                f"{WEEKDAYS[day.weekday()]} {day.isoformat()}"
            )
        match = _RELATIVE.search(passage)
        if match:
            value = day if match[1] == "today" else day - timedelta(days=1)
            return value.isoformat(), f'"{match[1]}" in a source published {day.isoformat()}'
    return None


@dataclass
class ClaimDraft:
    """A claim ready to append, and the fields left for a person to fill in."""

    record: dict
    path: Path
    todo: list[str] = field(default_factory=list)


def draft_claim(
    facts: Facts,
    root: Path,
    source_id: str,
    passage: str,
    options: dict,
) -> ClaimDraft:
    """A claim dict from a located passage and whatever the options give; TODO for the rest."""
    sources = {s.record.id: s.record for s in facts.sources}
    if source_id not in sources:
        raise AuthoringError(f"no source '{source_id}' in the facts")
    source = sources[source_id]
    statement = options.get("statement") or PLACEHOLDER
    taken = {c.record.id for c in facts.claims}
    claim_id = options.get("id") or propose_id(
        source_id, options.get("statement") or passage, taken
    )
    if claim_id in taken:
        raise AuthoringError(f"claim id '{claim_id}' is already used")
    claimant = options.get("claimant")
    about = options.get("about") or [
        e for e in entities_in(passage, [x.record for x in facts.entities]) if e != claimant
    ]
    found_date = date_from_passage(passage, source)
    record = {
        "id": claim_id,
        "source": source_id,
        "statement": statement,
        "quote": passage,
        "date": options.get("date") or (found_date[0] if found_date else PLACEHOLDER),
        "date_basis": options.get("date_basis")
        or (found_date[1] if found_date and not options.get("date") else PLACEHOLDER),
        "claimant": PLACEHOLDER if claimant is None else (None if claimant == "null" else claimant),
        "via": options.get("via") or [],
        "about": about,
        "topic": options.get("topic"),
        "value": options.get("value"),
        "unit": options.get("unit"),
        "answer": options.get("answer"),
        "assertion": options.get("assertion") or PLACEHOLDER,
        "notes": options.get("notes"),
    }
    record = {k: v for k, v in record.items() if k == "claimant" or v not in (None, [])}
    todo = [k for k, v in record.items() if v == PLACEHOLDER]
    return ClaimDraft(record, root / CLAIMS_DIR / f"{source_id}.yaml", todo)


_PUBLISHED = re.compile(r"Published .*?\b" + _MONTH + r" (\d{1,2}), (\d{4})")


def draft_source(
    facts: Facts, root: Path, file: Path, options: dict
) -> tuple[dict, Path, list[str]]:
    """Copy a text into seeds/ and draft its source record; return record, seed path, TODOs."""
    data = _read_input(file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AuthoringError(f"{file} is not UTF-8 text ({error.reason})") from None
    target = writable_path(root, f"{SEEDS_DIR}/{file.name}")
    writable_path(root, SOURCES_FILE)  # where the record goes, next
    if target.exists() and _read_input(target) != data:
        raise AuthoringError(f"{target} exists with other content; rename the file")
    source_id = options.get("id") or slugify(options.get("title") or file.stem, words=8)
    if source_id in {s.record.id for s in facts.sources}:
        raise AuthoringError(f"source id '{source_id}' is already used; give another with --id")
    published, basis = options.get("published"), options.get("published_basis")
    match = _PUBLISHED.search(text)
    stated = bool(not published and match)  # the text prints it: evidence for the other dates
    if not published and match:
        published = date(int(match[3]), MONTHS.index(match[1]) + 1, int(match[2])).isoformat()
        basis = basis or f'The text says "{match[0]}".'
    record: dict[str, object] = {
        "id": source_id,
        "seed": f"{SEEDS_DIR}/{file.name}",
        "sha256": hashlib.sha256(data).hexdigest(),
        "title": options.get("title") or PLACEHOLDER,
        "publisher": options.get("publisher") or PLACEHOLDER,
        "published": published or PLACEHOLDER,
        "published_basis": basis or PLACEHOLDER,
        "published_stated": stated,
        "language": options.get("language") or "en",
        "reports_from": [],
    }
    if not target.exists():
        _write_new(target, data)
    todo = [k for k, v in record.items() if v == PLACEHOLDER]
    return record, target, todo


def _read_input(file: Path) -> bytes:
    """A text's bytes, its size checked before a byte is read (fact files' limit)."""
    try:
        data = read_bounded(file)
    except OSError as error:
        raise AuthoringError(f"cannot read {file}: {error.strerror or error}") from None
    if isinstance(data, int):
        raise AuthoringError(f"{file} is {data} bytes; the limit is {MAX_FILE_BYTES}")
    return data


def writable_path(root: Path, relative: str) -> Path:
    """root/relative, where a file may be written: not a symbolic link (dangling or not), and
    in a folder whose real location is inside the repository; else AuthoringError."""
    path = root / relative
    if os.path.islink(path):
        raise AuthoringError(f"{relative} is a symbolic link: nothing is written through a link")
    if not inside(path.parent, os.path.realpath(root)):
        folder = path.parent.relative_to(root).as_posix()
        raise AuthoringError(f"{folder} leads outside the repository (a symbolic link?)")
    return path


def _write_new(target: Path, data: bytes) -> None:
    """Write a new file through a temporary file renamed into place: a link that appears
    meanwhile is replaced, never written through."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
    except OSError as error:
        raise AuthoringError(f"cannot write {target}: {error.strerror or error}") from None
