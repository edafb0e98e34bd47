"""The open exports (factdb.exporting, `facts export`): Web Annotations on the repository's own
claims, a Frictionless Data Package checked by frictionless, a bundle plain Datasette serves as
Datasette Lite would; and the refusals, through click's CliRunner. No test uses the network."""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import frictionless
import jsonschema
import pytest
from click.testing import CliRunner

from factdb import validate
from factdb.building import build_database
from factdb.cli import cli
from factdb.exporting import (
    ANNOTATION_CONTEXT,
    CONTEXT_CHARACTERS,
    EXPORTED_TABLES,
    ExportError,
    annotation_collection,
    check_folder,
    lite_metadata,
    read_metadata,
    stored_offsets,
    write_datapackage,
    write_lite_bundle,
)
from factdb.text import normalise_quote

REPO = Path(__file__).resolve().parent.parent
BROKEN = Path(__file__).resolve().parent / "fixtures" / "broken"
GENERATED = datetime(2024, 11, 20, 12, 30, tzinfo=UTC)

# What the Web Annotation Data Model (W3C Recommendation, 23 February 2017) requires of an
# annotation, and what it says of the parts this export uses: sections 3.1 (an annotation),
# 3.2.4 (a TextualBody), 3.3.1 (generator and generated), 4 (a SpecificResource), 4.2.4 (a
# TextQuoteSelector) and 4.2.5 (a TextPositionSelector).
MOTIVATIONS = [
    "assessing",
    "bookmarking",
    "classifying",
    "commenting",
    "describing",
    "editing",
    "highlighting",
    "identifying",
    "linking",
    "moderating",
    "questioning",
    "replying",
    "tagging",
]
TEXT = {"type": "string", "minLength": 1}
QUOTE_SELECTOR = {
    "type": "object",
    "required": ["type", "exact"],
    "properties": {
        "type": {"const": "TextQuoteSelector"},
        "exact": TEXT,
        "prefix": {"type": "string"},
        "suffix": {"type": "string"},
    },
}
POSITION_SELECTOR = {
    "type": "object",
    "required": ["type", "start", "end"],
    "properties": {
        "type": {"const": "TextPositionSelector"},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
    },
}
AGENT = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {"id": TEXT, "type": {"enum": ["Person", "Organization", "Text"]}, "name": TEXT},
}
ANNOTATION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["@context", "id", "type", "target"],
    "not": {"required": ["body", "bodyValue"]},  # never both
    "properties": {
        "@context": {"const": ANNOTATION_CONTEXT},  # one context: a string, not a list
        "id": {"type": "string", "pattern": r"^urn:factdb:claim:[a-z0-9]+(-[a-z0-9]+)*$"},
        "type": {"const": "Annotation"},
        "motivation": {"enum": MOTIVATIONS},
        "body": {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"const": "TextualBody"},
                "value": TEXT,
                "format": {"const": "text/plain"},
                "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
                "purpose": {"enum": MOTIVATIONS},
            },
        },
        "target": {
            "type": "object",
            "required": ["type", "source", "selector"],
            "properties": {
                "type": {"const": "SpecificResource"},
                "source": {
                    "type": "object",
                    "required": ["id", "type", "format"],
                    "properties": {
                        "id": {"type": "string", "pattern": r"^seeds/[^/]+$"},
                        "type": {"const": "Text"},
                        "format": {"const": "text/plain"},
                    },
                },
                "selector": {
                    "type": "array",
                    "prefixItems": [QUOTE_SELECTOR, POSITION_SELECTOR],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        },
        "generator": {
            "type": "object",
            "required": ["type", "name"],
            "properties": {"type": {"const": "Software"}},
        },
        "generated": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "rights": {"type": "string", "pattern": "^https?://"},
        "as:attributedTo": AGENT,
        "dcterms:temporal": TEXT,
    },
    "additionalProperties": False,
}
COLLECTION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["@context", "id", "type", "label", "total", "first"],
    "properties": {
        "@context": {"const": ANNOTATION_CONTEXT},
        "id": TEXT,
        "type": {"const": "AnnotationCollection"},
        "label": TEXT,
        "total": {"type": "integer", "minimum": 0},
        "first": {
            "type": "object",
            "required": ["id", "type", "items", "partOf", "startIndex"],
            "properties": {
                "type": {"const": "AnnotationPage"},
                "startIndex": {"const": 0},
                "items": {"type": "array"},
            },
        },
    },
}
# The terms of http://www.w3.org/ns/anno.jsonld this export uses, and the prefixes that
# context defines (an extension is a CURIE on one of them, as its section on extensions says).
CONTEXT_TERMS = {
    "@context",
    "id",
    "type",
    "motivation",
    "body",
    "value",
    "format",
    "language",
    "purpose",
    "target",
    "source",
    "selector",
    "exact",
    "prefix",
    "suffix",
    "start",
    "end",
    "name",
    "generator",
    "generated",
    "rights",
    "label",
    "total",
    "first",
    "partOf",
    "startIndex",
    "items",
}
CONTEXT_PREFIXES = {"oa", "dc", "dcterms", "dctypes", "foaf", "rdf", "rdfs", "skos", "xsd"}
CONTEXT_PREFIXES |= {"iana", "owl", "as", "schema"}


