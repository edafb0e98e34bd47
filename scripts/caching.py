"""Incremental validation: parsed files and their results, reused while their content is unchanged.

Under root/.cache/facts (ignored by git):

- `records/<sha256>.pickle`: a fact file's validated records and loading problems, by the
  sha256 of its content (and the cache format), so an unchanged file is never parsed again;
- `index.marshal`: for each fact file, its content hash, size and modification time, how
  many records of each kind it holds, a digest of its ids and their positions,
  and its problems; the unique-id problems; for each seed, its size, modification time and
  sha256; and a fingerprint of the registries (the files holding sources, entities, topics
  or events, and the seeds);
- `ids.marshal`: every file's ids with their lines and columns, read only when the ids changed;
- `validators.pickle`: the record validators built by pydantic (for these models and this
  version of pydantic), read before a file is parsed: building the claims' takes 20 ms;
- `dates.marshal`: what each file gives the dates across articles (its claims that date
  themselves or name an event, its bounds on its sources' publication), the problems of the last
  solving and how many claims report each event, read only when the dates are solved again.

A file whose size and modification time are those recorded, and older than the index, is not
read again (git's rule, racy case included). While the
registries are unchanged, a record's cross-record results depend only on its own file, so
`facts validate` parses the changed files, runs the record rules on their records, and takes
every other file's problems from the index. Ids are checked for uniqueness across all files
again when a changed file's ids (or their positions) changed, files came or went, or a
unique-id problem is in a changed file; otherwise the last run's unique-id problems stand. The
dates across articles are the same: solved again from every file's kept inputs when a changed
file's inputs (their lines included) changed, files came or went, or a date problem is in a
changed file; otherwise the last solving's problems stand, and the dates are solved only if
asked for (a build). When
a registry changes, every rule runs again over all records (still without parsing the unchanged
files). Tests check that the problems equal those of a run without cache.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import pydantic
import pydantic_core
from pydantic_core import SchemaValidator

from factdb.checks import (
    check_record_rules,
    load_seeds,
    plain_seed_status,
    seed_file,
    seeds_folder,
    unique_id_problems,
)
from factdb.loading import (
    KINDS,
    LIST_VALIDATORS,
    REGISTRY_KINDS,
    Facts,
    FileLocator,
    FileRecords,
    Ids,
    Loader,
    Located,
    fact_entries,
    load_records,
    read_bounded,
    record_ids,
    relative_path,
)
from factdb.problems import Problem
from factdb.proving import (
    NO_INPUTS,
    LazyProvedDates,
    Proof,
    claim_datings,
    file_inputs,
    inputs_digest,
    prove,
    reported_events,
)
from factdb.results import DatingInputs, Datings, PublicationBound, Validation
from factdb.schema import models

CACHE_DIR = ".cache/facts"
FORMAT_VERSION = "facts-cache-10"


def _schema_digest() -> str:
    """A digest of the record models' source: kept records are their models' field values, so
    a change to the models (a new field) makes every cached file stale."""
    folder = Path(models.__file__).parent
    digest = hashlib.sha256()
    for name in ("models.py", "dates.py"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


FORMAT = f"{FORMAT_VERSION}-{_schema_digest()}"


def _cache(root: Path) -> Path:
    return root / CACHE_DIR


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{os.getpid()}-{path.name}")  # one writer per process
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _read_marshal(path: Path) -> dict:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == FORMAT else {}


def _read_index(root: Path) -> dict:
    """The index, with `written`: its file's modification time, by the clock of the file system
    (git's rule compares the files' times with it)."""
    path = _cache(root) / "index.marshal"
    index = _read_marshal(path)
    if index:
        try:
            index["written"] = path.stat().st_mtime_ns
        except OSError:
            return {}
    return index


def _read_ids(root: Path) -> dict[str, Ids]:
    return _read_marshal(_cache(root) / "ids.marshal").get("files", {})


def _write_ids(root: Path, ids: dict[str, Ids]) -> None:
    _write_atomic(_cache(root) / "ids.marshal", marshal.dumps({"format": FORMAT, "files": ids}))


class _Records:
    """Per-file records: parsed now, or read from the content-addressed cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = _cache(root) / "records"
        self.validators: set[str] | None = None  # the kinds whose validator the cache holds

    def path(self, digest: str) -> Path:
        return self.directory / f"{digest}.pickle"

    def load(self, digest: str) -> tuple[list, list[Problem]] | None:
        try:
            packed, problems = pickle.loads(self.path(digest).read_bytes())
            return _unpack(packed), problems
        except Exception:  # a missing or damaged entry is parsed again
            return None

    def parse(self, path: Path, relative: str, digest: str) -> tuple[list, list[Problem]]:
        if self.validators is None:
            self.validators = _read_validators(self.root)
        problems: list[Problem] = []
        records = [
            (kind, located.record, located.line, located.column)
            for kind, located in load_records(path, relative, problems)
        ]
        _write_atomic(self.path(digest), pickle.dumps((_pack(records), problems), protocol=5))
        if not set(_built_validators()) <= self.validators:
            self.validators = _write_validators(self.root)
        return records, problems


