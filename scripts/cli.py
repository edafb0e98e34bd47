"""The `facts` command line: a thin layer over the library modules."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import click

from scripts.building import build_database
from scripts.checks import Validation, validate
from scripts.coverage import format_coverage, source_sentences
from scripts.problems import format_problems
from scripts.publishing import (
    DATABASE_NAME,
    METADATA_FILE,
    documented_metadata,
    serve_arguments,
)

DEFAULT_DATABASE = "facts.db"

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Repository root holding facts/, seeds/ and metadata.yml.",
)


@click.group()
@click.version_option(package_name="facts")
def cli() -> None:
    """A source-verified fact database: validate YAML facts, build SQLite, serve with Datasette."""


def _validated(root: Path, fmt: str = "text") -> Validation:
    """Validate, print any problems, and exit 1 if there are some."""
    if not (root / "facts").is_dir():
        raise click.ClickException(f"no facts/ folder in {root.resolve()}; use --root")
    result = validate(root)
    if result.problems:
        click.echo(format_problems(result.problems, fmt))
        if fmt == "text":
            click.echo(
                f"{len(result.problems)} problem(s) in {len(result.facts.files)} file(s)", err=True
            )
        raise SystemExit(1)
    return result


@cli.command(name="validate")
@root_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text: file:line:column lines; github: Actions annotations; json.",
)
def validate_command(root: Path, fmt: str) -> None:
    """Check every fact file; print each problem with its location, exit 1 if any."""
    result = _validated(root, fmt)
    if fmt == "json":
        click.echo("[]")
    elif fmt == "text":
        facts = result.facts
        click.echo(
            f"OK: {len(facts.claims)} claims, {len(facts.sources)} sources, "
            f"{len(facts.entities)} entities, {len(facts.topics)} topics "
            f"in {len(facts.files)} files"
        )


@cli.command()
@root_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DATABASE,
    show_default=True,
    help="Database file to write.",
)
def build(root: Path, output: Path) -> None:
    """Validate, then build the SQLite database; an invalid tree leaves the old one untouched."""
    result = _validated(root)
    path = build_database(result, output)
    click.echo(f"Built {path} with {len(result.facts.claims)} claims")


@cli.command()
@root_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DATABASE,
    show_default=True,
    help="Database file to write and serve.",
)
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", default=8001, show_default=True, type=int, help="Port to listen on.")
def serve(root: Path, output: Path, host: str, port: int) -> None:
    """Validate, build and serve the database with Datasette and metadata.yml."""
    if output.stem != DATABASE_NAME:
        raise click.ClickException(
            f"the served file must be called {DATABASE_NAME}.db: "
            "metadata.yml describes that database"
        )
    result = _validated(root)
    path = build_database(result, output)
    click.echo(
        f"Built {path} with {len(result.facts.claims)} claims; serving on http://{host}:{port}/"
    )
    arguments = serve_arguments(path, root, host, port)
    os.execv(arguments[0], arguments)


@cli.command()
@root_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a table and the uncovered sentences; json: every sentence with its status.",
)
@click.option("--check", is_flag=True, help="Exit 1 if any sentence is uncovered.")
def coverage(root: Path, fmt: str, check: bool) -> None:
    """Report, per source, the sentences claims quote, skip with a reason, or leave uncovered."""
    result = _validated(root)
    sentences = source_sentences(result)
    if fmt == "json":
        click.echo(json.dumps([asdict(s) for s in sentences], indent=2, ensure_ascii=False))
    else:
        click.echo(format_coverage(sentences, result))
    if check and any(s.status == "uncovered" for s in sentences):
        raise SystemExit(1)


@cli.command()
@root_option
@click.option("--check", is_flag=True, help="Exit 1 if metadata.yml is not current; write nothing.")
def docs(root: Path, check: bool) -> None:
    """Regenerate the column descriptions in metadata.yml from the pydantic models."""
    current = (root / METADATA_FILE).read_text(encoding="utf-8")
    wanted = documented_metadata(root)
    if current == wanted:
        click.echo(f"{METADATA_FILE} is current")
        return
    if check:
        click.echo(f"{METADATA_FILE} is stale: run 'facts docs'")
        raise SystemExit(1)
    (root / METADATA_FILE).write_text(wanted, encoding="utf-8")
    click.echo(f"Updated {METADATA_FILE}")


if __name__ == "__main__":
    cli()
