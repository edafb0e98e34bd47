"""Security headers on every response, and CSV cells a spreadsheet would run made inert.

`asgi_wrapper` wraps the whole Datasette application, so every response passes through it: HTML
pages, JSON, CSV, static files, error pages and the plugins' routes (`/-/search`, the
dashboards). Each gets (`SECURITY_HEADERS`, replacing any of the same name):

- `Content-Security-Policy`, `policy()`: only this site's own scripts, styles, images and
  requests, plus OpenStreetMap's tiles for the cluster map's images. Inline `<script>` elements
  are allowed ('unsafe-inline') because Datasette 0.65 and its plugins write them into every
  page, some with per-request content (the dashboards' `renderChart(...)` calls carry the
  filter's query string; Datasette's `extra_body_script` hook inlines each plugin's script), and
  Datasette has no way to give them a nonce; hashing them as they leave would also hash an
  injected one (simonw/datasette#1362). Inline event handler attributes (`onclick=`,
  `onerror=`), which none of the pages uses, are refused (`script-src-attr 'none'`). Vega
  compiles its chart expressions with `new Function`, so the dashboards' pages, and only
  those, also get 'unsafe-eval' (datasette-dashboards does not use Vega's CSP-safe
  interpreter). Inline styles are allowed ('unsafe-inline'): the project's templates,
  Datasette's and the dashboards' use `style=` attributes and `<style>` elements, and Vega and
  Leaflet insert styles at run time; with images and requests held to this site, a style
  cannot send what it reads elsewhere. `data:` images: Datasette's own CSS and Leaflet use
  them. `frame-ancestors 'none'`: no site may frame these pages (the dashboards' `/embed` views
  included);
- `X-Frame-Options: DENY`, the same for browsers that predate `frame-ancestors`;
- `X-Content-Type-Options: nosniff`: a CSV or JSON answer is never read as HTML or script;
- `Referrer-Policy: strict-origin-when-cross-origin`, replacing Datasette's `no-referrer`:
  another site is sent the origin only, never a path or query (no SQL, no search words leave
  the site), and OpenStreetMap's tile servers, whose usage policy requires a Referer, get the
  origin they ask for (with `no-referrer` they may answer "Access blocked").

CSV answers (`neutralise_csv`): a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return and is not a plain number (`-3000`, `+5`, `1e-3` stay as they are) gets a single quote
in front, as OWASP advises, so that a spreadsheet shows it as text rather than running it as a
formula. Records are rewritten as they stream (`CsvNeutraliser`): a record is complete at a
line break outside quotes, the unfinished rest is kept for the next chunk, and a record with no
such cell passes byte for byte. What this does not reach is in docs/security.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OSM_TILES = "https://*.tile.openstreetmap.org"  # datasette-cluster-map's default tile layer
CSP: dict[str, list[str]] = {
    "default-src": ["'none'"],  # anything not named below: fonts, frames, objects, workers
    "script-src": ["'self'", "'unsafe-inline'"],  # inline: Datasette's and plugins' <script>s
    "script-src-attr": ["'none'"],  # no onclick=, onerror=... attributes
    "style-src": ["'self'", "'unsafe-inline'"],  # style= attributes, <style>, Vega's styles
    "img-src": ["'self'", "data:", OSM_TILES],  # data: Datasette's CSS and Leaflet
    "connect-src": ["'self'"],  # the dashboards fetch their data from /facts.json
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}
DASHBOARDS = "/-/dashboards"  # Vega's pages: their expressions are compiled with new Function
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def policy(eval_allowed: bool = False) -> str:
    """The Content-Security-Policy, with 'unsafe-eval' for the Vega pages."""
    directives = {name: list(sources) for name, sources in CSP.items()}
    if eval_allowed:
        directives["script-src"].append("'unsafe-eval'")
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets
# (OWASP, "CSV Injection"), unless it is a plain number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# Where a cell can start with such a character: a prefilter, so most records are not parsed
_MAY_START_FORMULA = re.compile(rb'(?:^|[,\r\n])"?[=+\-@\t\r]')
_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


def neutralise_cell(cell: str) -> str:
    """A cell a spreadsheet would run, with a single quote in front; any other as it is."""
    if cell.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def neutralise_record(record: bytes) -> bytes:
    """One CSV record (a row, its line end included) with its formula cells neutralised; the
    same bytes when there is none. Read and written as Python's csv module's default (excel)
    dialect, which Datasette writes; bytes that are not UTF-8 pass through unchanged."""
    if not _MAY_START_FORMULA.search(record):
        return record
    text = record.decode("utf-8", "surrogateescape")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return record
    safe = [[neutralise_cell(cell) for cell in row] for row in rows]
    if safe == rows:
        return record
    ending = "\r\n" if text.endswith("\r\n") else "\n" if text.endswith("\n") else ""
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=ending or "\r\n").writerows(safe)
    written = out.getvalue()
    if not ending:
        written = written.removesuffix("\r\n")
    return written.encode("utf-8", "surrogateescape")


class CsvNeutraliser:
    """Neutralises a CSV body chunk by chunk: `feed` returns the complete records so far (a
    record ends at a line feed outside quotes; quote parity tells which), `close` the rest.
    A record split across chunks, quoted line breaks and characters split across chunks are
    kept until complete, so the output does not depend on where the chunks were cut."""

    def __init__(self) -> None:
        self._pending = bytearray()  # the start of a record not yet complete
        self._scanned = 0  # bytes of _pending already read for quotes and line feeds
        self._quoted = False  # whether _pending[:_scanned] ends inside a quoted field

    def feed(self, chunk: bytes) -> bytes:
        self._pending += chunk
        ends = []
        for match in _QUOTE_OR_NEWLINE.finditer(self._pending, self._scanned):
            if match.group() == b'"':
                self._quoted = not self._quoted
            elif not self._quoted:
                ends.append(match.end())
        self._scanned = len(self._pending)
        if not ends:
            return b""
        out = bytearray()
        start = 0
        for end in ends:
            out += neutralise_record(bytes(self._pending[start:end]))
            start = end
        del self._pending[:start]
        self._scanned -= start
        return bytes(out)

    def close(self) -> bytes:
        rest = bytes(self._pending)
        self._pending.clear()
        self._scanned = 0
        self._quoted = False
        return neutralise_record(rest) if rest else b""


def neutralise_csv(text: bytes) -> bytes:
    """A whole CSV body, neutralised."""
    neutraliser = CsvNeutraliser()
    return neutraliser.feed(text) + neutraliser.close()


def _header(headers: list[Any], name: bytes) -> bytes | None:
    for key, value in headers:
        if bytes(key).lower() == name:
            return bytes(value)
    return None


def _local_path(scope: Scope, base_url: str) -> str:
    """The request's path without the `base_url` prefix, as Datasette routes it."""
    path: str = scope.get("path") or "/"
    prefix = base_url.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path


