"""Malformed table-page parameters answered as what they are: a 400 naming the parameter.

Datasette 0.65 answers these with a 500, and prints a traceback in the server's log:

- `_sort=` or `_sort_desc=` naming no column the table sorts by (its own `DatasetteError`, whose
  status is 500), `rowid` included where the table has a primary key;
- `_timelimit=` that is not a whole number of milliseconds (`int()` fails);
- `_through=` that is not a JSON object naming a `table`, a `column` and a `value` (`json.loads`
  or a missing key fails).

Our `handle_exception` wraps the hook's other implementations (Datasette's own handler among
them) and answers in their place; an exception it does not recognise, or one raised where the
parameter is well formed, is left to them (a 500, as before: a fault of ours should not pass
for the reader's).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from datasette import Response, hookimpl
from datasette.utils.asgi import Base400

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

SORT_REFUSED = "Cannot sort table by "  # the start of Datasette's message (views/table.py)
THROUGH_KEYS = ("table", "column", "value")


def bad_parameter(request: Request, exception: Exception) -> str | None:
    """Why the request's parameters made the page fail, where they did; None otherwise."""
    if isinstance(exception, Base400):
        return None  # Datasette answers those with a 400 itself
    message = str(getattr(exception, "message", ""))
    if message.startswith(SORT_REFUSED):
        return f"{message}: _sort and _sort_desc take a column the table is sorted by"
    if not isinstance(exception, ValueError | KeyError | TypeError):
        return None
    limit = request.args.get("_timelimit")
    if limit is not None and not _whole_number(limit):
        return f"_timelimit must be a whole number of milliseconds, not {limit!r}"
    through = request.args.get("_through")
    if through is not None and not _through_object(through):
        keys = ", ".join(f'"{key}"' for key in THROUGH_KEYS)
        return f"_through must be a JSON object with {keys}, not {through!r}"
    return None


def _whole_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _through_object(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and all(key in value for key in THROUGH_KEYS)


@hookimpl(wrapper=True)
def handle_exception(
    datasette: Datasette, request: Request, exception: Exception
) -> Generator[None, list[Any], list[Any]]:
    """Where the parameters were malformed, a 400 with the reason (in JSON for a `.json` page)
    in place of every other handler's answer: Datasette awaits each handler's answer, and its
    own prints the traceback of a 500 as it makes it. Otherwise the handlers' answers as they
    are (pluggy's wrapper: it wraps the call of every other implementation of the hook)."""
    answers = yield
    message = bad_parameter(request, exception)
    if message is None:
        return answers

    async def respond() -> Response:
        info: dict[str, Any] = {"ok": False, "error": message, "status": 400, "title": None}
        if request.path.split("?")[0].endswith(".json"):
            return Response.json(info, status=400)
        html = await datasette.render_template(["400.html", "error.html"], info, request=request)
        return Response.html(html, status=400)

    return [respond]
