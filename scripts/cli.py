"""The `facts` command line: a thin layer over the library modules."""

from __future__ import annotations

import gc
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from factdb.problems import format_problems

if TYPE_CHECKING:
    from factdb.results import Validation

F = TypeVar("F", bound=Callable[..., Any])

# Each command imports what it needs when it runs, so that `facts validate` starts quickly. For
# the same reason pydantic does not look for plugins of its own (10 ms of package metadata).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
ASSERTIONS = [
    "stated",
    "confirmed",
    "reported",
    "estimated",
    "speculated",
    "denied",
    "expected",
    "scheduled",
]  # the same as schema.models.Assertion (a test checks it)
DATABASE_NAME = "facts"
METADATA_FILE = "metadata.yml"
DEFAULT_DATABASE = "facts.db"

root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Repository root holding facts/, seeds/ and metadata.yml.",
)


@click.group()
@click.version_option(package_name="factdb")
def cli() -> None:
    """A source-verified fact database: validate YAML facts, build SQLite, serve with Datasette."""
    # A command lives for seconds and makes hundreds of thousands of records that live until
    # it ends; Python's cyclic collector, every 700 allocations, scanned them again and again
    # (a tenth of a 100k build). Every 50,000 it still collects cycles, rarely.
    gc.set_threshold(50_000, 20, 100)


def output_option(help_text: str) -> Callable[[F], F]:
    """The -o/--output option: the database file a command writes or reads."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        default=DEFAULT_DATABASE,
        show_default=True,
        help=help_text,
    )


def _profile(context: click.Context, _: click.Parameter, wanted: bool) -> None:
    """With --profile: print each step's time on stderr when the command ends."""
    if not wanted:
        return
    import time

    from factdb import profiling

    profiling.reset()  # what an earlier command of this process timed (tests run many)
    started = time.perf_counter()

    def show() -> None:
        profiling.add("(the whole command)", time.perf_counter() - started)
        click.echo(profiling.report(profiling.steps()), err=True)

    context.call_on_close(show)


profile_option = click.option(
    "--profile",
    is_flag=True,
    expose_value=False,
    callback=_profile,
    help="Print the time of each step on stderr at the end (docs/performance.md).",
)

cache_option = click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Parse and check every file afresh, ignoring .cache/facts.",
)


PROBLEMS_SHOWN = 1_000  # problems printed as text or annotations; --format json prints all


def _collector_off_for_the_command() -> None:
    """Turn Python's cyclic collector off until the command ends (`cli` sets its threshold).

    What validating and building make lives until the command ends, and holds no cycle: a
    100k build's peak memory is the same without the collector, whose passes over the records
    each new 50,000 objects cost its processes 1.3 % of their CPU (8 interleaved rounds with one
    core busy). The workers and processes beside, forked meanwhile, inherit it off."""
    context = click.get_current_context(silent=True)
    if context is not None and gc.isenabled():
        gc.disable()
        context.call_on_close(gc.enable)  # for what runs after it in the same process (tests)


def _validated(
    root: Path,
    fmt: str = "text",
    cache: bool = False,
    for_build: bool = False,
    strict: bool = False,
) -> Validation:
    """Validate (factdb.validate) and print the problems; exit 1 if any is an error, or with
    `strict`, if there is any problem at all (a warning included)."""
    from factdb.validating import validate

    if not (root / "facts").is_dir():
        raise click.ClickException(f"no facts/ folder in {root.resolve()}; use --root")
    _collector_off_for_the_command()
    result = validate(root, cache=cache, for_build=for_build)
    _kept_until_exit(result)
    failed = bool(result.problems) if strict else not result.ok
    if result.problems and (failed or fmt != "json"):
        click.echo(format_problems(result.problems, fmt, limit=PROBLEMS_SHOWN))
    if result.problems and fmt == "text":
        errors = sum(problem.is_error for problem in result.problems)
        counted = f"{len(result.problems)} problem(s)"
        if errors != len(result.problems):
            counted += f" ({len(result.problems) - errors} warning(s))"
        click.echo(f"{counted} in {len(result.facts.files)} file(s)", err=True)
    if failed:
        result.close()
        raise SystemExit(1)
    return result


