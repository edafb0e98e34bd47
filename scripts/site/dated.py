"""Pages about dates: an event's page, the proof of each date the articles prove together
(on claim, source and event pages), and a changing quantity's answers over time.

A proved date rests on claims and on publication dates that articles print: the database keeps
their ids (events.date_proof, claim_dates.proof, sources.published_proof), and these functions
turn them into what a reader checks, each claim with its article, its words for the date
('yesterday') and its quote. As in `pages`, every value reaches the templates as plain data,
escaped there.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

DATABASE = "facts"
LIST_LIMIT = 100  # most claims an event page lists; the claims table, filtered, has them all
MONTHS = (
    "January February March April May June July August September October November December"
).split()

PROOF_CLAIMS_SQL = """
select c.id, c.statement, c.quote, c.date, c."when", c.source, s.label as source_label
from claims c join sources s on s.id = c.source
where c.id in (select value from json_each(:ids))
"""
# a source is cited in a proof for the publication date it prints
PROOF_SOURCES_SQL = """
select id, label, published, published_basis from sources
where id in (select value from json_each(:ids)) and published_stated
"""
EVENT_CLAIMS_SQL = """
select c.id, c.statement, c.quote, c.date, c."when", c.assertion, c.source,
  s.label as source_label, s.published as source_published, c.claimant,
  coalesce(e.name, 'The article itself') as claimant_name,
  coalesce(e.party_to_conflict, 0) as claimant_is_party
from claims c
join sources s on s.id = c.source
left join entities e on e.id = c.claimant
where c.event = :id
order by s.published_start is null, s.published_start, s.id, c.quote_start, c.id
limit :limit
"""
OVER_TIME_SQL = """
select c.id, c.statement, c.date, c.date_start, c.date_end, c.value, c.value_low,
  c.value_high, c.approximate, c.unit, c.answer, c.answer_key, c.source,
  s.label as source_label, c.claimant, coalesce(e.name, 'The article itself') as claimant_name,
  coalesce(e.party_to_conflict, 0) as claimant_is_party
from claims c
join sources s on s.id = c.source
left join entities e on e.id = c.claimant
where c.topic = :topic
order by coalesce(c.date_start, c.date_end) is null, coalesce(c.date_start, c.date_end),
  c.date_end, c.id
limit :limit
"""


async def _query(datasette: Any, sql: str, params: dict) -> list[dict]:
    result = await datasette.get_database(DATABASE).execute(sql, params)
    return [dict(row) for row in result.rows]


def _day(iso: str) -> date:
    return date.fromisoformat(iso)


def _day_words(day: date, year: bool = True, month: bool = True) -> str:
    words = str(day.day)
    if month:
        words += f" {MONTHS[day.month - 1]}"
    return f"{words} {day.year}" if year else words


def date_in_words(start: str | None, end: str | None, edtf: str | None = None) -> str:
    """A date as people say it, from its first and last possible days (ISO; None is open):
    '23 October 2024', 'October 2024', 'between 17 and 23 February 2025', 'on or before 24
    February 2025'. An EDTF qualifier ('?' or '~') adds 'perhaps' or 'about'."""
    if start is None and end is None:
        return "no date"
    if start is None or end is None:
        known = _day_words(_day(start or end or ""))
        words = f"on or after {known}" if end is None else f"on or before {known}"
    else:
        first, last = _day(start), _day(end)
        if first == last:
            words = _day_words(first)
        elif first == date(last.year, 1, 1) and last == date(last.year, 12, 31):
            words = str(first.year)
        elif first == last.replace(day=1) and (last + timedelta(days=1)).day == 1:
            words = f"{MONTHS[first.month - 1]} {first.year}"
        else:
            same_year = first.year == last.year
            same_month = same_year and first.month == last.month
            words = (
                f"between {_day_words(first, year=not same_year, month=not same_month)} "
                f"and {_day_words(last)}"
            )
    qualifier = edtf[-1] if edtf else ""
    return {"?": "perhaps ", "~": "about ", "%": "perhaps about "}.get(qualifier, "") + words


def _ids(text: str | None) -> list[str]:
    return list(json.loads(text or "[]"))


async def proof_items(datasette: Any, ids: list[str]) -> list[dict]:
    """What a proof cites, in its order: each claim (its article, its words for the date and
    its quote) and each printed publication date. An id that names both a claim and a source
    that prints its date (the proof drops the difference) gives both."""
    if not ids:
        return []
    params = {"ids": json.dumps(ids)}
    claims = {row["id"]: row for row in await _query(datasette, PROOF_CLAIMS_SQL, params)}
    sources = {row["id"]: row for row in await _query(datasette, PROOF_SOURCES_SQL, params)}
    items = []
    for cited in ids:
        if cited in sources:
            items.append({"kind": "source", **sources[cited]})
        if cited in claims:
            claim = claims[cited]
            items.append({"kind": "claim", **claim, "when": _ids(claim["when"])})
    return items


async def event_page(datasette: Any, event_id: str) -> dict | None:
    """An event: its proved date in words and EDTF, the proof, and every claim that reports
    it, grouped by article."""
    rows = await _query(datasette, "select * from events where id = :id", {"id": event_id})
    if not rows:
        return None
    event = rows[0]
    event["date_words"] = date_in_words(event["date_start"], event["date_end"], event["date"])
    about = await _query(
        datasette,
        "select e.id, e.name from json_each(:about) a join entities e on e.id = a.value "
        "order by e.name",
        {"about": event["about"] or "[]"},
    )
    claims = await _query(datasette, EVENT_CLAIMS_SQL, {"id": event_id, "limit": LIST_LIMIT})
    articles: list[dict] = []
    for claim in claims:
        claim["when"] = _ids(claim["when"])
        if not articles or articles[-1]["source"] != claim["source"]:
            articles.append(
                {
                    "source": claim["source"],
                    "label": claim["source_label"],
                    "published": claim["source_published"],
                    "claims": [],
                }
            )
        articles[-1]["claims"].append(claim)
    return {
        "event": event,
        "about": about,
        "proof": await proof_items(datasette, _ids(event["date_proof"])),
        "articles": articles,
        "limit": LIST_LIMIT,
    }


