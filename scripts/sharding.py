"""Checking a large tree on every core: the claim files in shards, each in a process of its own.

The main process reads the registries (every file that is not plainly a list of claims) and the
seeds, and forks workers, which inherit them. Each worker loads a share of the claim files,
runs the claim rules against the registries and, for a build, writes the rows of its claims
into a shard database of its own. The main process then runs the rules that span files
(unique ids, skipped sentences), and build_database merges the shards with INSERT ... SELECT.

The problems and the rows are the same as a single process's (tests compare them); a tree of
fewer than MIN_PARALLEL_FILES claim files is checked in this process, by the same code.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from factdb.checks import (
    Validation,
    check_claims,
    check_skipped,
    check_source_references,
    id_entries,
    load_seeds,
    unique_id_problems,
)
from factdb.loading import (
    KINDS,
    REGISTRY_KINDS,
    Facts,
    Ids,
    Located,
    _load_records,
    _relative,
    discover,
    record_ids,
)
from factdb.problems import Problem
from factdb.progress import progress_bar
from factdb.text import NormalisedText

MIN_PARALLEL_FILES = 64  # below this, forking costs more than it saves
MAX_WORKERS = 8  # shards are attached to one database to merge them: SQLite allows 10
CHUNK_FILES = 20  # claim files a worker takes at a time
SENTENCE_SOURCES = 50  # sources whose sentences a worker writes at a time

Loader = Callable[[Path, str], tuple[dict[str, list[Located]], list[Problem]]]


def load_file(path: Path, relative: str) -> tuple[dict[str, list[Located]], list[Problem]]:
    """A fact file's records by kind, and the problems met reading them."""
    problems: list[Problem] = []
    records: dict[str, list[Located]] = {kind: [] for kind in KINDS}
    for kind, located in _load_records(path, relative, problems):
        records[kind].append(located)
    return records, problems


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
class ChunkOutcome:
    """What checking a chunk of claim files found."""

    files: dict[str, Ids] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    spans: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    answers: list[tuple] = field(default_factory=list)  # for answer_rows, from a build's rows
    claims: int = 0
    registries: bool = False  # the chunk defines sources, entities or topics: split it again


@dataclass
class _Context:
    """What every worker shares, set before forking: the registries, the seeds, the loader."""

    root: Path
    registries: Facts
    texts: dict[str, str]
    normalised: Mapping[str, NormalisedText]
    loader: Loader
    scratch: Path | None
    shard: sqlite_utils.Database | None = None
    shard_pid: int = 0  # the process that opened `shard`: a forked child opens its own


_CONTEXT: _Context | None = None


def _shard(context: _Context) -> sqlite_utils.Database:
    """This process's shard database, created on first use."""
    if context.shard is None or context.shard_pid != os.getpid():
        from factdb.building import create_tables

        assert context.scratch is not None
        path = context.scratch / f"shard-{os.getpid()}.db"
        context.shard = sqlite_utils.Database(path, recreate=True)
        context.shard_pid = os.getpid()
        context.shard.execute("pragma journal_mode = off")  # a scratch file, merged then deleted
        context.shard.execute("pragma synchronous = off")
        create_tables(context.shard)
    return context.shard


def _check_chunk(paths: list[Path]) -> ChunkOutcome:
    """Load a chunk of claim files, check their claims, and add their rows to this shard."""
    context = _CONTEXT
    assert context is not None, "the context is set before any chunk is checked"
    registries = context.registries
    facts = Facts(registries.sources, registries.entities, registries.topics)
    outcome = ChunkOutcome()
    for path in paths:
        relative = _relative(path, context.root)
        records, problems = context.loader(path, relative)
        if any(records[kind] for kind in REGISTRY_KINDS):
            return ChunkOutcome(registries=True)
        facts.claims += records["claims"]
        outcome.problems += problems
        outcome.files[relative] = record_ids(records)
    validation = Validation(facts, [], texts=context.texts)
    outcome.problems += check_claims(facts, context.normalised, validation)
    outcome.spans = validation.spans
    outcome.claims = len(facts.claims)
    if context.scratch is not None and facts.claims and not outcome.problems:
        from factdb.building import write_claims

        shard = _shard(context)
        with shard.conn:
            outcome.answers = write_claims(shard, validation)
    return outcome


def _write_sentences(tasks: list[tuple[int, list[tuple[int, int, str]]]]) -> int:
    """Write the sentences of some sources (by index, with their quotes) into this shard."""
    from factdb.building import SENTENCE_COLUMNS, insert_tuples
    from factdb.coverage import sentence_rows, sentences_of

    context = _CONTEXT
    assert context is not None, "the context is set before any sentence is written"
    sources = [context.registries.sources[index].record for index, _ in tasks]
    quotes = {source.id: spans for source, (_, spans) in zip(sources, tasks, strict=True)}
    rows = sentence_rows(sentences_of(sources, context.texts, quotes))
    shard = _shard(context)
    with shard.conn:
        insert_tuples(shard, "sentences", list(SENTENCE_COLUMNS), rows)
    return len(rows)


def worker_count() -> int:
    """The cores this process may use, up to MAX_WORKERS; 1 where fork is not available; or
    what the environment variable FACTS_WORKERS says (1: everything in this process)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if os.environ.get("FACTS_WORKERS", "").isdigit():
        return max(1, min(int(os.environ["FACTS_WORKERS"]), MAX_WORKERS))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _pool(workers: int):
    """Forked worker processes (which inherit _CONTEXT), or None to work in this process."""
    if workers <= 1:
        return contextlib.nullcontext()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def _run(pool, function, tasks: list, sizes: list[int], bar) -> Iterator[tuple[int, Any]]:
    """function(task) for every task, with the task's index, in the order they finish."""
    if pool is None:
        for index, task in enumerate(tasks):
            yield index, function(task)
            bar.update(sizes[index])
        return
    futures = {pool.submit(function, task): index for index, task in enumerate(tasks)}
    for future in as_completed(futures):
        index = futures[future]
        yield index, future.result()
        bar.update(sizes[index])