def _validate_and_build(root: Path, output: Path, cache: bool) -> tuple[Validation, Path]:
    """Validate (exit 1 on problems, the old database untouched), then build the database."""
    from factdb.building import BuildError, build_database
    from factdb.processes import serving_ports
    from factdb.publishing import inspect_file

    with _validated(root, cache=cache, for_build=True) as result:
        try:
            path = build_database(result, output)
        except BuildError as error:
            raise click.ClickException(str(error)) from None
    inspect_file(path).unlink(missing_ok=True)  # its counts were the old database's
    for port in serving_ports(path):  # an immutable database is read from the file it opened
        click.echo(
            f"Warning: a server on port {port} is serving the previous database: restart it",
            err=True,
        )
    return result, path


def _cannot_listen(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port, or None if it can: every address the host
    names is bound as uvicorn binds it (SO_REUSEADDR; IPv6 only on an IPv6 socket)."""
    import errno
    import socket

    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        return f"cannot listen on {host!r}: {getattr(error, 'strerror', None) or error}"
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return f"port {port} on {host} is in use: stop what holds it or use --port"
                return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None


@cli.command(name="validate")
@root_option
@cache_option
@profile_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text: file:line:column lines; github: Actions annotations; json.",
)
@click.option(
    "--strict", is_flag=True, help="Exit 1 on warnings too (a date that could be narrower); CI."
)
def validate_command(root: Path, fmt: str, no_cache: bool, strict: bool) -> None:
    """Check every fact file; print each problem with its location, exit 1 if any is an error
    (with --strict, if there is any)."""
    result = _validated(root, fmt, cache=not no_cache, strict=strict)
    if fmt == "json":
        if not result.problems:
            click.echo("[]")
    elif fmt == "text":
        click.echo(
            f"OK: {result.count('claims')} claims, {result.count('sources')} sources, "
            f"{result.count('entities')} entities, {result.count('topics')} topics, "
            f"{result.count('events')} events in {len(result.facts.files)} files"
        )


@cli.command()
@root_option
@cache_option
@profile_option
@output_option("Database file to write.")
@click.option(
    "--site",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write a Datasette configuration directory here (the database, metadata.json, "
    "settings.json, inspect-data.json), which plain `datasette serve DIR` serves as the site.",
)
def build(root: Path, output: Path, no_cache: bool, site: Path | None) -> None:
    """Validate, then build the SQLite database; an invalid tree leaves the old one untouched."""
    if site is not None:
        _refuse_nonempty(site)
    result, path = _validate_and_build(root, output, cache=not no_cache)
    click.echo(f"Built {path} with {result.count('claims')} claims")
    if site is not None:
        from factdb.deploying import write_site

        write_site(path, root, site)
        served = shlex.quote(str(site))
        click.echo(f"Wrote the site to {site}: serve it with datasette serve {served}")


def _refuse_nonempty(directory: Path) -> None:
    """A one-line error if `directory` exists and is not an empty folder."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise click.ClickException(f"{directory} is not an empty folder: give a new or empty one")


@cli.command()
@root_option
@output_option("Database file to write and serve.")
@click.option("-h", "--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("-p", "--port", default=8001, show_default=True, type=int, help="Port to listen on.")
def serve(root: Path, output: Path, host: str, port: int) -> None:
    """Validate, build and serve the database with Datasette and metadata.yml."""
    from factdb.processes import mark_serving
    from factdb.publishing import serve_arguments, write_inspect_file

    if output.stem != DATABASE_NAME:
        raise click.ClickException(
            f"the served file must be called {DATABASE_NAME}.db: "
            "metadata.yml describes that database"
        )
    problem = _cannot_listen(host, port)  # before building, not after
    if problem is not None:
        raise click.ClickException(problem)
    result, path = _validate_and_build(root, output, cache=True)
    click.echo(
        f"Built {path} with {result.count('claims')} claims; serving on http://{host}:{port}/"
    )
    write_inspect_file(path)
    mark_serving(path, port)  # held by Datasette, which this process becomes, until it ends
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
    from factdb.coverage import format_coverage, source_sentences

    result = _validated(root)
    sources = [located.record for located in result.facts.sources]
    sentences = source_sentences(sources, result.texts, result.spans)
    if fmt == "json":
        click.echo(json.dumps([s._asdict() for s in sentences], indent=2, ensure_ascii=False))
    else:
        click.echo(format_coverage(sentences, {s.id: s.seed for s in sources}))
    if check and any(s.status == "uncovered" for s in sentences):
        raise SystemExit(1)


@cli.command()
@root_option
@click.option(
    "--write", is_flag=True, help="Write the proved dates, with a generated basis, into the files."
)
def dates(root: Path, write: bool) -> None:
    """List the dates the articles together prove narrower than (or other than) written; with
    --write, put them into the fact files (comments kept) for review in the diff."""
    from factdb.editing import update_records
    from factdb.proving import proved_changes
    from factdb.validating import validate

    result = validate(root, cache=False, workers=1)  # every claim in this process
    date_rules = {"date-looser-than-proved", "date-not-proved"}
    blocking = [p for p in result.problems if p.is_error and p.rule not in date_rules]
    if blocking:
        click.echo(format_problems(blocking))
        raise click.ClickException("fix the problems above first: nothing was written")
    changes = proved_changes(result.facts, result.dates)
    for path, sections in sorted(changes.items()):
        for section, records in sections.items():
            for record_id, fields in records.items():
                shown = ", ".join(f"{key}: {value}" for key, value in fields.items())
                click.echo(f"{path}: {record_id}: {shown}")
            if write:
                update_records(root / path, root, section, records)
    count = sum(len(records) for sections in changes.values() for records in sections.values())
    if not count:
        click.echo("Every date is as the articles together prove it")
    elif write:
        click.echo(f"Wrote {count} proved date(s); review them with git diff")
    else:
        click.echo(
            f"{count} date(s) could be proved narrower; write them with: facts dates --write"
        )


@cli.command()
@root_option
@click.argument("target", type=click.Choice(["cloudrun", "docker"]))
@click.option(
    "--service",
    default="facts",
    show_default=True,
    help="The Cloud Run service, or the Docker image's tag.",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the deployment directory here and stop: nothing is deployed.",
)
def publish(root: Path, target: str, service: str, directory: Path | None) -> None:
    """Build the site and deploy it with this project's wheel: to Cloud Run (cloudrun), or as a
    local Docker image (docker, as `datasette package` makes one). Checks first that the
    checkout is committed and that the target's tool and credential are there."""
    import subprocess
    import tempfile

    from factdb import deploying

    chosen = deploying.Target(target, service)
    if not (root / "pyproject.toml").is_file():
        raise click.ClickException(f"{root} is not a checkout of the project (no pyproject.toml)")
    if directory is not None:
        _refuse_nonempty(directory)
    else:
        problems = deploying.uncommitted(root) or deploying.target_problems(chosen)
        if problems:
            raise click.ClickException("; ".join(problems) + ": nothing was deployed")
    with tempfile.TemporaryDirectory(prefix="facts-publish-") as scratch:
        _, database = _validate_and_build(root, Path(scratch) / "facts.db", cache=True)
        where = deploying.write_deployment(root, database, directory or Path(scratch) / "app")
        if directory is not None:
            click.echo(f"Wrote the deployment directory {where}: its Dockerfile says the rest")
            return
        for command in deploying.deploy_commands(chosen):
            click.echo(f"$ {shlex.join(command)}")
            if subprocess.run(command, cwd=where).returncode != 0:
                raise click.ClickException(
                    f"{shlex.join(command[:3])} failed: the site was not changed by this step"
                )
    click.echo(f"Published to {target} as {service}")


@cli.command()
@root_option
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 if metadata.yml or docs/cli.md is not current; write nothing.",
)
def docs(root: Path, check: bool) -> None:
    """Regenerate metadata.yml's column descriptions and docs/cli.md, the command reference.

    A root without a docs/ folder (a tree of facts alone) gets metadata.yml only.
    """
    from factdb.clidocs import CLI_REFERENCE, cli_reference
    from factdb.publishing import documented_metadata

    stale = False
    current = (root / METADATA_FILE).read_text(encoding="utf-8")
    wanted = documented_metadata(root)
    if current == wanted:
        click.echo(f"{METADATA_FILE} is current")
    elif check:
        click.echo(f"{METADATA_FILE} is stale: run 'facts docs'")
        stale = True
    else:
        (root / METADATA_FILE).write_text(wanted, encoding="utf-8")
        click.echo(f"Updated {METADATA_FILE}")
    reference = root / CLI_REFERENCE
    if reference.parent.is_dir():
        wanted = cli_reference(cli)
        if not reference.is_file() or reference.read_text(encoding="utf-8") != wanted:
            if check:
                click.echo(f"{CLI_REFERENCE.as_posix()} is stale: run 'facts docs'")
                stale = True
            else:
                reference.write_text(wanted, encoding="utf-8")
                click.echo(f"Updated {CLI_REFERENCE.as_posix()}")
    if stale:
        raise SystemExit(1)


@cli.command()
@root_option
@click.option("--check", is_flag=True, help="List the files that are not formatted; exit 1 if any.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def fmt(root: Path, check: bool, paths: tuple[Path, ...]) -> None:
    """Rewrite fact files in the canonical style (key order, quoting), keeping comments."""
    from factdb.editing import format_tree
    from factdb.problems import escape_name

    done = format_tree(root, paths, write=not check)
    if done.blocked:
        click.echo(format_problems(done.problems))
        raise click.ClickException("fix the problems above before formatting")
    for path in done.changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {escape_name(str(path))}")
    if done.problems:
        click.echo(format_problems(done.problems))
    if done.problems or (check and done.changed):
        raise SystemExit(1)
    if not done.changed:
        click.echo(f"{len(done.files)} file(s) already formatted")


@cli.command()
@root_option
@click.option(
    "--source", "source_id", prompt="Source id", help="Id of the source the quote is from."
)
@click.option("--quote", prompt="Quote (verbatim from the source)", help="The passage to quote.")
@click.option("--statement", help="The claim in one plain sentence.")
@click.option("--id", "claim_id", help="Claim id; proposed from the statement if not given.")
@click.option("--date", help="EDTF date; read from the passage where it states one.")
@click.option("--date-basis", help="How the date was established.")
@click.option("--claimant", help="Entity id of who asserts it, or 'null' for the article itself.")
@click.option(
    "--via", multiple=True, help="Outlet the claim came through (repeat, original first)."
)
@click.option("--about", multiple=True, help="Entity the claim is about (repeat); else detected.")
@click.option("--topic", help="Topic id the claim answers.")
@click.option("--value", type=float, help="The quantity the quote states.")
@click.option("--unit", help="Unit of the value.")
@click.option("--answer", help="Answer to a text topic.")
@click.option("--assertion", type=click.Choice(ASSERTIONS), help="How firmly it is asserted.")
@click.option("--notes", help="Free notes.")
@click.option("-y", "--yes", is_flag=True, help="Accept the closest passage without asking.")
def new(
    root: Path, source_id: str, quote: str, yes: bool, claim_id: str | None, **options: Any
) -> None:
    """Add a claim from a source and a quote to facts/claims/SOURCE.yaml."""
    from factdb.authoring import AuthoringError, draft_claim, locate_quote, read_seed
    from factdb.editing import append_record
    from factdb.loading import load_facts

    facts = load_facts(root)
    sources = {s.record.id: s.record for s in facts.sources}
    if source_id not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise click.ClickException(f"no source '{source_id}'; known sources: {known}")
    try:  # as validation reads it: never through a link out of seeds/, never too large
        text = read_seed(root, facts, source_id)
    except AuthoringError as error:
        raise click.ClickException(str(error)) from None
    passage = locate_quote(text, quote)
    if not passage.exact:
        click.echo(f"The quote is not in {source_id}. Closest passage ({passage.score:.0f}%):")
        click.echo(f'  "{passage.text}"')
        if not passage.text or not (yes or click.confirm("Use this passage?", default=False)):
            raise click.ClickException("no claim added: correct the quote and try again")
    options["id"] = claim_id
    options["via"], options["about"] = list(options["via"]), list(options["about"])
    try:
        draft = draft_claim(facts, root, source_id, passage.text, options)
    except AuthoringError as error:
        raise click.ClickException(str(error)) from None
    append_record(draft.path, root, "claims", draft.record)
    relative = draft.path.relative_to(root) if draft.path.is_relative_to(root) else draft.path
    click.echo(f"Added claim {draft.record['id']} to {relative}")
    if draft.todo:
        click.echo(f"Fill in: {', '.join(draft.todo)} (marked TODO), then run: facts validate")


@cli.command(name="add-source")
@root_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "source_id", help="Source id; from the title or file name if not given.")
@click.option("--title", help="Headline or title, as the text gives it.")
@click.option("--publisher", help="Publisher, as the text names it.")
@click.option("--published", help="EDTF publication date; read from a 'Published ...' line.")
@click.option("--published-basis", help="How the publication date was established.")
@click.option("--language", default="en", show_default=True, help="BCP 47 language tag.")
def add_source(root: Path, file: Path, source_id: str | None, **options: Any) -> None:
    """Copy a text into seeds/, and register it in facts/sources.yaml with its sha256."""
    from factdb.authoring import SOURCES_FILE, AuthoringError, draft_source
    from factdb.editing import append_record
    from factdb.loading import load_facts

    options["id"] = source_id
    try:
        record, target, todo = draft_source(load_facts(root), root, file, options)
    except AuthoringError as error:
        raise click.ClickException(str(error)) from None
    append_record(root / SOURCES_FILE, root, "sources", record)
    click.echo(f"Copied {file} to {target.relative_to(root)}; added source {record['id']}")
    if todo:
        click.echo(
            f"Fill in: {', '.join(todo)} (marked TODO; null where the text does not say), "
            "then run: facts validate"
        )


@cli.command(name="diff")
@root_option
@click.argument("base")
@click.argument("head", required=False)
def diff_command(root: Path, base: str, head: str | None) -> None:
    """Compare the facts at git revision BASE with HEAD (default: the working tree), as Markdown."""
    import tempfile

    from factdb.reviewing import ReviewError, diff

    with tempfile.TemporaryDirectory(prefix="facts-diff-") as workdir:
        try:
            click.echo(diff(root, base, head, Path(workdir)), nl=False)
        except ReviewError as error:
            raise click.ClickException(str(error)) from None


@cli.command()
@root_option
@click.option("--check", is_flag=True, help="Exit 1 if the JSON Schema files are not current.")
def schema(root: Path, check: bool) -> None:
    """Write the JSON Schema of every record type into schema/, from the pydantic models."""
    from factdb.schemas import json_schemas

    stale = [
        name
        for name, text in json_schemas().items()
        if not (root / "schema" / name).is_file()
        or (root / "schema" / name).read_text(encoding="utf-8") != text
    ]
    if check:
        for name in stale:
            click.echo(f"schema/{name} is stale: run 'facts schema'")
        if stale:
            raise SystemExit(1)
        click.echo("JSON Schema files are current")
        return
    for name, text in json_schemas().items():
        (root / "schema" / name).write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(json_schemas())} JSON Schema files to schema/")


