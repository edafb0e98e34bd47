"""Checking a large tree on every core: the claim files in chunks, each in a worker process.

The main process reads the registries (every file that is not plainly a list of claims) and the
seeds, and forks workers, which inherit them. Each worker loads a chunk of claim files and runs
the claim rules against the registries; for a build it also writes the rows of its claims
(`rows.claim_tables`) into a database of its own (`PreparedRows`), which building merges. The
main process then runs the rules that span files (unique ids, skipped sentences).

The problems are the same as a single process's (tests compare them); a tree of fewer than
MIN_PARALLEL_FILES claim files is checked in this process, by the same code, and then
`Validation.facts` holds every claim.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from factdb.checks import (
    check_claims,
    check_skipped,
    check_source_references,
    load_seeds,
    unique_id_problems,
)
from factdb.coverage import quotes_by_source
from factdb.dating import SWEEP_FROM
from factdb.loading import (
    KINDS,
    REGISTRY_KINDS,
    Facts,
    Ids,
    Loader,
    Located,
    discover,
    load_file,
    read_head,
    record_ids,
    relative_path,
)
from factdb.problems import Problem
from factdb.processes import MIN_PARALLEL_FILES, forked_pool, worker_count
from factdb.profiling import step
from factdb.progress import progress_bar
from factdb.proving import (
    NO_INPUTS,
    claim_datings,
    file_inputs,
    inputs_digest,
    prove,
    reported_events,
)
from factdb.results import (
    DatingInputs,
    Datings,
    PreparedRows,
    PublicationBound,
    QuoteSpan,
    ShardPart,
    Validation,
)
from factdb.rows import claim_tables, sentence_table
from factdb.text import NormalisedText

CHUNK_FILES = 20  # claim files a worker takes at a time
HEAD_BYTES = 4096  # of each file, read to guess whether it holds claims alone (_read_head)
SENTENCE_SOURCES = 50  # sources whose sentences a worker prepares at a time

T = TypeVar("T")


_TOP_LEVEL = re.compile(rb"\n(?![ \t\r\n#]|-(?:[ \t\r\n]|\Z)|\Z)([^\r\n]*)")
_CLAIMS_KEY = re.compile(rb"claims:[ \t]*(?:#[^\r\n]*)?")


def claims_only(data: bytes) -> bool:
    """True if every top-level line of a file is `claims:`: it can define no source, entity or
    topic (a worker that meets one anyway says so, and the tree is checked in one process)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = [m.group(1) for m in _TOP_LEVEL.finditer(b"\n" + data)]
    return bool(lines) and all(_CLAIMS_KEY.fullmatch(line) for line in lines)


@dataclass
class Checked:
    """A checked tree: the validation, and each file's ids with their positions (for the cache)."""

    validation: Validation
    ids: dict[str, Ids]
    dating: DatingInputs = field(default_factory=lambda: DatingInputs(Datings(), []))
    proving: list[Problem] = field(default_factory=list)  # the problems of the dates across files


@dataclass
class ChunkOutcome:
    """What checking a chunk of claim files found."""

    files: dict[str, Ids] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    spans: dict[str, QuoteSpan] = field(default_factory=dict)
    claims: list[Located] = field(default_factory=list)  # kept only by a check in this process
    count: int = 0
    datings: Datings = field(default_factory=Datings)  # for the dates across articles
    bounds: list[PublicationBound] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # of each file's inputs to the dates
    parts: list[ShardPart] = field(default_factory=list)  # where its rows were prepared
    registries: bool = False  # the chunk defines registries: split it again

    # Sent back to the main process pickled: the quote spans go as columns, where each named
    # tuple was pickled as a call to its class (at 100k claims 0.17 -> 0.09 s of CPU, half of
    # it in the main process)
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        spans = state["spans"]
        state["spans"] = (list(spans), *zip(*spans.values(), strict=True)) if spans else ()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        packed = state["spans"]
        spans = zip(packed[0], map(QuoteSpan, *packed[1:]), strict=True) if packed else ()
        state["spans"] = dict(spans)
        self.__dict__.update(state)