VALIDATORS_KEY = f"{FORMAT}-pydantic-{pydantic.VERSION}-{pydantic_core.__version__}"


def _validators_path(root: Path) -> Path:
    return _cache(root) / "validators.pickle"


def _built_validators() -> dict[str, SchemaValidator]:
    """The record validators this process holds that can be kept: pydantic-core's own (where a
    pydantic plugin is installed, pydantic wraps them, and they are built in every run)."""
    found = {kind: LIST_VALIDATORS.get(model) for kind, model in models.RECORD_MODELS.items()}
    return {kind: v for kind, v in found.items() if type(v) is SchemaValidator}


def _read_validators(root: Path) -> set[str]:
    """The validators an earlier run kept, for these models and this pydantic, into loading's
    (a SchemaValidator pickles as its core schema, which names the models' classes and
    validating functions); the kinds read."""
    try:
        key, kept = pickle.loads(_validators_path(root).read_bytes())
        if key != VALIDATORS_KEY:
            return set()
        for kind, validator in kept.items():
            LIST_VALIDATORS.setdefault(models.RECORD_MODELS[kind], validator)
        return set(kept)
    except Exception:  # missing or damaged (a function renamed since): built again
        return set()


def _write_validators(root: Path) -> set[str]:
    built = _built_validators()
    _write_atomic(_validators_path(root), pickle.dumps((VALIDATORS_KEY, built), protocol=5))
    return set(built)


KeptRecord = tuple[str, Any, int, int]  # kind, record (a model instance), line, column


def _pack(records: list[KeptRecord]) -> list[tuple[str, type, Any, int, int]]:
    """A file's records as plain data (kind, model class, field values, fields set, line,
    column): pickled model instances unpickle through pydantic's `__setstate__`, one call per
    record, four times slower (60 ms for the 10,000 events of a generated 100k tree, read by
    every `facts validate` after a one-file change)."""
    packed = []
    for kind, record, line, column in records:
        plain = record.__pydantic_extra__ is None and record.__pydantic_private__ is None
        state = (record.__dict__, record.__pydantic_fields_set__) if plain else record
        packed.append((kind, type(record), state, line, column))
    return packed


def _unpack(packed: list[tuple[str, type, Any, int, int]]) -> list[KeptRecord]:
    """The records `_pack` made plain, as the model instances they were."""
    new, setattr_ = object.__new__, object.__setattr__
    records: list[KeptRecord] = []
    for kind, cls, state, line, column in packed:
        record: Any
        if isinstance(state, tuple):
            record = new(cls)
            setattr_(record, "__dict__", state[0])
            setattr_(record, "__pydantic_fields_set__", state[1])
            setattr_(record, "__pydantic_extra__", None)
            setattr_(record, "__pydantic_private__", None)
        else:
            record = state
        records.append((kind, record, line, column))
    return records


