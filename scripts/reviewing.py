"""Reviewing a change: the facts at two git revisions, compared, as Markdown for a PR comment."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from factdb.building import build_database
from factdb.results import Validation
from factdb.validating import validate

TRACKED = ("facts", "seeds")


class ReviewError(Exception):
    """A revision cannot be read: the message says why."""


@dataclass
class Snapshot:
    """The facts at one revision: claims by id, and (when valid) conflicts and corroborations."""

    label: str
    claims: dict[str, dict]
    problems: int
    conflicts: dict[tuple, dict] = field(default_factory=dict)
    corroborations: dict[tuple, dict] = field(default_factory=dict)


def checkout(root: Path, revision: str, target: Path) -> Path:
    """Write facts/ and seeds/ as they are at a git revision into target."""
    listing = subprocess.run(
        ["git", "-C", str(root), "ls-tree", "--name-only", revision],
        capture_output=True,
        text=True,
    )
    if listing.returncode != 0:
        raise ReviewError(f"no git revision '{revision}': {listing.stderr.strip()}")
    paths = [p for p in TRACKED if p in listing.stdout.split()]
    target.mkdir(parents=True, exist_ok=True)
    if not paths:
        return target
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "--", *paths],
        capture_output=True,
    )
    if archive.returncode != 0:
        raise ReviewError(archive.stderr.decode(errors="replace").strip())
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target


def snapshot(tree: Path, label: str, workdir: Path) -> Snapshot:
    """Validate a tree; when valid, build it to read its conflicts and corroborations."""
    result: Validation = validate(tree, cache=False, workers=1)  # every claim, in this process
    claims = {c.record.id: c.record.model_dump() for c in result.facts.claims}
    shot = Snapshot(label, claims, len(result.problems))
    if result.ok and (tree / "facts").is_dir():
        db = sqlite_utils.Database(build_database(result, workdir / f"{label}.db"))
        shot.conflicts = {
            (r["topic"], r["answer_a"], r["answer_b"]): r
            for r in db.query("select * from conflicts")
        }
        shot.corroborations = {
            (r["topic"], r["answer"]): r for r in db.query("select * from corroborations")
        }
        db.close()
    return shot


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


CLAIM_COLUMNS = ["id", "statement", "claimant", "date", "topic", "value/answer"]


def _claim_row(claim_id: str, claim: dict) -> list[object]:
    value = claim.get("value")
    answer = f"{value:g}" if value is not None else claim.get("answer")
    claimant = claim["claimant"] or "the article"
    return [f"`{claim_id}`", claim["statement"], claimant, claim["date"], claim["topic"], answer]


def compare(before: Snapshot, after: Snapshot) -> str:
    """Markdown: claims added, removed and changed field by field; conflicts and corroborations."""
    added = sorted(set(after.claims) - set(before.claims))
    removed = sorted(set(before.claims) - set(after.claims))
    changed = sorted(
        i for i in set(before.claims) & set(after.claims) if before.claims[i] != after.claims[i]
    )
    out = [f"## Facts: {before.label} → {after.label}", ""]
    out.append(
        f"**{len(added)} claim(s) added, {len(removed)} removed, {len(changed)} changed.** "
        + (
            f"{after.label} passes `facts validate`."
            if after.problems == 0
            else f"{after.label} has {after.problems} validation problem(s): see `facts validate`."
        )
    )
    for title, ids, claims in (("Added", added, after.claims), ("Removed", removed, before.claims)):
        if ids:
            out += ["", f"### {title}", ""]
            out += _table(CLAIM_COLUMNS, [_claim_row(i, claims[i]) for i in ids])
    if changed:
        out += ["", "### Changed", ""]
        for claim_id in changed:
            old, new = before.claims[claim_id], after.claims[claim_id]
            fields = [k for k in new if old.get(k) != new.get(k)]
            out += [f"`{claim_id}`", ""]
            out += _table(
                ["field", "before", "after"], [[k, old.get(k), new.get(k)] for k in fields]
            )
            out.append("")
    out += _differences(
        "Conflicts",
        before.conflicts,
        after.conflicts,
        lambda r: (
            f"`{r['topic']}`: {r['answer_a']} ({', '.join(json.loads(r['claimants_a']))}) vs "
            f"{r['answer_b']} ({', '.join(json.loads(r['claimants_b']))})"
        ),
    )
    out += _differences(
        "Corroborations",
        before.corroborations,
        after.corroborations,
        lambda r: (
            f"`{r['topic']}` = {r['answer']}: {r['articles']} article(s), "
            f"{r['independent_origins']} independent origin(s)"
        ),
    )
    return "\n".join(out).rstrip() + "\n"


def _differences(
    title: str, before: dict[tuple, dict], after: dict[tuple, dict], describe: Callable[[dict], str]
) -> list[str]:
    created = [after[k] for k in sorted(set(after) - set(before))]
    resolved = [before[k] for k in sorted(set(before) - set(after))]
    changed = [after[k] for k in sorted(set(after) & set(before)) if after[k] != before[k]]
    if not (created or resolved or changed):
        return ["", f"### {title}", "", "No change."]
    lines = ["", f"### {title}", ""]
    lines += [f"- new: {describe(r)}" for r in created]
    lines += [f"- gone: {describe(r)}" for r in resolved]
    lines += [f"- now: {describe(r)}" for r in changed]
    return lines


def diff(root: Path, base: str, head: str | None, workdir: Path) -> str:
    """Compare the facts at git revision base with head (a revision, or the working tree)."""
    before = snapshot(checkout(root, base, workdir / "base"), base, workdir)
    if head is None:
        after = snapshot(root, "working tree", workdir)
    else:
        after = snapshot(checkout(root, head, workdir / "head"), head, workdir)
    return compare(before, after)