def _default_workdir() -> Path:
    import tempfile  # imported when asked for: validate runs would pay 3 ms for it

    return Path(tempfile.gettempdir()) / "facts-bench"


@cli.command()
@click.option(
    "--sizes",
    default="1000,10000,100000",
    show_default=True,
    help="Corpus sizes in claims, comma-separated.",
)
@click.option("--runs", default=3, show_default=True, help="Runs per measurement (median).")
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=_default_workdir,
    show_default="facts-bench in the temporary folder",
    help="Where the corpora and databases are written.",
)
@click.option("--no-serve", is_flag=True, help="Skip the Datasette latency measurement.")
@click.option(
    "--profile",
    is_flag=True,
    help="Also print each step of validate+build per size, in seconds and per claim.",
)
@click.option(
    "--docs",
    "document",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Also write the figures between the bench markers of this file (docs/performance.md).",
)
def bench(
    sizes: str, runs: int, workdir: Path, no_serve: bool, profile: bool, document: Path | None
) -> None:
    """Time validate and build on generated corpora against a floor pipeline, in one run."""
    import datetime

    from factdb.benchmark import run_benchmark, write_figures

    numbers = [int(size) for size in sizes.split(",") if size.strip()]
    printed: list[str] = []

    def echo(line: str) -> None:
        printed.append(line)
        click.echo(line)

    run_benchmark(numbers, runs, workdir, serve=not no_serve, echo=echo, profile=profile)
    if document is not None:
        serving = "" if not no_serve else " --no-serve"
        profiled = " --profile" if profile else ""
        command = f"facts bench --sizes {sizes} --runs {runs}{serving}{profiled}"
        write_figures(document, printed, command, datetime.date.today().isoformat())
        click.echo(f"Wrote the figures into {document}")


