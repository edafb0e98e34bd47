"""Incremental validation: parsed files and their results, reused while their content is unchanged.

Under root/.cache/facts (ignored by git):

- `records/<sha256>.pickle`: a fact file's validated records and loading problems, by the
  sha256 of its content (and the cache format), so an unchanged file is never parsed again;
- `index.marshal`: for each fact file, its content hash, size and modification time, how
  many records of each kind it holds, a digest of its ids and their positions,
  and its problems; the unique-id problems; for each seed, its size, modification time and
  sha256; and a fingerprint of the registries (the files holding sources, entities or topics,
  and the seeds);
- `ids.marshal`: every file's ids with their lines and columns, read only when the ids changed.

A file whose size and modification time are those recorded, and older than the index, is not
read again (git's rule, racy case included). While the
registries are unchanged, a record's cross-record results depend only on its own file, so
`facts validate` parses the changed files, runs the record rules on their records, and takes
every other file's problems from the index. Ids are checked for uniqueness across all files
again when a changed file's ids (or their positions) changed, files came or went, or a
unique-id problem is in a changed file; otherwise the last run's unique-id problems stand. When
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

from factdb.checks import Validation, check_record_rules, id_entries, unique_id_problems
from factdb.loading import (
    KINDS,
    REGISTRY_KINDS,
    Facts,
    FileLocator,
    Ids,
    Located,
    _load_records,
    _relative,
    fact_entries,
    record_ids,
)
from factdb.problems import Problem

CACHE_DIR = ".cache/facts"
FORMAT = "facts-cache-3"


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

    def path(self, digest: str) -> Path:
        return self.directory / f"{digest}.pickle"

    def load(self, digest: str) -> tuple[list, list[Problem]] | None:
        try:
            return pickle.loads(self.path(digest).read_bytes())
        except Exception:  # a missing or damaged entry is parsed again
            return None

    def parse(self, path: Path, relative: str, digest: str) -> tuple[list, list[Problem]]:
        problems: list[Problem] = []
        records = [
            (kind, located.record, located.line, located.column)
            for kind, located in _load_records(path, relative, problems)
        ]
        _write_atomic(self.path(digest), pickle.dumps((records, problems), protocol=5))
        return records, problems


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
    modification time] as seen before it was read."""

    files: dict[str, tuple[str, str]]
    stats: dict[str, list[int] | None]


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
    for found in fact_entries(root):
        name = found.path
        relative = _relative(name, root)
        entry = known.get(relative, {})
        try:
            stat = found.stat()
            if _unchanged(stat, entry.get("stat"), since):
                digest = entry["hash"]
            else:
                with open(name, "rb") as handle:
                    digest = hashlib.sha256(FORMAT.encode() + handle.read()).hexdigest()
            stats[relative] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            digest, stats[relative] = "unreadable", None
        files[relative] = (name, digest)
    return _Tree(files, stats)


def _seed_hashes(root: Path, facts: Facts, index: dict) -> dict[str, list]:
    """size, mtime and sha256 of every seed the sources name; hashed again only when changed."""
    previous, since = index.get("seeds", {}), index.get("written", 0)
    seeds: dict[str, list] = {}
    base = str(root)
    for located in facts.sources:
        seed = located.record.seed
        try:
            stat = os.stat(os.path.join(base, seed))
        except (OSError, ValueError):
            continue
        known = previous.get(seed)
        if _unchanged(stat, known, since):
            seeds[seed] = known
        else:
            digest = hashlib.sha256((root / seed).read_bytes()).hexdigest()
            seeds[seed] = [stat.st_size, stat.st_mtime_ns, digest]
    return seeds


def _fingerprint(registry_files: dict[str, str], seeds: dict[str, list]) -> str:
    digest = hashlib.sha256()
    for name, value in sorted(registry_files.items()):
        digest.update(f"{name}\0{value}\0".encode())
    for name, value in sorted(seeds.items()):
        digest.update(f"{name}\0{value[2]}\0".encode())
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
    root: Path, tree: _Tree, entries: dict, seeds: dict, fingerprint: str, unique: list[Problem]
) -> None:
    index = {
        "format": FORMAT, "files": entries, "seeds": seeds,
        "registry": fingerprint, "unique": _problem_tuples(unique),
    }  # fmt: skip
    _write_atomic(_cache(root) / "index.marshal", marshal.dumps(index))


