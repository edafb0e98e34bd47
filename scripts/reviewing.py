"""Reviewing a change: the facts at two git revisions, compared, as Markdown for a PR comment.

Every value from the facts (and every revision name) goes into the comment as an inline code
span: Markdown, HTML, links, images, @mentions, #references and emoji codes in it are shown as
text, never rendered, and never notify anyone.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from factdb.building import build_database
from factdb.database import sqlite_utils
from factdb.problems import escape_name
from factdb.results import Validation
from factdb.validating import validate

TRACKED = ("facts", "seeds")
WORKING_TREE = "working tree"


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
        reason = " ".join(listing.stderr.split())
        raise ReviewError(f"no git revision '{escape_name(revision)}': {escape_name(reason)}")
    paths = [p for p in TRACKED if p in listing.stdout.split()]
    target.mkdir(parents=True, exist_ok=True)
    if not paths:
        return target
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", revision, "--", *paths],
        capture_output=True,
    )
    if archive.returncode != 0:
        raise ReviewError(escape_name(" ".join(archive.stderr.decode(errors="replace").split())))
    _extract(archive.stdout, target, revision)
    return target


def _extract(archive: bytes, target: Path, revision: str) -> None:
    """Unpack a git archive; a link leading out of the tree (or any member tarfile's "data"
    filter refuses) is a ReviewError naming it, and nothing is written outside target."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    except tarfile.FilterError as error:
        name = escape_name(error.tarinfo.name)
        what = "a link leading" if error.tarinfo.issym() or error.tarinfo.islnk() else "a path"
        raise ReviewError(
            f"revision {escape_name(revision)} holds {name}, {what} out of the tree: "
            "facts diff does not read it"
        ) from None
    except (tarfile.TarError, OSError) as error:
        raise ReviewError(
            f"revision {escape_name(revision)} cannot be unpacked: {escape_name(str(error))}"
        ) from None


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


_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def code(value: object) -> str:
    """A value as an inline code span, on one line: whatever it holds (Markdown, HTML, a link,
    an image, an @mention, a #reference) is shown as text. The fence is one backtick longer than
    the longest run inside; a space pads a value that starts or ends with a backtick or a space
    (CommonMark takes one away on each side). Control characters, line separators and bidi
    controls become spaces; a GitHub workflow command ('##[') is broken by a zero-width space."""
    if value is None:
        return ""
    text = _LINE_BREAKING.sub(" ", str(value)).replace("##[", "#\u200b#[")
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = text[0] == "`" or text[-1] == "`" or (text[0] == text[-1] == " " and text.strip())
    pad = " " if padded else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(value: object) -> str:
    """A table cell: a pipe is escaped (GitHub's tables take the escape inside code spans too)."""
    return ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]


CLAIM_COLUMNS = ["id", "statement", "claimant", "date", "topic", "value/answer"]


def _claim_row(claim_id: str, claim: dict) -> list[object]:
    value = claim.get("value")
    answer = f"{value:g}" if value is not None else claim.get("answer")
    return [
        code(claim_id),
        code(claim["statement"]),
        code(claim["claimant"]) or "the article",
        code(claim["date"]),
        code(claim["topic"]),
        code(answer),
    ]


def compare(before: Snapshot, after: Snapshot) -> str:
    """Markdown: claims added, removed and changed field by field; conflicts and corroborations."""
    added = sorted(set(after.claims) - set(before.claims))
    removed = sorted(set(before.claims) - set(after.claims))
    changed = sorted(
        i for i in set(before.claims) & set(after.claims) if before.claims[i] != after.claims[i]
    )
    head = _label(after.label)
    out = [f"## Facts: {_label(before.label)} → {head}", ""]
    out.append(
        f"**{len(added)} claim(s) added, {len(removed)} removed, {len(changed)} changed.** "
        + (
            f"{head} passes `facts validate`."
            if after.problems == 0
            else f"{head} has {after.problems} validation problem(s): see `facts validate`."
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
            out += [code(claim_id), ""]
            out += _table(
                ["field", "before", "after"],
                [[k, code(old.get(k)), code(new.get(k))] for k in fields],
            )
            out.append("")
    out += _differences(
        "Conflicts",
        before.conflicts,
        after.conflicts,
        lambda r: (
            f"{code(r['topic'])}: {code(r['answer_a'])} ({_names(r['claimants_a'])}) vs "
            f"{code(r['answer_b'])} ({_names(r['claimants_b'])})"
        ),
    )
    out += _differences(
        "Corroborations",
        before.corroborations,
        after.corroborations,
        lambda r: (
            f"{code(r['topic'])} = {code(r['answer'])}: {r['articles']} article(s), "
            f"{r['independent_origins']} independent origin(s)"
        ),
    )
    return "\n".join(out).rstrip() + "\n"


def _label(label: str) -> str:
    """A revision's name as code; the working tree's in words."""
    return label if label == WORKING_TREE else code(label)


def _names(claimants: str) -> str:
    """A JSON list of claimant names, each a code span."""
    return ", ".join(code(name) for name in json.loads(claimants))


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
        after = snapshot(root, WORKING_TREE, workdir)
    else:
        after = snapshot(checkout(root, head, workdir / "head"), head, workdir)
    return compare(before, after)