@cli.group()
def export() -> None:
    """Write the facts in open formats: Web Annotations, a Data Package, a Datasette Lite bundle.

    Each export validates the tree (refusing, with the located problems, as `facts build` does)
    and builds its database afresh in a temporary folder; docs/exports.md describes them.
    """


overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Write into a folder that has files in it, replacing those an export writes.",
)


Exported = TypeVar("Exported")


def _from_database(root: Path, write: Callable[[Path], Exported]) -> Exported:
    """Call `write` with the database of a valid tree, built in a temporary folder: exit 1
    with the located problems where the tree has errors (warnings go to standard error: the
    standard output may be the export itself)."""
    import tempfile

    from factdb.building import BuildError, build_database
    from factdb.validating import validate

    if not (root / "facts").is_dir():
        raise click.ClickException(f"no facts/ folder in {root.resolve()}; use --root")
    _collector_off_for_the_command()
    with validate(root, for_build=True) as result:
        if result.problems:
            click.echo(format_problems(result.problems), err=result.ok)
        if not result.ok:
            count = f"{len(result.problems)} problem(s) in {len(result.facts.files)} file(s)"
            click.echo(f"{count}: nothing was exported", err=True)
            raise SystemExit(1)
        with tempfile.TemporaryDirectory(prefix="facts-export-") as scratch:
            try:
                database = build_database(result, Path(scratch) / f"{DATABASE_NAME}.db")
            except BuildError as error:
                raise click.ClickException(str(error)) from None
            return write(database)


