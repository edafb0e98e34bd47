"""Open exports of a built database: W3C Web Annotations, a Frictionless Data Package, and a
bundle that Datasette Lite opens in a browser (docs/exports.md).

Every export reads a database that `building` wrote from a valid tree, plus the tree's
metadata.yml (title, description, licence) and, for the annotations, the seed files themselves:
their positions count the characters of each seed as stored. Nothing here fetches anything: the
W3C JSON-LD context is named, never loaded. Errors are `ExportError`, one line each.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import types
import typing
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from factdb.checks import seed_file, seeds_folder
from factdb.coverage import COLUMNS as SENTENCE_COLUMNS
from factdb.loading import read_bytes
from factdb.problems import Problem
from factdb.tables import (
    ANSWER_COLUMNS,
    CLAIM_DATE_COLUMNS,
    COMPARISON_COLUMNS,
    LINK_TABLES,
    MODELS,
    column_descriptions,
    table_columns,
)

METADATA_FILE = "metadata.yml"
DATABASE_NAME = "facts"  # the name metadata.yml describes, and Datasette Lite gives facts.db

# Web Annotation Data Model (https://www.w3.org/TR/annotation-model/)
ANNOTATION_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
ID_PREFIX = "urn:factdb:"  # stable names, not locations: the project has no domain of its own
COLLECTION_ID = f"{ID_PREFIX}annotations"
CONTEXT_CHARACTERS = 32  # of the seed before and after a quote, in a TextQuoteSelector
STATEMENT_LANGUAGE = "en"  # statements are curated in English; quotes keep their source's
AGENT_TYPES = {"person": "Person"}  # every other kind of entity is an Organization

# The tables a Data Package holds, registries first; views and full-text tables are left out.
EXPORTED_TABLES = (
    *("sources", "entities", "topics", "events", "claims", "claim_dates", "claim_entities"),
    *("claim_via", "aliases", "source_reports_from", "answers", "comparisons", "sentences"),
)
FIELD_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
OTHER_COLUMNS: dict[str, dict[str, tuple[type, str]]] = {
    "claim_dates": CLAIM_DATE_COLUMNS,
    "answers": ANSWER_COLUMNS,
    "comparisons": COMPARISON_COLUMNS,
    "sentences": SENTENCE_COLUMNS,
}

LITE_URL = "https://lite.datasette.io/"


class ExportError(ValueError):
    """The export cannot be written; the message says why, in one line."""


# ---------------------------------------------------------------------------------------------
# Shared: metadata.yml, the database, the target folder


def read_metadata(root: Path) -> dict[str, Any]:
    """metadata.yml of a tree, as a plain dict (the exports' title, description and licence)."""
    path = root / METADATA_FILE
    if not path.is_file():
        raise ExportError(f"no {METADATA_FILE} in {root}: the exports take their title from it")
    metadata = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    if not isinstance(metadata, dict):
        raise ExportError(f"{path} is not a mapping")
    return metadata


def _connect(database: Path) -> sqlite3.Connection:
    """The database, opened read-only."""
    return sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)


def _rows(database: Path, sql: str) -> list[dict[str, Any]]:
    with closing(_connect(database)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql)]


def check_folder(folder: Path, overwrite: bool) -> None:
    """Refuse a folder an export cannot write into: a file, or a folder with files in it
    (unless `overwrite`, which replaces the files the export writes and leaves the others)."""
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    if folder.is_dir() and not overwrite and any(folder.iterdir()):
        raise ExportError(f"{folder} is not empty: use --overwrite to replace its export files")


@contextmanager
def _writing(folder: Path, overwrite: bool) -> Iterator[Path]:
    """A scratch folder inside `folder`; what it holds when the block ends moves into `folder`,
    each file replacing any earlier one of its name. On an error nothing is moved."""
    check_folder(folder, overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".facts-export-", suffix=".tmp", dir=folder) as name:
        scratch = Path(name)
        yield scratch
        for path in sorted(scratch.iterdir()):
            os.replace(path, folder / path.name)