def _located(records: list, relative: str, path: Path) -> dict[str, list[Located]]:
    """Located records whose finer positions are found in the file text when first asked."""
    locator = FileLocator(path)
    out: dict[str, list[Located]] = {kind: [] for kind in KINDS}
    counters = dict.fromkeys(KINDS, 0)
    for kind, record, line, column in records:
        key = (kind, counters[kind])
        counters[kind] += 1
        out[kind].append(Located(record, relative, line, column, locator, key))
    return out


@dataclass
class _Tree:
    """The fact files as they are now: each one's path and content hash, and its [size,
    modification time] as seen before it was read; and the links refused unread (they lead
    outside the repository)."""

    files: dict[str, tuple[str, str]]
    stats: dict[str, list[int] | None]
    refused: list[Problem]


def _unchanged(stat: os.stat_result, known: list | None, since: int) -> bool:
    """git's rule: same size and time as recorded, and older than the index that recorded them
    (a file modified in the clock tick the index was written in could keep both: "racy")."""
    return (
        known is not None
        and known[:2] == [stat.st_size, stat.st_mtime_ns]
        and (stat.st_mtime_ns < since)
    )


def _tree(root: Path, index: dict) -> _Tree:
    """Every fact file with the sha256 of its content (and of the cache format); a file the
    index knows, unchanged by git's rule, is not read."""
    known: dict[str, dict] = index.get("files", {})
    since = index.get("written", 0)
    files: dict[str, tuple[str, str]] = {}
    stats: dict[str, list[int] | None] = {}
    refused: list[Problem] = []
    for found in fact_entries(root, refused):
        name = found.path
        relative = relative_path(name, root)
        entry = known.get(relative, {})
        try:
            stat = found.stat()
            if _unchanged(stat, entry.get("stat"), since):
                digest = entry["hash"]
            else:
                digest = _content_hash(name)
            stats[relative] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            digest, stats[relative] = "unreadable", None
        files[relative] = (name, digest)
    return _Tree(files, stats, refused)


def _content_hash(path: str) -> str:
    """The sha256 of a file's content and the cache format; of its size alone where that is
    over the limit (such a file is refused by its size, never read)."""
    data = read_bounded(path)
    if isinstance(data, int):
        return hashlib.sha256(f"{FORMAT}\0too large\0{data}".encode()).hexdigest()
    return hashlib.sha256(FORMAT.encode() + data).hexdigest()


def _seed_hashes(root: Path, facts: Facts, index: dict) -> dict[str, list]:
    """size, mtime and sha256 of every seed the sources name; hashed again only when changed.
    A seed path that is refused (outside seeds/) is never read, nor one over the size limit."""
    previous, since = index.get("seeds", {}), index.get("written", 0)
    seeds: dict[str, list] = {}
    seeds_dir = seeds_folder(root)
    folder = None if seeds_dir is None else str(seeds_dir)
    for located in facts.sources:
        seed = located.record.seed
        known = previous.get(seed)
        plain = plain_seed_status(folder, seed)  # one lstat, where a seed is a plain file
        if plain is not None and _unchanged(plain, known, since):
            seeds[seed] = known
            continue
        path = seed_file(root, seeds_dir, seed)
        if isinstance(path, str):
            seeds[seed] = [0, 0, "refused"]
            continue
        try:
            stat = os.stat(path)
            if _unchanged(stat, known, since):
                seeds[seed] = known
                continue
            data = read_bounded(path)
        except (OSError, ValueError):
            continue
        digest = "too large" if isinstance(data, int) else hashlib.sha256(data).hexdigest()
        seeds[seed] = [stat.st_size, stat.st_mtime_ns, digest]
    return seeds


def _fingerprint(registry_files: dict[str, str], seeds: dict[str, list]) -> str:
    digest = hashlib.sha256()
    for name, file_hash in sorted(registry_files.items()):
        digest.update(f"{name}\0{file_hash}\0".encode())
    for seed, (_, _, seed_hash) in sorted(seeds.items()):
        digest.update(f"{seed}\0{seed_hash}\0".encode())
    return digest.hexdigest()