@dataclass
class Context:
    """What every chunk is checked against: the registries, the seeds, how files are loaded,
    and where rows are prepared (None: not for a build, or the claims stay in this process)."""

    root: Path
    registries: Facts
    texts: dict[str, str]
    normalised: Mapping[str, NormalisedText]
    loader: Loader
    prepared: PreparedRows | None
    in_process: bool
    published: dict[str, str] = field(default_factory=dict)  # source id -> written EDTF
    digest: bool = False  # digest each file's inputs to the dates (for the cache's index)


def check_chunk(context: Context, paths: list[Path]) -> ChunkOutcome:
    """Load a chunk of claim files, check their claims, and prepare their rows for a build."""
    registries = context.registries
    facts = Facts(registries.sources, registries.entities, registries.topics, registries.events)
    facts.derived = registries.derived  # worked out once for every chunk
    outcome = ChunkOutcome()
    for path in paths:
        relative = relative_path(path, context.root)
        records, problems = context.loader(path, relative)
        if any(records[kind] for kind in REGISTRY_KINDS):
            return ChunkOutcome(registries=True)
        facts.claims += records["claims"]
        outcome.problems += problems
        outcome.files[relative] = record_ids(records)
    validation = Validation(facts, [], texts=context.texts)
    outcome.problems += check_claims(facts, context.normalised, validation)
    outcome.spans = validation.spans
    outcome.count = len(facts.claims)
    outcome.datings, outcome.bounds = claim_datings(facts.claims, context.published)
    if context.digest:
        inputs = file_inputs(outcome.datings, outcome.bounds)
        digests = {path: inputs_digest(inputs.get(path, NO_INPUTS)) for path in outcome.files}
        outcome.digests = digests
    if context.in_process:
        outcome.claims = facts.claims
    elif context.prepared is not None and facts.claims and not outcome.problems:
        outcome.parts = _prepare_claims(context, facts.claims, validation.spans)
    return outcome


def _prepare_claims(
    context: Context, claims: list[Located], spans: Mapping[str, QuoteSpan]
) -> list[ShardPart]:
    """Prepare the rows of the claim tables for these claims: where they were written."""
    from factdb.building import write_prepared  # only a build's workers write rows

    assert context.prepared is not None, "claims are prepared only for a build"
    tables = claim_tables(claims, context.registries.by_id("topics"), spans)
    rows = {"claims": tables.claims, **tables.links}
    return write_prepared(context.prepared.directory, rows)


def prepare_sentences(
    context: Context, tasks: list[tuple[int, list[tuple[int, int, str]]]]
) -> list[ShardPart]:
    """Prepare the sentence rows of some sources (by index, with their quotes): where they were
    written."""
    from factdb.building import write_prepared

    assert context.prepared is not None, "sentences are prepared only for a build"
    sources = [context.registries.sources[index].record for index, _ in tasks]
    quotes = {source.id: spans for source, (_, spans) in zip(sources, tasks, strict=True)}
    rows = sentence_table(sources, context.texts, quotes)
    return write_prepared(context.prepared.directory, {"sentences": rows})


_WORKER_CONTEXT: Context | None = None  # in a worker process: set once, when it starts


def _enter_worker(context: Context) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def _in_worker(function: Callable[[Context, Any], T], task: Any) -> T:
    assert _WORKER_CONTEXT is not None, "a worker's context is set when it starts"
    return function(_WORKER_CONTEXT, task)


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@contextlib.contextmanager
def _pool(context: Context, workers: int) -> Iterator[Executor | None]:
    """Forked worker processes, each given the context when it starts; None in this process."""
    if context.in_process:
        yield None
        return
    with forked_pool(workers, _enter_worker, (context,)) as pool:
        yield pool


def _submit(
    pool: Executor | None, context: Context, function: Callable[[Context, Any], T], task: Any
) -> Future[T]:
    """function(context, task) in a worker, or here (already done) where there is no pool."""
    if pool is not None:
        return pool.submit(_in_worker, function, task)
    future: Future[T] = Future()
    future.set_result(function(context, task))
    return future