@export.command(name="annotations")
@root_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write the JSON-LD to; standard output if not given.",
)
def export_annotations(root: Path, output: Path | None) -> None:
    """Write every claim as a W3C Web Annotation (JSON-LD) on its quote in its seed."""
    from factdb.exporting import (
        ExportError,
        annotation_collection,
        annotations_json,
        write_annotations,
    )

    try:
        collection = _from_database(root, lambda db: annotation_collection(db, root))
        if output is None:
            click.echo(annotations_json(collection), nl=False)
            return
        write_annotations(collection, output)
    except (ExportError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {collection['total']} annotations to {output}")


@export.command(name="datapackage")
@root_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@overwrite_option
def export_datapackage(root: Path, folder: Path, overwrite: bool) -> None:
    """Write a Frictionless Data Package into FOLDER: datapackage.json and a CSV per table."""
    from factdb.exporting import ExportError, check_folder, write_datapackage

    try:
        check_folder(folder, overwrite)  # before validating: a refusal is quick
        counts = _from_database(
            root, lambda db: write_datapackage(db, root, folder, overwrite=overwrite)
        )
    except (ExportError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {len(counts)} tables ({sum(counts.values())} rows) to {folder}")


@export.command(name="lite")
@root_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@overwrite_option
def export_lite(root: Path, folder: Path, overwrite: bool) -> None:
    """Write facts.db, metadata.json and a README into FOLDER, for Datasette Lite."""
    from factdb.exporting import ExportError, check_folder, write_lite_bundle

    try:
        check_folder(folder, overwrite)
        claims = _from_database(
            root, lambda db: write_lite_bundle(db, root, folder, overwrite=overwrite)
        )
    except (ExportError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote facts.db ({claims} claims), metadata.json and README.md to {folder}")


_KEPT: list[object] | None = None  # set by `main`: what a command leaves to os._exit


def _kept_until_exit(value: object) -> None:
    """Keep a value alive until the process ends, where `main` runs the command: its objects
    then go with the process, not one by one as the command returns. Freeing them writes to
    pages that forked workers shared, each a page fault: a 100k-claim build's validation took
    18,000 faults and 37 ms to free."""
    if _KEPT is not None:
        _KEPT.append(value)


def main() -> None:
    """The `facts` command: `cli`, then an exit that does not free every object one by one.

    A process that has loaded pydantic and 100,000 records spends 25 ms on tearing itself down
    (a seventh of a one-file `facts validate`); mypy ends the same way. Everything a command
    writes is closed by then (files, databases, worker pools); output is flushed here. Tests
    call `cli`, which exits normally.
    """
    global _KEPT
    _KEPT = []
    try:
        cli.main(prog_name="facts")
        code = 0
    except SystemExit as stop:
        code = _exit_code(stop.code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    """The status sys.exit(code) gives: 0 for None, the number, or 1 after printing a message."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    main()