def _problem_tuples(problems: list[Problem]) -> list[tuple]:
    return [astuple(p) for p in problems]


def _ids_digest(ids: Ids) -> str:
    """A digest of a file's ids and positions (repr: marshal's bytes depend on object sharing)."""
    return hashlib.sha256(repr(ids).encode()).hexdigest()


def _entry(tree: _Tree, relative: str, ids: Ids, problems: list[Problem]) -> dict[str, Any]:
    return {
        "hash": tree.files[relative][1],
        "stat": tree.stats[relative],
        "counts": {k: len(v) for k, v in ids.items()},
        "ids_digest": _ids_digest(ids),
        "problems": _problem_tuples(problems),
    }


def _write_index(
    root: Path,
    tree: _Tree,
    entries: dict,
    seeds: dict,
    fingerprint: str,
    unique: list[Problem],
    dated: dict[str, Any],
) -> None:
    """`dated`: the problems of the last solving of the dates, and how many claims report each
    event (they stand while no file's inputs to the dates move)."""
    index = {
        "format": FORMAT,
        "files": entries,
        "seeds": seeds,
        "registry": fingerprint,
        "unique": _problem_tuples(unique),
        "dates": dated,
    }
    _write_atomic(_cache(root) / "index.marshal", marshal.dumps(index))


def _read_dates(root: Path) -> dict[str, list]:
    """Every file's inputs to the dates across articles (proving.file_inputs), as last kept."""
    return _read_marshal(_cache(root) / "dates.marshal").get("files", {})


def _write_dates(root: Path, inputs: dict[str, list]) -> None:
    _write_atomic(
        _cache(root) / "dates.marshal", marshal.dumps({"format": FORMAT, "files": inputs})
    )


def _solve(root: Path, facts: Facts, inputs: dict[str, list]) -> tuple[Proof, dict[str, int]]:
    """The dates across articles solved from every file's kept inputs; how many claims report
    each event."""
    datings, bounds = Datings(), []
    for columns, kept in inputs.values():
        if columns:
            datings.extend(Datings(*map(list, columns)))
        bounds += [PublicationBound(*bound) for bound in kept]
    return prove(root, facts, datings, bounds), reported_events(datings)


Parsed = tuple[list, list[Problem]]  # a file's (kind, record, line, column)s and problems


