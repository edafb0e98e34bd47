"""The command-line reference, docs/cli.md, generated from the click commands themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

CLI_REFERENCE = Path("docs") / "cli.md"
PROGRAM = "facts"
# Help records are never wrapped here; the widths only fix what click would wrap, should a
# command's help ever be formatted through this context, so that no terminal changes the file.
WIDTH = 100

HEADER = """\
# Command-line reference

Generated from the click commands by `facts docs`; `facts docs --check` (run in CI) fails when
this file is stale. Do not edit it by hand: change the command's help and run `facts docs`.
"""


def cli_reference(cli: click.Group) -> str:
    """Markdown for every command of a click group (`facts`), sorted by name: usage, help text
    and options."""
    root = _context(cli, PROGRAM, None)
    commands = sorted(_walk(cli, root), key=lambda pair: pair[1].command_path)
    lines = [HEADER, _paragraphs(cli.help), ""]
    lines += ["| command | what it does |", "| --- | --- |"]
    for command, ctx in commands:
        path = ctx.command_path
        summary = _cell(command.get_short_help_str(limit=1000))
        lines.append(f"| [`{path}`](#{path.replace(' ', '-')}) | {summary} |")
    for command, ctx in commands:
        lines += ["", *_section(command, ctx)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _context(command: click.Command, name: str, parent: click.Context | None) -> click.Context:
    return click.Context(
        command, parent=parent, info_name=name, terminal_width=WIDTH, max_content_width=WIDTH
    )


def _walk(group: click.Group, ctx: click.Context) -> Iterator[tuple[click.Command, click.Context]]:
    """Every command under the group, nested groups included, with its own context."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = _context(command, name, ctx)
        if isinstance(command, click.Group):
            yield from _walk(command, sub)
        else:
            yield command, sub


def _section(command: click.Command, ctx: click.Context) -> list[str]:
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"## {ctx.command_path}", "", _paragraphs(command.help), ""]
    lines += ["```text", usage, "```"]
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        # An argument shows in the usage line; it gets a row only if it has help of its own.
        if record is not None and (record[1] or isinstance(param, click.Option)):
            rows.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    if rows:
        lines += ["", "| option | what it does |", "| --- | --- |", *rows]
    return lines


def _paragraphs(text: str | None) -> str:
    """A docstring as Markdown: click's `\\f` ends what it shows, `\\b` lines are dropped."""
    text = (text or "").split("\f")[0]
    kept = [line for line in text.strip().splitlines() if line.strip() != "\b"]
    return "\n".join(kept)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped (also inside code spans)."""
    return " ".join(text.split()).replace("|", "\\|")