@contextmanager
def no_network() -> Iterator[None]:
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the network was used: {args!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield


def query(database: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute(sql).fetchall()


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def collection(repo_db: Path) -> dict[str, Any]:
    with no_network():
        return annotation_collection(repo_db, REPO, GENERATED)


@pytest.fixture(scope="module")
def seeds(repo_db: Path) -> dict[str, str]:
    """Each seed's path -> its bytes decoded as UTF-8, read here independently of the export."""
    return {
        seed: (REPO / seed).read_bytes().decode("utf-8")
        for (seed,) in query(repo_db, "select seed from sources")
    }


def selectors(annotation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    by_type = {s["type"]: s for s in annotation["target"]["selector"]}
    return by_type["TextQuoteSelector"], by_type["TextPositionSelector"]


# --- Web Annotations -----------------------------------------------------------------------


def test_every_selector_pair_slices_its_seed_to_its_exact_text(collection, seeds):
    for annotation in collection["first"]["items"]:
        quote, position = selectors(annotation)
        text = seeds[annotation["target"]["source"]["id"]]
        start, end = position["start"], position["end"]
        assert 0 <= start < end <= len(text)
        assert text[start:end] == quote["exact"], annotation["id"]
        assert quote["prefix"] == text[max(0, start - CONTEXT_CHARACTERS) : start]
        assert quote["suffix"] == text[end : end + CONTEXT_CHARACTERS]


def test_the_exact_text_is_the_curated_quote_up_to_the_documented_normalisation(
    collection, repo_db
):
    """The quotes may differ from their seed in white space and typography (the fixture
    tree's does: test_positions_count_the_seed_as_stored_with_its_line_ends); `exact` is the
    seed's own text."""
    quotes = dict(query(repo_db, "select id, quote from claims"))
    for annotation in collection["first"]["items"]:
        exact = selectors(annotation)[0]["exact"]
        quote = quotes[annotation["id"].removeprefix("urn:factdb:claim:")]
        assert normalise_quote(exact) == normalise_quote(quote), annotation["id"]


def test_every_annotation_has_what_the_data_model_requires(collection):
    validator = jsonschema.Draft202012Validator(ANNOTATION_SCHEMA)
    for annotation in collection["first"]["items"]:
        validator.validate(annotation)


@pytest.mark.parametrize(
    "change",
    [
        {"@context": [ANNOTATION_CONTEXT]},  # a single context must be a string
        {"@context": "http://www.w3.org/ns/oa.jsonld"},
        {"type": "Note"},
        {"target": None},
        {"bodyValue": "text"},  # not with a body
        {"motivation": "believing"},
        {"target": {"type": "SpecificResource", "source": {}, "selector": []}},
    ],
)
def test_the_annotation_schema_refuses_what_the_data_model_refuses(collection, change):
    annotation = {**collection["first"]["items"][0], **change}
    if change.get("target", "") is None:
        del annotation["target"]
    errors = list(jsonschema.Draft202012Validator(ANNOTATION_SCHEMA).iter_errors(annotation))
    assert errors


def test_every_key_is_a_term_of_the_w3c_context_or_a_curie_on_its_prefixes(collection):
    def keys(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)
        elif isinstance(node, list):
            for value in node:
                yield from keys(value)

    unknown = {
        key
        for key in keys(collection)
        if key not in CONTEXT_TERMS and key.partition(":")[0] not in CONTEXT_PREFIXES
    }
    assert unknown == set()


def test_the_collection_holds_every_claim_once(collection, repo_db):
    jsonschema.validate(collection, COLLECTION_SCHEMA)
    ids = [a["id"] for a in collection["first"]["items"]]
    claims = [f"urn:factdb:claim:{i}" for (i,) in query(repo_db, "select id from claims")]
    assert collection["total"] == len(ids) == len(claims) > 0
    assert sorted(ids) == sorted(claims)
    assert collection["first"]["partOf"] == collection["id"]


def test_an_annotation_carries_its_claimant_date_and_licence(collection, repo_db):
    by_id = {a["id"]: a for a in collection["first"]["items"]}
    rows = query(
        repo_db,
        "select c.id, c.date, c.statement, e.name, c.source from claims c "
        "left join entities e on e.id = c.claimant",
    )
    seeds = dict(query(repo_db, "select id, seed from sources"))
    metadata = read_metadata(REPO)
    for claim_id, date, statement, name, source in rows:
        annotation = by_id[f"urn:factdb:claim:{claim_id}"]
        assert annotation["dcterms:temporal"] == date
        assert annotation["body"]["value"] == statement
        assert annotation["target"]["source"]["id"] == seeds[source]
        attributed = annotation["as:attributedTo"]
        assert attributed.get("name") == name  # None: the article's own voice
        if name is None:
            assert attributed == {"id": seeds[source], "type": "Text"}
        assert annotation["rights"] == metadata["license_url"]
        assert annotation["generated"] == "2024-11-20T12:30:00Z"


def test_offsets_map_from_the_validated_text_to_the_stored_one():
    stored = "ab\r\ncd\r\n\r\nef"  # read by validation as "ab\ncd\n\nef"
    offset = stored_offsets(stored)
    validated = stored.replace("\r\n", "\n")
    for start in range(len(validated) + 1):
        for end in range(start, len(validated) + 1):
            assert (
                stored[offset(start) : offset(end)].replace("\r\n", "\n") == (validated[start:end])
            )


def crlf_tree(tree: Path) -> Path:
    """The fixture tree with its seed stored with a byte-order mark and CRLF line ends, and the
    repository's metadata.yml."""
    seed = tree / "seeds" / "sample.txt"
    data = b"\xef\xbb\xbf" + seed.read_bytes().replace(b"\n", b"\r\n")
    registry = tree / "facts" / "registry.yaml"
    old = hashlib.sha256(seed.read_bytes()).hexdigest()
    seed.write_bytes(data)
    new = hashlib.sha256(data).hexdigest()
    registry.write_text(registry.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    (tree / "metadata.yml").write_bytes((REPO / "metadata.yml").read_bytes())
    return tree


def test_positions_count_the_seed_as_stored_with_its_line_ends(tree, tmp_path):
    root = crlf_tree(tree)
    with validate(root, cache=False, for_build=True) as result:
        assert result.ok, [p.as_text() for p in result.problems]
        database = build_database(result, tmp_path / "facts.db")
    items = annotation_collection(database, root, GENERATED)["first"]["items"]
    stored = (root / "seeds" / "sample.txt").read_bytes().decode("utf-8-sig")
    assert "\r\n" in stored
    by_id = {a["id"]: selectors(a) for a in items}
    quote, position = by_id["urn:factdb:claim:treaty-signed-in-capital"]
    assert quote["exact"] == "the “treaty” was signed in June — in the capital"  # the seed's
    assert stored[position["start"] : position["end"]] == quote["exact"]
    assert quote["prefix"].endswith("\r\nThe minister said ")  # across the CRLF
    (start,) = query(
        database, "select quote_start from claims where id = 'treaty-signed-in-capital'"
    )
    assert position["start"] == start[0] + 1  # the first line's CR


# --- Frictionless Data Package -------------------------------------------------------------


@pytest.fixture(scope="module")
def package(repo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("datapackage")
    write_datapackage(repo_db, REPO, folder, overwrite=True, created=GENERATED)
    return folder / "datapackage.json"


def test_the_data_package_is_valid(package):
    with no_network():
        report = frictionless.validate(package)
    assert report.valid, report.flatten(["type", "note"])
    assert report.stats["errors"] == 0
    assert sorted(task.name for task in report.tasks) == sorted(EXPORTED_TABLES)


def test_each_csv_has_the_rows_of_its_table(package, repo_db):
    with no_network():
        resources = {r.name: r for r in frictionless.Package(package).resources}
    for table in EXPORTED_TABLES:
        (count,) = query(repo_db, f"select count(*) from [{table}]")[0]
        rows = resources[table].read_rows()
        assert len(rows) == count > 0, table
        columns = [row[1] for row in query(repo_db, f"pragma table_info([{table}])")]
        assert resources[table].schema.field_names == columns


def test_every_table_of_the_database_is_exported(repo_db):
    names = {
        name for (name,) in query(repo_db, "select name from sqlite_master where type = 'table'")
    }
    searching = {name for name in names if "_fts" in name}  # full-text search, from the others
    internal = {name for name in names if name.startswith("sqlite_")}  # ANALYZE's statistics
    assert names - searching - internal == set(EXPORTED_TABLES)


def test_the_schemas_come_from_the_definitions(package):
    descriptor = json.loads(package.read_text(encoding="utf-8"))
    fields = {
        (resource["name"], field["name"]): field
        for resource in descriptor["resources"]
        for field in resource["schema"]["fields"]
    }
    assert all(field["description"] for field in fields.values())
    assert fields[("claims", "statement")]["description"] == "The claim in one plain sentence."
    assert fields[("claims", "approximate")]["type"] == "boolean"
    assert fields[("entities", "party_to_conflict")]["type"] == "boolean"
    assert fields[("claims", "value")]["type"] == "number"
    assert fields[("claims", "quote_start")]["type"] == "integer"
    claims = next(r for r in descriptor["resources"] if r["name"] == "claims")
    assert claims["schema"]["primaryKey"] == ["id"]
    assert {"fields": ["claimant"], "reference": {"resource": "entities", "fields": ["id"]}} in (
        claims["schema"]["foreignKeys"]
    )


def test_the_package_has_the_licence_and_sources_the_project_gives(package, repo_db):
    descriptor = json.loads(package.read_text(encoding="utf-8"))
    metadata = read_metadata(REPO)
    assert descriptor["title"] == metadata["title"]
    assert descriptor["licenses"] == [
        {"path": metadata["license_url"], "title": metadata["license"]}
    ]
    assert descriptor["sources"] == [
        {"title": label, "path": seed}
        for label, seed in query(repo_db, "select label, seed from sources order by id")
    ]
    assert descriptor["created"] == "2024-11-20T12:30:00Z"


# --- Datasette Lite ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lite(repo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lite")
    write_lite_bundle(repo_db, REPO, folder, overwrite=True)
    return folder


def test_the_lite_bundle_has_the_database_metadata_and_a_readme(lite, repo_db):
    assert sorted(p.name for p in lite.iterdir()) == ["README.md", "facts.db", "metadata.json"]
    assert query(lite / "facts.db", "select count(*) from claims") == query(
        repo_db, "select count(*) from claims"
    )
    metadata = json.loads((lite / "metadata.json").read_text(encoding="utf-8"))
    assert metadata == lite_metadata(read_metadata(REPO))
    assert "plugins" not in json.dumps(metadata)
    facets = metadata["databases"]["facts"]["tables"]["claims"]["facets"]
    assert {"array": "about"} in facets
    readme = (lite / "README.md").read_text(encoding="utf-8")
    assert "https://lite.datasette.io/?url=BASE/facts.db&metadata=BASE/metadata.json" in readme


# Datasette as Datasette Lite runs it: no plugin (Datasette loads none where the interpreter
# says it runs tests), the settings it passes, a mutable file.
PLAIN_DATASETTE = """
import asyncio, json, sys
sys._called_from_test = True
from datasette.app import Datasette
folder = sys.argv[1]
ds = Datasette([folder + "/facts.db"], settings={"num_sql_threads": 0},
               metadata=json.load(open(folder + "/metadata.json", encoding="utf-8")))
async def main():
    await ds.invoke_startup()
    out = {}
    for path in sys.argv[2:]:
        response = await ds.client.get(path)
        out[path] = [response.status_code, response.text]
    print(json.dumps(out))  # the last line: Datasette prints a 404's traceback before it
asyncio.run(main())
"""


def test_plain_datasette_serves_the_bundle_as_datasette_lite_would(lite):
    paths = [
        "/-/plugins.json",
        "/facts/claims.json?_size=1",
        "/facts/claims",
        "/facts/conflicts_side_by_side.json?_shape=array",
        "/facts.json?sql=select+count(*)+as+n+from+claims&_shape=array",
        "/facts/claims.json?_search=Kursk&_shape=array",
        "/-/search?q=Kursk",
    ]
    command = [sys.executable, "-c", PLAIN_DATASETTE, str(lite), *paths]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    got = {
        path: (status, text)
        for path, (status, text) in json.loads(done.stdout.splitlines()[-1]).items()
    }
    assert got["/-/plugins.json"] == (200, "[]")
    status, text = got["/facts/claims.json?_size=1"]
    facets = json.loads(text)["facet_results"]
    assert set(facets) >= {"topic", "claimant", "source", "date_precision", "assertion", "about"}
    assert facets["about"]["type"] == "array" and facets["about"]["results"]
    assert (
        "<dt>statement</dt><dd>The claim in one plain sentence.</dd>" in (got["/facts/claims"][1])
    )
    assert json.loads(got["/facts/conflicts_side_by_side.json?_shape=array"][1])
    (count,) = json.loads(got["/facts.json?sql=select+count(*)+as+n+from+claims&_shape=array"][1])
    assert count["n"] == query(lite / "facts.db", "select count(*) from claims")[0][0]
    assert json.loads(got["/facts/claims.json?_search=Kursk&_shape=array"][1])
    assert got["/-/search?q=Kursk"][0] == 404  # the plugin's search over every table


# --- The command line ----------------------------------------------------------------------


def test_export_annotations_writes_json_ld_to_standard_output(tree):
    (tree / "metadata.yml").write_bytes((REPO / "metadata.yml").read_bytes())
    result = run("export", "annotations", "--root", str(tree))
    assert result.exit_code == 0, result.output
    collection = json.loads(result.stdout)
    assert collection["total"] == 2
    assert result.stderr == ""


def test_export_annotations_writes_a_file(tree, tmp_path):
    (tree / "metadata.yml").write_bytes((REPO / "metadata.yml").read_bytes())
    output = tmp_path / "out" / "annotations.jsonld"
    result = run("export", "annotations", "--root", str(tree), "-o", str(output))
    assert (result.exit_code, result.output) == (0, f"Wrote 2 annotations to {output}\n")
    assert json.loads(output.read_text(encoding="utf-8"))["total"] == 2


@pytest.mark.parametrize("kind", ["datapackage", "lite"])
def test_an_export_refuses_a_folder_with_files_in_it(tree, tmp_path, kind):
    (tree / "metadata.yml").write_bytes((REPO / "metadata.yml").read_bytes())
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = run("export", kind, str(folder), "--root", str(tree))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {folder} is not empty: use --overwrite to replace its export files\n",
    )
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    result = run("export", kind, str(folder), "--root", str(tree), "--overwrite")
    assert result.exit_code == 0, result.output
    assert (folder / "keep.txt").read_text() == "mine"  # the export's own files only
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no scratch left


def test_an_export_refuses_a_file_for_a_folder(tree, tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    result = run("export", "lite", str(target), "--root", str(tree))
    assert result.exit_code == 2  # click's usage error
    assert result.output.endswith(
        f"Error: Invalid value for 'FOLDER': Directory '{target}' is a file.\n"
    )
    assert check_folder_error(target) == f"{target} is not a folder"


def check_folder_error(folder: Path) -> str:
    try:
        check_folder(folder, overwrite=True)
    except ExportError as error:
        return str(error)
    return ""


def test_an_export_needs_metadata_yml(tree, tmp_path):
    result = run("export", "datapackage", str(tmp_path / "out"), "--root", str(tree))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: no metadata.yml in {tree}: the exports take their title from it\n",
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("kind", ["annotations", "datapackage", "lite"])
def test_an_export_refuses_a_tree_with_problems_and_locates_them(tree, tmp_path, kind):
    (tree / "metadata.yml").write_bytes((REPO / "metadata.yml").read_bytes())
    (tree / "facts" / "claims" / "zz.yaml").write_bytes(
        (BROKEN / "missing-field.yaml").read_bytes()
    )
    expected = run("validate", "--root", str(tree), "--no-cache")
    assert expected.exit_code == 1 and "zz.yaml:" in expected.stdout
    folder = tmp_path / "out"
    result = run(
        "export", kind, *([] if kind == "annotations" else [str(folder)]), "--root", str(tree)
    )
    assert result.exit_code == 1
    assert result.stdout == expected.stdout  # the same located problems, as `facts build` gives
    assert result.stderr == "1 problem(s) in 3 file(s): nothing was exported\n"
    assert not folder.exists()


def test_an_export_needs_a_tree(tmp_path):
    result = run("export", "annotations", "--root", str(tmp_path))
    assert (result.exit_code, result.output) == (
        1,
        f"Error: no facts/ folder in {tmp_path.resolve()}; use --root\n",
    )