async def claim_dating(datasette: Any, claim: dict) -> dict:
    """A claim's words for its date, its event, and the date the articles prove with its proof."""
    dating: dict[str, Any] = {"when": _ids(claim.get("when")), "event": None, "proved": None}
    if claim.get("event"):
        events = await _query(
            datasette,
            "select id, name, date, date_start, date_end from events where id = :id",
            {"id": claim["event"]},
        )
        if events:
            event = events[0]
            event["date_words"] = date_in_words(
                event["date_start"], event["date_end"], event["date"]
            )
            dating["event"] = event
    if await datasette.get_database(DATABASE).table_exists("claim_dates"):
        proved = await _query(
            datasette, "select * from claim_dates where claim_id = :id", {"id": claim["id"]}
        )
        if proved:
            row = proved[0]
            row["words"] = date_in_words(row["proved_start"], row["proved_end"], row["proved"])
            row["cited"] = await proof_items(datasette, _ids(row["proof"]))
            dating["proved"] = row
    return dating


async def source_dating(datasette: Any, source: dict) -> dict | None:
    """The publication date the articles together prove for a source, and its proof."""
    if source.get("proved") is None and source.get("proved_end") is None:
        return None
    return {
        "proved": source["proved"],
        "words": date_in_words(source["proved_start"], source["proved_end"], source["proved"]),
        "written": source["published"],
        "same": source["proved"] == source["published"],
        "cited": await proof_items(datasette, _ids(source.get("published_proof"))),
    }


async def topic_over_time(datasette: Any, topic: dict) -> dict | None:
    """A topic whose true answer changes with time: its claims in date order, and for a
    quantity the geometry of a small chart of value against date."""
    if not topic.get("changes_over_time"):
        return None
    claims = await _query(datasette, OVER_TIME_SQL, {"topic": topic["id"], "limit": LIST_LIMIT})
    for claim in claims:
        claim["date_words"] = date_in_words(claim["date_start"], claim["date_end"], claim["date"])
        claim["value_words"] = value_in_words(claim)
    chart = over_time_chart(claims) if topic.get("kind") == "quantity" else None
    return {"claims": claims, "chart": chart, "limit": LIST_LIMIT}


def value_in_words(claim: dict) -> str | None:
    """3,000; about 3,000; 200 to 999; at least 2,000 (a claim's value, low and high)."""
    low, high, value = claim.get("value_low"), claim.get("value_high"), claim.get("value")
    if low is None and high is None:
        return claim.get("answer") or claim.get("answer_key")
    if value is not None and low == high:
        words = f"{value:,g}"
    elif low is not None and high is not None:
        words = f"{low:,g} to {high:,g}"
    else:
        words = f"at least {low:,g}" if low is not None else f"at most {high:,g}"
    return ("about " if claim.get("approximate") else "") + words


CHART = {"width": 640, "height": 230, "left": 64, "right": 40, "top": 26, "bottom": 40}


def _nice_step(top: float) -> float:
    """A round step that cuts 0..top into at most five ticks."""
    step = 1.0
    while top / step > 5:
        for factor in (2, 2.5, 2):
            step *= factor
            if top / step <= 5:
                break
    return step


def over_time_chart(claims: list[dict]) -> dict | None:
    """Where each dated value goes on a small SVG chart: a dot at the last day the claim's date
    allows, a line back to its first (a month, a week), a line between its low and high value;
    month ticks (with years) under it and round values beside it. None with nothing to draw."""
    drawn = [
        c
        for c in claims
        if (c["date_start"] or c["date_end"])
        and (c["value_low"] is not None or c["value_high"] is not None)
    ]
    if not drawn:
        return None
    size = CHART
    days = [_day(d).toordinal() for c in drawn for d in (c["date_start"], c["date_end"]) if d]
    first = date.fromordinal(min(days)).replace(day=1)
    last = date.fromordinal(max(days))
    last = date(last.year + last.month // 12, last.month % 12 + 1, 1)  # the next month's first
    top = max(v for c in drawn for v in (c["value_low"], c["value_high"]) if v is not None)
    step = _nice_step(top or 1)
    top = step * -(-top // step) or step
    inner_w = size["width"] - size["left"] - size["right"]
    inner_h = size["height"] - size["top"] - size["bottom"]

    def x(day: date) -> float:
        span = last.toordinal() - first.toordinal()
        return round(size["left"] + inner_w * (day.toordinal() - first.toordinal()) / span, 1)

    def y(value: float) -> float:
        return round(size["top"] + inner_h * (1 - value / top), 1)

    marks = []
    for c in drawn:
        start = _day(c["date_start"] or c["date_end"])
        end = _day(c["date_end"] or c["date_start"])
        low = c["value_low"] if c["value_low"] is not None else c["value_high"]
        high = c["value_high"] if c["value_high"] is not None else c["value_low"]
        marks.append({"claim": c, "x1": x(start), "x2": x(end), "y1": y(low), "y2": y(high)})
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    every = max(1, len(months) // 6)
    ticks_x = [{"x": x(m), "label": f"{MONTHS[m.month - 1][:3]} {m.year}"} for m in months[::every]]
    ticks_y = [{"y": y(step * i), "label": f"{step * i:,g}"} for i in range(int(top / step) + 1)]
    return {**size, "marks": marks, "ticks_x": ticks_x, "ticks_y": ticks_y}