class Cache:
    """The cache of one fact tree, as it stands now: which files changed since the last run,
    a loader that parses only those, the check of only their records, and the index written
    after a check of every record."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = _read_index(root)
        self.known: dict[str, dict] = self.index.get("files", {})
        self.store = _Records(root)
        self.tree = _tree(root, self.index)
        self.changed = {
            relative
            for relative, (_, digest) in self.tree.files.items()
            if self.known.get(relative, {}).get("hash") != digest
        }
        self.parsed: dict[str, Parsed] = {}  # files parsed (or read from the store) so far

    def _parse(self, relative: str) -> Parsed:
        if relative not in self.parsed:
            path, digest = self.tree.files[relative]
            self.parsed[relative] = self.store.load(digest) or self.store.parse(
                Path(path), relative, digest
            )
        return self.parsed[relative]

    def loader(self) -> Loader:
        """Load a file from the record cache; parse it (and keep it there) only if it changed."""

        def load(path: Path, relative: str) -> FileRecords:
            records, problems = self._parse(relative)
            return _located(records, relative, path), problems

        return load

    def check_changed(self) -> Validation | None:
        """Every problem of the tree, checking only the changed files' records against the
        registries; None where that cannot be done (a registry or a seed changed, files are
        new to the index, or a changed claim's source lists skipped sentences)."""
        per_file = {rel: self._located(rel) for rel in self.tree.files if self._needed(rel)}
        facts = Facts(files=list(self.tree.files))
        for relative in per_file:
            facts.problems += self.parsed[relative][1]
            for kind in REGISTRY_KINDS:
                getattr(facts, kind).extend(per_file[relative][kind])
        registry_files = {
            rel: self.tree.files[rel][1]
            for rel, located in per_file.items()
            if any(located[k] for k in REGISTRY_KINDS)
        }
        seeds = _seed_hashes(self.root, facts, self.index)
        fingerprint = _fingerprint(registry_files, seeds)
        for relative in self.changed:
            facts.claims.extend(per_file[relative]["claims"])
        if not self._incremental(facts, fingerprint, set(registry_files)):
            return None
        result = self._check_records(facts)
        changed = self._changed_dating_inputs(facts, per_file)
        entries = self._entries(per_file, result.problems, changed)
        root = self.root
        if self._dates_stand(entries):  # the last solving's problems stand
            dated = self.index["dates"]
            result.problems += [Problem(*t) for t in dated["problems"]]
            result.reported = dated["reported"]
            result.dates = LazyProvedDates(lambda: _solve(root, facts, _read_dates(root))[0].dates)
        else:  # solved again, from every file's inputs: the changed files' anew, the rest kept
            kept = _read_dates(root)
            inputs = {rel: kept.get(rel, NO_INPUTS) for rel in self.tree.files}
            inputs.update(changed)
            proof, result.reported = _solve(root, facts, inputs)
            result.problems += proof.problems  # they span files: never kept as a file's own
            result.dates = proof.dates
            _write_dates(root, inputs)
            dated = {"problems": _problem_tuples(proof.problems), "reported": result.reported}
        unique = _unique_ids(self.root, self.tree, self.index, entries, self.changed, per_file)
        result.problems += unique
        result.problems += self.tree.refused
        result.problems.sort()
        _write_index(self.root, self.tree, entries, seeds, fingerprint, unique, dated)
        result.counts = {k: sum(e["counts"].get(k, 0) for e in entries.values()) for k in KINDS}
        return result

    def _needed(self, relative: str) -> bool:
        """Changed files, and every file that holds registries (small), are read."""
        counts = self.known.get(relative, {}).get("counts", {})  # the kinds it holds
        return relative in self.changed or any(k in counts for k in REGISTRY_KINDS)

    def _located(self, relative: str) -> dict[str, list[Located]]:
        records, _ = self._parse(relative)
        return _located(records, relative, Path(self.tree.files[relative][0]))

    def _incremental(self, facts: Facts, fingerprint: str, registry_files: set[str]) -> bool:
        """True if the unchanged files' results still stand."""
        with_skipped = {s.record.id for s in facts.sources if s.record.skipped}
        return (
            fingerprint == self.index.get("registry")
            and not (self.changed & registry_files)
            and all(rel in self.known for rel in set(self.tree.files) - self.changed)
            # a claim can make or clear a problem in its source's skipped list
            and not (with_skipped & {c.record.source for c in facts.claims})
        )

    def _check_records(self, facts: Facts) -> Validation:
        """The record rules on the changed files' claims; the other files' problems as kept."""
        needed_sources = {c.record.source for c in facts.claims}
        result = Validation(facts, [])
        normalised = load_seeds(self.root, facts, result, needed_sources)  # as a full check
        fresh = list(check_record_rules(facts, normalised, result))
        problems = [p for rel in self.changed for p in self.parsed[rel][1]]
        problems += [p for p in fresh if p.path in self.changed]
        for relative in set(self.tree.files) - self.changed:
            problems += [Problem(*t) for t in self.known[relative]["problems"]]
        result.problems = problems
        return result

    def _changed_dating_inputs(
        self, facts: Facts, per_file: dict[str, dict[str, list[Located]]]
    ) -> dict[str, list]:
        """What each changed file gives the dates across articles, as dates.marshal keeps it:
        [its claims that date themselves or name an event (Datings' columns), its bounds on its
        sources' publication]."""
        published = {s.record.id: s.record.published for s in facts.sources}
        found = {}
        for relative in self.changed:
            datings, bounds = claim_datings(per_file[relative]["claims"], published)
            found[relative] = file_inputs(datings, bounds).get(relative, NO_INPUTS)
        return found

    def _dates_stand(self, entries: dict[str, dict[str, Any]]) -> bool:
        """True where the last solving still stands: the same files, every changed file's
        inputs as they were (lines and all), and no date problem in a changed file (its fields'
        positions may have moved)."""
        kept = self.index.get("dates")
        return (
            kept is not None
            and set(self.known) == set(entries)
            and not any(problem[0] in self.changed for problem in kept["problems"])
            and all(
                entries[rel]["dates_digest"] == self.known[rel].get("dates_digest")
                for rel in self.changed
            )
        )

    def _entries(
        self,
        per_file: dict[str, dict[str, list[Located]]],
        problems: list[Problem],
        dating: dict[str, list],
    ) -> dict[str, dict[str, Any]]:
        """The index entries: the changed files' anew, every file's stat as seen now."""
        entries = {rel: self.known[rel] for rel in self.tree.files if rel not in self.changed}
        for relative in self.changed:
            mine = [p for p in problems if p.path == relative]
            entries[relative] = _entry(self.tree, relative, record_ids(per_file[relative]), mine)
            entries[relative]["dates_digest"] = inputs_digest(dating[relative])
        for relative, entry in entries.items():
            entry["stat"] = self.tree.stats[relative]  # touched but unchanged: not read next time
        return entries

    def save(
        self, result: Validation, ids: dict[str, Ids], dating: DatingInputs, spanning: list[Problem]
    ) -> None:
        """Write the index after a check of every record (`ids`: each file's ids; `spanning`: the
        problems of the dates across files, which are never kept as a file's own)."""
        files = self.tree.files
        seeds = _seed_hashes(self.root, result.facts, self.index)
        registry_files = {
            rel: files[rel][1]
            for rel, kinds in ids.items()
            if any(k in kinds for k in REGISTRY_KINDS)
        }
        across = set(spanning)
        problems: dict[str, list[Problem]] = {}
        for problem in result.problems:
            if problem.rule != "unique-id" and problem not in across:
                problems.setdefault(problem.path, []).append(problem)
        inputs = file_inputs(dating.datings, dating.bounds)
        entries = {}
        for rel, kinds in ids.items():
            entries[rel] = _entry(self.tree, rel, kinds, problems.get(rel, []))
            digest = dating.digests.get(rel)  # worked out by the workers; here, the rest
            if digest is None:
                digest = inputs_digest(inputs.get(rel, NO_INPUTS))
            entries[rel]["dates_digest"] = digest
        unique = [problem for problem in result.problems if problem.rule == "unique-id"]
        fingerprint = _fingerprint(registry_files, seeds)
        dated = {"problems": _problem_tuples(spanning), "reported": result.reported}
        _write_ids(self.root, ids)
        _write_dates(self.root, {rel: inputs.get(rel, NO_INPUTS) for rel in ids})
        _write_index(self.root, self.tree, entries, seeds, fingerprint, unique, dated)


def _unique_ids(
    root: Path,
    tree: _Tree,
    index: dict,
    entries: dict,
    changed: set[str],
    per_file: dict[str, dict[str, list[Located]]],
) -> list[Problem]:
    """unique-id over every file: the last run's problems where no id moved, else checked anew
    from the changed files' records and the other files' ids in ids.marshal."""
    known = index.get("files", {})
    before = [Problem(*t) for t in index.get("unique", [])]
    if (
        set(known) == set(entries)
        and not any(p.path in changed for p in before)
        and all(entries[rel]["ids_digest"] == known[rel].get("ids_digest") for rel in changed)
    ):
        return before
    ids = _read_ids(root)
    for relative in changed:
        ids[relative] = record_ids(per_file[relative])
    ids = {relative: ids.get(relative, {}) for relative in tree.files}
    _write_ids(root, ids)
    return list(unique_id_problems(root, ids))