def validate_cached(root: Path) -> Validation:
    """validate(root) with the cache: same problems, far less work when little has changed."""
    index = _read_index(root)
    known_files: dict[str, dict] = index.get("files", {})
    store = _Records(root)
    tree = _tree(root, index)
    files = tree.files
    changed = {
        rel for rel, (_, digest) in files.items() if known_files.get(rel, {}).get("hash") != digest
    }
    if len(changed) > 1:
        from factdb.sharding import MIN_PARALLEL_FILES  # not imported for a one-file change

        if len(changed) >= MIN_PARALLEL_FILES:  # a cold cache, a checkout: workers parse them
            return _full(root, tree, store, {}, index)

    # Records of the changed files, and of every registry file (small), parsed or from the cache.
    loaded: dict[str, tuple[list, list[Problem]]] = {}
    for relative, (path, digest) in files.items():
        counts = known_files.get(relative, {}).get("counts", {})  # the kinds it holds
        needed = relative in changed or any(k in counts for k in REGISTRY_KINDS)
        if needed:
            loaded[relative] = store.load(digest) or store.parse(Path(path), relative, digest)
    facts = Facts(files=list(files))
    per_file: dict[str, dict[str, list[Located]]] = {}
    for relative, (records, problems) in loaded.items():
        per_file[relative] = _located(records, relative, Path(files[relative][0]))
        facts.problems.extend(problems)
        for kind in REGISTRY_KINDS:
            getattr(facts, kind).extend(per_file[relative][kind])
    registry_files = {
        rel: files[rel][1] for rel, located in per_file.items()
        if any(located[k] for k in REGISTRY_KINDS)
    }  # fmt: skip
    seeds = _seed_hashes(root, facts, index)
    fingerprint = _fingerprint(registry_files, seeds)
    incremental = (
        fingerprint == index.get("registry")
        and not (changed & set(registry_files))
        and all(rel in known_files for rel in set(files) - changed)
    )
    for relative in changed:
        facts.claims.extend(per_file[relative]["claims"])
    with_skipped = {s.record.id for s in facts.sources if s.record.skipped}
    if with_skipped & {c.record.source for c in facts.claims}:
        incremental = False  # a claim can make or clear a problem in its source's skipped list
    if not incremental:
        return _full(root, tree, store, loaded, index)

    # Registries unchanged: run the record rules on the changed files' claims only.
    from factdb.text import normalise

    needed_sources = {c.record.source for c in facts.claims}
    texts = {}
    for located in facts.sources:
        if located.record.id in needed_sources:
            text = (
                (root / located.record.seed).read_text(encoding="utf-8-sig").replace("\r\n", "\n")
            )
            texts[located.record.id] = text
    result = Validation(facts, [], texts=texts)
    normalised = {sid: normalise(text) for sid, text in texts.items()}
    fresh = list(check_record_rules(facts, normalised, result))
    problems = [p for rel in changed for p in loaded[rel][1]]
    problems += [p for p in fresh if p.path in changed]
    for relative in set(files) - changed:
        problems += [Problem(*t) for t in known_files[relative]["problems"]]
    entries = {rel: known_files[rel] for rel in files if rel not in changed}
    for rel in changed:
        mine = [p for p in problems if p.path == rel]
        entries[rel] = _entry(tree, rel, record_ids(per_file[rel]), mine)
    for rel, entry in entries.items():
        entry["stat"] = tree.stats[rel]  # touched but unchanged: not read next time
    unique = _unique_ids(root, tree, index, entries, changed, per_file)
    problems += unique
    problems.sort()
    result.problems = problems
    _write_index(root, tree, entries, seeds, fingerprint, unique)
    result.counts = {k: sum(e["counts"].get(k, 0) for e in entries.values()) for k in KINDS}
    return result


def _unique_ids(root: Path, tree: _Tree, index: dict, entries: dict, changed: set, per_file):
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
    return list(unique_id_problems(id_entries(root, ids)))


def _full(
    root: Path, tree: _Tree, store: _Records, loaded: dict, index: dict, scratch=None
) -> Validation:
    """Every rule over every record (see scripts/sharding.py); unchanged files come from the
    record cache, not the parser."""
    from factdb.sharding import check_tree

    files = tree.files

    def load(path: Path, relative: str) -> tuple[dict[str, list[Located]], list[Problem]]:
        digest = files[relative][1]
        records, problems = (
            loaded.get(relative) or store.load(digest) or store.parse(path, relative, digest)
        )
        return _located(records, relative, path), problems

    result, outcomes = check_tree(root, load, scratch)
    seeds = _seed_hashes(root, result.facts, index)
    registry_files = {
        rel: files[rel][1] for rel, ids in outcomes.items()
        if any(k in ids for k in REGISTRY_KINDS)
    }  # fmt: skip
    problems: dict[str, list[Problem]] = {}
    for problem in result.problems:
        if problem.rule != "unique-id":
            problems.setdefault(problem.path, []).append(problem)
    entries = {rel: _entry(tree, rel, ids, problems.get(rel, [])) for rel, ids in outcomes.items()}
    unique = [problem for problem in result.problems if problem.rule == "unique-id"]
    _write_ids(root, outcomes)
    _write_index(root, tree, entries, seeds, _fingerprint(registry_files, seeds), unique)
    return result


def load_cached(root: Path, scratch: Path | None = None) -> Validation:
    """Every check, for a build (rows in shards under `scratch`): parsing only changed files."""
    index = _read_index(root)
    return _full(root, _tree(root, index), _Records(root), {}, index, scratch)
