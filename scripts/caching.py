"""Incremental validation: parsed files and their results, reused while their content is unchanged.

Under root/.cache/facts (ignored by git):

- `records/<sha256>.pickle`: a fact file's validated records and loading problems, by the
  sha256 of its content (and the cache format), so an unchanged file is never parsed again;
- `index.marshal`: for each fact file, its content hash, the ids it defines (with positions)
  and all its problems; for each seed, its size, modification time and sha256; and a
  fingerprint of the registries (the files holding sources, entities or topics, and the seeds).

While the registries are unchanged, a record's cross-record results depend only on its own file,
so `facts validate` parses the changed files, runs the record rules on their records, and takes
every other file's problems from the index; ids are always checked for uniqueness across all
files. When a registry changes, every rule runs again over all records (still without parsing
the unchanged files). Tests check that the problems equal those of a run without cache.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import tempfile
from dataclasses import astuple
from functools import partial
from pathlib import Path
from typing import Any

from scripts.checks import Validation, check_record_rules, unique_id_problems
from scripts.loading import Facts, FileLocator, Located, _load_records, _relative, discover
from scripts.problems import Problem
from scripts.text import normalise

CACHE_DIR = ".cache/facts"
FORMAT = "facts-cache-1"
REGISTRY_KINDS = ("sources", "entities", "topics")
KINDS = ("sources", "entities", "topics", "claims")


def _cache(root: Path) -> Path:
    return root / CACHE_DIR


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def _read_index(root: Path) -> dict:
    try:
        index = marshal.loads((_cache(root) / "index.marshal").read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return index if isinstance(index, dict) and index.get("format") == FORMAT else {}


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


def _seed_hashes(root: Path, facts: Facts, previous: dict) -> dict[str, list]:
    """size, mtime and sha256 of every seed the sources name; hashed again only when changed."""
    seeds: dict[str, list] = {}
    for located in facts.sources:
        seed = located.record.seed
        try:
            stat = (root / seed).stat()
        except (OSError, ValueError):
            continue
        known = previous.get(seed)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
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


def validate_cached(root: Path) -> Validation:
    """validate(root) with the cache: same problems, far less work when little has changed."""
    index = _read_index(root)
    known_files: dict[str, dict] = index.get("files", {})
    store = _Records(root)
    files = _hashed_files(root)
    changed = {
        rel for rel, (_, digest) in files.items() if known_files.get(rel, {}).get("hash") != digest
    }

    # Records of the changed files, and of every registry file (small), parsed or from the cache.
    loaded: dict[str, tuple[list, list[Problem]]] = {}
    for relative, (path, digest) in files.items():
        sections = known_files.get(relative, {}).get("sections")
        needed = relative in changed or any(k in REGISTRY_KINDS for k in sections or [])
        if needed:
            loaded[relative] = store.load(digest) or store.parse(path, relative, digest)
    facts = Facts(files=list(files))
    per_file: dict[str, dict[str, list[Located]]] = {}
    for relative, (records, problems) in loaded.items():
        per_file[relative] = _located(records, relative, files[relative][0])
        facts.problems.extend(problems)
        for kind in REGISTRY_KINDS:
            getattr(facts, kind).extend(per_file[relative][kind])
    registry_files = {
        rel: files[rel][1] for rel, located in per_file.items()
        if any(located[k] for k in REGISTRY_KINDS)
    }  # fmt: skip
    seeds = _seed_hashes(root, facts, index.get("seeds", {}))
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
        return _full(root, files, store, loaded, index)

    # Registries unchanged: run the record rules on the changed files' claims only.
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
    problems += _unique_id_problems(files, known_files, changed, per_file)
    problems.sort()
    result.problems = problems
    entries = {
        rel: known_files[rel]
        if rel not in changed
        else _entry(
            files[rel][1],
            per_file[rel],
            [p for p in problems if p.path == rel and p.rule != "unique-id"],
        )
        for rel in files
    }
    if changed or set(known_files) != set(files) or seeds != index.get("seeds"):
        _write_index(root, entries, seeds, fingerprint)
    result.counts = {k: sum(len(e["ids"].get(k, [])) for e in entries.values()) for k in KINDS}
    return result


def _unique_id_problems(files, known_files, changed, per_file) -> list[Problem]:
    """unique-id over every file: the changed files' records, and the index's ids for the rest."""

    def entries():
        for relative in files:
            if relative in changed:
                for kind in KINDS:
                    for x in per_file[relative][kind]:
                        yield kind, x.record.id, relative, x.line, partial(x.at, "id")
                continue
            locator = FileLocator(files[relative][0])  # read only if a duplicate needs it
            for kind, ids in known_files[relative]["ids"].items():
                for index, (identifier, line, _column) in enumerate(ids):
                    where = partial(locator.position, (kind, index), ("id",))
                    yield kind, identifier, relative, line, where

    return list(unique_id_problems(entries()))


def _entry(
    digest: str, located: dict[str, list[Located]], problems: list[Problem]
) -> dict[str, Any]:
    return {
        "hash": digest,
        "sections": [k for k in KINDS if located[k]],
        "ids": {
            k: [(x.record.id, x.line, x.column) for x in located[k]] for k in KINDS if located[k]
        },
        "problems": _problem_tuples(problems),
    }


def _write_index(root: Path, entries: dict, seeds: dict, fingerprint: str) -> None:
    index = {"format": FORMAT, "files": entries, "seeds": seeds, "registry": fingerprint}
    _write_atomic(_cache(root) / "index.marshal", marshal.dumps(index))


def _full(
    root: Path, files, store: _Records, loaded: dict, index: dict, scratch: Path | None = None
) -> Validation:
    """Every rule over every record (see scripts/sharding.py); unchanged files come from the
    record cache, not the parser."""
    from scripts.sharding import check_tree

    def load(path: Path, relative: str) -> tuple[dict[str, list[Located]], list[Problem]]:
        digest = files[relative][1]
        records, problems = (
            loaded.get(relative) or store.load(digest) or store.parse(path, relative, digest)
        )
        return _located(records, relative, path), problems

    result, outcomes = check_tree(root, load, scratch)
    seeds = _seed_hashes(root, result.facts, index.get("seeds", {}))
    registry_files = {
        rel: files[rel][1] for rel, outcome in outcomes.items()
        if any(k in REGISTRY_KINDS for k in outcome.sections)
    }  # fmt: skip
    problems: dict[str, list[Problem]] = {}
    for problem in result.problems:
        if problem.rule != "unique-id":
            problems.setdefault(problem.path, []).append(problem)
    entries = {
        rel: {
            "hash": files[rel][1],
            "sections": outcome.sections,
            "ids": outcome.ids,
            "problems": _problem_tuples(problems.get(rel, [])),
        }
        for rel, outcome in outcomes.items()
    }
    _write_index(root, entries, seeds, _fingerprint(registry_files, seeds))
    return result


def _hashed_files(root: Path) -> dict[str, tuple[Path, str]]:
    """Every fact file with the sha256 of its content (and of the cache format)."""
    files = {}
    for path in discover(root):
        try:
            digest = hashlib.sha256(FORMAT.encode() + path.read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        files[_relative(path, root)] = (path, digest)
    return files


def load_cached(root: Path, scratch: Path | None = None) -> Validation:
    """Every check, for a build (rows in shards under `scratch`): parsing only changed files."""
    return _full(root, _hashed_files(root), _Records(root), {}, _read_index(root), scratch)
