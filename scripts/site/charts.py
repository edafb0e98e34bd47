"""The charts' question filter labelled with the questions (issue #17, part 3).

datasette-dashboards 0.8.0 fills a select filter from the first column of its query and shows
that value as the option's text too, so the quantities chart's filter listed topic ids. Its
value stays the id (the links of the home, topic and claim pages pass `?topic=<id>`); this
script, on that dashboard's page only, puts each topic's question in its option's text, read
from the database. The charts run in the browser anyway, so a reader without scripts loses
nothing they would otherwise have.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from datasette import hookimpl

if TYPE_CHECKING:
    from datasette.app import Datasette
    from datasette.utils.asgi import Request

DATABASE = "facts"
DASHBOARD_PATH = "/-/dashboards/quantities"
FILTER = "topic"
QUESTIONS = "select id, question from topics where kind = 'quantity' and question is not null"

# option text from a JSON object in the script itself (no request, no markup built from data)
RELABEL = """
(() => {
  const questions = %s;
  for (const option of document.querySelectorAll("select#%s option")) {
    if (Object.hasOwn(questions, option.value)) option.textContent = questions[option.value];
  }
})();
"""


async def question_labels(datasette: Datasette) -> dict[str, str]:
    """Each quantity topic's id and its question."""
    if DATABASE not in datasette.databases:
        return {}
    rows = await datasette.execute(DATABASE, QUESTIONS)
    return {row["id"]: row["question"] for row in rows}


def relabel_script(labels: dict[str, str]) -> str:
    """The script; `<` escaped so that no question can close the script element."""
    return RELABEL % (json.dumps(labels).replace("<", "\\u003c"), FILTER)


@hookimpl
def extra_body_script(template: str, request: Request | None, datasette: Datasette) -> Any:
    if template != "dashboard_view.html" or request is None:
        return None
    if request.path.rstrip("/") != datasette.urls.path(DASHBOARD_PATH):
        return None

    async def script() -> str:
        return relabel_script(await question_labels(datasette))

    return script