def _check_claim_files(
    pool: Executor | None, context: Context, paths: list[Path], workers: int
) -> list[ChunkOutcome]:
    """The outcome of every chunk of the claim files, in file order."""
    chunks = _chunks(paths, max(1, min(CHUNK_FILES, len(paths) // (4 * workers) or 1)))
    outcomes: list[ChunkOutcome] = [ChunkOutcome()] * len(chunks)
    bar = progress_bar(len(paths), "Checking claim files")
    sweep = _SweepImport()
    try:
        if pool is None:  # one at a time, each counted as it is done
            futures = {}
            for index, chunk in enumerate(chunks):
                futures[_submit(None, context, check_chunk, chunk)] = index
                bar.update(len(chunk))
        else:
            futures = {_submit(pool, context, check_chunk, c): i for i, c in enumerate(chunks)}
        for future in as_completed(futures):
            index = futures[future]
            outcomes[index] = future.result()
            if pool is not None:
                bar.update(len(chunks[index]))
                sweep.count(outcomes[index].datings)
    finally:
        bar.close()
        sweep.join()
    return outcomes


class _SweepImport:
    """Imports the date sweep (`factdb.sweeping`, numpy: 0.07 s) in a thread while the workers
    check, once their claims dated relatively are enough for the dates step to sweep: that
    step then finds it imported, where it waited for the import after the check. Joined when
    the check ends, before anything else forks."""

    def __init__(self) -> None:
        self.dated = 0
        self.thread: threading.Thread | None = None

    def count(self, datings: Datings) -> None:
        if self.thread is not None:  # started: nothing more to count
            return
        self.dated += sum(1 for when in datings.when if when)  # each relates its claim at least
        if self.dated >= SWEEP_FROM:
            self.thread = threading.Thread(
                target=importlib.import_module, args=("factdb.sweeping",), name="sweep import"
            )
            self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def _start_sentences(
    pool: Executor | None, context: Context, validation: Validation
) -> list[Future[list[ShardPart]]]:
    """Every source's sentence rows, prepared by the workers while this process goes on."""
    quotes = quotes_by_source(validation.spans)
    tasks = [
        (index, quotes.get(located.record.id, []))
        for index, located in enumerate(validation.facts.sources)
    ]
    return [
        _submit(pool, context, prepare_sentences, chunk)
        for chunk in _chunks(tasks, SENTENCE_SOURCES)
    ]


def _load_registries(root: Path, paths: list[Path], loader: Loader) -> tuple[Facts, dict[str, Ids]]:
    """Every record of the files read in this process (those not plainly lists of claims)."""
    facts = Facts()
    ids: dict[str, Ids] = {}
    for path in paths:
        relative = relative_path(path, root)
        records, problems = loader(path, relative)
        ids[relative] = record_ids(records)
        facts.problems += problems
        for kind in KINDS:
            getattr(facts, kind).extend(records[kind])
    return facts, ids


def _merge(
    validation: Validation, ids: dict[str, Ids], outcomes: list[ChunkOutcome], dating: DatingInputs
) -> int:
    """Add every chunk's files, problems, spans, claims and what dates them (into `dating`);
    the number of claims they held."""
    prepared = validation.prepared
    for outcome in outcomes:
        dating.datings.extend(outcome.datings)
        dating.bounds += outcome.bounds
        dating.digests.update(outcome.digests)
        ids.update(outcome.files)
        validation.problems += outcome.problems
        validation.spans.update(outcome.spans)
        validation.facts.claims += outcome.claims
        if prepared is not None:
            prepared.add(outcome.parts)
    return sum(outcome.count for outcome in outcomes)


def _check(
    root: Path,
    loader: Loader,
    workers: int | None,
    prepare: bool,
    split: bool,
    min_parallel: int,
    digest: bool,
) -> Checked | None:
    """check_tree, once; None if a file taken for claims only defines registries after all."""
    refused: list[Problem] = []  # links leading outside the repository: never read
    with step("files found"):
        paths = discover(root, refused)
        claim_paths = [path for path in paths if split and claims_only(_read_head(path))]
    in_chunks = set(claim_paths)
    main_paths = [path for path in paths if path not in in_chunks]
    with step("registries read"):
        facts, ids = _load_registries(root, main_paths, loader)
    facts.problems += refused
    facts.files = [relative_path(path, root) for path in paths]
    validation = Validation(facts, list(facts.problems))
    with step("seeds read"):
        normalised = load_seeds(root, facts, validation)
    with step("registries checked"):
        validation.problems += check_source_references(facts)
        validation.problems += check_claims(facts, normalised, validation)
    if workers is None:
        workers = worker_count() if len(claim_paths) >= min_parallel else 1
    in_process = workers <= 1
    validation.prepared = PreparedRows.create() if prepare and not in_process else None
    published = {located.record.id: located.record.published for located in facts.sources}
    context = Context(
        root,
        facts,
        validation.texts,
        normalised,
        loader,
        validation.prepared,
        in_process,
        published,
        digest,
    )
    dating = DatingInputs(*claim_datings(facts.claims, published))  # of the claims read here
    claims_in_main = len(facts.claims)
    with _pool(context, workers) as pool:
        with step("claim files checked (workers)"):
            outcomes = _check_claim_files(pool, context, claim_paths, workers)
        if any(outcome.registries for outcome in outcomes):
            validation.close()
            return None
        claims = claims_in_main + _merge(validation, ids, outcomes, dating)
        ordered = {rel: ids[rel] for rel in facts.files if rel in ids}
        proving = _finish(pool, context, validation, ordered, dating)
    validation.problems.sort()
    if not in_process:
        validation.counts = {kind: len(getattr(facts, kind)) for kind in REGISTRY_KINDS}
        validation.counts["claims"] = claims
    return Checked(validation, ids, dating, proving)


def _finish(
    pool: Executor | None,
    context: Context,
    validation: Validation,
    ids: dict[str, Ids],
    dating: DatingInputs,
) -> list[Problem]:
    """The rules that span files (ids, skipped sentences, dates across articles); for a build,
    the sentences' rows meanwhile, in the workers."""
    prepared = validation.prepared
    pending = _start_sentences(pool, context, validation) if prepared and validation.ok else []
    if prepared is not None and validation.ok and validation.facts.claims:  # read here
        prepared.add(_prepare_claims(context, validation.facts.claims, validation.spans))
    with step("ids across files"):
        validation.problems += unique_id_problems(context.root, ids)
    with step("skipped sentences"):
        validation.problems += check_skipped(validation.facts, validation.texts, validation.spans)
    proof = prove(context.root, validation.facts, dating.datings, dating.bounds)
    validation.problems += proof.problems
    validation.dates = proof.dates
    validation.reported = reported_events(dating.datings)
    if prepared is not None and validation.ok:
        with step("sentences prepared (workers)"):
            for future in pending:
                prepared.add(future.result())
    elif prepared is not None:
        for future in pending:
            future.result()
        validation.close()  # rows of a tree with problems are never written
    return proof.problems


def check_tree(
    root: Path,
    loader: Loader = load_file,
    workers: int | None = None,
    prepare: bool = False,
    min_parallel: int = MIN_PARALLEL_FILES,
    digest: bool = False,
) -> Checked:
    """Every rule over every fact file under root, the claim files in chunks.

    Checked in this process (fewer than `min_parallel` claim files, or workers=1), the
    validation's facts hold every record. On several processes they hold the registries, and
    `counts` the number of records of each kind; with `prepare`, the workers also prepare the
    rows of the claims and sentences for a build (`Validation.prepared`); with `digest`, the
    workers digest each file's inputs to the dates, for the cache (`DatingInputs.digests`).
    """
    checked = _check(
        root, loader, workers, prepare, split=True, min_parallel=min_parallel, digest=digest
    )
    if checked is None:  # a claim file defines registries after all: read every file here
        checked = _check(
            root, loader, 1, prepare, split=False, min_parallel=min_parallel, digest=digest
        )
    assert checked is not None, "a check in one process reads every file itself"
    return checked


def _read_head(path: Path) -> bytes:
    """The start of a file (`HEAD_BYTES`), for a guess at its top-level keys; none if it is
    too large or unreadable (it is then read in this process, and the loader reports why).
    Reading only the start spares reading and scanning every claim file twice (at 1M claims,
    476 MB: 0.56 s, against 0.8 s of scanning alone and as much again to read them); a claim
    file that defines registries further on is met by its worker (`ChunkOutcome.registries`)."""
    try:
        return read_head(path, HEAD_BYTES)
    except OSError:
        return b""