def _is_csv(path: str, headers: list[Any]) -> bool:
    """Whether a response is CSV to rewrite: text/csv, or text/plain from a `.csv` path
    (Datasette serves CSV as text/plain unless `_dl` asks for a download); never a compressed
    body, which could not be read."""
    encoding = _header(headers, b"content-encoding")
    if encoding not in (None, b"identity"):
        return False
    content_type = (_header(headers, b"content-type") or b"").split(b";")[0].strip().lower()
    if content_type == b"text/csv":
        return True
    return content_type == b"text/plain" and path.endswith(".csv")


def secure(app: ASGIApp, base_url: str = "/") -> ASGIApp:
    """`app` with the security headers on every HTTP response and its CSV neutralised."""
    csp_default = policy().encode()
    csp_dashboards = policy(eval_allowed=True).encode()
    ours = {name.encode(): value.encode() for name, value in SECURITY_HEADERS.items()}
    replaced = {*ours, b"content-security-policy"}

    async def secured(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = _local_path(scope, base_url)
        dashboards = path == DASHBOARDS or path.startswith(DASHBOARDS + "/")
        csp = csp_dashboards if dashboards else csp_default
        neutraliser: CsvNeutraliser | None = None

        async def send_secured(message: Message) -> None:
            nonlocal neutraliser
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if _is_csv(path, headers):
                    neutraliser = CsvNeutraliser()
                    replaced_here = replaced | {b"content-length"}  # the body may change
                else:
                    replaced_here = replaced
                headers = [h for h in headers if bytes(h[0]).lower() not in replaced_here]
                headers += [(b"content-security-policy", csp), *ours.items()]
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and neutraliser is not None:
                body = neutraliser.feed(bytes(message.get("body") or b""))
                more = bool(message.get("more_body"))
                if not more:
                    body += neutraliser.close()
                elif not body:
                    return  # nothing complete yet: wait for the rest of the record
                message = {**message, "body": body}
            await send(message)

        await app(scope, receive, send_secured)

    return secured


@hookimpl
def asgi_wrapper(datasette: Datasette) -> Callable[[ASGIApp], ASGIApp]:
    """Datasette's hook: every response through `secure`."""
    base_url = str(datasette.setting("base_url") or "/")
    return lambda app: secure(app, base_url)