def write_text_file(path: Path, text: str) -> None:
    """Write a text file (UTF-8) whole: into a temporary file beside it, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------
# W3C Web Annotations


def stored_text(root: Path, seed: str, sha256: str) -> str:
    """A seed's text as stored: its bytes decoded as UTF-8, line ends as they are, without a
    leading byte-order mark (an encoding signature, which a browser's decoder drops too)."""
    path = seed_file(root, seeds_folder(root), seed)
    if isinstance(path, str):
        raise ExportError(path)
    problems: list[Problem] = []
    data = read_bytes(path, seed, problems)
    if data is None:
        raise ExportError(f"{seed}: {problems[0].message}")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ExportError(f"{seed} changed after it was validated: export again")
    return data.decode("utf-8").removeprefix("\ufeff")


def stored_offsets(stored: str) -> Callable[[int], int]:
    """Map an offset in a seed's text as validation reads it (each CRLF read as LF) to the
    same place in the text as stored."""
    breaks: list[int] = []  # where each CRLF's LF stands in the text validation reads
    index = stored.find("\r\n")
    while index != -1:
        breaks.append(index - len(breaks))
        index = stored.find("\r\n", index + 2)
    return lambda offset: offset + bisect_left(breaks, offset)


def _seed_resource(source: Mapping[str, Any]) -> dict[str, Any]:
    """The seed a claim's quote is in, as the annotation's target source: its path in the
    repository (a relative IRI; no source records a URL of its own that we could use)."""
    resource: dict[str, Any] = {
        "id": source["seed"],
        "type": "Text",
        "format": "text/plain",
        "language": source["language"],
    }
    if source["title"]:
        resource["dcterms:title"] = source["title"]
    resource["dcterms:issued"] = source["published"]  # EDTF, as the source record gives it
    if source.get("url"):
        resource["dcterms:source"] = {"id": source["url"]}  # the page the seed was copied from
    return resource


def _attribution(claim: Mapping[str, Any], seed: str) -> dict[str, Any]:
    """Whom a claim is attributed to: its claimant, or (the article's own voice) its seed."""
    if claim["claimant"] is None:
        return {"id": seed, "type": "Text"}
    return {
        "id": f"{ID_PREFIX}entity:{claim['claimant']}",
        "type": AGENT_TYPES.get(claim["claimant_kind"], "Organization"),
        "name": claim["claimant_name"],
    }


def _selectors(text: str, start: int, end: int) -> list[dict[str, Any]]:
    """A TextQuoteSelector and a TextPositionSelector for text[start:end] (code points)."""
    quote = {
        "type": "TextQuoteSelector",
        "exact": text[start:end],
        "prefix": text[max(0, start - CONTEXT_CHARACTERS) : start],
        "suffix": text[end : end + CONTEXT_CHARACTERS],
    }
    return [quote, {"type": "TextPositionSelector", "start": start, "end": end}]


CLAIMS_SQL = """
select c.id, c.statement, c.date, c.source, c.claimant, c.quote_start, c.quote_end,
  e.name as claimant_name, e.kind as claimant_kind
from claims c left join entities e on e.id = c.claimant
order by c.id
"""


def annotation_collection(
    database: Path, root: Path, generated: datetime | None = None
) -> dict[str, Any]:
    """Every claim of the database as a W3C Web Annotation, in one AnnotationCollection whose
    first (and only) AnnotationPage holds them all. `root`: the tree the database was built
    from (its seeds and metadata.yml); `generated`: when the export is made (now, by default)."""
    metadata = read_metadata(root)
    when = (generated or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    common: dict[str, Any] = {
        "generator": {"type": "Software", "name": f"factdb {version('factdb')}"},
        "generated": when.replace("+00:00", "Z"),
    }
    if metadata.get("license_url"):
        common["rights"] = metadata["license_url"]
    sources = {row["id"]: row for row in _rows(database, "select * from sources")}
    seeds = {key: _stored_seed(root, row) for key, row in sources.items()}
    items = [
        _annotation(claim, sources[claim["source"]], seeds[claim["source"]], common)
        for claim in _rows(database, CLAIMS_SQL)
    ]
    collection: dict[str, Any] = {
        "@context": ANNOTATION_CONTEXT,
        "id": COLLECTION_ID,
        "type": "AnnotationCollection",
        "label": metadata.get("title") or DATABASE_NAME,
        "total": len(items),
    }
    if "rights" in common:
        collection["rights"] = common["rights"]
    collection["first"] = {
        "id": f"{COLLECTION_ID}:page:1",
        "type": "AnnotationPage",
        "partOf": COLLECTION_ID,
        "startIndex": 0,
        "items": items,
    }
    return collection


def _stored_seed(root: Path, source: Mapping[str, Any]) -> tuple[str, Callable[[int], int]]:
    text = stored_text(root, source["seed"], source["sha256"])
    return text, stored_offsets(text)


def _annotation(
    claim: Mapping[str, Any],
    source: Mapping[str, Any],
    seed: tuple[str, Callable[[int], int]],
    common: Mapping[str, Any],
) -> dict[str, Any]:
    """One claim as a Web Annotation: its statement describes the passage its quote stands in
    (`seed`: its source's stored text, and the map of offsets into it)."""
    if claim["quote_start"] is None or claim["quote_end"] is None:
        raise ExportError(f"claim {claim['id']} has no place in its source: validate the tree")
    text, offset = seed
    start, end = offset(claim["quote_start"]), offset(claim["quote_end"])
    validated = source["text"][claim["quote_start"] : claim["quote_end"]]
    if text[start:end].replace("\r\n", "\n") != validated:
        raise ExportError(f"claim {claim['id']}: its quote is not where the database says")
    return {
        "@context": ANNOTATION_CONTEXT,
        "id": f"{ID_PREFIX}claim:{claim['id']}",
        "type": "Annotation",
        "motivation": "describing",
        "body": {
            "type": "TextualBody",
            "value": claim["statement"],
            "format": "text/plain",
            "language": STATEMENT_LANGUAGE,
            "purpose": "describing",
        },
        "target": {
            "type": "SpecificResource",
            "source": _seed_resource(source),
            "selector": _selectors(text, start, end),
        },
        "as:attributedTo": _attribution(claim, source["seed"]),
        "dcterms:temporal": claim["date"],  # EDTF: when the claimed thing happened or holds
        **common,
    }


def write_annotations(collection: Mapping[str, Any], output: Path) -> None:
    """Write an annotation collection as JSON-LD to a file, whole or not at all."""
    write_text_file(output, annotations_json(collection))


def annotations_json(collection: Mapping[str, Any]) -> str:
    """An annotation collection as JSON-LD text (UTF-8, indented, ending in a newline)."""
    return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Frictionless Data Package


def table_fields(table: str) -> dict[str, tuple[type, str]]:
    """Each column of an exported table with its type and description, from the definitions
    the database is built from (`tables`, the models, `coverage`); bool where a model says so."""
    if table in MODELS:
        kinds, descriptions = table_columns(table), column_descriptions(table)
        booleans = {
            name
            for name, info in MODELS[table].model_fields.items()
            if _without_none(info.annotation) is bool
        }
        return {
            name: (bool if name in booleans else kind, descriptions[name])
            for name, kind in kinds.items()
        }
    if table in LINK_TABLES:
        return {name: (kind, text) for name, (_, kind, text) in LINK_TABLES[table].columns.items()}
    return dict(OTHER_COLUMNS[table])


def _without_none(annotation: Any) -> Any:
    """X for `X | None` (or Optional[X]); the annotation itself otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def table_schema(conn: sqlite3.Connection, table: str) -> dict[str, Any]:
    """The Table Schema of an exported table: its fields in the database's column order, each
    with its type and description, its primary key and its foreign keys."""
    defined = table_fields(table)
    columns = [row[1] for row in conn.execute(f"pragma table_info([{table}])")]
    if set(columns) != set(defined):
        raise ExportError(f"table {table} does not have the columns its definition gives")
    fields = []
    for name in columns:
        kind, description = defined[name]
        field: dict[str, Any] = {"name": name, "type": FIELD_TYPES[kind]}
        if kind is bool:  # SQLite stores a boolean as 1 or 0
            field.update(trueValues=["1"], falseValues=["0"])
        fields.append({**field, "description": description})
    schema: dict[str, Any] = {
        "fields": fields,
        "missingValues": [""],
        "primaryKey": _primary_key(conn, table),
    }
    references = conn.execute(f"pragma foreign_key_list([{table}])").fetchall()
    if references:
        schema["foreignKeys"] = [
            {"fields": [row[3]], "reference": {"resource": row[2], "fields": [row[4]]}}
            for row in sorted(references, key=lambda row: row[3])
        ]
    return schema


def _write_csv(conn: sqlite3.Connection, table: str, columns: list[str], path: Path) -> int:
    """Write a table's rows, in its primary key's order, as CSV; return how many."""
    order = ", ".join(f"[{c}]" for c in _primary_key(conn, table)) or "rowid"
    names = ", ".join(f"[{c}]" for c in columns)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in conn.execute(f"select {names} from [{table}] order by {order}"):
            writer.writerow(["" if value is None else value for value in row])
            count += 1
    return count


def _primary_key(conn: sqlite3.Connection, table: str) -> list[str]:
    keyed = sorted((row[5], row[1]) for row in conn.execute(f"pragma table_info([{table}])"))
    return [name for position, name in keyed if position]


def _file_stats(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"bytes": len(data), "hash": "sha256:" + hashlib.sha256(data).hexdigest()}


def _table_descriptions(metadata: Mapping[str, Any]) -> dict[str, str]:
    tables = metadata.get("databases", {}).get(DATABASE_NAME, {}).get("tables", {})
    found = {name: entry.get("description", "") for name, entry in tables.items()}
    found.update({name: link.description for name, link in LINK_TABLES.items()})
    return found


def package_descriptor(
    database: Path, root: Path, stats: Mapping[str, Mapping[str, Any]], created: datetime
) -> dict[str, Any]:
    """datapackage.json: title, description and licence from metadata.yml, the articles as its
    sources, and a resource with a Table Schema for each exported table (`stats`: each table's
    CSV file's bytes and hash)."""
    metadata = read_metadata(root)
    descriptions = _table_descriptions(metadata)
    with closing(_connect(database)) as conn:
        resources = [
            {
                "name": table,
                "path": f"{table}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                **({"description": descriptions[table]} if descriptions.get(table) else {}),
                **stats[table],
                "schema": table_schema(conn, table),
            }
            for table in EXPORTED_TABLES
        ]
    sources = _rows(database, "select label, seed from sources order by id")
    descriptor: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": "factdb",
        "title": metadata.get("title") or DATABASE_NAME,
        "description": " ".join(filter(None, [metadata.get("description"), metadata.get("source")]))
        or DATABASE_NAME,
        "created": created.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    if metadata.get("license") or metadata.get("license_url"):
        licence = {"path": metadata.get("license_url"), "title": metadata.get("license")}
        descriptor["licenses"] = [{k: v for k, v in licence.items() if v}]
    descriptor["sources"] = [{"title": s["label"], "path": s["seed"]} for s in sources]
    descriptor["resources"] = resources
    return descriptor


def write_datapackage(
    database: Path,
    root: Path,
    folder: Path,
    overwrite: bool = False,
    created: datetime | None = None,
) -> dict[str, int]:
    """Write a Frictionless Data Package into `folder`: datapackage.json and one CSV file per
    exported table. Returns each table's row count."""
    read_metadata(root)  # before writing anything
    counts: dict[str, int] = {}
    stats: dict[str, dict[str, Any]] = {}
    with _writing(folder, overwrite) as scratch:
        with closing(_connect(database)) as conn:
            for table in EXPORTED_TABLES:
                columns = [row[1] for row in conn.execute(f"pragma table_info([{table}])")]
                path = scratch / f"{table}.csv"
                counts[table] = _write_csv(conn, table, columns, path)
                stats[table] = _file_stats(path)
        descriptor = package_descriptor(database, root, stats, created or datetime.now(UTC))
        text = json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
        (scratch / "datapackage.json").write_text(text, encoding="utf-8")
    return counts


# ---------------------------------------------------------------------------------------------
# Datasette Lite


def lite_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """metadata.yml for Datasette without the project's plugins: no plugin configuration, and
    the `ids` facet (the plugin's) as Datasette's own array facet on the same column."""
    lite = copy.deepcopy(dict(metadata))
    _drop_plugins(lite)
    for table in lite.get("databases", {}).get(DATABASE_NAME, {}).get("tables", {}).values():
        if isinstance(table, dict) and "facets" in table:
            table["facets"] = [_plain_facet(facet) for facet in table["facets"]]
    return lite


def _drop_plugins(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("plugins", None)
        for value in node.values():
            _drop_plugins(value)


def _plain_facet(facet: Any) -> Any:
    if isinstance(facet, dict) and "ids" in facet:
        return {"array": facet["ids"]["column"]}
    return facet


def lite_readme(claims: int) -> str:
    """README.md of a Datasette Lite bundle: how to open it, what works there, what does not."""
    link = f"{LITE_URL}?url=BASE/facts.db&metadata=BASE/metadata.json&ref={version('datasette')}"
    return LITE_README.format(claims=claims, link=link, lite=LITE_URL)


LITE_README = """\
# facts.db for Datasette Lite

The fact database ({claims} claims) and its metadata, for [Datasette Lite]({lite}), which runs
Datasette in the browser: no server of ours.

Put this folder where it is served with the header `Access-Control-Allow-Origin: *` (GitHub
Pages does this), and open, with BASE the folder's address:

    {link}

`ref` installs the Datasette version the project is tested with. What works there: every table
and view, SQL queries, the canned queries, facets (the entities a claim is about as an array
facet), table search, and the descriptions of tables and columns. The project's own pages need
its Datasette plugin, which Datasette Lite cannot install: the claim, source, event, entity and
topic pages (highlighted quotes, the proofs of dates, where the sources disagree), the search
over all tables, the charts and the map. See docs/exports.md in the repository.
"""


def write_lite_bundle(database: Path, root: Path, folder: Path, overwrite: bool = False) -> int:
    """Write facts.db, metadata.json and a README.md for Datasette Lite into `folder`; return
    the number of claims."""
    metadata = lite_metadata(read_metadata(root))
    claims = _rows(database, "select count(*) as n from claims")[0]["n"]
    with _writing(folder, overwrite) as scratch:
        shutil.copyfile(database, scratch / f"{DATABASE_NAME}.db")
        text = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
        (scratch / "metadata.json").write_text(text, encoding="utf-8")
        (scratch / "README.md").write_text(lite_readme(claims), encoding="utf-8")
    return claims