def _check_claim_files(pool, paths: list[Path], workers: int) -> list[ChunkOutcome]:
    """The outcome of every chunk of the claim files, in file order."""
    chunks = _chunks(paths, max(1, min(CHUNK_FILES, len(paths) // (4 * workers) or 1)))
    outcomes: list[ChunkOutcome] = [ChunkOutcome()] * len(chunks)
    bar = progress_bar(len(paths), "Checking claim files")
    try:
        for index, outcome in _run(pool, _check_chunk, chunks, [len(c) for c in chunks], bar):
            outcomes[index] = outcome
    finally:
        bar.close()
    return outcomes


def _answers(result: Validation, outcomes: list[ChunkOutcome]) -> list[dict]:
    """The rows of the answers table, from every claim; this process's own claims written."""
    from factdb.building import answer_rows, write_claims

    inputs = [claim for outcome in outcomes for claim in outcome.answers]
    if result.facts.claims:
        shard = _shard(_CONTEXT)
        with shard.conn:
            inputs += write_claims(shard, result)
    return answer_rows(result, sorted(inputs))


def _start_sentences(pool, result: Validation) -> list[Future]:
    """Every source's sentences and their coverage, written into the shards: in this process
    now, or by the workers while this process goes on (wait for the futures returned)."""
    from factdb.coverage import quotes_by_source

    quotes = quotes_by_source(result.spans)
    tasks = [
        (index, quotes.get(located.record.id, []))
        for index, located in enumerate(result.facts.sources)
    ]
    chunks = _chunks(tasks, SENTENCE_SOURCES)
    if pool is None:
        for chunk in chunks:
            _write_sentences(chunk)
        return []
    return [pool.submit(_write_sentences, chunk) for chunk in chunks]


def check_tree(
    root: Path,
    loader: Loader = load_file,
    scratch: Path | None = None,
    workers: int | None = None,
    min_parallel: int = MIN_PARALLEL_FILES,
    split: bool = True,
) -> tuple[Validation, dict[str, Ids]]:
    """Every rule over every fact file under root, the claim files in shards.

    With `scratch` (a directory) and no problem, the rows of the claims and the sentences are
    also written into shard databases there, listed in the result's `shards` for
    build_database. The result's `facts` holds the registries, `counts` the number of records
    of each kind. Also returns, per file, its
    ids with their positions (for the cache's index). split=False reads every file here.
    """
    global _CONTEXT
    paths = discover(root)
    sharded = [split and claims_only(_read_bytes(path)) for path in paths]
    main_paths = [p for p, claims in zip(paths, sharded, strict=True) if not claims]
    claim_paths = [p for p, claims in zip(paths, sharded, strict=True) if claims]
    facts = Facts(files=[_relative(path, root) for path in paths])
    files: dict[str, Ids] = {}
    for path in main_paths:
        relative = _relative(path, root)
        records, problems = loader(path, relative)
        files[relative] = record_ids(records)
        facts.problems += problems
        for kind in KINDS:
            getattr(facts, kind).extend(records[kind])
    result = Validation(facts, list(facts.problems))
    normalised = load_seeds(root, facts, result)
    result.problems += check_source_references(facts)
    result.problems += check_claims(facts, normalised, result)
    if workers is None:
        workers = worker_count() if len(claim_paths) >= min_parallel else 1
    _CONTEXT = _Context(root, facts, result.texts, normalised, loader, scratch)
    claims = len(facts.claims)
    try:
        with _pool(workers) as pool:
            outcomes = _check_claim_files(pool, claim_paths, workers)
            resplit = any(outcome.registries for outcome in outcomes)
            for outcome in outcomes:
                files.update(outcome.files)
                result.problems += outcome.problems
                result.spans.update(outcome.spans)
                claims += outcome.claims
            pending: list[Future] = []
            build = scratch is not None and not result.problems and not resplit
            if build:  # rows for a build: the sentences, by the workers
                pending = _start_sentences(pool, result)
            if not resplit:  # meanwhile, the rules that span files
                ordered = {rel: files[rel] for rel in facts.files if rel in files}
                result.problems += unique_id_problems(id_entries(root, ordered))
                result.problems += check_skipped(facts, result.texts, result.spans)
            if build and not result.problems:  # and the answers
                result.answers = _answers(result, outcomes)
            for future in pending:
                future.result()
    finally:
        if _CONTEXT.shard is not None and _CONTEXT.shard_pid == os.getpid():
            _CONTEXT.shard.close()
        _CONTEXT = None
    if resplit:  # a claim file defines registries after all: read every file here
        for shard in scratch.glob("shard-*.db") if scratch else []:
            shard.unlink()
        return check_tree(root, loader, scratch, workers=1, split=False)
    result.problems.sort()
    result.counts = {kind: len(getattr(facts, kind)) for kind in REGISTRY_KINDS}
    result.counts["claims"] = claims
    if scratch is not None:
        facts.claims = []  # their rows, and the sentences, are in the shards
        result.shards = sorted(scratch.glob("shard-*.db"))
    return result, ordered


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""  # read again, and reported, by the loader
